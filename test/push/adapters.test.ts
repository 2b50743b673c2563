// The push handler mounted as the other routes are: Express, Koa (koa-mount), Fastify (a prefix) and
// Hono (a web handler), each under a path of the app, with body parsers in front where apps have them.
// WeChat (the simulator) verifies the URL and pushes a safe-mode message through each.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import mount from 'koa-mount';
import { createExpressMiddleware } from '../../src/adapters/express.ts';
import { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import { createKoaMiddleware } from '../../src/adapters/koa.ts';
import { sendWebResponse, toWebRequest } from '../../src/adapters/node.ts';
import { createPushHandler, type PushHandler, reply } from '../../src/push/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Account } from '../../src/types.ts';
import { AES_KEY, simAccount, TOKEN } from './stack.ts';

const APP = 'wxpushadapter0001';
const SECRET = 'pushadaptersecret';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('the push handler in each framework, under a prefix', () => {
  let sim: Simulator;
  let account: Account;
  let push: PushHandler;
  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:${SECRET}`] });
    account = simAccount(sim, APP, SECRET);
    push = createPushHandler({
      account,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      log: false,
      onMessage: (m) => (m.type === 'text' ? reply.text(`via ${m.Content}`) : undefined),
    });
  });
  after(async () => {
    await account.close();
    await sim.close();
  });

  async function roundTrip(url: string, name: string): Promise<void> {
    await sim.configurePush({ appId: APP, url, token: TOKEN, encodingAESKey: AES_KEY, mode: 'safe' });
    for (const format of ['xml', 'json'] as const) {
      const r = await sim.push({
        appId: APP,
        message: { MsgType: 'text', Content: `${name} ${format}` },
        format,
      });
      assert.equal(
        r.userSaw?.content,
        `via ${name} ${format}`,
        `${name}: ${r.problem ?? JSON.stringify(r.tries)}`,
      );
    }
    // The app's other routes still answer: the middleware passes what is not the push URL.
    const other = await fetch(new URL('/health', url));
    assert.equal(await other.text(), 'app ok');
  }

  test('Express: app.use("/wx/push", …) after express.json() and express.text()', async () => {
    const app = express();
    app.use(express.json());
    app.use(express.text({ type: ['text/*', 'application/xml'] }));
    app.use('/wx/push', createExpressMiddleware(push));
    app.get('/health', (_req, res) => {
      res.send('app ok');
    });
    const server = createServer(app);
    const base = await listen(server);
    try {
      await roundTrip(`${base}/wx/push`, 'express');
    } finally {
      await close(server);
    }
  });

  test('Koa: mount("/wx/push", …)', async () => {
    const app = new Koa();
    app.use(mount('/wx/push', createKoaMiddleware(push)));
    app.use(async (ctx) => {
      if (ctx.path === '/health') ctx.body = 'app ok';
    });
    const server = createServer(app.callback());
    const base = await listen(server);
    try {
      await roundTrip(`${base}/wx/push`, 'koa');
    } finally {
      await close(server);
    }
  });

  test('Fastify: register(…, { prefix: "/wx/push" })', async () => {
    const app = Fastify();
    await app.register(createFastifyPlugin(push), { prefix: '/wx/push' });
    app.get('/health', async () => 'app ok');
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await roundTrip(`${base}/wx/push`, 'fastify');
    } finally {
      await app.close();
    }
  });

  test('Hono and any web-standard host: the handler takes a Request', async () => {
    const app = new Hono();
    app.all('/wx/push', (c) => push(c.req.raw));
    app.get('/health', (c) => c.text('app ok'));
    // Served by node:http through wxkit's own web Request/Response bridge (what @hono/node-server does).
    const server = createServer((req, res) => {
      void Promise.resolve(app.fetch(toWebRequest(req))).then((r) => sendWebResponse(res, r));
    });
    const base = await listen(server);
    try {
      await roundTrip(`${base}/wx/push`, 'hono');
    } finally {
      await close(server);
    }
  });
});
