import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import Koa from 'koa';
import { createExpressMiddleware } from '../../src/adapters/express.ts';
import { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import { createKoaMiddleware } from '../../src/adapters/koa.ts';
import { sendWebResponse, toWebRequest } from '../../src/adapters/node.ts';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import { signJssdk } from '../../src/signature.ts';
import { type ServeProcess, startServe } from '../serve/spawn.ts';
import { API_KEY, APP_A, type Fixture, fixture, SECRET_A } from './helpers.ts';

function serverUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function listenNode(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(serverUrl(server))));
}

const closeNode = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

let f: Fixture;
let handler: WxkitHandler;
let storeDir: string;
const mounts: { name: string; url: string; close: () => Promise<unknown> }[] = [];

before(async () => {
  f = await fixture();
  // One account, like the spawned `wxkit serve`.
  // As `wxkit serve` below answers: hints name settings by their variables, and (its WX_API_BASE being
  // the simulator) client.js loads the simulator's JS bridge.
  handler = createHandler(f.a, {
    rateLimit: false,
    log: false,
    apiKeys: [API_KEY],
    settingNames: 'env',
    extra: { client: { sdkUrl: `${f.sim.url}/jweixin.js` } },
  });
  const standalone: RunningServer = await listen(handler, '127.0.0.1', 0);
  mounts.push({ name: 'node:http', url: standalone.url, close: () => standalone.close() });

  // The pure web path: IncomingMessage → Request → handler → Response → ServerResponse.
  const web = createServer((req, res) => {
    void handler(toWebRequest(req)).then((response) => sendWebResponse(res, response, req.method === 'HEAD'));
  });
  mounts.push({ name: 'web Request/Response', url: await listenNode(web), close: () => closeNode(web) });

  const app = express();
  app.get('/app-route', (_req, res) => {
    res.json({ from: 'express' });
  });
  app.use(createExpressMiddleware(handler));
  const expressServer = createServer(app);
  mounts.push({
    name: 'express',
    url: await listenNode(expressServer),
    close: () => closeNode(expressServer),
  });

  const koa = new Koa();
  koa.use(createKoaMiddleware(handler));
  koa.use((ctx) => {
    if (ctx.path === '/app-route') ctx.body = { from: 'koa' };
  });
  const koaServer = createServer(koa.callback());
  mounts.push({ name: 'koa', url: await listenNode(koaServer), close: () => closeNode(koaServer) });

  const fastify: FastifyInstance = Fastify();
  fastify.get('/app-route', async () => ({ from: 'fastify' }));
  await fastify.register(createFastifyPlugin(handler));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  mounts.push({ name: 'fastify', url: serverUrl(fastify.server), close: () => fastify.close() });

  storeDir = mkdtempSync(join(tmpdir(), 'wxkit-serve-store-'));
  const serve: ServeProcess = await startServe({
    WX_APP_ID: APP_A,
    WX_APP_SECRET: SECRET_A,
    WX_API_BASE: f.sim.url,
    WX_OPEN_BASE: f.sim.url,
    WX_JS_DOMAINS: 'h5.example.com',
    WXKIT_STORE: `file:${storeDir}`,
    WXKIT_API_KEYS: API_KEY,
    WXKIT_RATE_LIMIT: 'off',
    WXKIT_LOG: 'off',
    WXKIT_SESSION_SECRET: 'adapters-test-session-secret-0123456789',
  });
  mounts.push({ name: 'wxkit serve', url: serve.url, close: () => serve.stop() });
});

after(async () => {
  for (const m of mounts.reverse()) await m.close();
  await f.close();
  rmSync(storeDir, { recursive: true, force: true });
});

const GOOD = 'https://h5.example.com/shop?id=1';
const requests: { name: string; path: string; init?: RequestInit }[] = [
  { name: 'GET config', path: `/jssdk/config?url=${encodeURIComponent(GOOD)}&apis=chooseImage,uploadImage` },
  {
    name: 'POST config',
    path: '/jssdk/config',
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: GOOD, jsApiList: ['scanQRCode'], debug: true }),
    },
  },
  {
    name: 'POST config as text/plain',
    path: '/jssdk/config',
    init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ url: GOOD }) },
  },
  { name: 'HEAD healthz', path: '/healthz', init: { method: 'HEAD' } },
  { name: 'not allowed', path: `/jssdk/config?url=${encodeURIComponent('https://evil.com/')}` },
  {
    name: 'bad JSON',
    path: '/jssdk/config',
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":' },
  },
  {
    name: 'too large',
    path: '/jssdk/config',
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${GOOD}${'x'.repeat(20_000)}` }),
    },
  },
  { name: 'wrong method', path: '/jssdk/config', init: { method: 'DELETE' } },
  { name: 'unknown app', path: `/jssdk/config?appId=wxnope&url=${encodeURIComponent(GOOD)}` },
  { name: 'healthz', path: '/healthz' },
  {
    name: 'preflight',
    path: '/jssdk/config',
    init: {
      method: 'OPTIONS',
      headers: { origin: 'https://h5.example.com', 'access-control-request-method': 'POST' },
    },
  },
  {
    name: 'CORS GET',
    path: `/jssdk/config?url=${encodeURIComponent(GOOD)}`,
    init: { headers: { origin: 'https://h5.example.com' } },
  },
  { name: 'token API without key', path: `/v1/apps/${APP_A}/access_token` },
  {
    name: 'invalidate a stale token',
    path: `/v1/apps/${APP_A}/access_token/invalidate`,
    init: {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{"value":"stale"}',
    },
  },
  { name: 'client.js', path: '/jssdk/client.js' },
];

const HEADERS = [
  'content-type',
  'cache-control',
  'allow',
  'retry-after',
  'www-authenticate',
  'etag',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'vary',
];

/** What must be identical across mounts; signed fields are checked against each mount's own ticket. */
async function answer(base: string, path: string, init?: RequestInit) {
  const res = await fetch(`${base}${path}`, init);
  const headers = Object.fromEntries(HEADERS.map((h) => [h, res.headers.get(h)]));
  let body: unknown = await res.text();
  if ((headers['content-type'] ?? '').includes('json') && body !== '') body = JSON.parse(body as string);
  if (typeof body === 'string' && body.length > 200) body = `${body.length} bytes`;
  if (body && typeof body === 'object' && 'signature' in body) {
    const signed = body as { signature: string; nonceStr: string; timestamp: number };
    const t = await fetch(`${base}/v1/apps/${APP_A}/jsapi_ticket`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const { value: ticket } = (await t.json()) as { value: string };
    assert.equal(
      signed.signature,
      signJssdk({ ticket, nonceStr: signed.nonceStr, timestamp: signed.timestamp, url: GOOD }),
      `${base} signs right`,
    );
    assert.match(signed.nonceStr, /^[A-Za-z0-9]{16}$/);
    assert.ok(Math.abs(signed.timestamp - Date.now() / 1000) < 600);
    body = { ...body, signature: '<checked>', nonceStr: '<checked>', timestamp: '<checked>' };
  }
  return { status: res.status, headers, body };
}

describe('the same handler in node:http, web Request/Response, Express, Koa, Fastify and wxkit serve', () => {
  test('gives identical answers to the same requests', async () => {
    for (const r of requests) {
      const answers = [];
      for (const m of mounts) answers.push({ mount: m.name, ...(await answer(m.url, r.path, r.init)) });
      const [first, ...rest] = answers;
      assert.ok(first);
      for (const a of rest) {
        assert.deepEqual(
          { ...a, mount: first.mount },
          first,
          `${r.name}: ${a.mount} differs from ${first.mount}`,
        );
      }
    }
  });

  test('framework routes next to wxkit keep working (Express, Koa, Fastify)', async () => {
    for (const m of mounts.filter((x) => ['express', 'koa', 'fastify'].includes(x.name))) {
      const res = await fetch(`${m.url}/app-route`);
      assert.equal(res.status, 200, m.name);
      assert.deepEqual(await res.json(), { from: m.name });
    }
  });

  test('Express after express.json() and Fastify under a prefix', async () => {
    const app = express();
    app.use(express.json());
    app.use('/wx', createExpressMiddleware(handler));
    const server = createServer(app);
    const url = await listenNode(server);
    try {
      const res = await fetch(`${url}/wx/jssdk/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: GOOD }),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { appId: string }).appId, APP_A);
    } finally {
      await closeNode(server);
    }
    const fastify = Fastify();
    await fastify.register(createFastifyPlugin(handler), { prefix: '/wx' });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    try {
      const base = serverUrl(fastify.server);
      const res = await fetch(`${base}/wx/jssdk/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: GOOD }),
      });
      assert.equal(res.status, 200);
      assert.equal((await fetch(`${base}/wx/healthz`)).status, 200);
    } finally {
      await fastify.close();
    }
  });
});
