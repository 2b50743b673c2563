// Issue 18 item 16: the media store could not use the config file's Sentinel/Cluster topology, so a
// `redis://master` media store failed for good after a failover. Now `mediaRedis` in wxkit.config.json
// (or WXKIT_MEDIA_STORE=redis for the file's `redis`) gives media a topology, and saves follow the
// failover. A start-up warning says when media and credentials share one Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.ts';
import { sha256 } from '../../src/media/id.ts';
import { openMediaStore, parseMediaStoreSpec } from '../../src/media/spec.ts';
import { serviceSettings } from '../../src/serve/service.ts';
import { startupWarnings, warningInput } from '../../src/serve/warnings.ts';
import { type RedisServer, startRedisServer, startSentinel } from '../stores/redis-server.ts';

const APP = { appId: 'wxtopology0000001', secret: 'topology-secret' };

async function until<T>(get: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await get().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(100);
  }
  assert.fail(what);
}

describe('media in Redis through Sentinel (wxkit.config.json mediaRedis)', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let sentinel: Awaited<ReturnType<typeof startSentinel>>;
  let dir: string;
  before(async () => {
    master = await startRedisServer();
    replica = await startRedisServer();
    const r = new Redis(replica.url);
    await r.call('REPLICAOF', '127.0.0.1', String(master.port));
    r.disconnect();
    sentinel = await startSentinel(master);
    dir = await mkdtemp(join(tmpdir(), 'wxkit-media-topology-'));
  });
  after(async () => {
    await sentinel?.stop();
    await replica?.stop();
    await master?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('serve takes mediaRedis as its media store, and saves work again after a failover', async () => {
    await writeFile(
      join(dir, 'wxkit.config.json'),
      JSON.stringify({
        accounts: [{ appId: APP.appId, secretEnv: 'S' }],
        mediaRedis: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster' },
      }),
    );
    const env = { S: APP.secret, WXKIT_STORE: 'memory' };
    const config = loadConfig(env, dir);
    const settings = serviceSettings(config, env);
    assert.equal(settings.mediaStore, 'redis', 'mediaRedis is the media store');
    const store = await openMediaStore(parseMediaStoreSpec(settings.mediaStore), {
      redis: config.mediaRedis ?? config.redis,
    });
    // For contrast: the master's own URL, as the only way there was before.
    const direct = await openMediaStore(master.url);
    const file = () => {
      const bytes = new Uint8Array(randomBytes(512));
      return { bytes, id: sha256(bytes) };
    };
    try {
      assert.equal(store.description, 'redis-sentinel://mymaster (1 sentinels)');
      const a = file();
      await store.put(a.id, a.bytes, 'image/png');

      // The replica is known to Sentinel and in sync, then Sentinel promotes it.
      const sentinelClient = new Redis({ host: '127.0.0.1', port: sentinel.port });
      try {
        const replicaClient = new Redis(replica.url);
        try {
          await until(async () => {
            const info = await replicaClient.info('replication');
            return /master_link_status:up/.test(info) ? true : undefined;
          }, 'the replica never synced');
        } finally {
          replicaClient.disconnect();
        }
        await until(async () => {
          const reply = await sentinelClient.call('SENTINEL', 'FAILOVER', 'mymaster');
          return reply === 'OK' ? true : undefined;
        }, 'Sentinel never started the failover');
        await until(async () => {
          const addr = (await sentinelClient.call(
            'SENTINEL',
            'get-master-addr-by-name',
            'mymaster',
          )) as string[];
          return Number(addr[1]) === replica.port ? true : undefined;
        }, 'the replica never became the master');
      } finally {
        sentinelClient.disconnect();
      }

      // The old master is a replica now: a store bound to its URL cannot save any more.
      const c = file();
      await until(
        () =>
          direct.put(c.id, c.bytes, 'image/png').then(
            () => undefined,
            (e: Error) => (/READONLY/.test(e.message) ? true : undefined),
          ),
        'the old master never turned read-only',
      );
      // Through Sentinel, a save lands on the new master (after a short reconnection: Sentinel drops the
      // demoted master's clients).
      const b = file();
      const saved = await until(
        () => store.put(b.id, b.bytes, 'image/png'),
        'saves through Sentinel never worked again after the failover',
      );
      assert.equal(saved.size, 512);
      const onNewMaster = new Redis(replica.url);
      try {
        assert.equal(await onNewMaster.exists(`wxkit:media:{${b.id}}`), 1, 'on the promoted master');
      } finally {
        onNewMaster.disconnect();
      }
      assert.equal((await store.head(a.id))?.size, 512, 'the file saved before the failover is still there');
    } finally {
      await store.close();
      await direct.close();
    }
  });

  test('WXKIT_MEDIA_STORE=redis without a topology in the config file is a config error naming both fields', async () => {
    await assert.rejects(openMediaStore('redis'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'config_error');
      assert.match(
        e.message,
        /WXKIT_MEDIA_STORE: redis names the Sentinel or Cluster of wxkit\.config\.json \("mediaRedis", else "redis"\)/,
      );
      return true;
    });
  });
});

describe('start-up warning: media and credentials in one Redis', () => {
  const ids = (env: Record<string, string>, file?: object) => {
    const d = join(tmpdir(), `wxkit-warn-${randomBytes(4).toString('hex')}`);
    return (async () => {
      await rm(d, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
      if (file) await writeFile(join(d, 'wxkit.config.json'), JSON.stringify(file));
      try {
        const all = {
          WX_APP_ID: APP.appId,
          WX_APP_SECRET: APP.secret,
          WX_JS_DOMAINS: 'h5.example.com',
          ...env,
        };
        const config = loadConfig(all, d);
        const settings = serviceSettings(config, all);
        return startupWarnings(warningInput(config, settings, { sandbox: false, workers: 1 })).map(
          (w) => w.id,
        );
      } finally {
        await rm(d, { recursive: true, force: true });
      }
    })();
  };
  const sentinels = (port: number) => ({ sentinels: [{ host: '10.0.0.7', port }], name: 'mymaster' });

  test('the same Redis server (another database of it too) warns; separate servers do not', async () => {
    const shared = await ids({
      WXKIT_STORE: 'redis://:pw@Redis.internal:6379/0',
      WXKIT_MEDIA_STORE: 'redis://redis.internal/1',
    });
    assert.ok(shared.includes('media-redis-shared'), String(shared));
    const apart = await ids({
      WXKIT_STORE: 'redis://redis.internal:6379',
      WXKIT_MEDIA_STORE: 'redis://media-redis.internal:6379',
    });
    assert.ok(!apart.includes('media-redis-shared'), String(apart));
    assert.ok(
      !(await ids({ WXKIT_STORE: 'redis://r:6379', WXKIT_MEDIA_STORE: 's3://b/p' })).includes(
        'media-redis-shared',
      ),
    );
  });

  test('the config file: WXKIT_MEDIA_STORE=redis with only "redis" warns; a mediaRedis elsewhere does not', async () => {
    const viaRedis = await ids({ WXKIT_MEDIA_STORE: 'redis' }, { redis: sentinels(26379) });
    assert.ok(viaRedis.includes('media-redis-shared'), String(viaRedis));
    const separate = await ids({}, { redis: sentinels(26379), mediaRedis: sentinels(26380) });
    assert.ok(!separate.includes('media-redis-shared'), String(separate));
    const same = await ids({}, { redis: sentinels(26379), mediaRedis: sentinels(26379) });
    assert.ok(same.includes('media-redis-shared'), String(same));
  });
});
