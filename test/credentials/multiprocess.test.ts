import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import { type Reply, startWorkers, stopWorkers, testbed } from './processes.ts';

const APP = { appId: 'wxmu1t1pr0c00001', secret: 'multi-process-secret' };
const PAGE = 'https://h5.example.com/page?x=1';

const bed = testbed({ apps: [APP], jsDomains: ['h5.example.com'] }, 'wxkit-mp-');
const { calls, fresh } = bed;
const base = () => ({ ...APP, apiBase: bed.sim.url, jsDomains: ['h5.example.com'] });
let storeN = 0;
const fileStore = () => `file:${join(bed.dir, `store-${++storeN}`)}`;

function assertSignaturesVerify(replies: Reply[], expectedCount: number) {
  const ticket = bed.sim.state.currentTicket(APP.appId);
  assert.ok(ticket, 'the simulator has a current ticket');
  let n = 0;
  for (const r of replies) {
    assert.deepEqual(r.errors, []);
    for (const c of r.configs ?? []) {
      n++;
      assert.equal(
        c.signature,
        signJssdk({ ticket, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE }),
      );
    }
  }
  assert.equal(n, expectedCount);
}

describe('several processes sharing a store', () => {
  test('1000 cold jssdkConfig over 4 processes sharing a file store: 1 token fetch, 1 ticket fetch', async () => {
    fresh();
    const workers = await startWorkers(bed.sim, 4, { ...base(), store: fileStore() });
    try {
      const replies = await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 250, url: PAGE })));
      assert.equal(calls('/cgi-bin/stable_token'), 1);
      assert.equal(calls('/cgi-bin/ticket/getticket'), 1);
      assertSignaturesVerify(replies, 1000);
    } finally {
      await stopWorkers(workers);
    }
  });

  test('1000 cold jssdkConfig over 2 groups of 2 processes sharing Redis: 1 token fetch, 1 ticket fetch', async () => {
    fresh();
    const groupA = await startWorkers(bed.sim, 2, {
      ...base(),
      store: bed.redis.url,
      cwd: join(bed.dir, 'machine-a'),
    });
    const groupB = await startWorkers(bed.sim, 2, {
      ...base(),
      store: bed.redis.url,
      cwd: join(bed.dir, 'machine-b'),
    });
    const workers = [...groupA, ...groupB];
    try {
      const replies = await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 250, url: PAGE })));
      assert.equal(calls('/cgi-bin/stable_token'), 1);
      assert.equal(calls('/cgi-bin/ticket/getticket'), 1);
      assertSignaturesVerify(replies, 1000);
    } finally {
      await stopWorkers(workers);
    }
  });

  test('45009 on every fetch while 500 calls arrive over 4 processes: a handful of upstream calls, then recovery', async () => {
    fresh();
    const workers = await startWorkers(bed.sim, 4, { ...base(), store: fileStore() });
    try {
      bed.sim.setFaults({ path: '/cgi-bin/stable_token', errcode: 45009, times: 100_000 });
      const replies = await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 125, url: PAGE })));
      const errors = replies.flatMap((r) => r.errors ?? []);
      assert.equal(errors.length, 500);
      assert.ok(
        errors.every((e) => e.startsWith('wechat_error') && e.includes('45009')),
        errors[0],
      );
      const upstream = calls('/cgi-bin/stable_token');
      assert.ok(upstream >= 1 && upstream <= 4, `${upstream} upstream calls for 500 requests`);
      bed.sim.clearFaults();
      bed.sim.advance(61);
      const ok = await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 10, url: PAGE })));
      assertSignaturesVerify(ok, 40);
      assert.equal(calls('/cgi-bin/stable_token'), upstream + 1);
    } finally {
      await stopWorkers(workers);
    }
  });

  test('a simulated day in classic mode over 3 processes: zero errors, about one token fetch per lifetime', async (t) => {
    fresh();
    const workers = await startWorkers(bed.sim, 3, { ...base(), tokenMode: 'classic', store: fileStore() });
    try {
      let errors = 0;
      const step = 60;
      for (let elapsed = 0; elapsed < 86_400; elapsed += step) {
        const replies = await Promise.all(
          workers.flatMap((w) => [
            w.send({ cmd: 'config', n: 3, url: PAGE }),
            w.send({ cmd: 'request', n: 2, path: '/cgi-bin/ticket/getticket?type=jsapi' }),
          ]),
        );
        for (const r of replies) {
          errors += r.errors?.length ?? 0;
          errors += (r.errcodes ?? []).filter((c) => c !== 0).length;
        }
        const ticket = bed.sim.state.currentTicket(APP.appId);
        for (const r of replies) {
          for (const c of r.configs ?? []) {
            assert.equal(
              c.signature,
              signJssdk({ ticket: ticket!, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE }),
            );
          }
        }
        bed.sim.advance(step);
      }
      const tokenFetches = calls('/cgi-bin/token');
      t.diagnostic(
        `classic day, 3 processes: ${tokenFetches} token fetches, ${calls('/cgi-bin/ticket/getticket')} getticket calls (incl. request() calls)`,
      );
      assert.equal(errors, 0);
      // 86400 s / (7200 s − 290 s refresh-ahead) ≈ 12.5 → 13 or 14 fetches.
      assert.ok(tokenFetches >= 12 && tokenFetches <= 16, `${tokenFetches} token fetches in a day`);
    } finally {
      await stopWorkers(workers);
    }
  });

  test('another service rotates the classic token: calls keep succeeding, one extra fetch', async () => {
    fresh();
    const workers = await startWorkers(bed.sim, 3, { ...base(), tokenMode: 'classic', store: fileStore() });
    try {
      const warm = await Promise.all(workers.map((w) => w.send({ cmd: 'token', n: 5 })));
      assert.equal(new Set(warm.flatMap((r) => r.tokens)).size, 1);
      assert.equal(calls('/cgi-bin/token'), 1);
      bed.sim.rotate(APP.appId);
      bed.sim.advance(301);
      const replies = await Promise.all(
        workers.map((w) => w.send({ cmd: 'request', n: 30, path: '/cgi-bin/ticket/getticket?type=jsapi' })),
      );
      for (const r of replies) {
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.errcodes, Array(30).fill(0));
      }
      assert.equal(calls('/cgi-bin/token'), 2, 'one extra fetch across 3 processes and 90 callers');
    } finally {
      await stopWorkers(workers);
    }
  });

  for (const kind of ['file', 'redis'] as const) {
    test(`${kind}: the lock holder is SIGKILLed mid-fetch; the others proceed after the lease`, async () => {
      fresh();
      const store = kind === 'file' ? fileStore() : bed.redis.url;
      const opts = {
        ...base(),
        store,
        timing: { lockLeaseMs: 1500, lockWaitMs: 30_000 },
        fetchTimeoutMs: 20_000,
      };
      const [holder] = await startWorkers(bed.sim, 1, opts);
      const others = await startWorkers(bed.sim, 2, opts);
      try {
        bed.sim.setFaults({ path: '/cgi-bin/stable_token', latencyMs: 4000, times: 1 });
        void holder!.send({ cmd: 'token', n: 1 }).catch(() => {});
        for (let i = 0; i < 400 && calls('/cgi-bin/stable_token') === 0; i++)
          await new Promise((r) => setTimeout(r, 10));
        assert.equal(calls('/cgi-bin/stable_token'), 1, 'the holder is mid-fetch');
        const waiting = others.map((w) => w.send({ cmd: 'config', n: 20, url: PAGE }));
        await new Promise((r) => setTimeout(r, 100));
        await holder!.kill();
        const replies = await Promise.all(waiting);
        assertSignaturesVerify(replies, 40);
        assert.ok(
          replies.some((r) => (r.lockWaits ?? 0) > 0),
          'a survivor waited on the lock',
        );
        assert.equal(calls('/cgi-bin/stable_token'), 2, 'one survivor fetched after the lease');
      } finally {
        await holder!.kill();
        await stopWorkers(others);
      }
    });
  }

  test('Redis stops mid-run: calls keep succeeding from memory, status says so, coordination resumes after', async () => {
    fresh();
    const workers = await startWorkers(bed.sim, 2, { ...base(), store: bed.redis.url });
    try {
      assertSignaturesVerify(
        await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 20, url: PAGE }))),
        40,
      );
      await bed.redis.stop();
      assertSignaturesVerify(
        await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 50, url: PAGE }))),
        100,
      );
      for (const w of workers) {
        const { status } = await w.send({ cmd: 'status' });
        assert.equal(status?.storeReachable, false);
        assert.match(status?.store ?? '', /^redis:\/\/127\.0\.0\.1:\d+$/);
      }
      // Everything expires while Redis is down: each process fetches for itself, nobody fails.
      bed.sim.advance(8000);
      bed.sim.reset();
      assertSignaturesVerify(
        await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 50, url: PAGE }))),
        100,
      );
      assert.ok(calls('/cgi-bin/stable_token') <= 2);

      await bed.redis.start();
      for (const w of workers) {
        let reachable = false;
        for (let i = 0; i < 100 && !reachable; i++) {
          reachable = (await w.send({ cmd: 'status' })).status?.storeReachable === true;
          if (!reachable) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(reachable, 'the store is reachable again');
      }
      // The processes put their copies back into the empty Redis: a newcomer finds them there.
      const probe = await createRedisStore({ url: bed.redis.url });
      let back = false;
      for (let i = 0; i < 100 && !back; i++) {
        back = (await probe.get(`wxkit:${APP.appId}:jsapi_ticket`)) !== undefined;
        if (!back) await new Promise((r) => setTimeout(r, 50));
      }
      await probe.close();
      assert.ok(back, 'a process wrote its ticket back');
      bed.sim.reset();
      const [late] = await startWorkers(bed.sim, 1, { ...base(), store: bed.redis.url });
      try {
        assertSignaturesVerify([await late!.send({ cmd: 'config', n: 10, url: PAGE })], 10);
        assert.equal(calls('/cgi-bin/ticket/getticket'), 0, 'the newcomer used the written-back ticket');
      } finally {
        await stopWorkers([late!]);
      }
      bed.sim.advance(8000);
      bed.sim.reset();
      const replies = await Promise.all(workers.map((w) => w.send({ cmd: 'config', n: 200, url: PAGE })));
      assertSignaturesVerify(replies, 400);
      assert.equal(calls('/cgi-bin/stable_token'), 1, 'coordinated through Redis again');
      assert.equal(calls('/cgi-bin/ticket/getticket'), 1);
    } finally {
      await stopWorkers(workers);
      await bed.redis.start().catch(() => {});
    }
  });
});
