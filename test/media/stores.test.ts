import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { Redis } from 'ioredis';
import { createFileMediaStore } from '../../src/media/file.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import { createS3MediaStore } from '../../src/media/s3.ts';
import { startRedisServer } from '../stores/redis-server.ts';
import { CONFORMANCE_TTL_SECONDS, mediaStoreConformance } from './conformance.ts';
import { startS3Server } from './s3-server.ts';

const virtualClock = () => {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
};

async function walk(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, root)));
    else out.push(relative(root, p));
  }
  return out;
}

mediaStoreConformance('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-media-conf-'));
  const clock = virtualClock();
  return {
    store: createFileMediaStore({
      dir: join(dir, 'media'),
      ttlSeconds: CONFORMANCE_TTL_SECONDS,
      now: clock.now,
    }),
    advance: clock.advance,
    list: () => walk(join(dir, 'media')),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

mediaStoreConformance('redis', async () => {
  const server = await startRedisServer();
  const clock = virtualClock();
  const raw = new Redis(server.url);
  return {
    store: await createRedisMediaStore({
      url: server.url,
      ttlSeconds: CONFORMANCE_TTL_SECONDS,
      now: clock.now,
    }),
    advance: clock.advance,
    list: () => raw.keys('*'),
    close: async () => {
      raw.disconnect();
      await server.stop();
    },
  };
});

mediaStoreConformance('s3 (s3rver)', async () => {
  const server = await startS3Server();
  const clock = virtualClock();
  const raw = new AwsClient({
    ...server.credentials,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    service: 's3',
    region: 'us-east-1',
  });
  return {
    store: await createS3MediaStore({
      bucket: server.bucket,
      prefix: 'conformance',
      endpoint: server.endpoint,
      ...{ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      ttlSeconds: CONFORMANCE_TTL_SECONDS,
      now: clock.now,
    }),
    advance: clock.advance,
    list: async () => {
      const res = await raw.fetch(`${server.endpoint}/${server.bucket}?list-type=2&prefix=conformance/`);
      return [...(await res.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '');
    },
    close: () => server.stop(),
  };
});
