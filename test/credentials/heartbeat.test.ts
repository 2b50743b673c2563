import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Store } from '../../src/stores/types.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';
import { startWorkers, stopWorkers, testbed } from './processes.ts';

// Issue 11 item 1: a crashed lock holder blocked everyone for the whole 20 s lease, and with 3 s of
// upstream latency waiters gave up (25 s) just before the credential arrived. The lease is now short
// and renewed by a live holder; waiters wait as long as it lives.

const APP = { appId: 'wxheartbeat00001', secret: 'heartbeat-secret-01' };
const PAGE = 'https://h5.example.com/page?x=1';

const bed = testbed({ apps: [APP], jsDomains: ['h5.example.com'] }, 'wxkit-heartbeat-');
const { calls, fresh } = bed;
const base = (extra: Partial<WxkitOptions> = {}) =>
  ({ ...APP, apiBase: bed.sim.url, jsDomains: ['h5.example.com'], ...extra }) satisfies WxkitOptions;
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('store lock heartbeat', () => {
  let n = 0;
  const stores: [string, () => string | Store][] = [
    ['memory', () => createMemoryStore()],
    ['file', () => `file:${join(bed.dir, `store-${++n}`)}`],
    ['redis', () => bed.redis.url],
  ];
  for (const [kind, open] of stores) {
    test(`${kind}: a live holder keeps its lock through a fetch 3× longer than the lease; the waiter never gives up nor fetches again`, async () => {
      fresh();
      const store = open();
      // Two processes' worth of custody sharing one store (separate createWxkit, separate memory copies).
      // A lease long enough that a loaded machine's stalled timers (hundreds of ms) do not lose it.
      const timing = { lockLeaseMs: 1_500 };
      const a = createWxkit({ ...base({ store, timing }), now: () => bed.sim.state.nowMs() });
      const b = createWxkit({ ...base({ store, timing }), now: () => bed.sim.state.nowMs() });
      try {
        bed.sim.setFaults({ path: '/cgi-bin/stable_token', latencyMs: 4_500, times: 1 });
        const ta = a.accessToken();
        await until(() => calls('/cgi-bin/stable_token') === 1);
        const tb = await b.accessToken();
        assert.equal(tb, await ta);
        assert.equal(calls('/cgi-bin/stable_token'), 1, 'one fetch: the lease was renewed while it ran');
        assert.equal(b.metrics.sum('wxkit_lock_waits_total'), 1, 'b waited on the lock');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }

  test('a wedged holder stops renewing after lockHoldMaxMs: the lock frees within one lease', async () => {
    fresh();
    const store = createMemoryStore();
    const timing = { lockLeaseMs: 300, lockHoldMaxMs: 400 };
    const a = createWxkit({ ...base({ store, timing }), now: () => bed.sim.state.nowMs() });
    const b = createWxkit({ ...base({ store, timing }), now: () => bed.sim.state.nowMs() });
    try {
      bed.sim.setFaults({ path: '/cgi-bin/stable_token', latencyMs: 3_000, times: 1 });
      const ta = a.accessToken();
      await until(() => calls('/cgi-bin/stable_token') === 1);
      assert.ok(await b.accessToken());
      assert.equal(calls('/cgi-bin/stable_token'), 2, 'b took the lock over once a stopped renewing');
      await ta;
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('defaults, 3 s upstream latency, the holder SIGKILLed 0.7 s into its fetch: no survivor gives up; one more fetch', async () => {
    fresh();
    const opts = base({ store: bed.redis.url });
    const [holder] = await startWorkers(bed.sim, 1, opts);
    const others = await startWorkers(bed.sim, 3, opts);
    try {
      bed.sim.setFaults([
        { path: '/cgi-bin/stable_token', latencyMs: 3_000 },
        { path: '/cgi-bin/ticket/getticket', latencyMs: 3_000 },
      ]);
      void holder!.send({ cmd: 'config', n: 1, url: PAGE }).catch(() => {});
      await until(() => calls('/cgi-bin/stable_token') === 1);
      const waiting = others.map((w) => w.send({ cmd: 'config', n: 10, url: PAGE }));
      await new Promise((r) => setTimeout(r, 700));
      await holder!.kill();
      const replies = await Promise.all(waiting);
      const ticket = bed.sim.state.currentTicket(APP.appId);
      for (const r of replies) {
        assert.deepEqual(r.errors, [], 'no 503 "fetching … too long"');
        for (const c of r.configs ?? []) {
          assert.equal(
            c.signature,
            signJssdk({ ticket: ticket!, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE }),
          );
        }
      }
      assert.equal(replies.flatMap((r) => r.configs ?? []).length, 30);
      assert.equal(calls('/cgi-bin/stable_token'), 2, 'one survivor fetched after the dead holder’s lease');
      assert.equal(calls('/cgi-bin/ticket/getticket'), 1);
    } finally {
      await holder!.kill();
      await stopWorkers(others);
    }
  });
});
