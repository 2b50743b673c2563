import { createMemoryStore } from '../stores/memory.ts';

/**
 * The store operations OAuth uses — a subset of wxkit's `Store` (from `wxkit/stores`), so any wxkit
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

/** A small in-process {@link OAuthStore}, the default when no store is given: wxkit's memory store. */
export function createMemoryOAuthStore(options: { now?: (() => number) | undefined } = {}): OAuthStore {
  return createMemoryStore(options);
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
