import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeListener } from '../../src/adapters/node.ts';
import { createHandler } from '../../src/http/handler.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

/**
 * SPEC §10 over HTTP: a diagnosis proving the held ticket wrong heals it, at most once a minute per
 * account — in the process and, through the store's lock, across instances sharing the store.
 */

const APP = 'wxrecheck00000001';
const SECRET = 'recheck-secret';
const PAGE = 'https://h5.example.com/shop?id=7';

interface Instance {
  wx: Wxkit;
  server: Server;
  url: string;
}

let sim: Simulator;
let one: Instance;
let two: Instance;

async function instance(store: ReturnType<typeof createMemoryStore>): Promise<Instance> {
  const wx = createWxkit({
    appId: APP,
    secret: SECRET,
    apiBase: sim.url,
    store,
    jsDomains: ['h5.example.com'],
    now: () => sim.state.nowMs(),
  });
  const handler = createHandler(wx, { log: false, rateLimit: false });
  const server = createServer(nodeListener(handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { wx, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What a page does: get its wx.config, and on `config:invalid signature` report it. */
async function configAndReport(at: Instance, errMsg = 'config:invalid signature') {
  const config = (await (
    await fetch(`${at.url}/jssdk/config?url=${encodeURIComponent(PAGE)}`)
  ).json()) as Record<string, unknown>;
  const res = await fetch(`${at.url}/jssdk/diagnose`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ ...config, url: PAGE, errMsg }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as {
    ok: boolean;
    code: string;
    en: string;
    ticketRecheck?: { rechecked: boolean; refreshed: boolean; reason?: string; retryAfter?: number };
  };
}

const getticketCalls = () => sim.stats().calls['/cgi-bin/ticket/getticket'] ?? 0;

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  // One store shared by two instances, on the simulator's clock (leases included).
  const store = createMemoryStore({ now: () => sim.state.nowMs() });
  one = await instance(store);
  two = await instance(store);
});

after(async () => {
  for (const i of [one, two]) {
    i.server.closeAllConnections();
    await new Promise((r) => i.server.close(r));
    await i.wx.close();
  }
  await sim.close();
});

describe('POST /jssdk/diagnose re-checks a ticket WeChat no longer accepts', () => {
  test('a right signature reported as invalid heals the ticket: one getticket, no token fetch', async () => {
    const before = await one.wx.ticket();
    sim.reset();
    assert.equal(sim.expireTicket(APP), true);
    const report = await configAndReport(one);
    assert.deepEqual(report.ticketRecheck, { rechecked: true, refreshed: true });
    assert.equal(report.code, 'stale_ticket');
    assert.match(report.en, /now holds the new one/);
    assert.equal(getticketCalls(), 1);
    assert.equal(sim.stats().calls['/cgi-bin/stable_token'], undefined, 'no token fetch');
    const after = await one.wx.ticket();
    assert.notEqual(after, before);
    assert.equal(after, sim.state.currentTicket(APP), 'wxkit holds the ticket WeChat verifies with');
    assert.equal(await two.wx.ticket(), after, 'the other instance reads the replaced ticket from the store');
  });

  test('a second report within the minute is rate-limited: no upstream call, in this process or another', async () => {
    sim.reset();
    sim.expireTicket(APP);
    const again = await configAndReport(one);
    assert.equal(again.ticketRecheck?.rechecked, false);
    assert.equal(again.ticketRecheck?.reason, 'rate_limited');
    assert.ok((again.ticketRecheck?.retryAfter ?? 0) >= 1);
    assert.match(again.en, /at most once a minute/);
    const other = await configAndReport(two);
    assert.equal(other.ticketRecheck?.reason, 'rate_limited', 'the store lock limits the other instance');
    assert.equal(getticketCalls(), 0);
  });

  test('after the minute a report re-checks again', async () => {
    sim.advance(61);
    sim.reset();
    const report = await configAndReport(two);
    assert.deepEqual(report.ticketRecheck, { rechecked: true, refreshed: true });
    assert.equal(getticketCalls(), 1);
    assert.equal(await two.wx.ticket(), sim.state.currentTicket(APP));
  });

  test('no re-check when the signature is wrong, or the page did not report invalid signature', async () => {
    sim.advance(61);
    sim.reset();
    const config = (await (
      await fetch(`${one.url}/jssdk/config?url=${encodeURIComponent(PAGE)}`)
    ).json()) as Record<string, unknown>;
    const wrong = await fetch(`${one.url}/jssdk/diagnose`, {
      method: 'POST',
      body: JSON.stringify({
        ...config,
        url: `${PAGE}#frag`,
        signature: 'f'.repeat(40),
        errMsg: 'config:invalid signature',
      }),
    });
    const body = (await wrong.json()) as { ok: boolean; ticketRecheck?: unknown };
    assert.equal(body.ok, false);
    assert.equal(body.ticketRecheck, undefined);
    const fine = await configAndReport(one, 'config:ok');
    assert.equal(fine.ticketRecheck, undefined);
    assert.equal(getticketCalls(), 0);
  });

  test('WeChat refusing the re-check: the diagnosis still answers, saying the re-check failed', async () => {
    sim.advance(61);
    sim.expireTicket(APP);
    sim.setFaults({ path: '/cgi-bin/ticket/getticket', errcode: 40164, times: 5 });
    try {
      const report = await configAndReport(one);
      assert.equal(report.ticketRecheck?.rechecked, false);
      assert.equal(report.ticketRecheck?.reason, 'failed');
      assert.equal(report.ok, true, 'the diagnosis itself is unchanged');
    } finally {
      sim.clearFaults();
    }
  });
});
