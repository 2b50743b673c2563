// Issue 18 item 18: in library mode the defaults follow the account. An account whose apiBase is a
// loopback URL talks to the simulator, so the handler mounted in the user's own app serves the
// simulator's JS bridge from client.js, signs pages on loopback hosts, allows them by CORS and sends
// OAuth to the simulator's consent page — with no option beyond `apiBase`. An account on WeChat keeps
// every production default.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createWecom } from '../../src/accounts/wecom.ts';
import { loadConfig, wecomOptions } from '../../src/config.ts';
import { createHandler } from '../../src/http/handler.ts';
import { SANDBOX_APP_ID, SANDBOX_SECRET, type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { errorOf, get } from './helpers.ts';

const PAGE = 'http://localhost:5173/shop/?from=singlemessage';
let sim: Simulator;
let dir: string;
let script: string;

before(async () => {
  sim = await startSimulator();
  dir = mkdtempSync(join(tmpdir(), 'wxkit-sim-account-'));
  script = join(dir, 'client.global.js');
  writeFileSync(script, 'var wxkit={};\n');
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The README's library account, pointed at the simulator by `apiBase` alone. */
function onSimulator() {
  return createWxkit({ appId: SANDBOX_APP_ID, secret: SANDBOX_SECRET, apiBase: sim.url });
}

describe('an account on the simulator (loopback apiBase), mounted with no other option', () => {
  test('client.js names the simulator’s JS bridge as the JS-SDK', async () => {
    const wx = onSimulator();
    try {
      const handler = createHandler(wx, { log: false, clientScriptPath: script });
      const body = await (await get(handler, '/jssdk/client.js')).text();
      assert.ok(
        body.startsWith(`window.__wxkitSdkUrl=${JSON.stringify(`${sim.url}/jweixin.js`)};`),
        `client.js does not load the simulator's bridge: ${body.slice(0, 120)}`,
      );
      // An explicit choice still wins.
      const own = createHandler(wx, {
        log: false,
        clientScriptPath: script,
        extra: { client: { sdkUrl: 'https://cdn.example.com/jweixin.js' } },
      });
      assert.match(await (await get(own, '/jssdk/client.js')).text(), /cdn\.example\.com/);
    } finally {
      await wx.close();
    }
  });

  test('a page on a loopback host (any port) is signed, and its origin passes CORS', async () => {
    const wx = onSimulator();
    try {
      const handler = createHandler(wx, { log: false });
      const res = await get(handler, `/jssdk/config?url=${encodeURIComponent(PAGE)}`, {
        origin: 'http://localhost:5173',
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:5173');
      const config = (await res.json()) as { appId: string };
      assert.equal(config.appId, SANDBOX_APP_ID);
    } finally {
      await wx.close();
    }
  });

  test('OAuth goes to the simulator’s consent page (openBase follows a loopback apiBase)', async () => {
    const wx = onSimulator();
    try {
      assert.equal(wx.openBase, sim.url);
      const handler = createHandler(wx, { log: false, sessionSecret: 'a-session-secret-for-this-test-0123' });
      const res = await get(handler, '/oauth/login?returnTo=/');
      assert.equal(res.status, 302);
      const location = res.headers.get('location') ?? '';
      assert.ok(location.startsWith(`${sim.url}/connect/oauth2/authorize?`), location);
    } finally {
      await wx.close();
    }
  });

  test('the same for a WeCom app on the simulator (WX_WORK_API_BASE alone)', async () => {
    const corp = createWecom({
      corpId: 'wwsim0000000001',
      agentId: '1000002',
      secret: 's',
      apiBase: sim.url,
    });
    try {
      assert.equal(corp.openBase, sim.url);
      assert.equal(corp.allowLoopback, true);
    } finally {
      await corp.close();
    }
    const config = loadConfig(
      {
        WX_CORP_ID: 'wwsim0000000001',
        WX_CORP_AGENT_ID: '1000002',
        WX_CORP_SECRET: 's',
        WX_WORK_API_BASE: sim.url,
      },
      dir,
    );
    assert.equal(wecomOptions(config, config.wecom[0]!).openBase, sim.url);
    const official = loadConfig({ WX_APP_ID: 'wxa', WX_APP_SECRET: 's', WX_API_BASE: sim.url }, dir);
    assert.equal(official.openBase, sim.url);
  });
});

describe('an account on WeChat keeps the production defaults', () => {
  test('client.js loads WeChat’s SDK, loopback pages get 403, OAuth goes to open.weixin.qq.com', async () => {
    const wx = createWxkit({ appId: 'wxreal0000000001', secret: 's', jsDomains: ['h5.example.com'] });
    try {
      assert.equal(wx.openBase, 'https://open.weixin.qq.com');
      const handler = createHandler(wx, { log: false, clientScriptPath: script });
      assert.equal(await (await get(handler, '/jssdk/client.js')).text(), 'var wxkit={};\n');
      const res = await get(handler, `/jssdk/config?url=${encodeURIComponent(PAGE)}`, {
        origin: 'http://localhost:5173',
      });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
      assert.equal((await errorOf(res)).code, 'url_not_allowed');
      assert.equal(
        loadConfig({ WX_APP_ID: 'wxa', WX_APP_SECRET: 's' }, dir).openBase,
        'https://open.weixin.qq.com',
      );
    } finally {
      await wx.close();
    }
  });

  test('allowLoopback: false on a simulator account turns the loopback defaults off', async () => {
    const wx = createWxkit({
      appId: SANDBOX_APP_ID,
      secret: SANDBOX_SECRET,
      apiBase: sim.url,
      allowLoopback: false,
      jsDomains: ['h5.example.com'],
    });
    try {
      const handler = createHandler(wx, { log: false, clientScriptPath: script });
      assert.equal(await (await get(handler, '/jssdk/client.js')).text(), 'var wxkit={};\n');
      const res = await get(handler, `/jssdk/config?url=${encodeURIComponent(PAGE)}`);
      assert.equal(res.status, 403);
    } finally {
      await wx.close();
    }
  });
});
