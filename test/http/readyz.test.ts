import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeListener } from '../../src/adapters/node.ts';
import { createHandler } from '../../src/http/handler.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Store } from '../../src/stores/types.ts';
import type { WxkitInstance } from '../../src/wxkit.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

/**
 * Issue 11 item 2: `/readyz` answers from the last probe while a bounded probe runs in the background,
 * so a Redis that hangs or is gone never makes the health check itself hang. A real redis-server is
 * stopped (SIGSTOP: it accepts nothing and answers nothing), killed, and started again.
 */

const APP = 'wxreadyz000000001';
const SECRET = 'readyz-secret';

interface Ready {
  status: number;
  body: {
    ready: boolean;
    probing: boolean;
    accounts: Array<{
      appId?: string;
      storeReachable: boolean;
      credentials: boolean;
      store?: string;
      breaker?: { state: string; upstream: string };
    }>;
  };
}

let sim: Simulator;
let redis: RedisServer;
let store: Store;
let wx: WxkitInstance;
let server: Server;
let base: string;
let statusCalls = 0;

/** Longest /readyz answer while Redis was stopped or gone, in ms: printed, never asserted. */
let slowestOutageMs = 0;
let outage = false;

async function readyz(): Promise<Ready> {
  const t0 = performance.now();
  // The bound only turns a hanging /readyz (the bug) into a failure instead of a stuck test.
  const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(20_000) });
  const body = (await res.json()) as Ready['body'];
  if (outage) slowestOutageMs = Math.max(slowestOutageMs, performance.now() - t0);
  return { status: res.status, body };
}

/** Polls /readyz (each answer is immediate) until `want` holds; the last answer. */
async function until(want: (r: Ready) => boolean, what: string): Promise<Ready> {
  let last: Ready | undefined;
  for (let i = 0; i < 300; i++) {
    last = await readyz();
    if (want(last)) return last;
    await sleep(50);
  }
  assert.fail(`${what}; last answer ${JSON.stringify(last)}`);
}

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  redis = await startRedisServer();
  // A long command timeout: while the server is stopped, a store call hangs rather than failing.
  store = await createRedisStore({ url: redis.url, commandTimeoutMs: 60_000 });
  wx = createWxkit({ appId: APP, secret: SECRET, apiBase: sim.url, store, jsDomains: ['h5.example.com'] });
  const status = wx.status.bind(wx);
  wx.status = () => {
    statusCalls++;
    return status();
  };
  // Probes may run a minute, and every request may start one (the last result is always stale).
  const handler = createHandler(wx, {
    log: false,
    rateLimit: false,
    extra: { readiness: { timeoutMs: 60_000, maxAgeMs: 0, graceMs: 0 } },
  });
  server = createServer(nodeListener(handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await wx.ticket();
});

after(async () => {
  await redis.kill('SIGCONT');
  await redis.kill('SIGKILL');
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await wx.close();
  await store.close();
  await sim.close();
});

describe('/readyz during a Redis outage', () => {
  test('healthy: 200, with the details for a loopback caller', async () => {
    const r = await until((x) => x.status === 200 && !x.body.probing, 'never ready');
    assert.equal(r.body.ready, true);
    assert.equal(r.body.accounts[0]?.appId, APP);
    assert.match(r.body.accounts[0]?.store ?? '', /^redis:\/\/127\.0\.0\.1:/);
    assert.deepEqual(
      { state: r.body.accounts[0]?.breaker?.state, upstream: r.body.accounts[0]?.breaker?.upstream },
      { state: 'closed', upstream: sim.url },
      'the circuit breaker in front of WeChat',
    );
  });

  test('Redis stopped (hangs): readyz still answers while its probe waits on the store, one probe at a time', async () => {
    await redis.kill('SIGSTOP');
    outage = true;
    const callsBefore = statusCalls;
    const first = await readyz();
    assert.equal(first.body.probing, true, 'answered while the probe waits for the stopped Redis');
    assert.equal(first.status, 200, 'from the last result');
    for (let i = 0; i < 5; i++) assert.equal((await readyz()).body.probing, true);
    assert.equal(statusCalls - callsBefore, 1, 'no second probe while one is in flight');
  });

  test('Redis gone: 503, the account still serving from memory; 200 again when Redis is back', async (t) => {
    await redis.kill('SIGKILL'); // a stopped process dies too; its connections reset, the hung probe ends
    const down = await until((x) => x.status === 503, 'never 503 with Redis gone');
    assert.equal(down.body.ready, false);
    assert.equal(down.body.accounts[0]?.storeReachable, false);
    assert.equal(down.body.accounts[0]?.credentials, true, 'the ticket is still served from memory');
    const config = await fetch(`${base}/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`);
    assert.equal(config.status, 200, 'pages are still signed');

    await redis.start();
    outage = false;
    t.diagnostic(`slowest /readyz answer during the outage: ${slowestOutageMs.toFixed(1)} ms`);
    const up = await until((x) => x.status === 200, 'never ready again after Redis came back');
    assert.equal(up.body.accounts[0]?.storeReachable, true);
  });
});
