// What an operator sees when the media store is misconfigured or down: one clear error per cause
// (never a credential in it), and nothing half-written.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AwsClient } from 'aws4fetch';
import { Redis } from 'ioredis';
import { isWxkitError, type WxkitError } from '../../src/errors.ts';
import { createHandler } from '../../src/http/handler.ts';
import { sha256 } from '../../src/media/id.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import { createS3MediaStore, type S3MediaStoreOptions } from '../../src/media/s3.ts';
import { mediaTtlFromEnv, parseMediaStoreSpec } from '../../src/media/spec.ts';
import { testImage } from '../../src/simulator/bridge/png.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { freePort, type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { type S3Server, startS3Server } from './s3-server.ts';
import { uploadToWechat } from './wechat-upload.ts';

const SECRET_KEY = 'very-secret-key-never-shown-0123';

describe('s3:// errors (s3rver)', () => {
  let s3: S3Server;
  let raw: AwsClient;
  before(async () => {
    s3 = await startS3Server();
    raw = new AwsClient({
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      service: 's3',
      region: 'us-east-1',
    });
  });
  after(() => s3?.stop());

  const listed = async (prefix: string) => {
    const res = await raw.fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${prefix}/`);
    return [...(await res.text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
  };
  const file = () => {
    const bytes = new Uint8Array(randomBytes(2048));
    return { bytes, id: sha256(bytes) };
  };
  const clear = (re: RegExp) => (e: unknown) => {
    assert.ok(isWxkitError(e), String(e));
    assert.equal(e.code, 'store_unavailable');
    assert.equal(e.status, 503);
    assert.match(e.message, re);
    assert.ok(!`${e.message}${e.hint.en}${e.hint.zh}`.includes(SECRET_KEY), 'no secret in the error');
    assert.ok(e.hint.en.length > 0 && /[\u4e00-\u9fff]/.test(e.hint.zh));
    return true;
  };
  /** A store on the s3rver, signing with SECRET_KEY (the secret that must never show in an error). */
  const s3Store = (options: Partial<S3MediaStoreOptions>) =>
    createS3MediaStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      accessKeyId: 'S3RVER',
      secretAccessKey: SECRET_KEY,
      ...options,
    });

  test('a bucket that does not exist: names the bucket and NoSuchBucket', async () => {
    const store = await s3Store({ bucket: 'no-such-bucket' });
    const { bytes, id } = file();
    await assert.rejects(
      store.put(id, bytes, 'image/png'),
      clear(/bucket "no-such-bucket" does not exist.*NoSuchBucket/),
    );
    await assert.rejects(store.sweep(), clear(/does not exist/));
    await assert.rejects(store.setAlias('wx\0x', id), clear(/does not exist/));
  });

  test('wrong credentials: refused with the S3 code, nothing written', async () => {
    // s3rver checks the access key id but does not verify SigV4 signatures (its v4 check is
    // unimplemented), so only an unknown key id can be shown here; a wrong secret is the same
    // 403 answer (SignatureDoesNotMatch) on a real store and takes the same path.
    const store = await s3Store({ prefix: 'wrong-key', accessKeyId: 'AKIAWRONGWRONGWRONG' });
    const { bytes, id } = file();
    await assert.rejects(
      store.put(id, bytes, 'image/png'),
      clear(/refused the credentials \(InvalidAccessKeyId\)/),
    );
    assert.deepEqual(await listed('wrong-key'), []);
  });

  test('an unreachable endpoint: names the host and the network error, quickly, nothing written', async () => {
    const port = await freePort();
    const store = await s3Store({ prefix: 'unreachable', endpoint: `http://127.0.0.1:${port}` });
    const { bytes, id } = file();
    await assert.rejects(
      store.put(id, bytes, 'image/png'),
      clear(new RegExp(`cannot be reached at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`)),
    );
    await assert.rejects(store.open(id), clear(/cannot be reached/));
    assert.deepEqual(await listed('unreachable'), []);
  });

  test('missing credentials and a bad spec are config errors naming what to set', async () => {
    await assert.rejects(
      createS3MediaStore({ bucket: s3.bucket, endpoint: s3.endpoint, accessKeyId: '', secretAccessKey: '' }),
      (e: WxkitError) =>
        e.code === 'config_error' && /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/.test(e.message),
    );
    for (const [spec, re] of [
      ['s3://key:secret@bucket/p', /no credentials in the URL/],
      ['s3://bucket/p?endpoint=x&colour=red', /unknown s3:\/\/ option "colour"/],
      ['s3://bucket/p?style=sideways', /style must be path or virtual/],
      ['s3://bucket/p?redirect=soon', /redirect must be/],
      ['ftp://host/x', /unknown media store "ftp:/],
      ['redis:pw@host', /unknown media store "redis:\*\*\*@host"/],
      ['file:', /file: needs a directory/],
    ] as const) {
      assert.throws(
        () => parseMediaStoreSpec(spec),
        (e: WxkitError) => e.code === 'config_error' && re.test(e.message) && !e.message.includes('secret'),
        spec,
      );
    }
    assert.deepEqual(
      parseMediaStoreSpec(
        's3://photos/wx/media?endpoint=https://oss-cn-hangzhou.aliyuncs.com&region=oss-cn-hangzhou&style=virtual&redirect=300',
      ),
      {
        kind: 's3',
        bucket: 'photos',
        prefix: 'wx/media',
        endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
        region: 'oss-cn-hangzhou',
        style: 'virtual',
        redirect: 300,
      },
    );
    assert.equal(mediaTtlFromEnv({}), 30 * 86400);
    assert.equal(mediaTtlFromEnv({ WXKIT_MEDIA_TTL: '60' }), 60);
    for (const bad of ['0', '-1', '1.5', 'week']) {
      assert.throws(
        () => mediaTtlFromEnv({ WXKIT_MEDIA_TTL: bad }),
        /WXKIT_MEDIA_TTL must be a number of seconds/,
      );
    }
  });

  test('POST /jssdk/media into a missing bucket: 503 JSON, no alias, and a later save works', async () => {
    const sim: Simulator = await startSimulator({ apps: ['wxs3errors00000001:s3-errors-secret'] });
    const account = createWxkit({
      appId: 'wxs3errors00000001',
      secret: 's3-errors-secret',
      apiBase: sim.url,
      store: 'memory',
    });
    try {
      const png = testImage(1499);
      const serverId = await uploadToWechat(sim, account, png, { filename: 'p.png' });
      const post = (store: unknown) =>
        createHandler(account, { log: false, rateLimit: false, extra: { mediaStore: store } })(
          new Request('http://svc.test/jssdk/media', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ serverId }),
          }),
        );
      const missing = await s3Store({ bucket: 'not-created', prefix: 'route', secretAccessKey: 'S3RVER' });
      const res = await post(missing);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'store_unavailable');
      assert.deepEqual(await listed('route'), []);
      const good = await s3Store({ prefix: 'route', secretAccessKey: 'S3RVER' });
      const ok = await post(good);
      assert.equal(ok.status, 201);
      assert.equal(((await ok.json()) as { id: string }).id, sha256(png));
      assert.equal((await listed('route')).length, 2, 'the file and its serverId record');
    } finally {
      await account.close();
      await sim.close();
    }
  });
});

describe('redis:// limits and outages', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server?.stop());

  test('a file above the size limit is refused (413 payload_too_large, clear message) and nothing is written', async () => {
    const store = await createRedisMediaStore({ url: server.url, maxBytes: 1000 });
    const raw = new Redis(server.url);
    try {
      const bytes = new Uint8Array(randomBytes(1001));
      await assert.rejects(store.put(sha256(bytes), bytes, 'image/png'), (e: WxkitError) => {
        assert.equal(e.code, 'payload_too_large');
        assert.equal(e.status, 413);
        assert.match(
          e.message,
          /1001 bytes; the media store redis:\/\/127\.0\.0\.1:\d+ accepts at most 1000/,
        );
        assert.match(e.hint.en, /file: or s3:\/\//);
        return true;
      });
      assert.deepEqual(await raw.keys('*'), []);
      const small = new Uint8Array(randomBytes(1000));
      await store.put(sha256(small), small, 'image/png');
      assert.equal((await raw.keys('*')).length, 2);
      assert.equal((await store.head(sha256(small)))?.size, 1000);
      // The default limit is documented as 10 MiB.
      const dflt = await createRedisMediaStore({ url: server.url });
      assert.equal(dflt.maxBytes, 10 * 1024 * 1024);
      await dflt.close();
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  test('Redis down: a save and a read fail with store_unavailable, never hang', async () => {
    const down = await startRedisServer();
    const store = await createRedisMediaStore({ url: down.url, commandTimeoutMs: 500 });
    await down.stop();
    const bytes = new Uint8Array(randomBytes(10));
    await assert.rejects(
      store.put(sha256(bytes), bytes, 'image/png'),
      (e: WxkitError) => e.code === 'store_unavailable',
    );
    await assert.rejects(store.head(sha256(bytes)), (e: WxkitError) => e.code === 'store_unavailable');
    await store.close();
  });
});
