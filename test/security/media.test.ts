// Issue 10, items 4, 12 and 15 (media): the attacks a security review ran against /jssdk/media, end to end
// over HTTP — a real wxkit server on 127.0.0.1 in front of the WeChat simulator.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler, type HandlerOptions } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import { testImage } from '../../src/simulator/bridge/png.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type UploadOptions, uploadToWechat } from '../media/wechat-upload.ts';

const APP_ID = 'wxmediasec0000001';
const SECRET = 'media-security-secret';
const PAGE = 'https://h5.example.com';
const EVIL = 'https://evil.example';

let sim: Simulator;
let account: Wxkit;
const servers: RunningServer[] = [];
const dirs: string[] = [];

before(async () => {
  sim = await startSimulator({ apps: [`${APP_ID}:${SECRET}`] });
  account = createWxkit({
    appId: APP_ID,
    secret: SECRET,
    apiBase: sim.url,
    store: 'memory',
    jsDomains: ['h5.example.com'],
  });
});
after(async () => {
  for (const s of servers) await s.close(100);
  await account?.close();
  await sim?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Service {
  url: string;
  mediaDir: string;
  /** The handler's clock: advance it to move past the remembered refusals and the download budget. */
  clock: { ms: number };
}

async function service(options: HandlerOptions = {}, media: Record<string, unknown> = {}): Promise<Service> {
  const mediaDir = join(mkdtempSync(join(tmpdir(), 'wxkit-media-sec-')), 'media');
  dirs.push(join(mediaDir, '..'));
  const clock = { ms: Date.now() };
  const handler = createHandler(account, {
    log: false,
    rateLimit: false,
    now: () => clock.ms,
    ...options,
    extra: { mediaDir, media },
  });
  const server = await listen(handler, '127.0.0.1', 0);
  servers.push(server);
  return { url: server.url, mediaDir, clock };
}

/** Puts bytes into WeChat's temporary media, as wx.uploadImage does; the serverId. */
const upload = (bytes: Uint8Array, file?: UploadOptions) => uploadToWechat(sim, account, bytes, file);

/** `POST /jssdk/media` as a page would send it without a preflight: text/plain. */
function save(svc: Service, serverId: string, headers: Record<string, string> = {}) {
  return fetch(`${svc.url}/jssdk/media`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...headers },
    body: JSON.stringify({ serverId }),
  });
}

async function errorOf(res: Response): Promise<{ code: string; hint: string; wechat?: { errcode: number } }> {
  return ((await res.json()) as { error: { code: string; hint: string; wechat?: { errcode: number } } })
    .error;
}

const mediaGets = () => sim.stats().calls['/cgi-bin/media/get'] ?? 0;

/** Headers of a request from client number `i` (through one trusted proxy). */
const client = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i % 250}` });

describe('item 4: the media/get quota cannot be burnt from other sites or by repetition', () => {
  test('30 cross-origin text/plain POSTs with unknown serverIds: all 403, no upstream media/get call', async () => {
    const svc = await service();
    sim.reset();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => save(svc, `UnknownMediaId${i}xxxxxxxx`, { origin: EVIL })),
    );
    for (const res of answers) {
      assert.equal(res.status, 403);
      const error = await errorOf(res);
      assert.equal(error.code, 'url_not_allowed');
      assert.match(error.hint, /JS-safe domain/);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
    assert.ok(mediaGets() <= 1, `upstream media/get calls: ${mediaGets()}`);
    assert.equal(mediaGets(), 0);
  });

  test('a browser that leaves Origin out is judged by Sec-Fetch-Site and Referer', async () => {
    const svc = await service();
    sim.reset();
    const crossSite = await save(svc, 'UnknownMediaIdReferer01', {
      'sec-fetch-site': 'cross-site',
      referer: `${EVIL}/burn.html`,
    });
    assert.equal(crossSite.status, 403);
    const hidden = await save(svc, 'UnknownMediaIdReferer02', { 'sec-fetch-site': 'cross-site' });
    assert.equal(hidden.status, 403, 'a cross-site request that hides its page is refused');
    const nullOrigin = await save(svc, 'UnknownMediaIdReferer03', { origin: 'null' });
    assert.equal(nullOrigin.status, 403, 'a sandboxed iframe (Origin: null) is refused');
    const lookalike = await save(svc, 'UnknownMediaIdReferer04', {
      origin: 'https://h5.example.com.evil.example',
    });
    assert.equal(lookalike.status, 403);
    assert.equal(mediaGets(), 0);
  });

  test('pages on the JS-safe domains, the service itself and servers (no Origin) still save media', async () => {
    const svc = await service({ publicUrl: 'https://wx.example.net' });
    const png = testImage(401);
    const fromPage = await save(svc, await upload(png), { origin: PAGE });
    assert.equal(fromPage.status, 201);
    assert.equal(fromPage.headers.get('access-control-allow-origin'), PAGE);
    const sub = await save(svc, await upload(testImage(402)), { origin: 'https://m.h5.example.com' });
    assert.equal(sub.status, 201, 'subdomains of a JS-safe domain are JS-safe');
    const referred = await save(svc, await upload(testImage(403)), {
      'sec-fetch-site': 'cross-site',
      referer: `${PAGE}/upload?step=2`,
    });
    assert.equal(referred.status, 201);
    const own = await save(svc, await upload(testImage(404)), { origin: 'https://wx.example.net' });
    assert.equal(own.status, 201, "the service's own pages (publicUrl) are same-origin");
    const server = await save(svc, await upload(testImage(405)));
    assert.equal(server.status, 201, 'server-to-server calls send no Origin');
  });

  test('a serverId WeChat refused (40007) is answered from memory for 10 minutes', async () => {
    const svc = await service();
    sim.reset();
    for (let i = 0; i < 30; i++) {
      const res = await save(svc, 'UnknownMediaIdRepeated0');
      assert.equal(res.status, 502);
      const error = await errorOf(res);
      assert.equal(error.code, 'wechat_error');
      assert.equal(error.wechat?.errcode, 40007);
    }
    assert.equal(mediaGets(), 1, '30 repeats, one upstream call');
    svc.clock.ms += 10 * 60_000 + 1;
    assert.equal((await save(svc, 'UnknownMediaIdRepeated0')).status, 502);
    assert.equal(mediaGets(), 2, 'forgotten after the TTL: WeChat is asked again');
  });

  test('upstream downloads are capped per account: 429 with Retry-After past the budget', async () => {
    const svc = await service({ trustProxy: 1 }, { downloadsPerMinute: 5 });
    sim.reset();
    const answers = [];
    // 30 clients (each well within its own budget) share the account's.
    for (let i = 0; i < 30; i++) answers.push(await save(svc, `FreshUnknownMediaId${i}`, client(i)));
    const limited = answers.filter((r) => r.status === 429);
    assert.equal(limited.length, 25);
    assert.equal(answers.filter((r) => r.status === 502).length, 5);
    for (const res of limited) {
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal((await errorOf(res)).code, 'rate_limited');
    }
    assert.equal(mediaGets(), 5);
    svc.clock.ms += 60_000;
    assert.equal((await save(svc, await upload(testImage(406)))).status, 201, 'the budget refills');
    assert.equal(mediaGets(), 6);
  });

  test('the default budget is 60 downloads per minute per account', async () => {
    const svc = await service({ trustProxy: 1 });
    sim.reset();
    let limited = 0;
    for (let i = 0; i < 61; i++) {
      if ((await save(svc, `DefaultBudgetMediaId${i}`, client(i))).status === 429) limited++;
    }
    assert.equal(limited, 1);
    assert.equal(mediaGets(), 60);
  });
});

describe('issue 18 item 3: one client cannot drain the account media budget', () => {
  test('100 made-up serverIds from one address: a few reach WeChat, and other users still save', async () => {
    const svc = await service({ trustProxy: 1 });
    sim.reset();
    const attacker = { 'x-forwarded-for': '203.0.113.66' };
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await save(svc, `MadeUpServerId${i}xxxx`, attacker)).status);
    // Budget 20 a minute; each refusal (40007) costs its client 1 + 5: four refusals empty it.
    assert.equal(mediaGets(), 4, `upstream media/get calls: ${mediaGets()}`);
    assert.equal(statuses.filter((s) => s === 502).length, 4);
    assert.equal(statuses.filter((s) => s === 429).length, 96);
    // Walking through its IPv6 /64 does not give it fresh budgets (item 4).
    for (let i = 0; i < 20; i++) {
      await save(svc, `MadeUpServerIdV6${i}xxxx`, { 'x-forwarded-for': `2001:db8:66:1::${i + 1}` });
    }
    assert.equal(mediaGets(), 8, 'one /64, one budget');
    // Everyone else: their saves go through, as many as they need.
    for (let i = 0; i < 12; i++) {
      const res = await save(svc, await upload(testImage(500 + i)), client(i));
      assert.equal(res.status, 201, `user ${i}: ${res.status}`);
    }
    const res = await save(svc, 'MadeUpServerIdLater0xxxx', attacker);
    assert.equal(res.status, 429);
    const error = await errorOf(res);
    assert.equal(error.code, 'rate_limited');
    assert.match(error.hint, /serverId/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
  });

  test('a client that sends real serverIds is not held back by refusals it did not cause', async () => {
    const svc = await service({ trustProxy: 1 });
    sim.reset();
    const user = { 'x-forwarded-for': '203.0.113.67' };
    const ids = await Promise.all(Array.from({ length: 9 }, (_, i) => upload(testImage(600 + i))));
    // Nine photos from one wx.chooseImage, saved at once: all within the client's budget.
    const answers = await Promise.all(ids.map((id) => save(svc, id, user)));
    assert.deepEqual(
      answers.map((r) => r.status),
      ids.map(() => 201),
    );
  });
});

describe('item 12: stored types cannot run script from the service origin, and cannot be rewritten', () => {
  async function saved(svc: Service, bytes: Uint8Array, type: string, filename = 'photo.png') {
    const res = await save(svc, await upload(bytes, { type, filename }));
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string; contentType: string; url: string };
  }

  test('HTML and SVG are attachments; images, audio and video are inline; all nosniff and sandboxed', async () => {
    const svc = await service();
    const html = new TextEncoder().encode('<!doctype html><script>fetch("/oauth/me")</script>');
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    const cases = [
      { bytes: html, type: 'text/html', inline: false },
      { bytes: svg, type: 'image/svg+xml', inline: false },
      { bytes: new TextEncoder().encode('<x:y/>'), type: 'application/xhtml+xml', inline: false },
      { bytes: testImage(1201), type: 'image/png', inline: true },
      { bytes: new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]), type: 'image/jpeg', inline: true },
      { bytes: new Uint8Array([0x23, 0x21, 0x41, 0x4d, 0x52, 9]), type: 'audio/amr', inline: true },
      { bytes: new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]), type: 'video/mp4', inline: true },
    ];
    for (const c of cases) {
      const { url, id } = await saved(svc, c.bytes, c.type);
      const res = await fetch(`${svc.url}${new URL(url, 'http://x').pathname}`);
      assert.equal(res.status, 200, c.type);
      const disposition = res.headers.get('content-disposition') ?? '';
      if (c.inline) assert.equal(disposition, 'inline', c.type);
      else assert.equal(disposition, `attachment; filename="${id}"`, c.type);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', c.type);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox", c.type);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(c.bytes)), c.type);
    }
  });

  test('metadata is write-once: saving the same bytes as text/html keeps the first type', async () => {
    const svc = await service();
    const png = testImage(1202);
    const first = await saved(svc, png, 'image/png');
    const again = await saved(svc, png, 'text/html');
    assert.equal(again.id, first.id);
    assert.equal(again.contentType, 'image/png', 'the second save answers the stored type');
    const res = await fetch(`${svc.url}/jssdk/media/${first.id}`);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-disposition'), 'inline');
    await res.arrayBuffer();
  });
});

describe('item 15 (media): saved files are private to the service', () => {
  test('media directories are 0700 and files 0600, even when the directory existed as 0755', async () => {
    const svc = await service();
    mkdirSync(svc.mediaDir, { recursive: true, mode: 0o755 });
    chmodSync(svc.mediaDir, 0o755);
    const { id } = (await (await save(svc, await upload(testImage(1501)))).json()) as { id: string };
    const mode = (p: string) => statSync(p).mode & 0o777;
    assert.equal(mode(svc.mediaDir), 0o700);
    assert.equal(mode(join(svc.mediaDir, 'by-server')), 0o700);
    assert.equal(mode(join(svc.mediaDir, id)), 0o600);
    assert.equal(mode(join(svc.mediaDir, `${id}.json`)), 0o600);
    for (const f of readdirSync(join(svc.mediaDir, 'by-server'))) {
      assert.equal(mode(join(svc.mediaDir, 'by-server', f)), 0o600);
    }
  });
});
