import { randomHex } from '../random.ts';
import type { IndexedStore, StoreClockOptions } from './types.ts';

interface Entry {
  value: string;
  /** A set's members (then `value` is ''). */
  set?: Set<string>;
  /** Milliseconds since the epoch; Infinity for no expiry. */
  expiresAt: number;
}

/** The memory store; `size` counts the entries held (live ones, after a sweep). */
export interface MemoryStore extends IndexedStore {
  readonly size: number;
}

/**
 * A store in this process's memory: credentials are shared by every `createWxkit()` given the same
 * store object, not by other processes. The default for tests and single-process apps.
 *
 * @example
 * const store = createMemoryStore();
 * const a = createWxkit({ appId: 'wxA', secret: sA, store });
 * const b = createWxkit({ appId: 'wxB', secret: sB, store });
 */
export function createMemoryStore(options: StoreClockOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const listeners = new Set<(key: string) => void>();
  // Entries are dropped when read after expiry; keys nobody reads again (abandoned OAuth logins, say)
  // are swept every SWEEP_EVERY writes, so memory stays bounded by what is live.
  let writes = 0;
  const sweep = () => {
    const t = now();
    for (const [key, e] of entries) if (e.expiresAt <= t) entries.delete(key);
  };
  const write = (key: string, entry: Entry) => {
    if (++writes % SWEEP_EVERY === 0) sweep();
    entries.set(key, entry);
  };

  const read = (key: string): Entry | undefined => {
    const e = entries.get(key);
    if (e && e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };

  return {
    description: 'memory',
    async get(key) {
      return read(key)?.value;
    },
    async set(key, value, ttlMs) {
      write(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : now() + ttlMs });
    },
    async delete(key) {
      entries.delete(key);
    },
    async compareAndDelete(key, expected) {
      if (read(key)?.value !== expected) return false;
      entries.delete(key);
      return true;
    },
    async tryLock(key, leaseMs) {
      if (read(key)) return undefined;
      const owner = randomHex(12);
      write(key, { value: owner, expiresAt: now() + leaseMs });
      return owner;
    },
    async renew(key, owner, leaseMs) {
      const e = read(key);
      if (e?.value !== owner) return false;
      e.expiresAt = now() + leaseMs;
      return true;
    },
    async unlock(key, owner) {
      if (read(key)?.value !== owner) return false;
      entries.delete(key);
      return true;
    },
    async compareAndSet(key, expected, value, ttlMs) {
      const current = read(key);
      if (expected === null ? current !== undefined : current?.value !== expected || current.set)
        return false;
      write(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : now() + ttlMs });
      return true;
    },
    async addMembers(key, members) {
      let e = read(key);
      if (!e?.set) {
        e = { value: '', set: new Set(), expiresAt: Number.POSITIVE_INFINITY };
        write(key, e);
      }
      for (const m of members) e.set?.add(m);
    },
    async removeMembers(key, members) {
      const e = read(key);
      if (!e?.set) return;
      for (const m of members) e.set.delete(m);
      if (e.set.size === 0) entries.delete(key);
    },
    async members(key) {
      return [...(read(key)?.set ?? [])];
    },
    async getEntry(key) {
      const e = read(key);
      if (!e) return undefined;
      return {
        value: e.value,
        ...(e.expiresAt === Number.POSITIVE_INFINITY ? {} : { ttlMs: e.expiresAt - now() }),
      };
    },
    // Every createWxkit() given this store object hears of a change at once.
    async publish(key) {
      for (const listener of [...listeners]) queueMicrotask(() => listener(key));
    },
    async subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ping() {},
    async close() {},
    get size() {
      return entries.size;
    },
  };
}

const SWEEP_EVERY = 256;
