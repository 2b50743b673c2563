import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler, type HandlerOptions, type WxkitHandler } from '../../src/http/handler.ts';
import { testImage } from '../../src/simulator/bridge/png.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type UploadOptions, uploadToWechat } from './wechat-upload.ts';

const APP_ID = 'wxmedia0000000001';
const SECRET = 'media-test-secret';

describe('POST /jssdk/media and GET /jssdk/media/:id', () => {
  let sim: Simulator;
  let account: Wxkit;
  const dirs: string[] = [];

  before(async () => {
    sim = await startSimulator({ apps: [`${APP_ID}:${SECRET}`] });
    account = createWxkit({ appId: APP_ID, secret: SECRET, apiBase: sim.url, store: 'memory' });
  });
  after(async () => {
    await account?.close();
    await sim?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function service(options: HandlerOptions = {}, extra: Record<string, unknown> = {}) {
    const mediaDir = mkdtempSync(join(tmpdir(), 'wxkit-media-'));
    dirs.push(mediaDir);
    const handler = createHandler(account, {
      log: false,
      rateLimit: false,
      ...options,
      extra: { mediaDir, ...extra },
    });
    return { handler, mediaDir };
  }

  /** Uploads bytes through the simulator's real /cgi-bin/media/upload, as the JS bridge would. */
  const upload = (bytes: Uint8Array, file?: UploadOptions) => uploadToWechat(sim, account, bytes, file);

  const save = (handler: WxkitHandler, body: unknown) =>
    handler(
      new Request('http://svc.test/jssdk/media', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    );
  const get = (handler: WxkitHandler, path: string, headers: Record<string, string> = {}) =>
    handler(new Request(`http://svc.test${path}`, { headers }));

  test('saves once, content-addressed, and serves the bytes with the stored type and nosniff', async () => {
    const { handler, mediaDir } = service();
    const png = testImage(4242);
    const serverId = await upload(png);
    sim.reset();
    const [a, b] = await Promise.all([
      save(handler, { serverId }),
      save(handler, { serverId, appId: APP_ID }),
    ]);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const saved = (await a.json()) as { id: string; contentType: string; size: number; url: string };
    const id = createHash('sha256').update(png).digest('hex');
    assert.deepEqual(saved, { id, contentType: 'image/png', size: png.length, url: `/jssdk/media/${id}` });
    assert.deepEqual(await b.json(), saved);
    assert.equal((await save(handler, { serverId })).status, 201);
    assert.equal(sim.stats().calls['/cgi-bin/media/get'], 1, 'downloaded from WeChat once');
    assert.ok(readFileSync(join(mediaDir, id)).equals(png));

    const res = await get(handler, saved.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
    const etag = res.headers.get('etag') ?? '';
    assert.equal((await get(handler, saved.url, { 'if-none-match': etag })).status, 304);
  });

  test("WeChat's JSON error is a 502 wechat_error with errcode 40007 and a hint, never a saved file", async () => {
    const { handler, mediaDir } = service();
    const res = await save(handler, { serverId: 'UnknownMediaId0123456789' });
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { code: string; hint: string; wechat: { errcode: number } } };
    assert.equal(body.error.code, 'wechat_error');
    assert.equal(body.error.wechat.errcode, 40007);
    assert.ok(body.error.hint.length > 0);
    assert.deepEqual(
      readdirSync(mediaDir).filter((f) => f !== 'by-server'),
      [],
    );
  });

  test('a JSON error body served as an image is still refused', async () => {
    const { handler, mediaDir } = service();
    const disguised = new TextEncoder().encode('{"errcode":40007,"errmsg":"invalid media_id rid: x"}');
    const serverId = await upload(disguised, { filename: 'x.jpg', type: 'image/jpeg' });
    const res = await save(handler, { serverId });
    assert.equal(res.status, 502);
    assert.equal(readdirSync(mediaDir).filter((f) => f !== 'by-server').length, 0);
  });

  test('media older than 3 days is gone at WeChat: 502 with 40007', async () => {
    const { handler } = service();
    const serverId = await upload(testImage(7));
    sim.advance(3 * 86400 + 1);
    const res = await save(handler, { serverId });
    assert.equal(res.status, 502);
    assert.equal(
      ((await res.json()) as { error: { wechat: { errcode: number } } }).error.wechat.errcode,
      40007,
    );
  });

  test('bad serverIds are 400 and never reach WeChat or the disk', async () => {
    const { handler } = service();
    sim.reset();
    for (const serverId of ['../../etc/passwd', '', 'a'.repeat(300), 42, null, 'a b', 'x%2F..']) {
      const res = await save(handler, { serverId });
      assert.equal(res.status, 400, String(serverId));
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_request');
    }
    assert.equal((await save(handler, 'not json')).status, 400);
    assert.equal(sim.stats().calls['/cgi-bin/media/get'], undefined);
  });

  test('unknown and malformed ids are 404 JSON', async () => {
    const { handler } = service();
    for (const path of [
      `/jssdk/media/${'0'.repeat(64)}`,
      '/jssdk/media/..%2F..%2Fetc%2Fpasswd',
      `/jssdk/media/${'A'.repeat(64)}`,
      '/jssdk/media/abc',
    ]) {
      const res = await get(handler, path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
    }
  });

  test('files over mediaMaxBytes are refused (413) and not stored', async () => {
    const { handler, mediaDir } = service({}, { mediaMaxBytes: 100 });
    const res = await save(handler, { serverId: await upload(testImage(9)) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payload_too_large');
    assert.equal(readdirSync(mediaDir).filter((f) => f !== 'by-server').length, 0);
  });

  test('the url uses publicUrl and basePath when set', async () => {
    const { handler } = service({ publicUrl: 'https://wx.example.com/', basePath: '/api/wx' });
    const png = testImage(11);
    const res = await handler(
      new Request('http://svc.test/api/wx/jssdk/media', {
        method: 'POST',
        body: JSON.stringify({ serverId: await upload(png) }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(res.status, 201);
    const { url, id } = (await res.json()) as { url: string; id: string };
    assert.equal(url, `https://wx.example.com/api/wx/jssdk/media/${id}`);
    assert.ok(!existsSync(join('.wxkit', 'media', id)), 'the configured directory is used, not the default');
  });
});
