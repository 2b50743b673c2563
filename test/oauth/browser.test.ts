import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Service, startService } from '../../src/serve/service.ts';
import { chromiumArgs } from '../browser/stack.ts';

describe('Log in with WeChat on the sandbox demo page, in Chromium', () => {
  let service: Service;
  let browser: Browser;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wxkit-oauth-browser-'));
    service = await startService({
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        WXKIT_STORE: 'memory',
        WXKIT_SANDBOX: '1', // WXKIT_STORE alone would make it refuse the sandbox (SPEC §10)
        WXKIT_LOG: 'off',
        WXKIT_SESSION_SECRET: 'browser-test-session-secret-0123456789',
      },
      cwd: dir,
      logLine: () => {},
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: chromiumArgs('MAP unused.example 127.0.0.1'),
    });
  });
  after(async () => {
    await browser?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const loginState = (page: Page, state: string) =>
    page.waitForSelector(`#login-state[data-state=${state}]`, { timeout: 15_000 });

  test('click "用微信登录", pick Bob, click 允许 / Allow → the demo page shows Bob; log out', async () => {
    assert.equal(service.sandbox, true);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // 127.0.0.1 while the public URL says localhost (issue 18 item 22): the login comes back to the host
      // the user opened, not to the public URL's loopback alias.
      await page.goto(`http://127.0.0.1:${service.port}/`);
      await loginState(page, 'logged-out');
      await page.click('#wx-login');
      await page.waitForSelector('#allow', { timeout: 15_000 });
      assert.ok(page.url().startsWith(`${service.simulatorUrl}/connect/oauth2/authorize?`), page.url());
      await page.check('#user-1');
      await page.click('#allow');
      await loginState(page, 'logged-in');
      assert.equal(new URL(page.url()).host, `127.0.0.1:${service.port}`);
      const text = await page.textContent('#login-state');
      assert.match(text ?? '', /Bob 小波/);
      const user = JSON.parse((await page.textContent('#login-user')) ?? '{}') as Record<string, unknown>;
      assert.equal(user.nickname, 'Bob 小波');
      assert.equal(user.scope, 'snsapi_userinfo');
      assert.match(String(user.openid), /^oSIM/);
      // The session cookie is HttpOnly: page scripts cannot read it
      assert.equal(await page.evaluate(() => document.cookie.includes('wxkit_session')), false);
      const cookies = await context.cookies(`http://127.0.0.1:${service.port}/`);
      const session = cookies.find((c) => c.name === 'wxkit_session');
      assert.ok(session);
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.ok(!session.value.includes(String(user.openid)));

      // Going back to the callback (browser history) does not break the login
      await page.goBack();
      await page.goForward();
      await loginState(page, 'logged-in');

      await page.click('#wx-logout');
      await loginState(page, 'logged-out');
    } finally {
      await context.close();
    }
  });

  test('snsapi_base logs in silently; 拒绝 / Deny comes back as declined', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`http://localhost:${service.port}/`);
      await loginState(page, 'logged-out');
      await page.click('#wx-login-base');
      await loginState(page, 'logged-in');
      assert.match((await page.textContent('#login-state')) ?? '', /snsapi_base/);
      await page.click('#wx-logout');
      await loginState(page, 'logged-out');

      await page.click('#wx-login');
      await page.waitForSelector('#deny');
      await page.click('#deny');
      await loginState(page, 'denied');
    } finally {
      await context.close();
    }
  });

  test('a timeline-snapshot visitor sees "open the full page" and is not logged in', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`http://localhost:${service.port}/`);
      await loginState(page, 'logged-out');
      await page.click('#wx-login');
      await page.check('#snapshot-user');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes('/oauth/callback')),
        page.click('#allow'),
      ]);
      assert.equal(response.status(), 403);
      await page.waitForSelector('#snapshot-user');
      assert.match((await page.textContent('body')) ?? '', /使用完整服务/);
      await page.goto(`http://localhost:${service.port}/`);
      await loginState(page, 'logged-out');
    } finally {
      await context.close();
    }
  });
});
