import { ErrorCodes, WxkitError } from '../errors.ts';
import { randomHex } from '../random.ts';
import type { IndexedStore } from './types.ts';

/**
 * The Redis commands wxkit uses, structurally: an ioredis client fits (`GET`, `SET … PX … NX`, `DEL`,
 * `EVAL`, `PING` through `call`). Bring your own client (Sentinel, Cluster, TLS options) or give a URL.
 */
export interface RedisLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** ioredis connection state; when present, commands fail fast unless it is `ready`. */
  readonly status?: string;
  once?(event: 'ready', listener: () => void): unknown;
  removeListener?(event: 'ready', listener: () => void): unknown;
  quit?(): Promise<unknown>;
  disconnect?(): void;
}

/** A host and port of a Sentinel or Cluster node. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Redis Sentinel or Cluster, as `wxkit.config.json`'s `redis` field gives them. */
export interface RedisTopology {
  /** Sentinels to ask for the master `name`. */
  sentinels?: RedisNode[] | undefined;
  /** The Sentinel master name. @default 'mymaster' */
  name?: string | undefined;
  /** Cluster seed nodes (instead of sentinels). */
  cluster?: RedisNode[] | undefined;
  username?: string | undefined;
  password?: string | undefined;
  db?: number | undefined;
  /** Connect with TLS. */
  tls?: boolean | undefined;
}

/** Options for {@link createRedisStore}: a `url` or a `topology` (wxkit connects with ioredis), or your own `client`. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port/db` or `rediss://…`. */
  url?: string | undefined;
  /** Sentinel or Cluster. */
  topology?: RedisTopology | undefined;
  /** A connected client; wxkit does not close it. */
  client?: RedisLike | undefined;
  /** Prepended to every key. @default '' */
  keyPrefix?: string | undefined;
  /**
   * How long Redis may go without answering any command before a waiting command counts the store as
   * unreachable (a command queued behind a burst waits while the answers before it arrive). @default 1000
   */
  commandTimeoutMs?: number | undefined;
}

/**
 * Compare-and-delete, used for lock release and token invalidation.
 * KEYS[1] — the key; ARGV[1] — the value it must still hold.
 * Returns 1 when the key held ARGV[1] and was deleted, else 0.
 */
const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Compare-and-extend, used to renew a lock's lease while its holder is alive.
 * KEYS[1] — the lock key; ARGV[1] — the owner it must still hold; ARGV[2] — the new lease in ms.
 * Returns 1 when the key held ARGV[1] and its expiry was set, else 0 (an expired key is absent).
 */
const COMPARE_AND_PEXPIRE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/**
 * Compare-and-set, used for values that only move forward (an authorizer's refresh token).
 * KEYS[1] — the key; ARGV[1] — '1' when the key must be absent, '0' when it must hold ARGV[2];
 * ARGV[2] — the expected value; ARGV[3] — the new value; ARGV[4] — TTL in ms, or '' for none.
 * Returns 1 when it wrote, else 0.
 */
const COMPARE_AND_SET = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1`;

/**
 * The value with its remaining lifetime, both read at once.
 * KEYS[1] — the key. Returns nil when absent, else {value, PTTL in ms (-1: no expiry)}.
 */
const GET_WITH_PTTL = `local v = redis.call('GET', KEYS[1])
if not v then return nil end
return {v, redis.call('PTTL', KEYS[1])}`;

/** The pub/sub channel (after the key prefix) on which processes announce a changed key. */
const CHANGES_CHANNEL = 'wxkit:changes';

/** What a subscriber connection (an ioredis client's `duplicate()`) offers. */
interface Subscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (e: unknown) => void): unknown;
  disconnect(): void;
}

/**
 * A second connection in subscriber mode (Redis allows no other command on it), or undefined when the
 * client cannot make one (a client of your own without `duplicate`): processes then notice changes at
 * their periodic re-read.
 */
function duplicateSubscriber(client: RedisLike): Subscriber | undefined {
  const c = client as RedisLike & {
    duplicate?: (...args: unknown[]) => Subscriber;
    isCluster?: boolean;
  };
  if (typeof c.duplicate !== 'function') return undefined;
  // Queue the SUBSCRIBE until connected (ioredis re-subscribes by itself after a reconnect).
  const sub = c.isCluster
    ? c.duplicate([], { enableOfflineQueue: true })
    : c.duplicate({ enableOfflineQueue: true });
  sub.on('error', () => {});
  return sub;
}

/**
 * A store in Redis, for processes on several machines. Locks are `SET key owner NX PX lease` with a
 * random owner, renewed by a compare-and-pexpire Lua script and released by a compare-and-delete one,
 * so a holder whose lease ended can never extend or release someone else's lock. Commands fail fast (no offline queue) while Redis is down, so wxkit can
 * serve from memory and recover when Redis returns. `ioredis` is an optional peer dependency, loaded only
 * when a URL is given.
 *
 * @example
 * const store = await createRedisStore({ url: 'redis://127.0.0.1:6379' });
 * const wx = createWxkit({ appId, secret, store });
 */
export async function createRedisStore(options: RedisStoreOptions): Promise<IndexedStore> {
  const prefix = options.keyPrefix ?? '';
  const timeoutMs = options.commandTimeoutMs ?? 1000;
  let client: RedisLike;
  let owned = false;
  let description = 'redis';
  if (options.client) {
    client = options.client;
  } else if (options.url) {
    description = describeRedisUrl(options.url);
    client = await connect(options.url, timeoutMs);
    owned = true;
  } else if (options.topology) {
    description = describeRedisTopology(options.topology);
    client = await connect(options.topology, timeoutMs);
    owned = true;
    // A Cluster (or Sentinel) client is ready only after several exchanges (the slot map, the master's
    // address), which on a busy machine take longer than one command's budget: the first burst then
    // failed whole ("not connected"). Wait for that here, once, within a bound.
    await untilReady(client, Math.max(TOPOLOGY_READY_MS, timeoutMs));
  } else {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'createRedisStore needs a url, a topology or a client');
  }
  const run = commandRunner(client, timeoutMs, `Redis (${description})`, unavailable);

  const call = (command: string, ...args: (string | number)[]): Promise<unknown> =>
    run(() => client.call(command, ...args));
  const listeners = new Set<(key: string) => void>();
  let subscriber: Subscriber | undefined;
  let subscribed: Promise<boolean> | undefined;

  return {
    description,
    async get(key) {
      const v = await call('GET', prefix + key);
      return typeof v === 'string' ? v : undefined;
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await call('SET', prefix + key, value);
      else await call('SET', prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async delete(key) {
      await call('DEL', prefix + key);
    },
    async compareAndDelete(key, expected) {
      return Number(await call('EVAL', COMPARE_AND_DELETE, 1, prefix + key, expected)) === 1;
    },
    async tryLock(key, leaseMs) {
      const owner = randomHex(12);
      const r = await call('SET', prefix + key, owner, 'PX', Math.max(1, Math.ceil(leaseMs)), 'NX');
      return r === 'OK' ? owner : undefined;
    },
    async renew(key, owner, leaseMs) {
      const ms = Math.max(1, Math.ceil(leaseMs));
      return Number(await call('EVAL', COMPARE_AND_PEXPIRE, 1, prefix + key, owner, ms)) === 1;
    },
    async unlock(key, owner) {
      return Number(await call('EVAL', COMPARE_AND_DELETE, 1, prefix + key, owner)) === 1;
    },
    async compareAndSet(key, expected, value, ttlMs) {
      const ttl = ttlMs === undefined ? '' : String(Math.max(1, Math.ceil(ttlMs)));
      const absent = expected === null ? '1' : '0';
      const r = await call('EVAL', COMPARE_AND_SET, 1, prefix + key, absent, expected ?? '', value, ttl);
      return Number(r) === 1;
    },
    async addMembers(key, members) {
      if (members.length > 0) await call('SADD', prefix + key, ...members);
    },
    async removeMembers(key, members) {
      if (members.length > 0) await call('SREM', prefix + key, ...members);
    },
    async members(key) {
      const r = await call('SMEMBERS', prefix + key);
      return Array.isArray(r) ? r.map(String) : [];
    },
    async getEntry(key) {
      const r = await call('EVAL', GET_WITH_PTTL, 1, prefix + key);
      if (!Array.isArray(r) || typeof r[0] !== 'string') return undefined;
      const ttl = Number(r[1]);
      return { value: r[0], ...(ttl >= 0 ? { ttlMs: ttl } : {}) };
    },
    async publish(key) {
      await call('PUBLISH', prefix + CHANGES_CHANNEL, key);
    },
    async subscribe(listener) {
      if (!subscribed) {
        subscriber = duplicateSubscriber(client);
        const sub = subscriber;
        if (!sub) subscribed = Promise.resolve(false);
        else {
          sub.on('message', (channel, message) => {
            if (channel !== prefix + CHANGES_CHANNEL) return;
            for (const l of [...listeners]) l(message);
          });
          // A Redis that is down would keep SUBSCRIBE queued forever: give up after the command timeout
          // (the caller then re-reads periodically); the connection stays until close() ends it.
          let timer: NodeJS.Timeout | undefined;
          subscribed = Promise.race([
            sub.subscribe(prefix + CHANGES_CHANNEL).then(() => true),
            new Promise<boolean>((r) => {
              timer = setTimeout(() => r(false), timeoutMs);
            }),
          ])
            .catch(() => false)
            .finally(() => clearTimeout(timer));
        }
      }
      if (!(await subscribed)) {
        subscribed = undefined;
        subscriber?.disconnect();
        subscriber = undefined;
        throw unavailable('This Redis client cannot open a subscriber connection');
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async ping() {
      await call('PING');
    },
    async close() {
      subscriber?.disconnect();
      subscriber = undefined;
      if (!owned) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([client.quit?.(), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      } catch {
        // already closed
      } finally {
        clearTimeout(timer); // else it keeps the process (e.g. `wxkit token`) alive after close()
      }
      client.disconnect?.();
    },
  };
}

/** `redis://user:pass@host:6379/0` → `redis://host:6379` (no credentials). */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'redis';
  }
}

/** `redis-sentinel://mymaster (2 sentinels)` / `redis-cluster://host:port (3 nodes)`, no credentials. */
export function describeRedisTopology(t: RedisTopology): string {
  const first = t.cluster?.[0];
  if (first) return `redis-cluster://${first.host}:${first.port} (${t.cluster?.length} nodes)`;
  return `redis-sentinel://${t.name ?? 'mymaster'} (${t.sentinels?.length ?? 0} sentinels)`;
}

type Evented = RedisLike & { on(event: 'error', listener: (e: unknown) => void): unknown };
type IoRedisCtor = new (...args: unknown[]) => Evented;

/**
 * An ioredis client (a Cluster or Sentinel one for a topology) that fails fast while disconnected.
 * `what` names the store in the error for a missing ioredis: the credential store, or the media store.
 */
export async function connect(
  target: string | RedisTopology,
  timeoutMs: number,
  what = 'store',
): Promise<RedisLike> {
  let mod: { default?: unknown; Redis?: unknown; Cluster?: unknown };
  try {
    mod = (await import('ioredis')) as typeof mod;
  } catch (cause) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `The ${what} is Redis but the ioredis package is not installed`,
      {
        cause,
        hint: { en: 'Run: npm install ioredis', zh: '请执行：npm install ioredis' },
      },
    );
  }
  const Ctor = (mod.Redis ?? mod.default) as IoRedisCtor;
  const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);
  const base = {
    // Fail fast while disconnected so callers fall back to memory instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy,
    lazyConnect: false,
  };
  let client: Evented;
  if (typeof target === 'string') {
    client = new Ctor(target, base);
  } else {
    const auth = {
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.db === undefined ? {} : { db: target.db }),
      ...(target.tls ? { tls: {} } : {}),
    };
    if (target.cluster?.length) {
      const Cluster = mod.Cluster as IoRedisCtor;
      client = new Cluster(target.cluster, {
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...base, ...auth },
      });
    } else {
      client = new Ctor({
        ...base,
        ...auth,
        sentinels: target.sentinels ?? [],
        name: target.name ?? 'mymaster',
        sentinelRetryStrategy: retryStrategy,
      });
    }
  }
  // ioredis reports connection problems as 'error' events; the store reports them per command.
  client.on('error', () => {});
  return client;
}

/**
 * How both Redis stores (credentials, media) run a command: wait for the first connection (up to
 * `timeoutMs`, one 'ready' listener however many commands wait), give up on an answer once the client
 * has gone `timeoutMs` without answering anything, and turn any failure into
 * `unavailable("<name> is not connected" | "did not answer in time" | "failed: …")`.
 * Once connected, a lost connection fails at once instead of waiting for a reconnection: a dead Redis
 * must not hold every media request (and the first `/readyz` probe) for the whole timeout.
 *
 * The budget runs from the client's last answer, not from each send: Redis answers a connection's
 * commands in order, so a command queued behind a burst of 20,000 others waits its turn while answers
 * keep arriving. Timing each command from its own send counted that wait as an outage, and the burst
 * failed with thousands of `store_unavailable` although Redis answered all along. A Redis that stops
 * answering (frozen, black-holed) still fails every waiting command `timeoutMs` after its last answer;
 * answers that arrived while this process was busy are read before that verdict;
 * a command never waits longer than {@link QUEUED_COMMAND_CAP} timeouts in all.
 */
export function commandRunner(
  client: Pick<RedisLike, 'status' | 'once' | 'removeListener'>,
  timeoutMs: number,
  name: string,
  unavailable: (message: string, cause?: unknown) => WxkitError,
): <T>(command: () => Promise<T>) => Promise<T> {
  let connecting: Promise<void> | undefined;
  let wasReady = client.status === 'ready';
  /** When the client last answered a command (with a value or a Redis error): it is alive. */
  let lastAnswerAt = 0;
  if (!wasReady) {
    client.once?.('ready', () => {
      wasReady = true;
    });
  }
  const waitReady = (): Promise<void> => {
    if (client.status === undefined || client.status === 'ready') return Promise.resolve();
    if (wasReady || client.status === 'end' || client.status === 'close' || !client.once) {
      return Promise.reject(unavailable(`${name} is not connected`));
    }
    connecting ??= new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        client.removeListener?.('ready', onReady);
        reject(unavailable(`${name} is not connected`));
      }, timeoutMs);
      client.once?.('ready', onReady);
    }).finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  const answered = () => {
    lastAnswerAt = Date.now();
  };
  return async (command) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await waitReady();
      const sentAt = Date.now();
      const giveUpAt = sentAt + timeoutMs * QUEUED_COMMAND_CAP;
      const pending = command();
      // A Redis error reply (a script error, WRONGTYPE) is an answer too; a dropped connection is not.
      pending.then(answered, (e: unknown) => {
        if ((e as { name?: unknown })?.name === 'ReplyError') answered();
      });
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          const check = () => {
            const t = Date.now();
            const silentFor = t - Math.max(sentAt, lastAnswerAt);
            if (silentFor >= timeoutMs || t >= giveUpAt) {
              reject(unavailable(`${name} did not answer in time`));
            } else {
              timer = setTimeout(due, Math.min(timeoutMs - silentFor, giveUpAt - t));
            }
          };
          // Timers run before the event loop reads its sockets: after a busy stretch (thousands of
          // callers' work in one turn) the answers may be waiting unread. Judge after the next read.
          const due = () => setImmediate(check);
          timer = setTimeout(due, timeoutMs);
        }),
      ]);
    } catch (e) {
      if (e instanceof WxkitError) throw e;
      throw unavailable(`${name} failed: ${e instanceof Error ? e.message : String(e)}`, e);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** How long a store on a Cluster or Sentinel waits for its client to be ready when created. */
const TOPOLOGY_READY_MS = 5_000;

/** Resolves once `client` is ready, or after `ms` (the store then starts degraded and reconnects). */
function untilReady(client: RedisLike, ms: number): Promise<void> {
  if (client.status === undefined || client.status === 'ready' || !client.once) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.removeListener?.('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once?.('ready', done);
  });
}

/**
 * A command queued behind others gives up after this many command timeouts even while Redis keeps
 * answering the commands ahead of it (a Redis answering, but far too slowly to be of use).
 */
const QUEUED_COMMAND_CAP = 30;

/**
 * The server's `maxmemory-policy` (`noeviction`, `allkeys-lru`…), or `undefined` when it cannot be read
 * within `timeoutMs` (unreachable, or a managed Redis that refuses CONFIG). For a start-up warning only.
 */
export async function maxmemoryPolicy(
  target: string | RedisTopology,
  timeoutMs = 1000,
): Promise<string | undefined> {
  let client: RedisLike | undefined;
  try {
    client = await connect(target, timeoutMs);
    const run = commandRunner(client, timeoutMs, 'Redis', unavailable);
    const reply = await run(() => (client as RedisLike).call('CONFIG', 'GET', 'maxmemory-policy'));
    const policy = Array.isArray(reply) ? reply[1] : undefined;
    return typeof policy === 'string' ? policy : undefined;
  } catch {
    return undefined;
  } finally {
    client?.disconnect?.();
  }
}

function unavailable(message: string, cause?: unknown): WxkitError {
  return new WxkitError(ErrorCodes.STORE_UNAVAILABLE, message, {
    cause,
    hint: {
      en: 'Redis (WXKIT_STORE) is unreachable; wxkit serves from memory and reconnects by itself.',
      zh: 'Redis（WXKIT_STORE）不可达；wxkit 暂用内存中的凭据并会自动重连。',
    },
  });
}
