import { ErrorCodes, WxkitError } from '../errors.ts';
import {
  commandRunner,
  connect as connectRedis,
  describeRedisTopology,
  describeRedisUrl,
  type RedisTopology,
} from '../stores/redis.ts';
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

/**
 * The Redis commands the media store uses, structurally: an ioredis client fits (`call` for string
 * replies, `callBuffer` for bytes).
 */
export interface RedisMediaClient {
  call(command: string, ...args: (string | number | Uint8Array)[]): Promise<unknown>;
  callBuffer(command: string, ...args: (string | number | Uint8Array)[]): Promise<unknown>;
  /** ioredis connection state; when present, commands wait (up to the timeout) until it is `ready`. */
  readonly status?: string;
  once?(event: 'ready', listener: () => void): unknown;
  removeListener?(event: 'ready', listener: () => void): unknown;
  quit?(): Promise<unknown>;
  disconnect?(): void;
}

/**
 * Options for {@link createRedisMediaStore}: a `url` or a `topology` (wxkit connects with ioredis), or
 * your own `client`.
 */
export interface RedisMediaStoreOptions extends MediaStoreOptions {
  /** `redis://[:password@]host:port/db` or `rediss://…`. */
  url?: string | undefined;
  /** Sentinel or Cluster: saves follow a failover to the new master. */
  topology?: RedisTopology | undefined;
  /** A connected client; wxkit does not close it. */
  client?: RedisMediaClient | undefined;
  /** Prepended to every key. @default 'wxkit:media:' */
  keyPrefix?: string | undefined;
  /**
   * The largest file accepted: Redis holds every byte in memory, so it is for small deployments.
   * @default 10485760 (10 MiB)
   */
  maxBytes?: number | undefined;
  /** How long one command may take. @default 5000 */
  commandTimeoutMs?: number | undefined;
}

/** The largest file a `redis://` media store accepts by default (10 MiB). */
export const REDIS_MEDIA_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Write-once save of a file and its metadata, atomically.
 * KEYS[1] — the metadata key; KEYS[2] — the bytes key (same hash slot).
 * ARGV[1] — metadata JSON; ARGV[2] — the bytes; ARGV[3] — TTL in ms.
 * Returns the metadata kept: the existing one when the file was already saved, else ARGV[1].
 */
const PUT_ONCE = `local kept = redis.call('GET', KEYS[1])
if kept and redis.call('EXISTS', KEYS[2]) == 1 then return kept end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return ARGV[1]`;

/**
 * Saved media in Redis, shared by every instance: `<prefix>{<id>}` holds the bytes, `<prefix>{<id>}:meta`
 * the type, size and save time, `<prefix>alias:<sha256(alias)>` an alias. Every key expires with the
 * TTL (Redis removes it); reads also check the save time against `now`. The bytes are read back in
 * 64 KiB `GETRANGE` slices as the client reads, never whole. `ioredis` is an optional peer dependency.
 *
 * @example
 * const store = await createRedisMediaStore({ url: 'redis://127.0.0.1:6379', ttlSeconds: 86400 });
 */
export async function createRedisMediaStore(options: RedisMediaStoreOptions): Promise<MediaStore> {
  const prefix = options.keyPrefix ?? 'wxkit:media:';
  const ttlMs = (options.ttlSeconds ?? DEFAULT_MEDIA_TTL_SECONDS) * 1000;
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes ?? REDIS_MEDIA_MAX_BYTES;
  const timeoutMs = options.commandTimeoutMs ?? 5000;
  let client: RedisMediaClient;
  let owned = false;
  let description = 'redis';
  if (options.client) {
    client = options.client;
  } else if (options.url) {
    description = describeRedisUrl(options.url);
    // The credential store's connection (ioredis, failing fast while disconnected): it has callBuffer too.
    client = (await connectRedis(options.url, timeoutMs, 'media store')) as unknown as RedisMediaClient;
    owned = true;
  } else if (options.topology) {
    description = describeRedisTopology(options.topology);
    client = (await connectRedis(options.topology, timeoutMs, 'media store')) as unknown as RedisMediaClient;
    owned = true;
  } else {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'createRedisMediaStore needs a url, a topology or a client',
    );
  }

  const run = commandRunner(client, timeoutMs, `The media store ${description}`, mediaUnavailable);
  const call = (command: string, ...args: (string | number | Uint8Array)[]) =>
    run(() => client.call(command, ...args));
  const callBuffer = (command: string, ...args: (string | number | Uint8Array)[]) =>
    run(() => client.callBuffer(command, ...args));

  const dataKey = (id: string) => `${prefix}{${id}}`;
  const metaKey = (id: string) => `${prefix}{${id}}:meta`;
  const aliasKey = (alias: string) => `${prefix}alias:${aliasName(alias)}`;

  const parse = (id: string, raw: unknown): StoredMedia | undefined => {
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return undefined;
    try {
      const m = JSON.parse(String(raw)) as Partial<StoredMedia>;
      if (typeof m.contentType !== 'string' || typeof m.size !== 'number' || typeof m.savedAt !== 'number') {
        return undefined;
      }
      return { id, contentType: m.contentType, size: m.size, savedAt: m.savedAt };
    } catch {
      return undefined;
    }
  };

  const remove = async (id: string) => {
    await call('DEL', metaKey(id));
    await call('DEL', dataKey(id));
  };

  const head = async (id: string): Promise<StoredMedia | undefined> => {
    if (!MEDIA_ID.test(id)) return undefined;
    const media = parse(id, await call('GET', metaKey(id)));
    if (!media) return undefined;
    if (expired(media.savedAt, ttlMs, now())) {
      await remove(id);
      return undefined;
    }
    return media;
  };

  let cursor = '0';

  return {
    description,
    ttlMs,
    maxBytes,

    async put(id, bytes, contentType) {
      checkPut(id, bytes, maxBytes, description);
      const known = await head(id); // an expired file is removed first, then saved anew
      if (known) return known;
      const meta = JSON.stringify({ contentType, size: bytes.length, savedAt: now() });
      const ttl = Math.max(1, Math.ceil(ttlMs));
      const kept = await call('EVAL', PUT_ONCE, 2, metaKey(id), dataKey(id), meta, Buffer.from(bytes), ttl);
      const media = parse(id, kept);
      if (!media) throw mediaUnavailable(`The media store ${description} answered an unreadable record`);
      return media;
    },

    head,

    async open(id, opts = {}) {
      const onClose = opts.onClose ?? (() => {});
      const media = await head(id).catch((e: unknown) => {
        onClose();
        throw e;
      });
      if (!media) {
        onClose();
        return undefined;
      }
      const key = dataKey(id);
      let position = 0;
      let closed = false;
      const finish = () => {
        if (closed) return;
        closed = true;
        onClose();
      };
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            try {
              const end = Math.min(position + MEDIA_CHUNK, media.size) - 1;
              const chunk =
                end >= position ? await callBuffer('GETRANGE', key, position, end) : Buffer.alloc(0);
              const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.alloc(0);
              if (bytes.length !== end - position + 1) {
                // Expired or removed while being read: fail the body rather than end it short silently.
                throw mediaUnavailable(`Media ${id} disappeared from ${description} while being read`);
              }
              position += bytes.length;
              if (bytes.length > 0)
                controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
              if (position >= media.size) {
                finish();
                controller.close();
              }
            } catch (e) {
              finish();
              controller.error(e);
            }
          },
          cancel: finish,
        },
        { highWaterMark: 0 },
      );
      return { media, body };
    },

    async delete(id) {
      if (MEDIA_ID.test(id)) await remove(id);
    },

    async sweep(opts = {}) {
      // Redis removes expired keys itself; the sweep removes what the clock says is old (a TTL lowered
      // since the save, or a virtual clock) and finds nothing to do otherwise.
      const limit = Math.max(1, opts.limit ?? DEFAULT_SWEEP_LIMIT);
      const result: SweepResult = { removed: [], aliases: 0, done: false };
      const reply = (await call('SCAN', cursor, 'MATCH', `${prefix}{*}:meta`, 'COUNT', limit)) as [
        string,
        string[],
      ];
      cursor = String(reply[0]);
      for (const key of reply[1] ?? []) {
        const id = /\{([a-f0-9]{64})\}:meta$/.exec(String(key))?.[1];
        if (id === undefined) continue;
        const media = parse(id, await call('GET', key));
        if (media && expired(media.savedAt, ttlMs, now())) {
          await remove(id);
          result.removed.push(id);
        }
      }
      result.done = cursor === '0';
      return result;
    },

    async setAlias(alias, id) {
      const record = JSON.stringify({ id, savedAt: now() });
      await call('SET', aliasKey(alias), record, 'PX', Math.max(1, Math.ceil(ttlMs)));
    },

    async alias(alias) {
      const raw = await call('GET', aliasKey(alias));
      if (typeof raw !== 'string') return undefined;
      try {
        const rec = JSON.parse(raw) as { id?: unknown; savedAt?: unknown };
        if (typeof rec.id !== 'string' || !MEDIA_ID.test(rec.id) || typeof rec.savedAt !== 'number')
          return undefined;
        if (expired(rec.savedAt, ttlMs, now())) {
          await call('DEL', aliasKey(alias));
          return undefined;
        }
        return rec.id;
      } catch {
        return undefined;
      }
    },

    async ping() {
      await call('PING');
    },

    async close() {
      if (!owned) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([client.quit?.(), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      } catch {
        // already closed
      } finally {
        clearTimeout(timer);
      }
      client.disconnect?.();
    },
  };
}
