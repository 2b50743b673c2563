import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Store } from '../../src/stores/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

/**
 * Issue 18 item 12: two instances sharing a store, one with a clock 120 s or 700 s ahead (injected
 * clocks over the simulator's virtual one; the store counts the true time). The store's absolute times
 * used to carry one instance's skew into the other.
 */

const APP = { appId: 'wxskew0000000001', secret: 'skew-secret-0001' };
let sim: Simulator;
before(async () => {
  sim = await startSimulator({ apps: [APP] });
});
after(async () => {
  await sim.close();
});

const fresh = () => {
  sim.clearFaults();
  sim.advance(8000);
  sim.reset();
};
/** An instance whose clock is `aheadMs` ahead of the true (simulator's) time. */
const instance = (store: Store, aheadMs = 0) =>
  createWxkit({ ...APP, apiBase: sim.url, store, now: () => sim.state.nowMs() + aheadMs });
const trueStore = () => createMemoryStore({ now: () => sim.state.nowMs() });

describe('clock skew between instances sharing a store', () => {
  test('120 s ahead: a 1 s WeChat blip there does not make the right-clock instance refuse for 2 minutes', async () => {
    fresh();
    const store = trueStore();
    const ahead = instance(store, 120_000);
    const right = instance(store);
    sim.setFaults({ path: '/cgi-bin/stable_token', errcode: -1, times: 2 }); // the call and its one retry
    await assert.rejects(ahead.accessToken(), { code: 'upstream_unavailable' });
    await assert.rejects(right.accessToken(), { code: 'upstream_unavailable' }, 'inside the blip: shared');
    sim.advance(2);
    assert.ok(await right.accessToken(), 'two seconds later the right-clock instance asks again');
    await Promise.all([ahead.close(), right.close()]);
  });

  test('120 s ahead: an unreachable WeChat opens the other instance’s breaker for the open period, not 2 minutes more', async () => {
    fresh();
    const store = trueStore();
    const ahead = instance(store, 120_000);
    const right = instance(store);
    sim.setFaults({ path: '/cgi-bin/stable_token', drop: true, times: 2 });
    await assert.rejects(ahead.accessToken(), { code: 'upstream_unavailable' });
    await assert.rejects(right.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(right.breaker().state, 'open');
    assert.ok((right.breaker().retryAt ?? 0) <= sim.state.nowMs() + 5_000, 'learned the 5 s open period');
    sim.advance(6);
    assert.ok(await right.accessToken());
    assert.equal(right.breaker().state, 'closed');
    await Promise.all([ahead.close(), right.close()]);
  });

  test('700 s ahead and refreshing early: a cold right-clock instance never signs past the ticket’s real end', async () => {
    fresh();
    const store = trueStore();
    const ahead = instance(store, 700_000);
    await ahead.ticket();
    sim.advance(6490); // the ahead instance sees 10 s left and fetches again; WeChat says 710 s are left
    const ticket = await ahead.ticket();
    const right = instance(store);
    assert.equal(await right.ticket(), ticket, 'the cold instance adopts the shared ticket');
    assert.ok(
      (await right.ticketInfo()).expiresAt <= sim.state.nowMs() + 710_000,
      'ends when WeChat ends it',
    );
    sim.advance(720); // WeChat ended that ticket 10 s ago
    assert.notEqual(await right.ticket(), ticket);
    assert.equal(await right.ticket(), sim.state.currentTicket(APP.appId), 'it signs with the live ticket');
    await Promise.all([ahead.close(), right.close()]);
  });

  test('a store that cannot tell a key’s TTL: an adopted expiry is capped at the longest a ticket lives', async () => {
    fresh();
    const { getEntry: _none, ...plain } = trueStore();
    const store = plain as Store;
    const ahead = instance(store, 3 * 3600_000);
    await ahead.ticket();
    const right = instance(store);
    await right.ticket();
    assert.ok((await right.ticketInfo()).expiresAt <= sim.state.nowMs() + 7_200_000);
    await Promise.all([ahead.close(), right.close()]);
  });
});
