import { createHash, randomBytes } from 'node:crypto';
import type { Dir } from 'node:fs';
import { chmod, mkdir, open, opendir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { randomHex } from '../random.ts';
import type { IndexedStore, StoreClockOptions } from './types.ts';

/** Options for {@link createFileStore}. */
export interface FileStoreOptions extends StoreClockOptions {
  /** The directory (created, or set, to mode 0700: file names are visible to whoever can list it). Relative paths resolve against `cwd`. */
  dir: string;
  /** @default process.cwd() */
  cwd?: string | undefined;
}

interface Record_ {
  v: string;
  /** Expiry in ms since the epoch, or null. */
  e: number | null;
  /** Lock files: the holder's pid (informational). */
  pid?: number;
  /** Sets: the members (then `v` is ''). */
  m?: string[];
}

// A guard older than this belongs to a process that died inside a few-millisecond critical section.
const STALE_GUARD_MS = 5_000;
const SWEEP_EVERY = 256;
// Entries one sweep looks at: 4 per write in between, so sweeping keeps up with what writes leave.
const SWEEP_BATCH = 1024;

/**
 * A store in a directory, safe for many processes on one machine: each key is one file named by the
 * sha256 of the key (no secret ever appears in a file name), written atomically (temp file + rename)
 * with mode 0600. Locks are `open(…, 'wx')` files holding an owner and a lease expiry; the holder renews
 * the expiry (rewriting the file atomically), and a lock whose lease ended is taken over.
 * Read-compare-delete steps run under a short per-key guard file so that two processes never both
 * believe they removed the same value.
 *
 * @example
 * const store = createFileStore({ dir: '.wxkit' });
 */
export function createFileStore(options: FileStoreOptions): IndexedStore {
  const dir = resolve(options.cwd ?? process.cwd(), options.dir);
  const now = options.now ?? Date.now;
  let ready: Promise<void> | undefined;

  const ensureDir = () => {
    ready ??= (async () => {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        // A directory that already existed (0755, say) would let every local user list the store.
        await chmod(dir, 0o700).catch((e) => {
          if (!isCode(e, 'EPERM')) throw e;
        });
      } catch (cause) {
        ready = undefined;
        throw unavailable(`cannot create the store directory ${dir}`, cause);
      }
    })();
    return ready;
  };
  const pathOf = (key: string, ext: string) =>
    join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.${ext}`);

  const readRecord = async (path: string): Promise<Record_ | undefined> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw unavailable(`cannot read the store directory ${dir}`, e);
    }
    try {
      const r = JSON.parse(text) as Record_;
      if (typeof r.v !== 'string') return undefined;
      if (r.e !== null && r.e <= now()) return undefined;
      return r;
    } catch {
      return undefined; // a torn file cannot happen with rename; treat garbage as absent
    }
  };

  const writeAtomic = async (path: string, record: Record_) => {
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(record));
        await fh.chmod(0o600);
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw unavailable(`cannot write to the store directory ${dir}`, e);
    }
  };

  const removeFile = async (path: string) => {
    try {
      await unlink(path);
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw unavailable(`cannot write to the store directory ${dir}`, e);
    }
  };

  /** Runs `fn` while holding the key's guard file: a few milliseconds of mutual exclusion. */
  const withGuard = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    await ensureDir();
    const guard = pathOf(key, 'guard');
    for (let attempt = 0; ; attempt++) {
      if (await takeGuard(guard)) break;
      const age = await stat(guard).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_GUARD_MS) await unlink(guard).catch(() => {});
      else await sleep(Math.min(2 + attempt, 20) * (0.5 + Math.random()));
    }
    try {
      return await fn();
    } finally {
      await unlink(guard).catch(() => {});
    }
  };

  const takeGuard = async (guard: string): Promise<boolean> => {
    try {
      const fh = await open(guard, 'wx', 0o600);
      await fh.close();
      return true;
    } catch (e) {
      if (!isCode(e, 'EEXIST')) throw unavailable(`cannot lock in the store directory ${dir}`, e);
      return false;
    }
  };

  // Expired records are ignored when read, but keys nobody reads again (abandoned OAuth logins, used
  // claims) would stay on disk. Every SWEEP_EVERY writes a sweep starts in the background — the write
  // that starts it does not wait, and one runs at a time — and looks at SWEEP_BATCH directory entries,
  // carrying on where the previous sweep stopped. An expired record or lock lease is removed under
  // its key's guard (skipped when busy), so a fresh value written meanwhile is never removed.
  let writes = 0;
  let cursor: Dir | undefined;
  let sweeping: Promise<void> | undefined;
  let closed = false;

  const sweepEntry = async (name: string) => {
    const ext = name.endsWith('.json') ? '.json' : name.endsWith('.lock') ? '.lock' : undefined;
    if (ext === undefined) return;
    const path = join(dir, name);
    const guard = `${path.slice(0, -ext.length)}.guard`;
    if (!(await takeGuard(guard).catch(() => false))) return;
    try {
      const text = await readFile(path, 'utf8').catch(() => null);
      if (text === null) return;
      let expiresAt: unknown;
      try {
        expiresAt = (JSON.parse(text) as Record_).e;
      } catch {
        return;
      }
      if (typeof expiresAt === 'number' && expiresAt <= now()) await unlink(path).catch(() => {});
    } finally {
      await unlink(guard).catch(() => {});
    }
  };

  const endCursor = async () => {
    const c = cursor;
    cursor = undefined;
    await c?.close().catch(() => {});
  };

  const sweepBatch = async () => {
    cursor ??= await opendir(dir);
    for (let n = 0; n < SWEEP_BATCH; n++) {
      const entry = await cursor.read();
      // The end of the directory: the next sweep starts again from its beginning.
      if (entry === null) return endCursor();
      await sweepEntry(entry.name);
    }
  };

  const startSweep = () => {
    if (sweeping !== undefined || closed) return;
    sweeping = sweepBatch()
      .catch(endCursor)
      .finally(() => {
        sweeping = undefined;
      });
  };

  return {
    description: `file:${dir}`,
    async get(key) {
      await ensureDir();
      return (await readRecord(pathOf(key, 'json')))?.v;
    },
    async set(key, value, ttlMs) {
      await withGuard(key, () =>
        writeAtomic(pathOf(key, 'json'), { v: value, e: ttlMs === undefined ? null : now() + ttlMs }),
      );
      if (++writes % SWEEP_EVERY === 0) startSweep();
    },
    async delete(key) {
      await withGuard(key, () => removeFile(pathOf(key, 'json')));
    },
    async compareAndDelete(key, expected) {
      return withGuard(key, async () => {
        const path = pathOf(key, 'json');
        if ((await readRecord(path))?.v !== expected) return false;
        await removeFile(path);
        return true;
      });
    },
    async tryLock(key, leaseMs) {
      await ensureDir();
      const path = pathOf(key, 'lock');
      const owner = randomHex(12);
      const body = JSON.stringify({ v: owner, e: now() + leaseMs, pid: process.pid });
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const fh = await open(path, 'wx', 0o600);
          try {
            await fh.writeFile(body);
            await fh.close();
          } catch (e) {
            // Created but not written (a full disk): an empty lock would make every process wait for
            // it to age out; it is ours, so it goes.
            await fh.close().catch(() => {});
            await unlink(path).catch(() => {});
            throw e;
          }
          return owner;
        } catch (e) {
          if (!isCode(e, 'EEXIST')) throw unavailable(`cannot lock in the store directory ${dir}`, e);
        }
        // Held. Take it over only if its lease ended (or it is unreadable and old), under the guard
        // so two waiters cannot both remove it and one remove the other's fresh lock.
        const removed = await withGuard(key, async () => {
          const text = await readFile(path, 'utf8').catch((e) => (isCode(e, 'ENOENT') ? null : ''));
          if (text === null) return true;
          let expired: boolean;
          try {
            const held = JSON.parse(text) as Record_;
            expired = typeof held.e === 'number' && held.e <= now();
          } catch {
            // Created but not yet written, or garbage: stale only once it is older than a guard.
            const age = await stat(path).then(
              (s) => Date.now() - s.mtimeMs,
              () => STALE_GUARD_MS + 1,
            );
            expired = age > STALE_GUARD_MS;
          }
          if (expired) await removeFile(path);
          return expired;
        });
        if (!removed) return undefined;
      }
      return undefined;
    },
    async renew(key, owner, leaseMs) {
      // Under the guard, like a takeover: a waiter never removes a lock this call is extending.
      return withGuard(key, async () => {
        const path = pathOf(key, 'lock');
        const text = await readFile(path, 'utf8').catch(() => '');
        try {
          const held = JSON.parse(text) as Record_;
          if (held.v !== owner || typeof held.e !== 'number' || held.e <= now()) return false;
        } catch {
          return false;
        }
        await writeAtomic(path, { v: owner, e: now() + leaseMs, pid: process.pid });
        return true;
      });
    },
    async unlock(key, owner) {
      return withGuard(key, async () => {
        const path = pathOf(key, 'lock');
        const text = await readFile(path, 'utf8').catch(() => '');
        try {
          if ((JSON.parse(text) as Record_).v !== owner) return false;
        } catch {
          return false;
        }
        await removeFile(path);
        return true;
      });
    },
    async compareAndSet(key, expected, value, ttlMs) {
      const done = await withGuard(key, async () => {
        const path = pathOf(key, 'json');
        const current = await readRecord(path);
        if (expected === null ? current !== undefined : current?.v !== expected || current.m) return false;
        await writeAtomic(path, { v: value, e: ttlMs === undefined ? null : now() + ttlMs });
        return true;
      });
      if (done && ++writes % SWEEP_EVERY === 0) startSweep();
      return done;
    },
    async addMembers(key, members) {
      await withGuard(key, async () => {
        const path = pathOf(key, 'json');
        const set = new Set((await readRecord(path))?.m ?? []);
        const before = set.size;
        for (const m of members) set.add(m);
        if (set.size !== before) await writeAtomic(path, { v: '', e: null, m: [...set] });
      });
    },
    async removeMembers(key, members) {
      await withGuard(key, async () => {
        const path = pathOf(key, 'json');
        const set = new Set((await readRecord(path))?.m ?? []);
        const before = set.size;
        for (const m of members) set.delete(m);
        if (set.size === before) return;
        if (set.size === 0) await removeFile(path);
        else await writeAtomic(path, { v: '', e: null, m: [...set] });
      });
    },
    async members(key) {
      await ensureDir();
      return [...((await readRecord(pathOf(key, 'json')))?.m ?? [])];
    },
    async ping() {
      // A directory that exists is not enough: on a full disk every save fails while it still lists.
      // Writing (and removing) a small probe is what /readyz needs to say "not ready" then.
      await ensureDir();
      await writeProbe(dir).catch((cause: unknown) => {
        throw unavailable(`cannot write to the store directory ${dir}`, cause);
      });
    },
    async close() {
      closed = true;
      await sweeping;
      await endCursor();
    },
  };
}

/**
 * Writes and removes a small file in `dir` (the write fails on a full disk or a read-only mount). Its
 * name ends in `.tmp` like every temporary file, so a crash between the two steps leaves nothing a
 * store reads.
 */
export async function writeProbe(dir: string): Promise<void> {
  const path = join(dir, `ping.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(path, 'wxkit readiness probe\n', { mode: 0o600, flag: 'wx' });
  } finally {
    await unlink(path).catch(() => {});
  }
}

function isCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

function unavailable(message: string, cause: unknown): WxkitError {
  return new WxkitError(ErrorCodes.STORE_UNAVAILABLE, message, {
    cause,
    hint: {
      en: 'Check that the WXKIT_STORE directory exists and is writable by this user.',
      zh: '请检查 WXKIT_STORE 目录存在且当前用户可写。',
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
