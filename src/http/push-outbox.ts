import { setTimeout as sleep } from 'node:timers/promises';
import { isIndexedStore, type Store } from '../stores/types.ts';

/**
 * Forwards that did not go through, kept in the store until they do (docs/push-service.md):
 * a forward URL that is down or slow must not lose a message WeChat was already told `success` about.
 * Each entry holds the signed body and the URLs still owed it; every `wxkit serve` instance sharing the
 * store sweeps the due entries, one instance per entry at a time (the entry's lease lock), with backoff.
 * A crash loses nothing: the entry stays, and another instance's lease takes it over.
 *
 * The entries are named in an index: a store set (`addMembers`/`members`, on every built-in store), so
 * adding or removing one entry costs one command whatever the backlog; a custom store without sets gets
 * a JSON index key rewritten under its own lock, fine for hundreds of entries.
 */

/** One message still owed to some forward URLs. */
export interface OutboxEntry {
  /** The message id (X-Wxkit-Message-Id): the same on every delivery. */
  id: string;
  /** The account key (appId, or `corpId#agentId`). */
  account: string;
  /** The forwarded JSON body. */
  body: string;
  /** Indexes into the account's forward URLs still to deliver to. */
  pending: number[];
  /** Who the message came from: a reply URL 0 gives later goes to this user through custom/send. */
  user: string;
  /** Deliveries tried so far, the first included. */
  attempts: number;
  /** When the next delivery is due, ms since the epoch. */
  nextAt: number;
  /** Absolute end: after it the entry is dropped with an error line. */
  expiresAt: number;
}

/** Delays after the 1st, 2nd… failed delivery (then every 30 min until the entry expires). */
export const OUTBOX_BACKOFF_MS = [2_000, 10_000, 60_000, 300_000, 1_800_000] as const;
/** How long an undelivered message is kept: the 48 hours a late reply may still reach the user. */
export const OUTBOX_TTL_MS = 48 * 3600 * 1000;
/** The JSON index of stores without sets (and of versions before the set). */
const INDEX_KEY = 'wxkit:push:outbox:index';
const INDEX_LOCK = 'wxkit:push:outbox:index:lock';
/** The set index. */
const INDEX_SET = 'wxkit:push:outbox:entries';
/** One sweeper holds an entry this long (renewed while it delivers). */
const ENTRY_LEASE_MS = 60_000;

function entryKey(id: string, account: string): string {
  return `wxkit:push:outbox:${account}:${id}`;
}

export function backoffMs(attempts: number): number {
  return OUTBOX_BACKOFF_MS[Math.max(0, attempts - 1)] ?? 1_800_000;
}

export class Outbox {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `fn` on the index under its lock (short waits while another instance holds it). */
  private async withIndex(fn: (keys: string[]) => string[] | undefined): Promise<void> {
    let owner: string | undefined;
    for (let i = 0; i < 100 && owner === undefined; i++) {
      owner = await this.store.tryLock(INDEX_LOCK, 3_000);
      if (owner === undefined) await sleep(20);
    }
    if (owner === undefined) throw new Error('outbox index lock not acquired');
    try {
      const raw = await this.store.get(INDEX_KEY);
      const keys = raw === undefined ? [] : (JSON.parse(raw) as string[]);
      const next = fn(keys);
      if (next !== undefined) await this.store.set(INDEX_KEY, JSON.stringify(next), OUTBOX_TTL_MS * 2);
    } finally {
      await this.store.unlock(INDEX_LOCK, owner).catch(() => false);
    }
  }

  /** Keeps a message for the URLs it did not reach. */
  async add(entry: Omit<OutboxEntry, 'nextAt' | 'expiresAt'>): Promise<void> {
    const now = this.now();
    const full: OutboxEntry = {
      ...entry,
      nextAt: now + backoffMs(entry.attempts),
      expiresAt: now + OUTBOX_TTL_MS,
    };
    const key = entryKey(entry.id, entry.account);
    await this.store.set(key, JSON.stringify(full), OUTBOX_TTL_MS);
    if (isIndexedStore(this.store)) await this.store.addMembers(INDEX_SET, [key]);
    else await this.withIndex((keys) => (keys.includes(key) ? undefined : [...keys, key]));
  }

  /** The entry keys the index names (the set, and a JSON index an older version may have left). */
  private async keys(): Promise<string[]> {
    const raw = await this.store.get(INDEX_KEY);
    const legacy = raw === undefined ? [] : (JSON.parse(raw) as string[]);
    if (!isIndexedStore(this.store)) return legacy;
    const members = await this.store.members(INDEX_SET);
    if (legacy.length === 0) return members;
    // Upgrading from the JSON index: its entries move into the set, once.
    await this.store.addMembers(INDEX_SET, legacy);
    await this.withIndex(() => []);
    return [...new Set([...members, ...legacy])];
  }

  private async forget(gone: readonly string[]): Promise<void> {
    if (gone.length === 0) return;
    if (isIndexedStore(this.store)) {
      await this.store.removeMembers(INDEX_SET, gone);
      return;
    }
    const drop = new Set(gone);
    await this.withIndex((all) => all.filter((k) => !drop.has(k)));
  }

  /** Entries waiting, for status and tests. */
  async pending(): Promise<OutboxEntry[]> {
    const keys = await this.keys();
    const out: OutboxEntry[] = [];
    for (const key of keys) {
      const v = await this.store.get(key);
      if (v !== undefined) out.push(JSON.parse(v) as OutboxEntry);
    }
    return out;
  }

  /**
   * Delivers every due entry once: `deliver` gets the entry and answers which URLs are still owed it.
   * Entries another instance holds, or not yet due, are left alone.
   */
  async sweep(
    deliver: (entry: OutboxEntry) => Promise<number[]>,
    onGiveUp: (entry: OutboxEntry) => void,
  ): Promise<number> {
    const keys = await this.keys();
    let done = 0;
    const gone: string[] = [];
    for (const key of keys) {
      const text = await this.store.get(key);
      if (text === undefined) {
        gone.push(key);
        continue;
      }
      const entry = JSON.parse(text) as OutboxEntry;
      const now = this.now();
      if (entry.nextAt > now) continue;
      const owner = await this.store.tryLock(`${key}:lock`, ENTRY_LEASE_MS);
      if (owner === undefined) continue;
      try {
        // Another instance may have delivered it between our read and our lock.
        const fresh = await this.store.get(key);
        if (fresh === undefined) {
          gone.push(key);
          continue;
        }
        const current = JSON.parse(fresh) as OutboxEntry;
        const left = await deliver(current);
        const attempts = current.attempts + 1;
        if (left.length === 0) {
          await this.store.delete(key);
          gone.push(key);
          done++;
        } else if (this.now() + backoffMs(attempts) > current.expiresAt) {
          await this.store.delete(key);
          gone.push(key);
          onGiveUp({ ...current, pending: left, attempts });
        } else {
          const next = { ...current, pending: left, attempts, nextAt: this.now() + backoffMs(attempts) };
          await this.store.set(key, JSON.stringify(next), Math.max(1, current.expiresAt - this.now()));
        }
      } finally {
        await this.store.unlock(`${key}:lock`, owner).catch(() => false);
      }
    }
    await this.forget(gone);
    return done;
  }
}
