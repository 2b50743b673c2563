/**
 * The store operations OAuth uses — a subset of wxkit's `Store` (src/stores/types.ts), so any wxkit
 * store (memory, file, Redis, your own) plugs in as is. Keys never contain secrets: codes and session
 * ids are hashed before they become keys.
 */
export interface OAuthStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  compareAndDelete(key: string, expected: string): Promise<boolean>;
  /** Takes `key` for `leaseMs` if nobody holds it; the owner token, or `undefined` when held. */
  tryLock(key: string, leaseMs: number): Promise<string | undefined>;
  unlock(key: string, owner: string): Promise<boolean>;
}

/** A small in-process {@link OAuthStore}, the default when no store is given. */
export function createMemoryOAuthStore(options: { now?: (() => number) | undefined } = {}): OAuthStore {
  const now = options.now ?? Date.now;
  const data = new Map<string, { value: string; expiresAt: number }>();
  let seq = 0;
  const live = (key: string) => {
    const entry = data.get(key);
    if (entry && entry.expiresAt <= now()) {
      data.delete(key);
      return undefined;
    }
    return entry;
  };
  const put = (key: string, value: string, ttlMs?: number) =>
    data.set(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : now() + ttlMs });
  return {
    async get(key) {
      return live(key)?.value;
    },
    async set(key, value, ttlMs) {
      put(key, value, ttlMs);
    },
    async delete(key) {
      data.delete(key);
    },
    async compareAndDelete(key, expected) {
      if (live(key)?.value !== expected) return false;
      data.delete(key);
      return true;
    },
    async tryLock(key, leaseMs) {
      const lockKey = `\u0000lock:${key}`;
      if (live(lockKey)) return undefined;
      const owner = `o${++seq}`;
      put(lockKey, owner, leaseMs);
      return owner;
    },
    async unlock(key, owner) {
      const lockKey = `\u0000lock:${key}`;
      if (live(lockKey)?.value !== owner) return false;
      data.delete(lockKey);
      return true;
    },
  };
}

/** The shape of a store link that may be down (createWxkit's StoreLink.run). */
export type StoreRunner = <T>(
  op: (store: OAuthStore) => Promise<T>,
) => Promise<{ ok: true; value: T } | { ok: false }>;

/**
 * An {@link OAuthStore} over a shared store that may become unreachable: operations go to the shared
 * store while it answers and to an in-process memory store while it does not (degrade, don't die —
 * logins keep working on this instance, only cross-instance sharing pauses).
 */
export function linkedOAuthStore(
  run: StoreRunner,
  options: { now?: (() => number) | undefined } = {},
): OAuthStore {
  const fallback = createMemoryOAuthStore(options);
  const via = async <T>(op: (store: OAuthStore) => Promise<T>): Promise<T> => {
    const r = await run(op);
    return r.ok ? r.value : op(fallback);
  };
  return {
    get: (key) => via((s) => s.get(key)),
    set: (key, value, ttlMs) => via((s) => s.set(key, value, ttlMs)),
    delete: (key) => via((s) => s.delete(key)),
    compareAndDelete: (key, expected) => via((s) => s.compareAndDelete(key, expected)),
    tryLock: (key, leaseMs) => via((s) => s.tryLock(key, leaseMs)),
    unlock: (key, owner) => via((s) => s.unlock(key, owner)),
  };
}
