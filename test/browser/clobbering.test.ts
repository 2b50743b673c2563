// Issue 18 item 2: DOM clobbering in the browser helper. A page that shows user HTML (even sanitized:
// DOMPurify's defaults keep `id` and `name`) can hold `<a id="__wxkitSdkUrl" href=…>`, which made the
// helper load that href as the page's script, and `<img name="wx">`, which made it take an element for
// the JS-SDK. Real Chromium, real client.js; WeChat's SDK host is served by the simulator.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { configureIn } from './page.ts';
import { setUpStack } from './stack.ts';

const EVIL_SCRIPT = 'http://evil.example/pwn.js';

/** User content that clobbers `window.wx` in different ways; each page also carries the SDK-URL anchor. */
const CLOBBERS: Record<string, string> = {
  'nothing else (window.wx absent)': '',
  '<img name="wx">': '<img name="wx" src="data:,">',
  '<a id="wx">': '<a id="wx" href="http://evil.example/wx">wx</a>',
  '<form id="wx"> with config/ready inputs': '<form id="wx"><input name="config"><input name="ready"></form>',
  'two elements named wx (an HTMLCollection)': '<img name="wx" src="data:,"><div id="wx"></div>',
};

function clobberedPage(content: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>comments</title>
<script src="/jssdk/client.js"></script></head><body>
<section class="user-comment"><a id="__wxkitSdkUrl" href="${EVIL_SCRIPT}">my profile</a>${content}</section>
</body></html>`;
}

describe('the browser helper is not fooled by clobbered globals', () => {
  const env = setUpStack();

  /**
   * A context whose https://res.wx.qq.com (the helper's default SDK host) is the simulator, and which
   * records every request to evil.example.
   */
  async function contextWithWeChat(evil: string[]): Promise<BrowserContext> {
    const context = await env.browser.newContext();
    await context.route('https://res.wx.qq.com/**', async (route) => {
      const url = new URL(route.request().url());
      const response = await route.fetch({ url: `${env.stack.sim.url}${url.pathname}${url.search}` });
      await route.fulfill({ response });
    });
    await context.route('http://evil.example/**', async (route) => {
      evil.push(route.request().url());
      await route.fulfill({ contentType: 'text/javascript', body: 'window.__pwned = true;' });
    });
    return context;
  }

  for (const [name, content] of Object.entries(CLOBBERS)) {
    test(`<a id="__wxkitSdkUrl" href=…> + ${name}: WeChat's SDK is loaded, never the href`, async () => {
      const evil: string[] = [];
      const context = await contextWithWeChat(evil);
      const sdkRequests: string[] = [];
      context.on('request', (r) => {
        if (r.url().includes('jweixin')) sdkRequests.push(r.url());
      });
      try {
        const page = await context.newPage();
        // The page with user content; everything else of h5.example.com from its real server (the stack's,
        // with the wxkit handler under /jssdk). All of the origin goes through route, so Chromium sees one
        // address space (a page fulfilled by route may not load from loopback).
        await page.route('http://h5.example.com/**', async (route) => {
          const url = new URL(route.request().url());
          if (url.pathname === '/comments') {
            await route.fulfill({ contentType: 'text/html; charset=utf-8', body: clobberedPage(content) });
            return;
          }
          const response = await route.fetch({
            url: `http://127.0.0.1:${env.stack.pagePort}${url.pathname}${url.search}`,
            headers: { ...route.request().headers(), host: 'h5.example.com' },
          });
          await route.fulfill({ response });
        });
        await page.goto('http://h5.example.com/comments');
        // The clobbering is real in this browser: both globals are elements (or a collection).
        const before = await page.evaluate(() => {
          const w = window as unknown as Record<string, unknown>;
          return { url: String(w.__wxkitSdkUrl), wx: Object.prototype.toString.call(w.wx) };
        });
        assert.equal(before.url, EVIL_SCRIPT);
        assert.match(before.wx, content === '' ? /Undefined/ : /HTML/);

        const out = await configureIn(page, { jsApiList: ['chooseImage'] });
        assert.deepEqual(out, { ok: true }, JSON.stringify(out));
        assert.deepEqual(evil, [], 'nothing was fetched from the clobbered href');
        assert.equal(await page.evaluate(() => (window as { __pwned?: boolean }).__pwned), undefined);
        assert.deepEqual(sdkRequests, ['https://res.wx.qq.com/open/js/jweixin-1.6.0.js']);
        assert.equal(
          await page.evaluate(() => typeof (window as unknown as { wx: { config: unknown } }).wx.config),
          'function',
          'window.wx is now the SDK',
        );
      } finally {
        await context.close();
      }
    });
  }
});
