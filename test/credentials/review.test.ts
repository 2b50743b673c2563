import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Store } from '../../src/stores/types.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';
import { startRedisServer } from '../stores/redis-server.ts';

// Races and quota burns found in the custody review; each test failed before its fix.

const APP = { appId: 'wxrev1ew00000001', secret: 'review-secret-0001' };
const TOKEN_KEY = `wxkit:${APP.appId}:access_token`;

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ apps: [APP], jsDomains: ['h5.example.com'] });
});
after(async () => {
  await sim.close();
});

function wxkit(extra: Partial<WxkitOptions> = {}) {
  return createWxkit({
    ...APP,
    apiBase: sim.url,
    store: createMemoryStore(),
    now: () => sim.state.nowMs(),
    ...extra,
  });
}
const calls = (path: string) => sim.stats().calls[path] ?? 0;
function fresh() {
  sim.clearFaults();
  sim.advance(8000);
  sim.reset();
}

describe('custody review', () => {
  test('40001 from the token endpoint itself (wrong AppSecret) is remembered, not asked again per call', async () => {
    fresh();
    const wx = wxkit();
    sim.setFaults({ path: '/cgi-bin/stable_token', errcode: 40001, times: 100_000 });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => wx.accessToken()));
    for (let i = 0; i < 20; i++) await wx.accessToken().catch(() => {});
    assert.ok(results.every((r) => r.status === 'rejected'));
    const e = (results[0] as PromiseRejectedResult).reason;
    assert.equal(e.errcode, 40001);
    const upstream = calls('/cgi-bin/stable_token');
    assert.ok(upstream >= 1 && upstream <= 3, `${upstream} stable_token calls`);
    sim.clearFaults();
    sim.advance(61);
    assert.ok(await wx.accessToken());
    await wx.close();
  });

  test('getticket refusing even a fresh token: one retry per flight, then backoff, not 2 calls per request', async () => {
    fresh();
    const wx = wxkit();
    await wx.accessToken();
    sim.setFaults({ path: '/cgi-bin/ticket/getticket', errcode: 40001, times: 100_000 });
    await Promise.allSettled(Array.from({ length: 200 }, () => wx.ticket()));
    for (let i = 0; i < 20; i++) await wx.ticket().catch(() => {});
    const tickets = calls('/cgi-bin/ticket/getticket');
    assert.ok(tickets >= 2 && tickets <= 4, `${tickets} getticket calls`);
    assert.ok(calls('/cgi-bin/stable_token') <= 3);
    sim.clearFaults();
    sim.advance(61);
    assert.ok(await wx.ticket());
    await wx.close();
  });

  test('refresh({force}) that ends up adopting another process’s token does not leave force_refresh armed', async () => {
    fresh();
    const inner = createMemoryStore();
    const other = wxkit({ store: inner });
    await other.accessToken();
    const raw = await inner.get(TOKEN_KEY);
    assert.ok(raw);
    // Another process writes its token right after our clearCache() (the last thing clearCache deletes).
    let armed = true;
    const store: Store = {
      ...inner,
      description: 'memory',
      async delete(key) {
        await inner.delete(key);
        if (armed && key === `wxkit:${APP.appId}:wx_card_ticket:error`) {
          armed = false;
          await inner.set(TOKEN_KEY, raw, 3_600_000);
        }
      },
    };
    const bodies: string[] = [];
    const wx = wxkit({
      store,
      fetch: async (input, init) => {
        const req = new Request(input, init);
        if (req.url.includes('stable_token')) bodies.push(await req.clone().text());
        return fetch(req);
      },
    });
    await wx.refresh({ force: true });
    assert.equal(bodies.length, 0, 'the refresh adopted the token another process had just fetched');
    // Later, an ordinary fetch (here after a 40001 on that token) must not carry force_refresh.
    await wx.invalidateAccessToken(await wx.accessToken());
    await wx.accessToken();
    assert.equal(bodies.length, 1);
    assert.equal(JSON.parse(bodies[0]!).force_refresh, undefined);
    await Promise.all([wx.close(), other.close()]);
  });

  test('a holder whose lease ended while it fetched does not write its older token over the newer one', async () => {
    fresh();
    let storeNow = Date.now();
    const inner = createMemoryStore({ now: () => storeNow });
    let fetchedA: () => void = () => {};
    const aFetched = new Promise<void>((r) => {
      fetchedA = r;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = wxkit({
      tokenMode: 'classic',
      store: inner,
      timing: { lockLeaseMs: 1_000 },
      fetch: async (input, init) => {
        const res = await fetch(new Request(input, init));
        if (String(new Request(input, init).url).includes('/cgi-bin/token')) {
          fetchedA();
          await gate; // A's answer is slow to come back
        }
        return res;
      },
    });
    const pa = a.accessToken();
    await aFetched;
    storeNow += 2_000; // A's lease has ended
    const b = wxkit({ tokenMode: 'classic', store: inner });
    const tb = await b.accessToken(); // takes the lock over, fetches a newer token, stores it
    assert.equal(calls('/cgi-bin/token'), 2);
    release();
    const ta = await pa;
    const stored = JSON.parse((await inner.get(TOKEN_KEY)) ?? '{}').value;
    assert.equal(stored, tb, 'the store keeps the newer token');
    assert.equal(ta, tb, 'A uses the newer token too');
    await Promise.all([a.close(), b.close()]);
  });

  test('close() during a refresh lets it store the token and release the Redis lock', async () => {
    fresh();
    const redis = await startRedisServer();
    const probe = await createRedisStore({ url: redis.url });
    try {
      let fetched: () => void = () => {};
      const fetching = new Promise<void>((r) => {
        fetched = r;
      });
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const wx = wxkit({
        store: redis.url,
        fetch: async (input, init) => {
          const res = await fetch(new Request(input, init));
          fetched();
          await gate;
          return res;
        },
      });
      const pending = wx.accessToken();
      await fetching;
      assert.ok(await probe.get(`${TOKEN_KEY}:lock`), 'the refresh holds the lock');
      const closing = wx.close();
      release();
      await Promise.all([pending, closing]);
      assert.equal(await probe.get(`${TOKEN_KEY}:lock`), undefined, 'lock released');
      assert.ok(await probe.get(TOKEN_KEY), 'token stored for the other processes');
    } finally {
      await probe.close();
      await redis.stop();
    }
  });

  test('a call still waiting for another process’s lock when close() gives up does not fetch by itself', async () => {
    fresh();
    const redis = await startRedisServer();
    try {
      let fetched: () => void = () => {};
      const fetching = new Promise<void>((r) => {
        fetched = r;
      });
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const holder = wxkit({
        tokenMode: 'classic',
        store: redis.url,
        fetch: async (input, init) => {
          const res = await fetch(new Request(input, init));
          fetched();
          await gate;
          return res;
        },
      });
      const held = holder.accessToken();
      await fetching;
      // A short lease: close() stops waiting for the in-flight call after it and closes the store.
      const waiter = wxkit({ tokenMode: 'classic', store: redis.url, timing: { lockLeaseMs: 300 } });
      const waiting = waiter.accessToken().catch((e) => e);
      await waiter.close();
      const result = await waiting;
      release();
      await held;
      assert.equal(calls('/cgi-bin/token'), 1, 'only the lock holder asked WeChat');
      assert.equal((result as { code?: string }).code, 'config_error');
      await holder.close();
    } finally {
      await redis.stop();
    }
  });
});
