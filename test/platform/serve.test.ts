// `wxkit serve` as a third-party platform (SPEC §13): WX_COMPONENT_* configure it, the simulated open
// platform pushes tickets and authorizations to POST /platform/events, and every authorized appId is
// signed for by /jssdk/config, logs users in through component OAuth, has its media saved and its
// token handed to keyed callers — with 404/403 and no call upstream for the others. No WX_APP_ID and
// no account secret anywhere.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { type Service, startService } from '../../src/serve/service.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { chromiumArgs } from '../browser/stack.ts';
import { uploadToWechat } from '../media/wechat-upload.ts';
import { Browser } from '../oauth/stack.ts';

const COMPONENT = 'wxc0mp0nent0serve1';
const SECRET = 'serve-component-secret-DO-NOT-PRINT';
const TOKEN = 'servecomponenttoken';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const PAGE = 'https://shop.example.com/item?id=9';
const API_KEY = 'platform-serve-api-key-0123456789';

describe('wxkit serve as a third-party platform', () => {
  let sim: Simulator;
  let service: Service;
  let dir: string;
  const lines: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wxkit-platform-serve-'));
    sim = await startSimulator({
      components: [
        {
          componentAppId: COMPONENT,
          secret: SECRET,
          token: TOKEN,
          encodingAESKey: AES_KEY,
          authorizers: 4,
          jsDomains: ['shop.example.com'],
        },
      ],
    });
    service = await startService({
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        WX_API_BASE: sim.url,
        WX_OPEN_BASE: sim.url,
        WXKIT_STORE: `file:${join(dir, 'store')}`,
        WXKIT_MEDIA_STORE: `file:${join(dir, 'media')}`,
        WX_COMPONENT_APP_ID: COMPONENT,
        WX_COMPONENT_SECRET: SECRET,
        WX_COMPONENT_TOKEN: TOKEN,
        WX_COMPONENT_AES_KEY: AES_KEY,
        WX_COMPONENT_JS_DOMAINS: 'shop.example.com',
        WXKIT_API_KEYS: API_KEY,
        WXKIT_SESSION_SECRET: 'platform-serve-session-secret-0123456789',
        WXKIT_LOG: 'all',
      },
      cwd: dir,
      logLine: (line) => lines.push(line),
    });
    await fetch(`${sim.url}/__sim/platform/components`, {
      method: 'POST',
      body: JSON.stringify({ eventsUrl: `${service.url}/platform/events` }),
    });
  });
  after(async () => {
    await service.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const candidates = () => sim.openPlatform.state.get(COMPONENT)!.candidates;
  const config = (appId: string) =>
    fetch(`${service.url}/jssdk/config?appId=${appId}&url=${encodeURIComponent(PAGE)}&apis=chooseImage`, {
      headers: { origin: 'https://shop.example.com' },
    });

  test('not a sandbox; the ticket push reached POST /platform/events and was answered success', async () => {
    assert.equal(service.sandbox, false);
    const log = (await (await fetch(`${sim.url}/__sim/platform/log`)).json()) as {
      pushes: { ok: boolean; infoType: string }[];
    };
    assert.ok(log.pushes.some((p) => p.infoType === 'component_verify_ticket' && p.ok));
    assert.ok(!lines.join('\n').includes(SECRET), 'the secret never reaches the log');
    // No fixed account: /readyz is about the platform, its ticket fresh.
    const ready = await fetch(`${service.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as {
      accounts: unknown[];
      platform: { ready: boolean; verifyTicket: { health: string } };
    };
    assert.deepEqual(body.accounts, []);
    assert.equal(body.platform.ready, true);
    assert.equal(body.platform.verifyTicket.health, 'fresh');
  });

  test('the authorization page carries the link with a fresh pre_auth_code; the callback stores the account', async () => {
    const html = await (await fetch(`${service.url}/platform/authorize`)).text();
    const href = /id="authorize" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(href?.startsWith(`${sim.url}/cgi-bin/componentloginpage?component_appid=${COMPONENT}`), html);
    const link = new URL(href as string);
    // WXKIT_PUBLIC_URL is unset: the public origin is http://localhost:PORT.
    const publicUrl = `http://localhost:${service.port}`;
    assert.equal(link.searchParams.get('redirect_uri'), `${publicUrl}/platform/authorized`);
    // The admin clicks on the service's page (the Referer is its origin), chooses an account, confirms.
    const shown = await (
      await fetch(link, { headers: { referer: `${publicUrl}/platform/authorize` } })
    ).text();
    assert.match(shown, /id="authorize"/);
    const appId = candidates()[0]!;
    const confirm = await fetch(`${sim.url}/cgi-bin/componentloginpage/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        component_appid: COMPONENT,
        pre_auth_code: link.searchParams.get('pre_auth_code') ?? '',
        redirect_uri: `${publicUrl}/platform/authorized`,
        appid: appId,
      }),
    });
    const location = new URL(confirm.headers.get('location') ?? '');
    const back = await fetch(`${service.url}${location.pathname}${location.search}`);
    assert.equal(back.status, 200, await back.clone().text());
    assert.match(await back.text(), new RegExp(`id="appid">${appId}<`));
  });

  test('/jssdk/config signs for an authorized appId with a signature the simulator accepts', async () => {
    const appId = candidates()[0]!;
    const res = await config(appId);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      appId: string;
      signature: string;
      nonceStr: string;
      timestamp: number;
    };
    assert.equal(body.appId, appId);
    const ticket = sim.state.currentTicket(appId);
    assert.equal(
      body.signature,
      signJssdk({ ticket: ticket ?? '', nonceStr: body.nonceStr, timestamp: body.timestamp, url: PAGE }),
    );
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example.com');
  });

  const calls = (path: string) => sim.stats().calls[path] ?? 0;
  const control = async (path: string, appId: string) => {
    await fetch(`${sim.url}/__sim/platform/${path}`, { method: 'POST', body: JSON.stringify({ appId }) });
    await sim.openPlatform.pusher.settle();
  };
  // The public URL is http://localhost:PORT (WXKIT_PUBLIC_URL unset): logins start and end there.
  const site = () => `http://localhost:${service.port}`;
  /** /oauth/login for `appId`, then WeChat's silent snsapi_base redirect: the callback URL with its code. */
  const toCallback = async (b: Browser, appId: string) => {
    const login = await b.fetch(`${site()}/oauth/login?appId=${appId}&returnTo=%2Foauth%2Fme`);
    assert.equal(login.status, 302, await login.clone().text());
    const wechat = await b.fetch(login.headers.get('location') ?? '');
    assert.equal(wechat.status, 302, await wechat.clone().text());
    return new URL(wechat.headers.get('location') ?? '');
  };
  const errorOf = async (res: Response) =>
    ((await res.json()) as { error: { code: string; wechat?: { errcode: number } } }).error;

  test('component OAuth in Chromium: a user logs in for an authorized account, with no secret anywhere', async () => {
    const appId = candidates()[1]!;
    await control('authorize', appId);
    sim.reset();
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: chromiumArgs('MAP unused.example 127.0.0.1'),
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${site()}/oauth/login?appId=${appId}&scope=snsapi_userinfo&returnTo=%2Foauth%2Fme`);
      await page.waitForSelector('#allow', { timeout: 15_000 });
      const authorize = new URL(page.url());
      assert.equal(authorize.searchParams.get('appid'), appId);
      assert.equal(authorize.searchParams.get('component_appid'), COMPONENT);
      await page.click('#allow');
      await page.waitForURL(/\/oauth\/me$/, { timeout: 15_000 });
      const me = JSON.parse((await page.textContent('body')) ?? '{}') as Record<string, unknown>;
      assert.equal(me.appId, appId);
      assert.match(String(me.openid), /^o/);
      assert.equal(me.scope, 'snsapi_userinfo');
      assert.ok(me.nickname);
    } finally {
      await browser.close();
    }
    // Exchanged with the component token; the secret-based exchange was never asked.
    assert.equal(calls('/sns/oauth2/component/access_token'), 1);
    assert.equal(calls('/sns/oauth2/access_token'), 0);
  });

  test("component OAuth refusals: another account's code, an appId never authorized, an account that took it back", async () => {
    const mine = candidates()[1]!;
    const other = candidates()[2]!;
    await control('authorize', other);
    const b = new Browser();
    const callback = await toCallback(b, mine);
    assert.equal(callback.searchParams.get('appid'), mine);
    // A code WeChat issued for another account of the same platform, presented to mine's login.
    const foreign = await toCallback(new Browser(), other);
    const swapped = await b.fetch(
      `${site()}/oauth/callback?code=${foreign.searchParams.get('code')}&state=${callback.searchParams.get('state')}`,
    );
    assert.equal(swapped.status, 401);
    assert.equal((await errorOf(swapped)).wechat?.errcode, 40029);

    sim.reset();
    const never = await new Browser().fetch(`${site()}/oauth/login?appId=${candidates()[3]}`);
    assert.equal(never.status, 404);
    assert.equal((await errorOf(never)).code, 'unknown_app');

    // Revoked between the login and the callback: the code is not exchanged.
    const pending = await toCallback(b, other);
    await control('unauthorize', other);
    sim.reset();
    const late = await b.fetch(`${site()}${pending.pathname}${pending.search}`);
    assert.equal(late.status, 403);
    assert.equal((await errorOf(late)).code, 'authorizer_revoked');
    const again = await b.fetch(`${site()}/oauth/login?appId=${other}`);
    assert.equal(again.status, 403);
    assert.equal((await errorOf(again)).code, 'authorizer_revoked');
    assert.deepEqual(sim.stats().calls, {});
    // WeChat's own page refuses the revoked account too (10015).
    const page = await fetch(
      `${sim.url}/connect/oauth2/authorize?appid=${other}&redirect_uri=${encodeURIComponent(`${site()}/oauth/callback`)}&response_type=code&scope=snsapi_base&state=s&component_appid=${COMPONENT}`,
    );
    assert.match(await page.text(), /data-errcode="10015"/);
  });

  test('a component token WeChat refuses mid-exchange (40001) is dropped and the exchange asked once more', async () => {
    const b = new Browser();
    const callback = await toCallback(b, candidates()[1]!);
    await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/sns/oauth2/component/access_token', errcode: 40001, times: 1 }),
    });
    sim.reset();
    const back = await b.fetch(`${site()}${callback.pathname}${callback.search}`);
    assert.equal(back.status, 302, await back.clone().text());
    assert.equal(calls('/sns/oauth2/component/access_token'), 2);
    assert.equal(calls('/cgi-bin/component/api_component_token'), 1);
    const me = await b.fetch(`${site()}/oauth/me`);
    assert.equal(((await me.json()) as { appId: string }).appId, candidates()[1]);
  });

  test('/v1/apps/:appId/access_token and /jssdk/media serve authorized accounts; 404 unknown, 403 revoked', async () => {
    const appId = candidates()[1]!;
    const key = { authorization: `Bearer ${API_KEY}` };
    const token = await fetch(`${service.url}/v1/apps/${appId}/access_token`, { headers: key });
    assert.equal(token.status, 200, await token.clone().text());
    const { value } = (await token.json()) as { value: string };
    assert.equal((sim.state.validateAccessToken(value) as { appId?: string }).appId, appId);
    assert.equal((await fetch(`${service.url}/v1/apps/${appId}/access_token`)).status, 401);
    const unknown = await fetch(`${service.url}/v1/apps/${candidates()[3]}/jsapi_ticket`, { headers: key });
    assert.equal(unknown.status, 404);
    const revoked = await fetch(`${service.url}/v1/apps/${candidates()[2]}/access_token`, { headers: key });
    assert.equal(revoked.status, 403);
    assert.equal((await errorOf(revoked)).code, 'authorizer_revoked');

    // A photo the page uploaded with wx.uploadImage, downloaded with the authorizer token.
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const serverId = await uploadToWechat(sim, { accessToken: async () => value }, bytes);
    const save = (body: unknown) =>
      fetch(`${service.url}/jssdk/media`, {
        method: 'POST',
        headers: { origin: 'https://shop.example.com', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const saved = await save({ serverId, appId });
    assert.equal(saved.status, 201, await saved.clone().text());
    const { id } = (await saved.json()) as { id: string };
    const file = await fetch(`${service.url}/jssdk/media/${id}`);
    assert.deepEqual(new Uint8Array(await file.arrayBuffer()), bytes);
    assert.equal((await save({ serverId, appId: candidates()[2] })).status, 403);
    assert.equal((await save({ serverId, appId: candidates()[3] })).status, 404);
    assert.equal((await save({ serverId })).status, 400);
  });

  test('never authorized: 404 unknown_app; unauthorized: 403 authorizer_revoked — neither calls WeChat', async () => {
    sim.reset();
    const never = await config(candidates()[3]!);
    assert.equal(never.status, 404);
    assert.equal(((await never.json()) as { error: { code: string } }).error.code, 'unknown_app');
    assert.deepEqual(sim.stats().calls, {});
    const appId = candidates()[0]!;
    await fetch(`${sim.url}/__sim/platform/unauthorize`, { method: 'POST', body: JSON.stringify({ appId }) });
    await sim.openPlatform.pusher.settle();
    sim.reset();
    const revoked = await config(appId);
    assert.equal(revoked.status, 403);
    const err = ((await revoked.json()) as { error: { code: string; messageZh?: string } }).error;
    assert.equal(err.code, 'authorizer_revoked');
    assert.deepEqual(sim.stats().calls, {});
  });

  test('a forged event is refused with the JSON error shape and changes nothing', async () => {
    const res = await fetch(
      `${service.url}/platform/events?timestamp=1&nonce=2&msg_signature=forged&encrypt_type=aes`,
      {
        method: 'POST',
        body: `<xml><AppId>${COMPONENT}</AppId><Encrypt>AAAA</Encrypt></xml>`,
      },
    );
    assert.ok(res.status >= 400 && res.status < 500);
    assert.ok(((await res.json()) as { error: { code: string } }).error.code);
  });
});
