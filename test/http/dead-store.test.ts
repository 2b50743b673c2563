// Issue 18 item 17: fail fast on a dead store. Once Redis is gone (its connection reset), a media
// operation must fail at once instead of waiting for the reconnection until its command timeout, and
// the first /readyz after the death must already say 503 — for the credential store and for the
// media store, which /readyz now checks too.
//
// The command timeouts here are a minute and /readyz waits up to 20 s for its probe: an answer that
// waited for a timeout would miss the 30 s bound of settles() (or, for /readyz, answer the stale "ready").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WxkitError } from '../../src/errors.ts';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { sha256 } from '../../src/media/id.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import type { MediaStore } from '../../src/media/types.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Store } from '../../src/stores/types.ts';
import { createWxkit, type WxkitInstance } from '../../src/wxkit.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { settles } from '../stores/settles.ts';

const APP = 'wxdeadstore000001';
const SECRET = 'dead-store-secret';
const MINUTE = 60_000;

interface Ready {
  status: number;
  body: {
    ready: boolean;
    probing: boolean;
    accounts: { storeReachable: boolean; credentials: boolean }[];
    media?: { reachable: boolean; store?: string; error?: { code: string; message?: string } };
  };
}

let sim: Simulator;
let credentialRedis: RedisServer;
let mediaRedis: RedisServer;
let store: Store;
let media: MediaStore;
let wx: WxkitInstance;
let handler: WxkitHandler;

const readyz = async (clientIp = '127.0.0.1'): Promise<Ready> => {
  const res = await handler(new Request('http://svc.test/readyz'), { clientIp });
  return { status: res.status, body: (await res.json()) as Ready['body'] };
};

/** Polls until `want` holds (Redis coming back takes a reconnection); the last answer. */
async function until(want: (r: Ready) => boolean, what: string): Promise<Ready> {
  let last: Ready | undefined;
  for (let i = 0; i < 300; i++) {
    last = await readyz();
    if (want(last)) return last;
    await sleep(50);
  }
  assert.fail(`${what}; last answer ${JSON.stringify(last)}`);
}

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  credentialRedis = await startRedisServer();
  mediaRedis = await startRedisServer();
  store = await createRedisStore({ url: credentialRedis.url, commandTimeoutMs: MINUTE });
  media = await createRedisMediaStore({ url: mediaRedis.url, commandTimeoutMs: MINUTE });
  wx = createWxkit({ appId: APP, secret: SECRET, apiBase: sim.url, store, jsDomains: ['h5.example.com'] });
  handler = createHandler(wx, {
    log: false,
    rateLimit: false,
    extra: { mediaStore: media, readiness: { timeoutMs: MINUTE, maxAgeMs: 0, graceMs: 20_000 } },
  });
  await wx.ticket();
});

after(async () => {
  await wx.close();
  await store.close();
  await media.close();
  await credentialRedis.stop();
  await mediaRedis.stop();
  await sim.close();
});

describe('a dead Redis is reported at once', () => {
  test('healthy: /readyz includes the media store (its description for internal callers only)', async () => {
    const r = await until((x) => x.status === 200, 'never ready');
    assert.deepEqual(r.body.media, { reachable: true, store: `redis://127.0.0.1:${mediaRedis.port}` });
    const anonymous = await readyz('203.0.113.5');
    assert.deepEqual(anonymous.body.media, { reachable: true });
  });

  test('the credential Redis dies: the very first /readyz answers 503 from a fresh probe', async () => {
    await credentialRedis.kill('SIGKILL');
    await sleep(500); // the client has seen the reset and is reconnecting (the case that waited)
    const first = await settles(readyz(), '/readyz');
    assert.equal(first.status, 'fulfilled');
    const r = (first as PromiseFulfilledResult<Ready>).value;
    assert.equal(r.body.probing, false, 'the probe finished: it did not wait for Redis to come back');
    assert.equal(r.status, 503);
    assert.equal(r.body.accounts[0]?.storeReachable, false);
    assert.equal(r.body.accounts[0]?.credentials, true, 'still signing from memory');
    await credentialRedis.start();
    await until((x) => x.status === 200, 'never ready again after the credential Redis came back');
  });

  test('the media Redis dies: saves and reads fail at once, and the first /readyz says the media store is down', async () => {
    const bytes = new Uint8Array(randomBytes(64));
    await media.put(sha256(bytes), bytes, 'image/png');
    await mediaRedis.kill('SIGKILL');
    await sleep(500);
    for (const [what, op] of [
      ['put', () => media.put(sha256(bytes), bytes, 'image/png')],
      ['head', () => media.head(sha256(bytes))],
      ['alias', () => media.alias('wx\0server')],
    ] as const) {
      const r = await settles(op() as Promise<unknown>, what);
      assert.equal(r.status, 'rejected', what);
      const e = (r as PromiseRejectedResult).reason as WxkitError;
      assert.equal(e.code, 'store_unavailable', what);
      assert.match(e.message, /is not connected|failed/, what);
    }
    const first = await settles(readyz(), '/readyz');
    const r = (first as PromiseFulfilledResult<Ready>).value;
    assert.equal(r.status, 503);
    assert.equal(r.body.probing, false);
    assert.equal(r.body.media?.reachable, false);
    assert.equal(r.body.media?.error?.code, 'store_unavailable');
    assert.equal(r.body.accounts[0]?.storeReachable, true, 'the credential store is fine');
    const anonymous = await readyz('203.0.113.5');
    assert.deepEqual(anonymous.body.media, { reachable: false, error: { code: 'store_unavailable' } });

    await mediaRedis.start();
    await until((x) => x.status === 200, 'never ready again after the media Redis came back');
    assert.equal(await media.head(sha256(bytes)), undefined, 'an unpersisted Redis lost the file');
  });
});
