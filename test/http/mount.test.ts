// Issue 12 item 1: mounted under a prefix, every URL wxkit builds (the OAuth redirect_uri, saved media
// URLs) carries the prefix, in every adapter — a full OAuth login and a media save through each.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import mount from 'koa-mount';
import { createExpressMiddleware } from '../../src/adapters/express.ts';
import { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import { createKoaMiddleware } from '../../src/adapters/koa.ts';
import { createHandler, type HandlerOptions } from '../../src/http/handler.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { localAccount } from './helpers.ts';

const APP = 'wxmount0000000001';
const SECRET = 'mount-test-secret';

let sim: Simulator;
let account: Wxkit;
let mediaDir: string;

before(async () => {
  ({ sim, account } = await localAccount(APP, SECRET));
  mediaDir = mkdtempSync(join(tmpdir(), 'wxkit-mount-'));
});
after(async () => {
  await account.close();
  await sim.close();
  rmSync(mediaDir, { recursive: true, force: true });
});

const options = (): HandlerOptions => ({
  log: false,
  rateLimit: false,
  sessionSecret: 'mount-test-session-secret-0123456789',
  extra: { mediaDir },
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://localhost:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A browser's cookie jar over fetch, redirects by hand. */
class Jar {
  private readonly cookies = new Map<string, string>();
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = (pair ?? '').indexOf('=');
      this.cookies.set((pair ?? '').slice(0, eq), (pair ?? '').slice(eq + 1));
    }
    return res;
  }
}

async function uploadToSimulator(): Promise<string> {
  const form = new FormData();
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
  form.set('media', new Blob([png], { type: 'image/png' }), 'photo.png');
  const res = await fetch(
    `${sim.url}/cgi-bin/media/upload?access_token=${await account.accessToken()}&type=image`,
    {
      method: 'POST',
      body: form,
    },
  );
  const body = (await res.json()) as { media_id?: string };
  assert.ok(body.media_id, JSON.stringify(body));
  return body.media_id;
}

/** Login → WeChat → callback → /oauth/me, then a media save and its URL, all under `${base}/wx`. */
async function loginAndSave(base: string): Promise<void> {
  const b = new Jar();
  const login = await b.fetch(`${base}/wx/oauth/login?returnTo=${encodeURIComponent('/wx/shop')}`);
  assert.equal(login.status, 302);
  const authorize = new URL(login.headers.get('location') ?? '');
  assert.equal(authorize.searchParams.get('redirect_uri'), `${base}/wx/oauth/callback`);
  const back = await b.fetch(authorize.href); // snsapi_base: WeChat redirects at once
  const callback = new URL(back.headers.get('location') ?? '');
  assert.equal(callback.origin + callback.pathname, `${base}/wx/oauth/callback`);
  const done = await b.fetch(callback.href);
  assert.equal(done.status, 302, await done.clone().text());
  assert.equal(done.headers.get('location'), '/wx/shop');
  const me = await b.fetch(`${base}/wx/oauth/me`);
  assert.equal(me.status, 200);
  assert.match(String(((await me.json()) as { openid?: string }).openid), /^oSIM/);

  const saved = await fetch(`${base}/wx/jssdk/media`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serverId: await uploadToSimulator() }),
  });
  assert.equal(saved.status, 201, await saved.clone().text());
  const { url } = (await saved.json()) as { url: string };
  assert.match(url, /^\/wx\/jssdk\/media\/[0-9a-f]+/);
  const file = await fetch(`${base}${url}`);
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'image/png');
}

describe('mounted under /wx, OAuth and media URLs carry the prefix', () => {
  test('Express: app.use("/wx", createExpressMiddleware(wx))', async () => {
    const app = express();
    app.use('/wx', createExpressMiddleware(account, options()));
    const server = createServer(app);
    try {
      await loginAndSave(await listen(server));
    } finally {
      await close(server);
    }
  });

  test('Fastify: app.register(createFastifyPlugin(wx), { prefix: "/wx" })', async () => {
    const app = Fastify();
    await app.register(createFastifyPlugin(account, options()), { prefix: '/wx' });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await loginAndSave(address.replace('127.0.0.1', 'localhost'));
    } finally {
      await app.close();
    }
  });

  test('Koa: app.use(mount("/wx", createKoaMiddleware(wx)))', async () => {
    const app = new Koa();
    app.use(mount('/wx', createKoaMiddleware(account, options())));
    const server = createServer(app.callback());
    try {
      await loginAndSave(await listen(server));
    } finally {
      await close(server);
    }
  });

  test('web handler (Hono, Next.js) with basePath "/wx"', async () => {
    const handler = createHandler(account, { ...options(), basePath: '/wx' });
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const response = await handler(
        new Request(`http://${req.headers.host}${req.url}`, {
          method: req.method ?? 'GET',
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : null,
        }),
      );
      const out: Record<string, string | string[]> = Object.fromEntries(response.headers);
      if (response.headers.getSetCookie().length > 0) out['set-cookie'] = response.headers.getSetCookie();
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    try {
      await loginAndSave(await listen(server));
    } finally {
      await close(server);
    }
  });
});
