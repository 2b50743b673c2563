// Two `wxkit serve` processes behind one (imagined) load balancer, sharing Redis for credentials: a file
// saved through one is served byte-identical by the other, with WXKIT_MEDIA_STORE=redis://… and s3://….
// With the default file: media store (each instance its own disk) the other answers 404 — issue 14 —
// and `wxkit serve` warns about it at start.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../../src/media/id.ts';
import { testImage } from '../../src/simulator/bridge/png.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type ServeProcess, startServe } from '../serve/spawn.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { type S3Server, startS3Server } from './s3-server.ts';
import { uploadToWechat } from './wechat-upload.ts';

const APP_ID = 'wxshared000000001';
const SECRET = 'shared-media-secret';

describe('saved media behind a load balancer: two wxkit serve processes sharing Redis', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let s3: S3Server;
  let account: Wxkit;
  const dirs: string[] = [];

  before(async () => {
    sim = await startSimulator({ apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }] });
    [redis, s3] = await Promise.all([startRedisServer(), startS3Server()]);
    account = createWxkit({ appId: APP_ID, secret: SECRET, apiBase: sim.url, store: 'memory' });
  });
  after(async () => {
    await account?.close();
    await Promise.all([sim?.close(), redis?.stop(), s3?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const env = (media: Record<string, string>) => ({
    WX_APP_ID: APP_ID,
    WX_APP_SECRET: SECRET,
    WX_API_BASE: sim.url,
    WX_JS_DOMAINS: 'h5.example.com',
    WXKIT_STORE: redis.url,
    WXKIT_SESSION_SECRET: 'shared-media-session-secret-0123456789',
    WXKIT_RATE_LIMIT: 'off',
    WXKIT_LOG: 'errors',
    ...media,
  });

  /** Two instances, each in its own working directory (its own disk, as on two machines). */
  async function pair(media: Record<string, string>): Promise<[ServeProcess, ServeProcess]> {
    const cwds = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'wxkit-instance-')));
    dirs.push(...cwds);
    const [a, b] = await Promise.all(cwds.map((cwd) => startServe(env(media), [], cwd)));
    return [a as ServeProcess, b as ServeProcess];
  }

  async function saveOn(a: ServeProcess, png: Uint8Array) {
    const res = await fetch(`${a.url}/jssdk/media`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serverId: await uploadToWechat(sim, account, png) }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const saved = (await res.json()) as { id: string; url: string; size: number };
    assert.equal(saved.id, sha256(png));
    return saved;
  }

  async function assertServed(res: Response, png: Uint8Array) {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox");
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(png)), 'byte-identical');
  }

  test('file: (each instance its own disk): the other instance answers 404, and both warn at start', async () => {
    const [a, b] = await pair({});
    try {
      const png = testImage(1401);
      const saved = await saveOn(a, png);
      await assertServed(await fetch(`${a.url}/jssdk/media/${saved.id}`), png);
      assert.equal((await fetch(`${b.url}/jssdk/media/${saved.id}`)).status, 404);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    for (const p of [a, b])
      assert.match(p.stderr(), /warning \(media-store-local\): .*WXKIT_MEDIA_STORE.* \/ .*负载均衡/);
  });

  test('redis://: saved on one, served byte-identical by the other; no warning', async () => {
    const [a, b] = await pair({ WXKIT_MEDIA_STORE: redis.url });
    try {
      const png = testImage(1402);
      const saved = await saveOn(a, png);
      await assertServed(await fetch(`${b.url}/jssdk/media/${saved.id}`), png);
      // Saving the same serverId on B finds it without asking WeChat again.
      const before = sim.stats().calls['/cgi-bin/media/get'] ?? 0;
      const again = await fetch(`${b.url}/jssdk/media/${saved.id}`, {
        headers: { 'if-none-match': `"${saved.id}"` },
      });
      assert.equal(again.status, 304);
      assert.equal(sim.stats().calls['/cgi-bin/media/get'] ?? 0, before);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.doesNotMatch(a.stderr(), /media-store-local/);
  });

  test('s3://: saved on one, streamed byte-identical by the other', async () => {
    const [a, b] = await pair({ WXKIT_MEDIA_STORE: s3.spec('shared'), ...s3.credentials });
    try {
      const png = testImage(1403);
      const saved = await saveOn(a, png);
      await assertServed(await fetch(`${b.url}/jssdk/media/${saved.id}`), png);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.doesNotMatch(a.stderr(), /media-store-local/);
  });

  test('s3:// with redirect=60: the other instance answers 302 to a signed URL that serves the bytes', async () => {
    const [a, b] = await pair({ WXKIT_MEDIA_STORE: s3.spec('redirect', '&redirect=60'), ...s3.credentials });
    try {
      const png = testImage(1404);
      const saved = await saveOn(a, png);
      const res = await fetch(`${b.url}/jssdk/media/${saved.id}`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const location = res.headers.get('location') ?? '';
      assert.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/redirect/${saved.id}?`), location);
      assert.match(location, /X-Amz-Expires=60&/);
      assert.match(location, /X-Amz-Signature=[a-f0-9]{64}/);
      assert.doesNotMatch(location, /S3RVER%2F.*S3RVER[^%]/, 'the secret is never in the URL');
      const direct = await fetch(location);
      assert.equal(direct.status, 200);
      assert.equal(direct.headers.get('content-type'), 'image/png');
      assert.ok(Buffer.from(await direct.arrayBuffer()).equals(Buffer.from(png)));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
