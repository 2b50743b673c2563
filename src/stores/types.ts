/**
 * The store contract: a few string operations with TTLs and a lease lock. wxkit keeps one record per
 * (account, credential) in it and takes the lock before asking WeChat, so every process and machine
 * that shares the store makes one upstream fetch at a time. Implement it to add your own backend; run
 * the conformance suite (`storeConformance` from `wxkit/stores/testing`) against it.
 *
 * Keys are plain strings such as `wxkit:wx123:access_token` (never a secret; stores that turn keys into
 * file names hash them anyway). Values are opaque strings (wxkit writes JSON).
 *
 * Leases are short (wxkit uses 3 s) and the holder renews its lease while it is alive, so a holder that
 * crashed is noticed within one lease however long a fetch takes.
 *
 * @example
 * const store = createMemoryStore();
 * const owner = await store.tryLock('k:lock', 3_000);
 * if (owner) try { await store.set('k', 'v', 60_000) } finally { await store.unlock('k:lock', owner) }
 */
export interface Store {
  /** What the store is, for status and logs, without credentials: `memory`, `file:/abs/dir`, `redis://host:6379`. */
  readonly description: string;
  /** The value, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value`; it expires after `ttlMs` milliseconds (never, when omitted). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Removes the key (no error when absent). */
  delete(key: string): Promise<void>;
  /** Removes the key only if it still holds exactly `expected`, atomically. True when it removed it. */
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  /**
   * Takes the lock `key` for `leaseMs` milliseconds if nobody holds it (or the holder's lease ended).
   * Returns a random owner token to pass to {@link Store.unlock}, or `undefined` when it is held.
   */
  tryLock(key: string, leaseMs: number): Promise<string | undefined>;
  /**
   * Compare-and-extend: if `owner` still holds the lock `key`, its lease now ends `leaseMs` from now.
   * False (and nothing changes) when the lease already ended or another owner holds the lock: a holder
   * that stalled past its lease never takes the lock back.
   */
  renew(key: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Releases the lock if `owner` still holds it (compare-and-delete). True when it released it. */
  unlock(key: string, owner: string): Promise<boolean>;
  /** Resolves when the store answers; rejects when it is unreachable. */
  ping(): Promise<void>;
  /**
   * Compare-and-set, atomically: writes `value` (expiring after `ttlMs`, never when omitted) only if the
   * key still holds exactly `expected` — or is absent, when `expected` is `null`. True when it wrote.
   * Optional for custom stores; the third-party platform (a refresh token changes only by
   * compare-and-set, so a stale writer never overwrites a newer one) needs it, and wxkit's stores have it.
   */
  compareAndSet?(key: string, expected: string | null, value: string, ttlMs?: number): Promise<boolean>;
  /**
   * Adds members to the set `key` (created when absent; never expires). Optional: the third-party
   * platform keeps its index of authorized accounts in a few such sets.
   */
  addMembers?(key: string, members: readonly string[]): Promise<void>;
  /** Removes members from the set `key` (no error when absent). */
  removeMembers?(key: string, members: readonly string[]): Promise<void>;
  /** The members of the set `key`, in no particular order (empty when absent). */
  members?(key: string): Promise<string[]>;
  /** Releases connections and timers. */
  close(): Promise<void>;
  /**
   * Optional: the value with how long the key has left, counted by the store (`ttlMs` absent for a key
   * without expiry). Processes whose clocks disagree then agree on when a shared credential ends:
   * without it, wxkit caps what it reads at a credential's longest lifetime.
   */
  getEntry?(key: string): Promise<{ value: string; ttlMs?: number | undefined } | undefined>;
  /**
   * Optional: tells every process sharing the store that `key` changed (a healed or rotated ticket),
   * so they re-read it at once instead of at their next periodic re-read. Best effort.
   */
  publish?(key: string): Promise<void>;
  /**
   * Optional: calls `listener(key)` for every {@link Store.publish} by any process sharing the store
   * (this one included). Resolves to a function that stops listening.
   */
  subscribe?(listener: (key: string) => void): Promise<() => void>;
}

/** A store with the optional operations the third-party platform needs; wxkit's built-in stores are. */
export type IndexedStore = Store &
  Required<Pick<Store, 'compareAndSet' | 'addMembers' | 'removeMembers' | 'members'>>;

/** Whether `store` has every optional operation of {@link IndexedStore}. */
export function isIndexedStore(store: Store): store is IndexedStore {
  return (
    typeof store.compareAndSet === 'function' &&
    typeof store.addMembers === 'function' &&
    typeof store.removeMembers === 'function' &&
    typeof store.members === 'function'
  );
}

/** Options shared by the built-in stores. */
export interface StoreClockOptions {
  /** Clock for TTLs and leases, in milliseconds. Leases are about real processes: keep the real clock unless testing. @default Date.now */
  now?: (() => number) | undefined;
}
