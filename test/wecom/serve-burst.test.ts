// Issue 13 "Done when": 1000 concurrent cold /jssdk/agent-config requests over 4 processes (`wxkit serve
// --workers 4`), sharing a file store and then Redis, cause one gettoken, one get_jsapi_ticket and one
// ticket/get upstream; every answer verifies against the simulator's app ticket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { startServe } from '../serve/spawn.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

const CORP = 'wwburst000000001';
const AGENT = '1000002';
const SECRET = 'burst-wecom-secret';
const PAGE = 'https://h5.example.com/orders?id=7';

let sim: Simulator;
let redis: RedisServer;
let cwd: string;
before(async () => {
  sim = await startSimulator({
    corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['h5.example.com'] }],
  });
  redis = await startRedisServer();
  cwd = mkdtempSync(join(tmpdir(), 'wxkit-wecom-burst-'));
});
after(async () => {
  await redis?.stop();
  await sim?.close();
  rmSync(cwd, { recursive: true, force: true });
});

type Signed = { signature: string; nonceStr: string; timestamp: number; appId: string; agentid: string };
/** The first 50 answers name `value` in `field` and verify against `ticket`. */
function assertSigned(
  answers: { body: unknown }[],
  field: 'appId' | 'agentid',
  value: string,
  ticket: string,
) {
  for (const { body } of answers.slice(0, 50)) {
    const b = body as Signed;
    assert.equal(b[field], value);
    assert.equal(b.signature, signJssdk({ ticket, nonceStr: b.nonceStr, timestamp: b.timestamp, url: PAGE }));
  }
}

for (const kind of ['file', 'redis'] as const) {
  test(`${kind} store: 1000 cold /jssdk/agent-config over 4 processes → 1 gettoken, 1 get_jsapi_ticket, 1 ticket/get`, async () => {
    sim.advance(8000); // every token and ticket of an earlier run is expired
    sim.reset();
    const store = kind === 'file' ? `file:${mkdtempSync(join(cwd, 'store-'))}` : `${redis.url}/3`;
    const serve = await startServe(
      {
        WX_CORP_ID: CORP,
        WX_CORP_AGENT_ID: AGENT,
        WX_CORP_SECRET: SECRET,
        WX_WORK_API_BASE: sim.url,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_STORE: store,
        WXKIT_LOG: 'errors',
        WXKIT_RATE_LIMIT: 'off',
        WXKIT_SESSION_SECRET: 'burst-test-session-secret-0123456789',
      },
      ['--workers', '4'],
      cwd,
    );
    try {
      // A WeCom page asks for both: its wx.config (corp ticket) and its wx.agentConfig (app ticket).
      const q = `url=${encodeURIComponent(PAGE)}&apis=selectExternalContact&appId=${CORP}`;
      const get = (path: string) =>
        fetch(`${serve.url}${path}?${q}`).then(async (r) => ({ status: r.status, body: await r.json() }));
      const [answers, configs] = await Promise.all([
        Promise.all(Array.from({ length: 1000 }, () => get('/jssdk/agent-config'))),
        Promise.all(Array.from({ length: 1000 }, () => get('/jssdk/config'))),
      ]);
      const bad = [...answers, ...configs].filter((a) => a.status !== 200);
      assert.equal(bad.length, 0, JSON.stringify(bad.slice(0, 3)));
      const calls = sim.stats().calls;
      assert.equal(calls['/cgi-bin/gettoken'], 1, JSON.stringify(calls));
      assert.equal(calls['/cgi-bin/get_jsapi_ticket'], 1, JSON.stringify(calls));
      assert.equal(calls['/cgi-bin/ticket/get'], 1, JSON.stringify(calls));
      const corpTicket = sim.state.wecom.currentCorpTicket(CORP);
      assert.ok(corpTicket);
      assertSigned(configs, 'appId', CORP, corpTicket);
      const ticket = sim.state.wecom.currentAgentTicket(CORP, AGENT);
      assert.ok(ticket);
      assertSigned(answers, 'agentid', AGENT, ticket);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });
}
