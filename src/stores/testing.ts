import assert from 'node:assert/strict';
import type { Store } from './types.ts';

/** A store under test and a way to move its clock forward (virtual, or real sleeping). */
export interface StoreFixture {
  store: Store;
  /** Moves the store's clock `ms` forward: a virtual clock (`now` option), or a real wait. */
  advance(ms: number): Promise<void>;
  /** Closes the store and removes what the fixture created. */
  close(): Promise<void>;
  /**
   * The store claims the optional operations the third-party platform needs (compareAndSet and the
   * sets): they must be present. Without it, a store that leaves them out passes those tests.
   */
  indexed?: boolean | undefined;
}

/**
 * The test-runner functions the suite registers its tests with. `node:test` exports exactly these
 * names; with Vitest or Jest pass `{ describe, test, before: beforeAll, after: afterAll }`.
 */
export interface TestHarness {
  describe(name: string, fn: () => void): unknown;
  test(name: string, fn: () => Promise<void>): unknown;
  before(fn: () => Promise<void>): unknown;
  after(fn: () => Promise<void>): unknown;
}

/**
 * The {@link Store} contract, as one test suite: get/set/TTL, compare-and-delete, the lease lock with
 * renew, ping. wxkit's memory, file and Redis stores pass it; run it against your own store before
 * giving it to `createWxkit({ store })`. Assertions use `node:assert`; the runner is yours.
 *
 * @example
 * // my-store.test.ts, run with `node --test`
 * import * as nodeTest from 'node:test';
 * import { storeConformance } from 'wxkit/stores/testing';
 * storeConformance('my store', async () => {
 *   const store = await openMyStore();
 *   return { store, advance: (ms) => new Promise((r) => setTimeout(r, ms)), close: () => store.close() };
 * }, nodeTest);
 */
export function storeConformance(
  name: string,
  open: () => Promise<StoreFixture>,
  harness: TestHarness,
): void {
  const { describe, test, before, after } = harness;
  describe(`Store conformance: ${name}`, () => {
    let fx: StoreFixture | undefined;
    let store: Store;
    let n = 0;
    const key = () => `wxkit:test:${name}:${++n}:${Math.random().toString(36).slice(2)}`;
    const advance = (ms: number) => (fx as StoreFixture).advance(ms);
    /** True when the store has the optional operation; fails when the fixture claims it but it lacks it. */
    const has = <F>(op: F | undefined, what: string): op is F => {
      if (typeof op === 'function') return true;
      assert.ok(!fx?.indexed, `the store claims the optional operations but has no ${what}`);
      return false;
    };
    before(async () => {
      fx = await open();
      store = fx.store;
    });
    after(async () => {
      await fx?.close();
    });

    test('get of an absent key is undefined; set then get returns the value; set overwrites', async () => {
      const k = key();
      assert.equal(await store.get(k), undefined);
      await store.set(k, 'v1');
      assert.equal(await store.get(k), 'v1');
      await store.set(k, '{"value":"日本語 ✓","n":1}');
      assert.equal(await store.get(k), '{"value":"日本語 ✓","n":1}');
    });

    test('keys are independent', async () => {
      const a = key();
      const b = key();
      await store.set(a, 'A');
      await store.set(b, 'B');
      await store.delete(a);
      assert.equal(await store.get(a), undefined);
      assert.equal(await store.get(b), 'B');
    });

    test('a value with a TTL disappears after it; one without stays', async () => {
      const k = key();
      const forever = key();
      await store.set(k, 'short', 40);
      await store.set(forever, 'long');
      assert.equal(await store.get(k), 'short');
      await advance(120);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.get(forever), 'long');
    });

    test('delete of an absent key is fine', async () => {
      await store.delete(key());
    });

    test('compareAndDelete removes only the expected value', async () => {
      const k = key();
      await store.set(k, 'T1');
      assert.equal(await store.compareAndDelete(k, 'T0'), false);
      assert.equal(await store.get(k), 'T1');
      assert.equal(await store.compareAndDelete(k, 'T1'), true);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.compareAndDelete(k, 'T1'), false);
    });

    test('concurrent compareAndDelete of the same value: exactly one wins', async () => {
      const k = key();
      await store.set(k, 'T');
      const results = await Promise.all(Array.from({ length: 20 }, () => store.compareAndDelete(k, 'T')));
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('a lock has one owner; unlock needs that owner', async () => {
      const k = key();
      const owner = await store.tryLock(k, 10_000);
      assert.ok(owner);
      assert.equal(await store.tryLock(k, 10_000), undefined);
      assert.equal(await store.unlock(k, 'not-the-owner'), false);
      assert.equal(await store.tryLock(k, 10_000), undefined);
      assert.equal(await store.unlock(k, owner), true);
      const again = await store.tryLock(k, 10_000);
      assert.ok(again);
      assert.notEqual(again, owner);
      assert.equal(await store.unlock(k, again), true);
    });

    test('concurrent tryLock: exactly one caller gets the lock', async () => {
      const k = key();
      const owners = await Promise.all(Array.from({ length: 50 }, () => store.tryLock(k, 10_000)));
      const winners = owners.filter((o) => o !== undefined);
      assert.equal(winners.length, 1);
      await store.unlock(k, winners[0]!);
    });

    test('a lock whose lease ended is taken over, and the old owner cannot release the new one', async () => {
      const k = key();
      const first = await store.tryLock(k, 40);
      assert.ok(first);
      await advance(120);
      const second = await store.tryLock(k, 10_000);
      assert.ok(second, 'the lock should be free after its lease');
      assert.equal(await store.unlock(k, first), false);
      assert.equal(await store.tryLock(k, 10_000), undefined);
      assert.equal(await store.unlock(k, second), true);
    });

    test('renew extends the lease of the owner only; a renewed lock outlives its first lease', async () => {
      const k = key();
      const owner = await store.tryLock(k, 150);
      assert.ok(owner);
      assert.equal(await store.renew(k, 'not-the-owner', 10_000), false);
      assert.equal(await store.renew(k, owner, 10_000), true);
      await advance(300);
      assert.equal(await store.tryLock(k, 10_000), undefined, 'the renewed lease still holds');
      assert.equal(await store.unlock(k, owner), true);
      assert.equal(await store.renew(k, owner, 10_000), false, 'nothing to renew after unlock');
      assert.equal(await store.get(k), undefined);
    });

    test('renew after the lease ended fails, and never takes the lock back from a new owner', async () => {
      const k = key();
      const first = await store.tryLock(k, 40);
      assert.ok(first);
      await advance(120);
      assert.equal(await store.renew(k, first, 10_000), false, 'a lapsed lease is not revived');
      const second = await store.tryLock(k, 10_000);
      assert.ok(second, 'the lock is free after the failed renew');
      assert.equal(await store.renew(k, first, 10_000), false);
      assert.equal(await store.renew(k, second, 10_000), true);
      assert.equal(await store.unlock(k, first), false);
      assert.equal(await store.unlock(k, second), true);
    });

    test('compareAndSet writes only over the expected value (or an absent key, for null)', async () => {
      const cas = store.compareAndSet?.bind(store);
      if (!has(cas, 'compareAndSet')) return;
      const k = key();
      assert.equal(await cas(k, 'R0', 'R1'), false, 'absent is not R0');
      assert.equal(await store.get(k), undefined);
      assert.equal(await cas(k, null, 'R1'), true);
      assert.equal(await cas(k, null, 'R2'), false, 'present is not absent');
      assert.equal(await cas(k, 'R0', 'R2'), false);
      assert.equal(await store.get(k), 'R1');
      assert.equal(await cas(k, 'R1', 'R2', 40), true);
      assert.equal(await store.get(k), 'R2');
      await advance(120);
      assert.equal(await store.get(k), undefined, 'the TTL given to compareAndSet applies');
      assert.equal(await cas(k, null, 'R3'), true, 'an expired value counts as absent');
    });

    test('concurrent compareAndSet from the same value: exactly one wins', async () => {
      const cas = store.compareAndSet?.bind(store);
      if (!has(cas, 'compareAndSet')) return;
      const k = key();
      await store.set(k, 'old');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => cas(k, 'old', `new${i}`)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal(await store.get(k), `new${winner}`);
    });

    test('sets: add, remove and list members; concurrent adds all land', async () => {
      const add = store.addMembers?.bind(store);
      const remove = store.removeMembers?.bind(store);
      const list = store.members?.bind(store);
      if (!has(add, 'addMembers') || !has(remove, 'removeMembers') || !has(list, 'members')) return;
      const k = key();
      assert.deepEqual(await list(k), []);
      await add(k, ['a', 'b']);
      await add(k, ['b', 'c']);
      assert.deepEqual((await list(k)).sort(), ['a', 'b', 'c']);
      await remove(k, ['b', 'zz']);
      assert.deepEqual((await list(k)).sort(), ['a', 'c']);
      await remove(k, ['a', 'c']);
      assert.deepEqual(await list(k), []);
      await Promise.all(Array.from({ length: 30 }, (_, i) => add(k, [`m${i}`])));
      assert.equal((await list(k)).length, 30, 'no add is lost to another');
    });

    test('ping answers', async () => {
      await store.ping();
      assert.equal(typeof store.description, 'string');
    });
  });
}
