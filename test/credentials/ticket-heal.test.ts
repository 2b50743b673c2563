import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeListener } from '../../src/adapters/node.ts';
import { createHandler } from '../../src/http/handler.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Store } from '../../src/stores/types.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

/**
 * Issue 18 item 9: a ticket healed on instance A reaches instance B (two instances on one real
 * redis-server) — announced through Redis pub/sub, and, without an announcement, adopted from the
 * store by B's own diagnosis (no upstream call).
 */

const PAGE = 'https://h5.example.com/heal?x=1';

interface Instance {
  wx: Wxkit;
  url: string;
  close(): Promise<void>;
}

let sim: Simulator;
let redis: RedisServer;
let n = 0;

before(async () => {
  sim = await startSimulator({
    apps: [1, 2].map((i) => ({
      appId: `wxheal000000000${i}`,
      secret: `heal-secret-${i}`,
      jsDomains: ['h5.example.com'],
    })),
  });
  redis = await startRedisServer();
});
after(async () => {
  await sim.close();
  await redis.stop();
});

async function instance(app: { appId: string; secret: string }, store: Store | string): Promise<Instance> {
  const wx = createWxkit({
    ...app,
    apiBase: sim.url,
    store,
    jsDomains: ['h5.example.com'],
    now: () => sim.state.nowMs(),
  });
  const server: Server = createServer(nodeListener(createHandler(wx, { log: false, rateLimit: false })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    wx,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await wx.close();
      // A store handed in as an object belongs to the caller: wx.close() leaves it open.
      if (typeof store !== 'string') await store.close();
    },
  };
}

async function config(at: Instance): Promise<Record<string, unknown>> {
  return (await (await fetch(`${at.url}/jssdk/config?url=${encodeURIComponent(PAGE)}`)).json()) as Record<
    string,
    unknown
  >;
}

async function report(at: Instance, signed: Record<string, unknown>) {
  const res = await fetch(`${at.url}/jssdk/diagnose`, {
    method: 'POST',
    body: JSON.stringify({ ...signed, url: PAGE, errMsg: 'config:invalid signature' }),
  });
  return (await res.json()) as {
    ok: boolean;
    code?: string;
    ticketRecheck?: { refreshed: boolean; rechecked: boolean };
  };
}

/** True when WeChat (the simulator) would accept this config's signature now. */
function verifies(appId: string, c: Record<string, unknown>): boolean {
  const ticket = sim.state.currentTicket(appId);
  if (!ticket) return false;
  return (
    signJssdk({ ticket, nonceStr: String(c.nonceStr), timestamp: String(c.timestamp), url: PAGE }) ===
    c.signature
  );
}

const getticket = () => sim.stats().calls['/cgi-bin/ticket/getticket'] ?? 0;

describe('a ticket healed on one instance reaches the other', () => {
  test('Redis pub/sub: B signs with the new ticket without a page failing there, and its diagnosis is right', async () => {
    const app = sim.apps[0] as { appId: string; secret: string };
    const prefix = `t${++n}:`;
    const a = await instance(app, await createRedisStore({ url: redis.url, keyPrefix: prefix }));
    const b = await instance(app, await createRedisStore({ url: redis.url, keyPrefix: prefix }));
    try {
      const before = await config(b);
      assert.ok(verifies(app.appId, await config(a)));
      sim.expireTicket(app.appId);
      sim.reset();
      const healed = await report(a, await config(a));
      assert.equal(healed.ticketRecheck?.refreshed, true);
      // B hears of it through the store: wait for the announcement (no assertion on how long it takes).
      let signed = await config(b);
      for (let i = 0; i < 200 && !verifies(app.appId, signed); i++) {
        await new Promise((r) => setTimeout(r, 10));
        signed = await config(b);
      }
      assert.ok(verifies(app.appId, signed), 'B signs with the ticket WeChat verifies with');
      assert.equal(getticket(), 1, 'one upstream call for both instances');
      // A page B signed before the heal reports to B: B names the stale ticket, and asks nobody.
      const diagnosis = await report(b, before);
      assert.equal(diagnosis.ok, false);
      assert.equal(diagnosis.code, 'stale_ticket');
      assert.equal(getticket(), 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('without an announcement (a store that cannot subscribe): B’s own diagnosis adopts the store’s ticket, no upstream call', async () => {
    const app = sim.apps[1] as { appId: string; secret: string };
    const prefix = `t${++n}:`;
    const deaf = async () => {
      const { subscribe: _none, ...s } = await createRedisStore({ url: redis.url, keyPrefix: prefix });
      return s as Store;
    };
    const a = await instance(app, await deaf());
    const b = await instance(app, await deaf());
    try {
      await config(a);
      const signedOnB = await config(b);
      sim.expireTicket(app.appId);
      sim.reset();
      assert.equal((await report(a, await config(a))).ticketRecheck?.refreshed, true);
      assert.equal(verifies(app.appId, await config(b)), false, 'B has not heard of it yet');
      const diagnosis = await report(b, signedOnB);
      assert.equal(diagnosis.code, 'stale_ticket');
      assert.equal(diagnosis.ticketRecheck?.refreshed, true, 'B now holds the store’s ticket');
      assert.equal(diagnosis.ticketRecheck?.rechecked, false, 'without asking WeChat');
      assert.equal(getticket(), 1);
      assert.ok(verifies(app.appId, await config(b)), 'B’s next page signs with the new ticket');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
