import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, wecomOptions } from '../../src/config.ts';
import { startService } from '../../src/serve/service.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

/**
 * WeCom apps in the configuration (WX_CORP_*, `{"type":"wecom",…}` accounts in wxkit.config.json) and
 * in `wxkit serve`, next to an Official Account.
 */

const APP = { appId: 'wxserve0wecom0001', secret: 'serve-official-secret' };
const CORP = 'wwserve0wecom0001';
const AGENT = '1000002';
const CORP_SECRET = 'serve-wecom-secret-DO-NOT-PRINT';
const PAGE = 'http://localhost/h5/orders';

let dir: string;
let sim: Simulator;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wxkit-wecom-config-'));
  sim = await startSimulator({
    apps: [{ ...APP, jsDomains: ['localhost'] }],
    corps: [
      { corpId: CORP, agentId: AGENT, secret: CORP_SECRET, jsDomains: ['localhost'] },
      { corpId: CORP, agentId: '1000005', secret: 'second-app-secret', jsDomains: ['localhost'] },
    ],
  });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const configErr = (pattern: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, 'config_error');
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one line');
  assert.ok(!e.message.includes(CORP_SECRET), 'never the secret');
  return true;
};

describe('WeCom configuration', () => {
  test('WX_CORP_* make one WeCom app; WX_WORK_API_BASE defaults to qyapi.weixin.qq.com; not a sandbox', () => {
    const c = loadConfig(
      {
        WX_CORP_ID: CORP,
        WX_CORP_AGENT_ID: AGENT,
        WX_CORP_SECRET: CORP_SECRET,
        WX_JS_DOMAINS: 'h5.example.com',
      },
      dir,
    );
    assert.equal(c.sandbox, false);
    assert.deepEqual(c.accounts, []);
    assert.deepEqual(c.wecom, [
      { type: 'wecom', corpId: CORP, agentId: AGENT, secret: CORP_SECRET, jsDomains: ['h5.example.com'] },
    ]);
    assert.equal(c.workApiBase, 'https://qyapi.weixin.qq.com');
    const o = wecomOptions(c, c.wecom[0] as (typeof c.wecom)[0], dir);
    assert.equal(o.apiBase, 'https://qyapi.weixin.qq.com');
    assert.equal(o.corpId, CORP);
    assert.equal(o.agentId, AGENT);
    assert.equal(
      loadConfig(
        { WX_CORP_ID: CORP, WX_CORP_AGENT_ID: AGENT, WX_CORP_SECRET: 's', WX_WORK_API_BASE: sim.url },
        dir,
      ).workApiBase,
      sim.url,
    );
  });

  test('config errors: one line naming the variable or field, never the secret', () => {
    const env = { WX_CORP_ID: CORP, WX_CORP_AGENT_ID: AGENT, WX_CORP_SECRET: CORP_SECRET };
    assert.throws(
      () => loadConfig({ ...env, WX_CORP_AGENT_ID: 'app-one' }, dir),
      configErr(/WX_CORP_AGENT_ID/),
    );
    assert.throws(
      () => loadConfig({ WX_CORP_ID: CORP, WX_CORP_SECRET: CORP_SECRET }, dir),
      configErr(/WX_CORP_AGENT_ID/),
    );
    assert.throws(
      () => loadConfig({ WX_CORP_ID: CORP, WX_CORP_AGENT_ID: AGENT }, dir),
      configErr(/WX_CORP_SECRET/),
    );
    assert.throws(() => loadConfig({ WX_CORP_SECRET: CORP_SECRET }, dir), configErr(/WX_CORP_ID/));
    assert.throws(() => loadConfig({ ...env, WX_CORP_ID: 'bad id!' }, dir), configErr(/WX_CORP_ID/));
    assert.throws(() => loadConfig({ ...env, WX_WORK_API_BASE: 'nope' }, dir), configErr(/WX_WORK_API_BASE/));
  });

  test('wxkit.config.json: Official Accounts and WeCom apps side by side; secretEnv; the allow-lists', async () => {
    const d = await mkdtemp(join(dir, 'file-'));
    const file = {
      workApiBase: sim.url,
      accounts: [
        { appId: APP.appId, secret: APP.secret, jsDomains: ['localhost'] },
        {
          type: 'wecom',
          corpId: CORP,
          agentId: Number(AGENT),
          secretEnv: 'CORP_SECRET',
          jsDomains: ['localhost'],
        },
        { type: 'wecom', corpId: CORP, agentId: '1000005', secret: 'second-app-secret' },
      ],
    };
    await writeFile(join(d, 'wxkit.config.json'), JSON.stringify(file));
    const c = loadConfig({ CORP_SECRET, WX_JS_DOMAINS: 'h5.example.com' }, d);
    assert.equal(c.accounts.length, 1);
    assert.deepEqual(
      c.wecom.map((w) => [w.corpId, w.agentId, w.jsDomains]),
      [
        [CORP, AGENT, ['localhost']],
        [CORP, '1000005', ['h5.example.com']],
      ],
    );
    assert.equal(c.workApiBase, sim.url);

    const bad = async (account: Record<string, unknown>, pattern: RegExp) => {
      await writeFile(join(d, 'wxkit.config.json'), JSON.stringify({ accounts: [account] }));
      assert.throws(() => loadConfig({}, d), configErr(pattern));
    };
    await bad(
      { type: 'wecom', corpId: CORP, agentId: AGENT, secret: CORP_SECRET, appId: 'wx1' },
      /unknown field "appId"/,
    );
    await bad(
      { type: 'wecom', corpId: CORP, agentId: AGENT, secret: CORP_SECRET, tokenMode: 'classic' },
      /"tokenMode"/,
    );
    await bad({ type: 'wecom', corpId: CORP, secret: CORP_SECRET }, /accounts\[0\]\.agentId/);
    await bad({ type: 'wecom', corpId: CORP, agentId: AGENT }, /accounts\[0\]\.secret/);
    await bad({ type: 'wecom', corpId: CORP, agentId: AGENT, secretEnv: 'NOPE_UNSET' }, /NOPE_UNSET/);
    await bad({ type: 'wecom', agentId: AGENT, secret: CORP_SECRET }, /accounts\[0\]\.corpId/);
    await bad({ type: 'qq', appId: 'wx1', secret: 's' }, /type must be "official" or "wecom"/);
    await bad({ appId: APP.appId, secret: 's', corpId: CORP }, /unknown field "corpId"/);
  });
});

describe('wxkit serve with a WeCom app', () => {
  /** The service in this process, live against the simulator, with the WeCom app (and `env` besides). */
  const serveWecom = (env: Record<string, string> = {}) =>
    startService({
      env: {
        ...env,
        WX_CORP_ID: CORP,
        WX_CORP_AGENT_ID: AGENT,
        WX_CORP_SECRET: CORP_SECRET,
        WX_WORK_API_BASE: sim.url,
        WX_JS_DOMAINS: 'localhost',
        WXKIT_STORE: 'memory',
        PORT: '0',
        WXKIT_LOG: 'off',
      },
      cwd: dir,
      logLine: () => {},
    });

  test('a full WeCom config starts live (no sandbox) and serves the corp next to the Official Account', async () => {
    const svc = await serveWecom({
      WX_APP_ID: APP.appId,
      WX_APP_SECRET: APP.secret,
      WX_API_BASE: sim.url,
      WX_OPEN_BASE: sim.url,
    });
    try {
      assert.equal(svc.sandbox, false);
      assert.deepEqual(
        svc.accounts.map((a) => [a.type ?? 'official', a.appId]),
        [
          ['official', APP.appId],
          ['wecom', CORP],
        ],
      );
      const res = await fetch(
        `${svc.url}/jssdk/agent-config?${new URLSearchParams({ url: PAGE, appId: CORP, apis: 'openUserProfile' })}`,
      );
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        signature: string;
        nonceStr: string;
        timestamp: number;
        agentid: string;
      };
      assert.equal(body.agentid, AGENT);
      const ticket = sim.state.currentAgentTicket(CORP, AGENT) as string;
      assert.equal(
        body.signature,
        signJssdk({ ticket, nonceStr: body.nonceStr, timestamp: body.timestamp, url: PAGE }),
      );
      const config = (await (
        await fetch(`${svc.url}/jssdk/config?${new URLSearchParams({ url: PAGE, appId: CORP })}`)
      ).json()) as { appId: string; beta: boolean };
      assert.deepEqual([config.appId, config.beta], [CORP, true]);
      const oa = (await (
        await fetch(`${svc.url}/jssdk/config?${new URLSearchParams({ url: PAGE })}`)
      ).json()) as {
        appId: string;
      };
      assert.equal(oa.appId, APP.appId, 'the first account stays the default');
      const ready = await fetch(`${svc.url}/readyz`);
      assert.equal(((await ready.json()) as { mode: string }).mode, 'live');
    } finally {
      await svc.close();
    }
  });

  test('WeCom alone: starts live (WX_CORP_ID is an account); with --sandbox it is refused', async () => {
    const alone = await serveWecom();
    try {
      assert.equal(alone.sandbox, false);
      assert.equal(alone.accounts[0]?.appId, CORP);
    } finally {
      await alone.close();
    }
    await assert.rejects(
      startService({
        env: { WX_CORP_ID: CORP, WX_CORP_AGENT_ID: AGENT, WX_CORP_SECRET: CORP_SECRET, PORT: '0' },
        cwd: dir,
        flags: { sandbox: true },
        logLine: () => {},
      }),
      configErr(/WX_CORP_ID/),
    );
  });
});
