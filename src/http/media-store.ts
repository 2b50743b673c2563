import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  type FileHandle,
  link,
  mkdir,
  open,
  readFile,
  rename,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/** What is known about a saved file. Written once: the first save of an id wins. */
export interface MediaMeta {
  contentType: string;
  size: number;
}

/** A saved file: its content address and metadata. */
export interface SavedMedia extends MediaMeta {
  id: string;
}

/** A saved file opened for reading. */
export interface OpenedMedia {
  size: number;
  /** The bytes, read from disk as the consumer pulls (no whole-file buffer). */
  body: ReadableStream<Uint8Array>;
}

/** Stored ids are the sha256 of the bytes: content-addressed, never a user-supplied name. */
export const MEDIA_ID = /^[a-f0-9]{64}$/;

/** Bytes read from disk per pull: what one stalled response can hold in memory. */
const CHUNK = 64 * 1024;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Saved media on the local disk, the one place that knows the layout: `<dir>/<id>` (the bytes),
 * `<dir>/<id>.json` (type and size), `<dir>/by-server/<sha256(appId\0serverId)>` (which file a
 * WeChat serverId became). Directories are 0700 and files 0600: uploads are private to the service.
 */
export class FileMediaStore {
  constructor(readonly dir: string) {}

  /** The file a serverId of this account was saved as, if it was. */
  async findByServerId(appId: string, serverId: string): Promise<SavedMedia | undefined> {
    const known = await readJson<{ id?: unknown }>(this.indexPath(appId, serverId));
    if (typeof known?.id !== 'string' || !MEDIA_ID.test(known.id)) return undefined;
    const meta = await this.meta(known.id);
    return meta && { id: known.id, ...meta };
  }

  /**
   * Stores the bytes under their sha256 and remembers the serverId. Metadata is write-once: saving
   * the same bytes again under another type answers (and keeps) the first type.
   */
  async save(appId: string, serverId: string, bytes: Uint8Array, contentType: string): Promise<SavedMedia> {
    await this.ensureDirs();
    const id = sha256(bytes);
    await createOnce(join(this.dir, id), bytes);
    const meta: MediaMeta = { contentType, size: bytes.length };
    const kept = (await createOnce(join(this.dir, `${id}.json`), JSON.stringify(meta)))
      ? meta
      : ((await this.meta(id)) ?? meta);
    await replaceAtomic(this.indexPath(appId, serverId), JSON.stringify({ id }));
    return { id, ...kept };
  }

  async meta(id: string): Promise<MediaMeta | undefined> {
    if (!MEDIA_ID.test(id)) return undefined;
    const meta = await readJson<Partial<MediaMeta>>(join(this.dir, `${id}.json`));
    if (typeof meta?.contentType !== 'string' || typeof meta.size !== 'number') return undefined;
    return { contentType: meta.contentType, size: meta.size };
  }

  /** Opens a saved file; `onClose` runs once when the body ends, fails or is cancelled. */
  async open(id: string, onClose: () => void = () => {}): Promise<OpenedMedia | undefined> {
    if (!MEDIA_ID.test(id)) return undefined;
    let fh: FileHandle;
    try {
      fh = await open(join(this.dir, id), 'r');
    } catch {
      return undefined;
    }
    try {
      const { size } = await fh.stat();
      return { size, body: fileStream(fh, size, onClose) };
    } catch {
      await fh.close().catch(() => {});
      return undefined;
    }
  }

  private indexPath(appId: string, serverId: string): string {
    return join(this.dir, 'by-server', sha256(`${appId}\0${serverId}`));
  }

  /** Every save (saves are few: each costs an upstream call), so a directory removed meanwhile comes back. */
  private async ensureDirs(): Promise<void> {
    const index = join(this.dir, 'by-server');
    await mkdir(index, { recursive: true, mode: 0o700 });
    // A directory that existed before (an older wxkit made it 0755) is tightened too; best effort: a
    // directory owned by another user stays as it is.
    await chmod(this.dir, 0o700).catch(() => {});
    await chmod(index, 0o700).catch(() => {});
  }
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
          const want = Math.min(CHUNK, size - position);
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

function tempPath(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Writes `path` only if it does not exist yet, atomically (a hard link of a complete temp file). */
async function createOnce(path: string, data: Uint8Array | string): Promise<boolean> {
  const tmp = tempPath(path);
  await writeFile(tmp, data, { mode: 0o600 });
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
    // A file system without hard links: exclusive create (not atomic for readers, still write-once).
    try {
      await writeFile(path, data, { mode: 0o600, flag: 'wx' });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function replaceAtomic(path: string, data: string): Promise<void> {
  const tmp = tempPath(path);
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}
