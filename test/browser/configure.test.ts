import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configureIn, openPage } from './page.ts';
import { setUpStack } from './stack.ts';

const SDK = 'http://sim.example/jweixin.js';
const ANDROID = `${SDK}?platform=android`;
const IOS = `${SDK}?platform=ios`;

describe('wxkit.configure in Chromium against the simulated WeChat bridge', () => {
  const env = setUpStack();
  /** Sets the simulator's platform as a whole (POST /__sim/platform). */
  const setPlatform = (platform: string) =>
    fetch(`${env.stack.sim.url}/__sim/platform`, { method: 'POST', body: JSON.stringify({ platform }) });

  const pages = [
    'http://h5.example.com/shop/item?id=42&from=singlemessage&isappinstalled=0',
    'http://h5.example.com/页面/详情?名字=张三&q=a%20b&emoji=✓#/hash/路由?x=1',
    'http://h5.example.com/#/only-a-hash',
  ];
  for (const [platform, sdkUrl] of [
    ['Android', ANDROID],
    ['iOS', IOS],
  ] as const) {
    for (const url of pages) {
      test(`${platform}: configure succeeds on ${url}`, async () => {
        const { context, page } = await openPage(env.browser, url);
        try {
          const out = await configureIn(page, { sdkUrl, jsApiList: ['chooseImage'] });
          assert.deepEqual(out, { ok: true });
          const ios = await page.evaluate(
            () => (window as { __wxjs_is_wkwebview?: boolean }).__wxjs_is_wkwebview,
          );
          assert.equal(ios === true, platform === 'iOS');
        } finally {
          await context.close();
        }
      });
    }

    test(`${platform}: a single-page app after pushState configures with urlMode 'auto'`, async () => {
      const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/?from=timeline');
      try {
        assert.deepEqual(await configureIn(page, { sdkUrl, jsApiList: ['chooseImage'] }), { ok: true });
        await page.evaluate(() => history.pushState({}, '', '/spa/orders/7?tab=已付款#top'));
        const again = await page.evaluate(async () => {
          const api = (window as unknown as { wxkit: typeof import('../../src/client/index.ts') }).wxkit;
          await api.reconfigure();
          return api.signUrl('auto');
        });
        assert.equal(
          again,
          platform === 'iOS'
            ? 'http://h5.example.com/spa/?from=timeline'
            : 'http://h5.example.com/spa/orders/7?tab=%E5%B7%B2%E4%BB%98%E6%AC%BE',
        );
      } finally {
        await context.close();
      }
    });
  }

  test("iOS: the same SPA with urlMode 'current' fails with config:invalid signature (landing URL enforced)", async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/?from=timeline');
    try {
      await page.evaluate(() => history.pushState({}, '', '/spa/orders/7'));
      const out = await configureIn(page, { sdkUrl: IOS, urlMode: 'current', debug: true });
      assert.equal(out.ok, false);
      assert.equal(out.errMsg, 'config:invalid signature');
      assert.equal(out.realAuthUrl, 'http://h5.example.com/spa/?from=timeline');
      assert.match(out.message ?? '', /config:invalid signature/);
      assert.equal(out.diagnosis?.code, 'url_landing', JSON.stringify(out.diagnosis));
    } finally {
      await context.close();
    }
  });

  test("iOS without debug: urlMode 'current' after pushState is diagnosed url_landing (no realAuthUrl needed)", async () => {
    // The simulator set to iOS as a whole (POST /__sim/platform), the plain /jweixin.js, debug off:
    // WeChat reports no realAuthUrl, so the helper's landing URL and platform carry the diagnosis.
    assert.equal((await setPlatform('ios')).status, 200);
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/?from=timeline');
    try {
      await page.evaluate(() => history.pushState({}, '', '/spa/orders/7'));
      const out = await configureIn(page, { sdkUrl: SDK, urlMode: 'current' });
      assert.equal(out.ok, false);
      assert.equal(out.errMsg, 'config:invalid signature');
      assert.equal(out.realAuthUrl, undefined);
      assert.equal(out.diagnosis?.code, 'url_landing', JSON.stringify(out.diagnosis));
      assert.equal(out.diagnosis?.expectedUrl, 'http://h5.example.com/spa/?from=timeline');
      assert.doesNotMatch(out.message ?? '', /signature is right/);
      assert.match(out.message ?? '', /landing URL/);
    } finally {
      await context.close();
      await setPlatform('android');
    }
  });

  test("Android without debug: urlMode 'landing' after pushState is diagnosed url_landing", async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/');
    try {
      await page.evaluate(() => history.pushState({}, '', '/spa/orders/7'));
      const out = await configureIn(page, { sdkUrl: ANDROID, urlMode: 'landing' });
      assert.equal(out.errMsg, 'config:invalid signature');
      assert.equal(out.diagnosis?.code, 'url_landing', JSON.stringify(out.diagnosis));
      assert.equal(out.diagnosis?.expectedUrl, 'http://h5.example.com/spa/orders/7');
    } finally {
      await context.close();
    }
  });

  test("Android: the same SPA with urlMode 'landing' fails: Android verifies the current URL", async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/');
    try {
      await page.evaluate(() => history.pushState({}, '', '/spa/orders/7'));
      const out = await configureIn(page, { sdkUrl: ANDROID, urlMode: 'landing' });
      assert.equal(out.errMsg, 'config:invalid signature');
    } finally {
      await context.close();
    }
  });

  test('a page on a domain the simulated account does not bind gets config:invalid url domain', async () => {
    const { context, page } = await openPage(env.browser, 'http://other.example/promo?id=1');
    try {
      const out = await configureIn(page, { sdkUrl: ANDROID, debug: true });
      assert.equal(out.ok, false);
      assert.equal(out.errMsg, 'config:invalid url domain');
      assert.match(out.message ?? '', /invalid url domain/);
      assert.equal(out.realAuthUrl, 'http://other.example/promo?id=1');
    } finally {
      await context.close();
    }
  });

  test('a page on a domain the service does not know is refused before wx.config, naming the domains', async () => {
    const { context, page } = await openPage(env.browser, 'http://third.example/x');
    try {
      const out = await configureIn(page, { sdkUrl: ANDROID });
      assert.equal(out.ok, false);
      assert.equal(out.code, 'url_not_allowed');
      assert.equal(out.status, 403);
      assert.match(out.message ?? '', /third\.example/);
      assert.match(out.message ?? '', /h5\.example\.com/);
    } finally {
      await context.close();
    }
  });

  test('page, service and simulator on three origins: helper and signature from svc.example, bridge from sim.example', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/three/origins?x=1');
    try {
      await page.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const w = window as unknown as { wxkit?: unknown };
            delete w.wxkit;
            const s = document.createElement('script');
            s.src = 'http://svc.example/jssdk/client.js';
            s.onload = () => resolve();
            s.onerror = () => reject(new Error('client.js did not load'));
            document.head.appendChild(s);
          }),
      );
      const out = await configureIn(page, {
        endpoint: 'http://svc.example',
        sdkUrl: ANDROID,
        jsApiList: ['chooseImage'],
      });
      assert.deepEqual(out, { ok: true });
      const base = await page.evaluate(
        () => (window as unknown as { wx: { __simulator: { base: string } } }).wx.__simulator.base,
      );
      assert.equal(base, 'http://sim.example');
    } finally {
      await context.close();
    }
  });

  test('the platform set through POST /__sim/platform is baked into /jweixin.js; a failing sdkUrl falls back', async () => {
    assert.equal((await setPlatform('ios')).status, 200);
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/spa/');
    try {
      await page.evaluate(() => history.pushState({}, '', '/spa/next'));
      const out = await configureIn(page, { sdkUrl: 'http://sim.example/missing.js', sdkFallbackUrl: SDK });
      assert.deepEqual(out, { ok: true });
      assert.equal(
        await page.evaluate(() => (window as { __wxjs_is_wkwebview?: boolean }).__wxjs_is_wkwebview),
        true,
      );
    } finally {
      await context.close();
      await setPlatform('android');
    }
  });

  test('custom headers (a CSRF token) reach the service on config and on diagnose', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/headers');
    try {
      env.stack.seen.length = 0;
      await page.evaluate(() => history.pushState({}, '', '/headers/next'));
      const headers = { 'X-CSRF-Token': 'csrf-123' };
      const out = await configureIn(page, {
        sdkUrl: IOS,
        urlMode: 'current',
        headers,
        credentials: 'same-origin',
      });
      assert.equal(out.errMsg, 'config:invalid signature');
      const posts = env.stack.seen
        .filter((r) => r.method === 'POST')
        .map((r) => [r.path, r.headers['x-csrf-token']]);
      assert.deepEqual(posts, [
        ['/jssdk/config', 'csrf-123'],
        ['/jssdk/diagnose', 'csrf-123'],
      ]);
    } finally {
      await context.close();
    }
  });

  test('checkJsApi, share setters and ready() after a failed config behave as in jweixin', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/share?id=9');
    try {
      const jsApiList = ['updateAppMessageShareData', 'checkJsApi'];
      assert.deepEqual(await configureIn(page, { sdkUrl: ANDROID, jsApiList }), { ok: true });
      const out = await page.evaluate(async () => {
        const api = (window as unknown as { wxkit: typeof import('../../src/client/index.ts') }).wxkit;
        const check = await api.call('checkJsApi', { jsApiList: ['chooseImage', 'noSuchApi'] });
        const share = await api.call('updateAppMessageShareData', { title: '标题', link: location.href });
        const denied = await api
          .call('updateTimelineShareData', { title: 't', link: location.href })
          .catch((e: { errMsg: string }) => e.errMsg);
        const wx = (
          window as unknown as {
            wx: {
              config(c: unknown): void;
              error(fn: () => void): void;
              ready(fn: () => void): void;
              __simulator: { share: Record<string, { title: string }> };
            };
          }
        ).wx;
        // A failed config still runs ready() callbacks after error() — the helper must not resolve then.
        const order: string[] = [];
        await new Promise<void>((resolve) => {
          wx.config({ appId: 'wxnope', timestamp: 1, nonceStr: 'n', signature: 's' });
          wx.error(() => order.push('error'));
          wx.ready(() => {
            order.push('ready');
            resolve();
          });
        });
        return {
          check,
          share: share.errMsg,
          stored: wx.__simulator.share.updateAppMessageShareData?.title,
          denied,
          order,
        };
      });
      assert.deepEqual(out.check.checkResult, { chooseImage: true, noSuchApi: false });
      assert.equal(out.share, 'updateAppMessageShareData:ok');
      assert.equal(out.stored, '标题');
      assert.equal(out.denied, 'updateTimelineShareData:permission denied');
      assert.deepEqual(out.order, ['error', 'ready']);
    } finally {
      await context.close();
    }
  });

  test('the ESM build (wxkit/client) works in the browser as a module', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/esm?x=1#/a');
    try {
      const out = await page.evaluate(async (sdkUrl) => {
        const mod = (await import('/esm/client.js' as string)) as typeof import('../../src/client/index.ts');
        await mod.configure({ sdkUrl, jsApiList: ['chooseImage'] });
        return { landing: mod.landingUrl(), url: mod.signUrl('auto') };
      }, IOS);
      assert.deepEqual(out, {
        landing: 'http://h5.example.com/esm?x=1',
        url: 'http://h5.example.com/esm?x=1',
      });
    } finally {
      await context.close();
    }
  });

  test('a JS-SDK that never answers (a page outside WeChat) rejects with code timeout', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/outside-wechat');
    try {
      // What the real jweixin does outside WeChat: wx.config waits for a bridge that never comes.
      await page.evaluate(() => {
        (window as unknown as { wx: unknown }).wx = { config() {}, ready() {}, error() {} };
      });
      const out = await configureIn(page, { timeout: 200 });
      assert.equal(out.ok, false);
      assert.equal(out.code, 'timeout');
      assert.match(out.message ?? '', /inside WeChat/);
    } finally {
      await context.close();
    }
  });
});
