import { randomBytes } from 'node:crypto';
import type { Dir } from 'node:fs';
import {
  chmod,
  type FileHandle,
  link,
  mkdir,
  open,
  opendir,
  readFile,
  rename,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeProbe } from '../stores/file.ts';
import { aliasName, checkPut, expired, MEDIA_ID, mediaUnavailable } from './id.ts';
import {
  DEFAULT_MEDIA_TTL_SECONDS,
  DEFAULT_SWEEP_LIMIT,
  MEDIA_CHUNK,
  type MediaStore,
  type MediaStoreOptions,
  type StoredMedia,
  type SweepResult,
} from './types.ts';

/** Options for {@link createFileMediaStore}. */
export interface FileMediaStoreOptions extends MediaStoreOptions {
  /** The directory (created 0700 on the first save). */
  dir: string;
  /** Base for a relative `dir`. @default process.cwd() */
  cwd?: string | undefined;
}

/** A temp file older than this is a crashed save's leftover. */
const STALE_TEMP_MS = 3_600_000;

/**
 * Saved media on the local disk: `<dir>/<id>` (the bytes), `<dir>/<id>.json` (type and size),
 * `<dir>/by-server/<sha256(alias)>` (which file an alias became). A file's age is its modification
 * time, set from the store's clock. Directories are 0700 and files 0600: uploads are private to the service. One machine only:
 * behind a load balancer use `redis://` or `s3://`.
 *
 * @example
 * const store = createFileMediaStore({ dir: '.wxkit/media', ttlSeconds: 7 * 86400 });
 */
export function createFileMediaStore(options: FileMediaStoreOptions): MediaStore {
  const dir = resolve(options.cwd ?? process.cwd(), options.dir);
  const index = join(dir, 'by-server');
  const ttlMs = (options.ttlSeconds ?? DEFAULT_MEDIA_TTL_SECONDS) * 1000;
  const now = options.now ?? Date.now;
  const description = `file:${dir}`;
  const dataPath = (id: string) => join(dir, id);
  const metaPath = (id: string) => join(dir, `${id}.json`);
  const aliasPath = (alias: string) => join(index, aliasName(alias));

  /** Every save (saves are few: each costs an upstream call), so a directory removed meanwhile comes back. */
  const ensureDirs = async () => {
    await mkdir(index, { recursive: true, mode: 0o700 });
    // A directory that existed before (an older wxkit made it 0755) is tightened too; best effort: a
    // directory owned by another user stays as it is.
    await chmod(dir, 0o700).catch(() => {});
    await chmod(index, 0o700).catch(() => {});
  };

  const remove = async (id: string) => {
    // The metadata first: without it the file is not served, so a half-removed file is never half-read.
    await unlink(metaPath(id)).catch(() => {});
    await unlink(dataPath(id)).catch(() => {});
  };

  const head = async (id: string): Promise<StoredMedia | undefined> => {
    if (!MEDIA_ID.test(id)) return undefined;
    const meta = await readJson<{ contentType?: unknown; size?: unknown }>(metaPath(id));
    if (typeof meta?.contentType !== 'string' || typeof meta.size !== 'number') return undefined;
    const st = await stat(dataPath(id)).catch(() => undefined);
    if (!st) return undefined;
    if (expired(st.mtimeMs, ttlMs, now())) {
      await remove(id);
      return undefined;
    }
    return { id, contentType: meta.contentType, size: meta.size, savedAt: st.mtimeMs };
  };

  // The sweep walks the directory, then the alias index, a batch per call, resuming where it stopped.
  let cursor: { dir: Dir; phase: 0 | 1 } | undefined;
  const endCursor = async () => {
    const c = cursor;
    cursor = undefined;
    await c?.dir.close().catch(() => {});
  };

  const sweepEntry = async (phase: 0 | 1, name: string, result: SweepResult) => {
    const at = now();
    if (phase === 1) {
      const path = join(index, name);
      const st = await stat(path).catch(() => undefined);
      if (st?.isFile() && expired(st.mtimeMs, ttlMs, at)) {
        await unlink(path).catch(() => {});
        result.aliases++;
      }
      return;
    }
    if (MEDIA_ID.test(name)) {
      const st = await stat(dataPath(name)).catch(() => undefined);
      if (st && expired(st.mtimeMs, ttlMs, at)) {
        await remove(name);
        result.removed.push(name);
      }
      return;
    }
    const orphanMeta = name.endsWith('.json') && MEDIA_ID.test(name.slice(0, -5));
    if (!orphanMeta && !name.endsWith('.tmp')) return;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st) return;
    if (orphanMeta) {
      // Metadata whose bytes are gone (a save that crashed between the two files).
      const hasData = await stat(dataPath(name.slice(0, -5))).then(
        () => true,
        () => false,
      );
      if (!hasData && expired(st.mtimeMs, ttlMs, at)) await unlink(path).catch(() => {});
    } else if (at - st.mtimeMs > STALE_TEMP_MS) {
      await unlink(path).catch(() => {});
    }
  };

  return {
    description,
    ttlMs,
    maxBytes: Number.POSITIVE_INFINITY,

    async put(id, bytes, contentType) {
      checkPut(id, bytes, Number.POSITIVE_INFINITY, description);
      const kept = await head(id);
      if (kept) return kept;
      try {
        await ensureDirs();
        const at = now();
        const created = await createOnce(dataPath(id), bytes, at);
        try {
          await createOnce(metaPath(id), JSON.stringify({ contentType, size: bytes.length }), at);
        } catch (e) {
          // Bytes without metadata are never served: give their space back (a full disk) at once.
          if (created) await unlink(dataPath(id)).catch(() => {});
          throw e;
        }
      } catch (e) {
        throw mediaUnavailable(`Cannot save to the media store ${description}: ${errorCode(e)}`, e);
      }
      const saved = await head(id);
      if (!saved) throw mediaUnavailable(`The media store ${description} lost a file while saving it`);
      return saved;
    },

    head,

    async open(id, opts = {}) {
      const onClose = opts.onClose ?? (() => {});
      const media = await head(id);
      let fh: FileHandle | undefined;
      if (media) fh = await open(dataPath(id), 'r').catch(() => undefined);
      if (!media || !fh) {
        onClose();
        return undefined;
      }
      return { media, body: fileStream(fh, media.size, onClose) };
    },

    async delete(id) {
      if (MEDIA_ID.test(id)) await remove(id);
    },

    async sweep(opts = {}) {
      const limit = Math.max(1, opts.limit ?? DEFAULT_SWEEP_LIMIT);
      const result: SweepResult = { removed: [], aliases: 0, done: false };
      for (let n = 0; n < limit; n++) {
        if (!cursor) {
          const d = await opendir(dir).catch(() => undefined);
          if (!d) {
            result.done = true; // nothing saved yet
            return result;
          }
          cursor = { dir: d, phase: 0 };
        }
        const entry = await cursor.dir.read();
        if (entry === null) {
          const phase = cursor.phase;
          await endCursor();
          if (phase === 1) {
            result.done = true;
            return result;
          }
          const d = await opendir(index).catch(() => undefined);
          if (!d) {
            result.done = true;
            return result;
          }
          cursor = { dir: d, phase: 1 };
          continue;
        }
        await sweepEntry(cursor.phase, entry.name, result);
      }
      return result;
    },

    async setAlias(alias, id) {
      try {
        await ensureDirs();
        await replaceAtomic(aliasPath(alias), JSON.stringify({ id }), now());
      } catch (e) {
        throw mediaUnavailable(`Cannot save to the media store ${description}: ${errorCode(e)}`, e);
      }
    },

    async alias(alias) {
      const path = aliasPath(alias);
      const known = await readJson<{ id?: unknown }>(path);
      if (typeof known?.id !== 'string' || !MEDIA_ID.test(known.id)) return undefined;
      const st = await stat(path).catch(() => undefined);
      if (!st || expired(st.mtimeMs, ttlMs, now())) {
        await unlink(path).catch(() => {});
        return undefined;
      }
      return known.id;
    },

    async ping() {
      // Saves fail on a full disk while the directory still lists: write to find out.
      try {
        await ensureDirs();
        await writeProbe(dir);
      } catch (e) {
        throw mediaUnavailable(`Cannot save to the media store ${description}: ${errorCode(e)}`, e);
      }
    },

    close: endCursor,
  };
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
}

/** A pull-based stream over an open file: one chunk is read only when the consumer asks for it. */
function fileStream(fh: FileHandle, size: number, onClose: () => void): ReadableStream<Uint8Array> {
  let position = 0;
  let closed = false;
  const finish = async () => {
    if (closed) return;
    closed = true;
    onClose();
    await fh.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const want = Math.min(MEDIA_CHUNK, size - position);
          const buf = new Uint8Array(Math.max(want, 0));
          const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, position) : { bytesRead: 0 };
          position += bytesRead;
          if (bytesRead > 0) controller.enqueue(bytesRead === want ? buf : buf.subarray(0, bytesRead));
          if (bytesRead === 0 || position >= size) {
            await finish();
            controller.close();
          }
        } catch (e) {
          await finish();
          controller.error(e);
        }
      },
      cancel: finish,
    },
    { highWaterMark: 0 },
  );
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A file's age is its modification time, set from the store's clock (so retention follows `now`). */
async function stamp(path: string, at: number): Promise<void> {
  const t = new Date(at);
  await utimes(path, t, t);
}

function tempPath(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Writes `path` only if it does not exist yet, atomically (a hard link of a complete temp file). Every
 * failure (a full disk) removes what this call created: no `.tmp` file, no partial `path`.
 */
async function createOnce(path: string, data: Uint8Array | string, at: number): Promise<boolean> {
  const tmp = tempPath(path);
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await stamp(tmp, at);
    await link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    // A file system without hard links: exclusive create (not atomic for readers, still write-once).
    let created = false;
    try {
      const fh = await open(path, 'wx', 0o600);
      created = true;
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
      await stamp(path, at);
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST' && !created) return false;
      if (created) await unlink(path).catch(() => {});
      throw e2;
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function replaceAtomic(path: string, data: string, at: number): Promise<void> {
  const tmp = tempPath(path);
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await stamp(tmp, at);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
