import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createFileStore } from '../../src/stores/file.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { connect, createRedisStore, type RedisLike } from '../../src/stores/redis.ts';
import { openStore, parseStoreSpec } from '../../src/stores/spec.ts';
import { storeConformance as conformance, type StoreFixture } from '../../src/stores/testing.ts';
import { startRedisCluster, startRedisServer, startSentinel } from './redis-server.ts';

// The suite users import from 'wxkit/stores/testing', registered with node:test.
const storeConformance = (name: string, open: () => Promise<StoreFixture>) =>
  conformance(name, open, { describe, test, before, after });

const virtualClock = () => {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: async (ms: number) => {
      offset += ms;
    },
  };
};

storeConformance('memory', async () => {
  const clock = virtualClock();
  return {
    store: createMemoryStore({ now: clock.now }),
    advance: clock.advance,
    close: async () => {},
    indexed: true,
  };
});

storeConformance('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-store-'));
  const clock = virtualClock();
  return {
    store: createFileStore({ dir: join(dir, 'store'), now: clock.now }),
    advance: clock.advance,
    close: () => rm(dir, { recursive: true, force: true }),
    indexed: true,
  };
});

storeConformance('redis', async () => {
  const server = await startRedisServer();
  const store = await createRedisStore({ url: server.url });
  return {
    store,
    // Redis keeps real time: PX expiry is observed by waiting (never asserted as a duration).
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: async () => {
      await store.close();
      await server.stop();
    },
    indexed: true,
  };
});

storeConformance('redis through Sentinel', async () => {
  const server = await startRedisServer();
  const sentinel = await startSentinel(server);
  const store = await createRedisStore({
    topology: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster' },
  });
  assert.equal(store.description, 'redis-sentinel://mymaster (1 sentinels)');
  return {
    store,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: async () => {
      await store.close();
      await sentinel.stop();
      await server.stop();
    },
    indexed: true,
  };
});

describe('file store specifics', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('expired records nobody reads again are swept; live ones and fresh writes stay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wxkit-store-'));
    dirs.push(dir);
    let t = 1_000_000;
    const store = createFileStore({ dir, now: () => t });
    for (let i = 0; i < 200; i++) await store.set(`oauth:state:${i}`, 'x', 60_000); // abandoned logins
    await store.set('token', 'live');
    t += 120_000;
    for (let i = 0; i < 56; i++) await store.set(`fresh:${i}`, 'y', 60_000); // the 256th write sweeps
    await store.close(); // the sweep runs in the background: close() waits for it
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 57, 'only the live token and the 56 fresh records remain');
    assert.equal(await store.get('token'), 'live');
    assert.equal(await store.get('fresh:55'), 'y');
    assert.equal(await store.get('oauth:state:3'), undefined);
  });

  test('files are 0600 in a 0700 directory and no file name contains the key', async () => {
    const base = await mkdtemp(join(tmpdir(), 'wxkit-store-'));
    dirs.push(base);
    const dir = join(base, 'creds');
    const store = createFileStore({ dir });
    const key = 'wxkit:wxSECRETISH:access_token';
    await store.set(key, 'the-token-value');
    const owner = await store.tryLock(`${key}:lock`, 10_000);
    assert.ok(owner);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const names = await readdir(dir);
    assert.ok(names.length >= 2);
    for (const name of names) {
      assert.ok(!name.includes('wxSECRETISH') && !name.includes('token'), name);
      assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, name);
    }
    await store.unlock(`${key}:lock`, owner);
  });

  test('a relative dir resolves against cwd and is described absolutely', async () => {
    const base = await mkdtemp(join(tmpdir(), 'wxkit-store-'));
    dirs.push(base);
    const store = createFileStore({ dir: '.wxkit', cwd: base });
    assert.equal(store.description, `file:${join(base, '.wxkit')}`);
    await store.set('k', 'v');
    assert.deepEqual(await readdir(join(base, '.wxkit')).then((n) => n.length), 1);
  });

  test('4 processes incrementing a counter under the lock never lose an update', async () => {
    const base = await mkdtemp(join(tmpdir(), 'wxkit-store-'));
    dirs.push(base);
    const worker = new URL('./fixtures/file-lock-worker.ts', import.meta.url).pathname;
    const children = Array.from({ length: 4 }, () =>
      fork(worker, [base, '25'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }),
    );
    const codes = await Promise.all(children.map((c) => once(c, 'exit').then(([code]) => code)));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const store = createFileStore({ dir: base });
    assert.equal(await store.get('counter'), '100');
  });
});

describe('memory store specifics', () => {
  test('expired entries nobody reads again are swept, so memory stays bounded by what is live', async () => {
    let t = 1_000_000;
    const store = createMemoryStore({ now: () => t });
    for (let i = 0; i < 1000; i++) await store.set(`oauth:state:${i}`, 'x', 60_000);
    await store.set('token', 'live');
    assert.equal(store.size, 1001);
    t += 120_000;
    for (let i = 0; i < 300; i++) await store.set(`fresh:${i}`, 'y', 60_000);
    assert.ok(store.size <= 301, `size ${store.size}`);
    assert.equal(await store.get('token'), 'live');
    assert.equal(await store.get('fresh:299'), 'y');
  });
});

describe('store specs', () => {
  test('parses memory, file: and redis URLs and rejects the rest without echoing passwords', async () => {
    assert.deepEqual(parseStoreSpec('memory'), { kind: 'memory' });
    assert.deepEqual(parseStoreSpec('file:/var/wxkit'), { kind: 'file', dir: '/var/wxkit' });
    assert.deepEqual(parseStoreSpec('rediss://:pw@h:6380/1'), {
      kind: 'redis',
      url: 'rediss://:pw@h:6380/1',
    });
    for (const bad of [
      '',
      'file:',
      'mongodb://u:hunter2@h',
      'redis:/nope',
      'redis:hunter2@10.0.0.5:6379',
      'redis:/:hunter2@h',
      'hunter2@h',
    ]) {
      assert.throws(
        () => parseStoreSpec(bad),
        (e: Error & { code?: string }) => e.code === 'config_error' && !e.message.includes('hunter2'),
      );
    }
    const mem = await openStore('memory');
    assert.equal(mem.description, 'memory');
  });

  test('a Redis store describes itself without the password', async () => {
    const server = await startRedisServer();
    try {
      const store = await createRedisStore({ url: `redis://:@127.0.0.1:${server.port}/0` });
      assert.equal(store.description, `redis://127.0.0.1:${server.port}`);
      await store.ping();
      await store.close();
    } finally {
      await server.stop();
    }
  });

  test('closing a Redis store leaves no timer behind (a CLI run exits at once)', async () => {
    const server = await startRedisServer();
    try {
      // A long command timeout: a timer close() forgot would live a minute; ioredis' own end in ms.
      const store = await createRedisStore({ url: server.url, commandTimeoutMs: 60_000 });
      await store.set('k', 'v');
      const live = new Set<number>();
      const hook = createHook({
        init: (id, type) => void (type === 'Timeout' && live.add(id)),
        destroy: (id) => void live.delete(id),
      });
      hook.enable();
      await store.close();
      for (let i = 0; i < 40 && live.size > 0; i++) await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 40 && live.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
      hook.disable();
      assert.equal(live.size, 0, 'timers started by close() are all gone');
    } finally {
      await server.stop();
    }
  });

  test('WXKIT_STORE=redis://… without ioredis installed: `wxkit token` says so in one line, exit 1', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        new URL('./fixtures/no-ioredis.mjs', import.meta.url).pathname,
        new URL('../../src/cli/bin.ts', import.meta.url).pathname,
        'token',
      ],
      {
        cwd: new URL('../..', import.meta.url).pathname,
        env: {
          ...process.env,
          WX_APP_ID: 'wx1234567890abcdef',
          WX_APP_SECRET: 'app-secret-hunter2',
          WXKIT_STORE: 'redis://:redis-hunter2@127.0.0.1:9',
          WXKIT_CONFIG: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    const lines = err.trim().split('\n');
    assert.equal(lines.length, 1, err);
    assert.match(lines[0]!, /ioredis package is not installed.*npm install ioredis/);
    assert.ok(!err.includes('hunter2'));
  });

  test('a command queued behind a burst waits its turn while Redis answers; a frozen Redis still times out', async () => {
    // 60 reads costing about 20 ms of Redis time each, sent at once with a 250 ms command timeout: Redis
    // answers the last about 1.2 s after it was sent, yet it answers something every 20 ms. Timed from
    // each send, the queued ones failed as store_unavailable (the 20,000-call platform burst lost
    // thousands of calls so, with Redis answering all along).
    const server = await startRedisServer();
    const raw = await connect(server.url, 1000);
    const busy20ms = `local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start >= 20000
return redis.call('GET', KEYS[1])`;
    // The real connection, where a GET of a `slow:` key costs Redis 20 ms. Redis writes the replies to
    // the commands of one read together: 64 KB of padding makes each command a read of its own, so the
    // answers arrive one by one, as a burst of small commands' do batch by batch.
    const pad = 'x'.repeat(65_536);
    const client: RedisLike = {
      call: (command, ...args) =>
        command === 'GET' && String(args[0]).startsWith('slow:')
          ? raw.call('EVAL', busy20ms, 1, ...args, pad)
          : raw.call(command, ...args),
      get status() {
        return raw.status ?? 'ready';
      },
      once: (event, listener) => raw.once?.(event, listener),
      removeListener: (event, listener) => raw.removeListener?.(event, listener),
    };
    const store = await createRedisStore({ client, commandTimeoutMs: 250 });
    try {
      await store.set('k', 'v');
      const burst = await Promise.allSettled([
        ...Array.from({ length: 60 }, (_, i) => store.get(`slow:${i}`)),
        store.get('k'),
      ]);
      const failed = burst.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason));
      assert.deepEqual(burst.at(-1), { status: 'fulfilled', value: 'v' });
      // A Redis that answers nothing is still unreachable after one timeout.
      await server.kill('SIGSTOP');
      await assert.rejects(store.get('k'), (e: Error & { code?: string }) => e.code === 'store_unavailable');
    } finally {
      await server.kill('SIGCONT');
      await store.close();
      raw.disconnect?.();
      await server.stop();
    }
  });

  test('an answer that arrived while the process was busy is not a timeout', async () => {
    // A burst keeps the event loop busy past the command timeout; the answer is meanwhile in the socket.
    // Timers run before sockets are read, so the timeout used to fire first: store_unavailable from a
    // Redis that had answered in a millisecond.
    const server = await startRedisServer();
    const store = await createRedisStore({ url: server.url, commandTimeoutMs: 100 });
    try {
      await store.set('k', 'v');
      const pending = store.get('k');
      for (let i = 0; i < 10; i++) await null; // the command is written to the socket
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // busy, as a process running thousands of callers' work in one turn
      }
      assert.equal(await pending, 'v');
    } finally {
      await store.close();
      await server.stop();
    }
  });

  test('a store on a Redis Cluster is ready to answer once created, however long the cluster took', async () => {
    // The nodes answer nothing for 1.5 s while the client connects: more than one command's budget.
    // The first burst used to fail whole with "not connected" (5,000 calls of one process in the
    // platform benchmark); the store now waits for its client before it is handed out.
    const cluster = await startRedisCluster(3);
    try {
      cluster.kill('SIGSTOP');
      const resume = setTimeout(() => cluster.kill('SIGCONT'), 1500);
      const store = await createRedisStore({
        topology: { cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) },
        commandTimeoutMs: 1000,
      });
      try {
        await store.set('k', 'v');
        assert.equal(await store.get('k'), 'v');
      } finally {
        clearTimeout(resume);
        await store.close();
      }
    } finally {
      cluster.kill('SIGCONT');
      await cluster.stop();
    }
  });

  test('a Redis store fails fast with store_unavailable while Redis is down, and recovers', async () => {
    const server = await startRedisServer();
    const store = await createRedisStore({ url: server.url, commandTimeoutMs: 300 });
    try {
      await store.set('k', 'v');
      await server.stop();
      await assert.rejects(store.get('k'), (e: Error & { code?: string }) => e.code === 'store_unavailable');
      await server.start();
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await store.ping().then(
          () => true,
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(ok, 'reconnected');
      await store.set('k', 'v2');
      assert.equal(await store.get('k'), 'v2');
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
