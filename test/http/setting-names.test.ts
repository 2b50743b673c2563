// Issue 18 item 19: one configuration rule in library mode. The mounted handler reads no environment
// variable (it read WXKIT_MEDIA_STORE and WXKIT_MEDIA_TTL but not WXKIT_SESSION_SECRET, then warned that
// the latter was unset); `wxkit serve` maps the environment to options. Hints and warnings name what
// the reader sets: the option in library mode, the variable under `wxkit serve`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler } from '../../src/http/handler.ts';
import { startService } from '../../src/serve/service.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { errorOf, get, post } from './helpers.ts';

const APP = 'wxnames000000001';
const SECRET = 'setting-names-secret';
const FOREIGN = `/jssdk/config?url=${encodeURIComponent('https://elsewhere.example.org/')}`;
let sim: Simulator;
let wx: Wxkit;
let dir: string;

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  wx = createWxkit({ appId: APP, secret: SECRET, apiBase: sim.url, jsDomains: ['h5.example.com'] });
  dir = mkdtempSync(join(tmpdir(), 'wxkit-setting-names-'));
});
after(async () => {
  await wx.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the handler reads no environment variable', () => {
  test('WXKIT_MEDIA_STORE and WXKIT_MEDIA_TTL in the environment do not reach a mounted handler', async () => {
    const saved = { ...process.env };
    const cwd = process.cwd();
    // Values that stop any reader of them with a config_error.
    process.env.WXKIT_MEDIA_STORE = 'bogus:store';
    process.env.WXKIT_MEDIA_TTL = 'soon';
    process.chdir(dir); // the default store, file:.wxkit/media, lands here
    try {
      const handler = createHandler(wx, { log: false });
      const res = await post(handler, '/jssdk/media', { serverId: 'made-up-server-id' });
      const error = await errorOf(res);
      assert.notEqual(error.code, 'config_error', `the handler read the environment: ${error.message}`);
      // It got as far as asking WeChat, which refused the made-up id.
      assert.equal(error.code, 'wechat_error', `${res.status} ${error.message}`);
    } finally {
      process.chdir(cwd);
      process.env = saved;
    }
  });
});

describe('hints name what the reader sets', () => {
  test('library mode: url_not_allowed names jsDomains, the session warning names sessionSecret', async () => {
    const logs: string[] = [];
    const handler = createHandler(wx, { log: (e) => logs.push(String(e.msg)) });
    const hint = JSON.stringify((await errorOf(await get(handler, FOREIGN))).hint);
    assert.match(hint, /jsDomains/);
    assert.doesNotMatch(hint, /WX_JS_DOMAINS/);
    assert.equal((await get(handler, '/oauth/login?returnTo=/')).status, 302);
    const warning = logs.find((m) => /is not set/.test(m)) ?? '';
    assert.match(warning, /^sessionSecret is not set/);
    // The account itself (wx.jssdkConfig in the user's own route) says the same.
    await assert.rejects(
      wx.jssdkConfig({ url: 'https://elsewhere.example.org/' }),
      (e: Error & { hint?: unknown }) => {
        assert.match(JSON.stringify(e.hint), /jsDomains/);
        assert.doesNotMatch(JSON.stringify(e.hint), /WX_JS_DOMAINS/);
        return true;
      },
    );
  });

  test('wxkit serve: the same hints name WX_JS_DOMAINS and WXKIT_API_KEYS', async () => {
    const svc = await startService({
      env: {
        WX_APP_ID: APP,
        WX_APP_SECRET: SECRET,
        WX_API_BASE: sim.url,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_STORE: 'memory',
        WXKIT_MEDIA_STORE: `file:${join(dir, 'media')}`,
        PORT: '0',
        WXKIT_LOG: 'off',
      },
      cwd: dir,
      logLine: () => {},
    });
    try {
      const hint = JSON.stringify((await errorOf(await fetch(`${svc.url}${FOREIGN}`))).hint);
      assert.match(hint, /WX_JS_DOMAINS/);
      const off = JSON.stringify((await errorOf(await fetch(`${svc.url}/v1/apps/${APP}/access_token`))).hint);
      assert.match(off, /WXKIT_API_KEYS/);
    } finally {
      await svc.close();
    }
    const library = createHandler(wx, { log: false });
    const off = JSON.stringify((await errorOf(await get(library, `/v1/apps/${APP}/access_token`))).hint);
    assert.match(off, /apiKeys/);
    assert.doesNotMatch(off, /WXKIT_API_KEYS/);
  });
});
