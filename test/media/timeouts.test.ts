// Issue 18 item 10: with the object store black-holed, media requests hung until undici's 300 s
// (the abort signal handed to the signing library never reached fetch), and each hung download held
// one of the client's download slots. Every S3 call must give up after its timeout, and a download
// whose body stalls must fail and free its slot.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { WxkitError } from '../../src/errors.ts';
import { createHandler } from '../../src/http/handler.ts';
import { sha256 } from '../../src/media/id.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import { createS3MediaStore } from '../../src/media/s3.ts';
import type { MediaStore } from '../../src/media/types.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { startRedisServer } from '../stores/redis-server.ts';
import { settles } from '../stores/settles.ts';
import { type S3Server, startS3Server } from './s3-server.ts';

/** The timeouts under test: long enough for a loaded CI machine, 150 times shorter than undici's 300 s. */
const TIMEOUT_MS = 2000;

function unanswered(
  r: PromiseSettledResult<unknown>,
  re: RegExp = new RegExp(`no answer in ${TIMEOUT_MS} ms`),
): void {
  assert.equal(r.status, 'rejected', 'failed, not answered');
  const e = (r as PromiseRejectedResult).reason as WxkitError;
  assert.equal(e.code, 'store_unavailable', String(e));
  assert.equal(e.status, 503);
  assert.match(e.message, re);
}

describe('s3:// with the object store black-holed (s3rver stopped)', () => {
  let s3: S3Server;
  let store: MediaStore;
  const bytes = new Uint8Array(randomBytes(4096));
  const id = sha256(bytes);
  before(async () => {
    s3 = await startS3Server();
    store = await createS3MediaStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      prefix: 'blackhole',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      requestTimeoutMs: TIMEOUT_MS,
    });
    await store.put(id, bytes, 'image/png');
    await store.setAlias('wx\0server-1', id);
  });
  after(async () => {
    s3?.kill('SIGCONT');
    await s3?.stop();
  });

  test('every store call fails with store_unavailable after its timeout, and works again once S3 answers', async () => {
    s3.kill('SIGSTOP');
    try {
      const other = new Uint8Array(randomBytes(100));
      unanswered(await settles(store.head(id), 'head'));
      unanswered(await settles(store.open(id), 'open'));
      unanswered(await settles(store.put(sha256(other), other, 'image/png'), 'put'));
      unanswered(await settles(store.alias('wx\0server-1'), 'alias'));
      unanswered(await settles(store.setAlias('wx\0server-2', id), 'setAlias'));
      unanswered(await settles(store.delete(sha256(other)), 'delete'));
      unanswered(await settles(store.sweep(), 'sweep'));
    } finally {
      s3.kill('SIGCONT');
    }
    assert.equal((await store.head(id))?.size, 4096);
    assert.equal(await store.alias('wx\0server-1'), id);
  });

  test('GET /jssdk/media/:id: each request answers 503, and the client has all its slots once S3 is back', async () => {
    const account = createWxkit({
      appId: 'wxs3blackhole0001',
      secret: 's3-blackhole-secret',
      store: 'memory',
    });
    const handler = createHandler(account, {
      log: false,
      rateLimit: false,
      extra: { mediaStore: store, media: { concurrentPerClient: 2 } },
    });
    const get = () => handler(new Request(`http://svc.test/jssdk/media/${id}`), { clientIp: '203.0.113.7' });
    try {
      s3.kill('SIGSTOP');
      let answers: PromiseSettledResult<Response>[];
      try {
        // Twice the client's slots: the later requests find the slots the first ones held.
        answers = await Promise.all([get(), get(), get(), get()].map((p, i) => settles(p, `request ${i}`)));
      } finally {
        s3.kill('SIGCONT');
      }
      const statuses = answers.map((a) => (a.status === 'fulfilled' ? a.value.status : 0));
      assert.ok(
        statuses.every((s) => s === 503 || s === 429),
        `503 (store unreachable) or 429 (slots busy), never a hang: ${statuses}`,
      );
      assert.ok(statuses.includes(503));
      // S3 is back: every slot was released by the failed requests, so both new reads succeed at once.
      const [a, b] = await Promise.all([get(), get()]);
      assert.deepEqual([a.status, b.status], [200, 200]);
      assert.equal((await a.arrayBuffer()).byteLength, 4096);
      assert.equal((await b.arrayBuffer()).byteLength, 4096);
    } finally {
      await account.close();
    }
  });
});

describe('s3:// when the store sends the headers and then stalls the body', () => {
  let server: Server;
  let store: MediaStore;
  const stalled = new Set<import('node:net').Socket>();
  const bytes = new Uint8Array(randomBytes(1000));
  const id = sha256(bytes);
  before(async () => {
    // A real HTTP server standing in for S3 that sends 10 of the 1000 bytes it announced, then nothing.
    server = createServer((req, res) => {
      res.writeHead(200, {
        'content-type': 'image/png',
        'content-length': '1000',
        'last-modified': new Date().toUTCString(),
      });
      if (req.method === 'HEAD') return res.end();
      stalled.add(req.socket);
      res.write(Buffer.from(bytes.subarray(0, 10)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    store = await createS3MediaStore({
      bucket: 'stalling',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      accessKeyId: 'AKIASTALL',
      secretAccessKey: 'stall-secret',
      requestTimeoutMs: TIMEOUT_MS,
    });
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
  });

  test('reading the body fails with store_unavailable, onClose runs, and the connection is closed', async () => {
    let closed = 0;
    const opened = await store.open(id, { onClose: () => closed++ });
    assert.ok(opened);
    const read = new Response(opened.body).arrayBuffer();
    unanswered(
      await settles(read, 'the stalled body'),
      new RegExp(`stopped sending [a-f0-9]{64} \\(no data in ${TIMEOUT_MS} ms\\)`),
    );
    assert.equal(closed, 1, 'the slot is released once');
    // The socket to the stalled store is given up, not left open for minutes.
    const deadline = Date.now() + 20_000;
    while ([...stalled].some((s) => !s.destroyed) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      [...stalled].every((s) => s.destroyed),
      'the connection to the stalled store was closed',
    );
  });
});

describe('redis:// with Redis frozen (SIGSTOP: connected, never answering)', () => {
  test('media and credential store commands fail with store_unavailable after their timeout', async () => {
    const redis = await startRedisServer();
    const media = await createRedisMediaStore({ url: redis.url, commandTimeoutMs: TIMEOUT_MS });
    const credentials = await createRedisStore({ url: redis.url, commandTimeoutMs: TIMEOUT_MS });
    const bytes = new Uint8Array(randomBytes(64));
    try {
      await media.put(sha256(bytes), bytes, 'image/png');
      await credentials.set('k', 'v');
      await redis.kill('SIGSTOP');
      const late = /did not answer in time/;
      unanswered(await settles(media.head(sha256(bytes)), 'media head'), late);
      unanswered(await settles(media.put(sha256(bytes), bytes, 'image/png'), 'media put'), late);
      unanswered(await settles(media.ping?.() ?? Promise.resolve(), 'media ping'), late);
      unanswered(await settles(credentials.get('k'), 'credential get'), late);
      unanswered(await settles(credentials.tryLock('lock', 1000), 'credential lock'), late);
      await redis.kill('SIGCONT');
      assert.equal((await media.head(sha256(bytes)))?.size, 64);
      assert.equal(await credentials.get('k'), 'v');
    } finally {
      await redis.kill('SIGCONT');
      await media.close();
      await credentials.close();
      await redis.stop();
    }
  });
});
