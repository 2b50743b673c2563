import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeExchangeRequest } from '../../src/oauth/requests.ts';
import { processTokenResponse } from '../../src/oauth/responses.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';
import { uploadToWechat } from '../media/wechat-upload.ts';

/**
 * `request()` and media downloads (issue 18, items 10 and 14): a storm of token errcodes fetches a
 * bounded number of tokens, and the deadline fires even when the caller passes its own signal and the
 * body stalls after the headers.
 */

const APP = { appId: 'wxrequest0000001', secret: 'request-secret-001' };
const MEDIA = '/cgi-bin/media/get';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ apps: [APP] });
});
after(async () => {
  await sim.close();
});

const wxkit = (extra: Partial<WxkitOptions> = {}) =>
  createWxkit({
    ...APP,
    apiBase: sim.url,
    store: createMemoryStore({ now: () => sim.state.nowMs() }),
    now: () => sim.state.nowMs(),
    ...extra,
  });
const calls = (path: string) => sim.stats().calls[path] ?? 0;
const fresh = () => {
  sim.clearFaults();
  sim.advance(8000);
  sim.reset();
};

/** Runs `n` tasks, at most `width` at a time (as the media route's per-client slots do). */
async function pool<T>(n: number, width: number, task: () => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const out: PromiseSettledResult<T>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        next++;
        out.push(
          await task().then(
            (value) => ({ status: 'fulfilled' as const, value }),
            (reason) => ({ status: 'rejected' as const, reason }),
          ),
        );
      }
    }),
  );
  return out;
}

describe('a 40001 storm on request() paths', () => {
  for (const tokenMode of ['stable', 'classic'] as const) {
    test(`${tokenMode}: 30 media downloads each answered 40001 fetch 1 or 2 tokens, not 30`, async () => {
      fresh();
      const wx = wxkit({ tokenMode });
      const id = await uploadToWechat(sim, wx, new Uint8Array([1, 2, 3]));
      sim.advance(60); // the token in hand is a minute old: a first 40001 may drop it
      sim.reset();
      sim.setFaults({ path: MEDIA, errcode: 40001 });
      const tokenPath = tokenMode === 'stable' ? '/cgi-bin/stable_token' : '/cgi-bin/token';
      const results = await pool(30, 4, () => wx.downloadMedia(id));
      assert.equal(results.length, 30);
      assert.ok(results.every((r) => r.status === 'rejected' && r.reason.errcode === 40001));
      const fetched = calls(tokenPath);
      assert.ok(fetched >= 1 && fetched <= 2, `${fetched} token fetches`);
      assert.ok(calls(MEDIA) <= 60, `${calls(MEDIA)} media calls: at most one retry each`);

      // Once the storm is over the same token works (it was never the token's fault).
      sim.clearFaults();
      const ok = await wx.downloadMedia(id);
      assert.deepEqual([...ok.bytes], [1, 2, 3]);
      await wx.close();
    });
  }

  test('two instances on one store: the drop is backed off through the store', async () => {
    fresh();
    const store = createMemoryStore({ now: () => sim.state.nowMs() });
    const a = wxkit({ store });
    const b = wxkit({ store });
    const id = await uploadToWechat(sim, a, new Uint8Array([9]));
    await b.accessToken();
    sim.advance(60);
    sim.reset();
    sim.setFaults({ path: MEDIA, errcode: 40001 });
    await Promise.allSettled([
      pool(15, 4, () => a.downloadMedia(id)),
      pool(15, 4, () => b.downloadMedia(id)),
    ]);
    // The old token dropped once, at most one young token per 10 s across both (8 before the fix).
    assert.ok(calls('/cgi-bin/stable_token') <= 3, `${calls('/cgi-bin/stable_token')} token fetches`);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('deadlines on request() paths (item 10: the signal goes to fetch itself)', () => {
  test('a stalled media body times out although the caller passed its own signal', async () => {
    fresh();
    const wx = wxkit({ fetchTimeoutMs: 100 });
    const id = await uploadToWechat(sim, wx, new Uint8Array([4, 5, 6, 7]));
    sim.setFaults({ path: MEDIA, stallBody: true });
    const caller = new AbortController(); // never fires
    let guard: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      wx.downloadMedia(id, { signal: caller.signal }).then(
        () => 'answered',
        (e) => e,
      ),
      new Promise((r) => {
        guard = setTimeout(() => r('still waiting after 10 s'), 10_000);
      }),
    ]);
    clearTimeout(guard);
    assert.equal(outcome.code, 'upstream_unavailable', String(outcome));
    assert.match(outcome.message, /timed out/);
    await wx.close();
  });

  test('the caller’s own signal still aborts a download', async () => {
    fresh();
    const wx = wxkit();
    const id = await uploadToWechat(sim, wx, new Uint8Array([1]));
    sim.setFaults({ path: MEDIA, stallBody: true });
    const caller = new AbortController();
    const p = wx.downloadMedia(id, { signal: caller.signal });
    setTimeout(() => caller.abort(), 50);
    await assert.rejects(p, { code: 'aborted' });
    await wx.close();
  });

  test('OAuth’s code exchange: its timeoutMs (8 s by default) fires on a stalled body too', async () => {
    fresh();
    sim.setFaults({ path: '/sns/oauth2/access_token', stallBody: true });
    let guard: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      codeExchangeRequest(
        { apiBase: sim.url, timeoutMs: 200 },
        { appId: APP.appId, secret: APP.secret, code: 'CODE' },
      )
        .then((res) => processTokenResponse(res, Date.now))
        .then(
          () => 'answered',
          (e) => e,
        ),
      new Promise((r) => {
        guard = setTimeout(() => r('still waiting after 10 s'), 10_000);
      }),
    ]);
    clearTimeout(guard);
    assert.equal(outcome.code, 'upstream_unavailable', String(outcome));
  });
});
