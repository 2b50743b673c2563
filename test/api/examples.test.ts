// The README's (and docs/simulator.md's) library and adapter examples, written the way a user writes
// them — imported from the package's entry points (package.json "exports" → tsup.config.ts
// libraryEntries: '.' = src/index.ts, 'wxkit/express' = src/adapters/express.ts, …) — and run against the
// simulator. `npx tsc -p tsconfig.json` type-checks this file, so an example that stops compiling fails.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { createExpressMiddleware } from '../../src/adapters/express.ts';
import { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import { createKoaMiddleware } from '../../src/adapters/koa.ts';
import { createHandler } from '../../src/http/index.ts';
import {
  createWxkit,
  diagnoseSignature,
  isWxkitError,
  type JssdkConfig,
  normalizeSignUrl,
  signJssdk,
  type Wxkit,
} from '../../src/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { closeNode, listenNode, assertVerifies as verifies } from './run-helpers.ts';

const APP_ID = 'wxexample0000001';
const SECRET = 'example0secret';
const PAGE = 'https://h5.example.com/app/?from=singlemessage';

let sim: Simulator;
/** A `wx` shared by the Koa / Fastify / Hono / Next.js examples, which take an existing one. */
let wx: Wxkit;

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  wx = createWxkit({
    appId: APP_ID,
    secret: SECRET,
    apiBase: sim.url,
    openBase: sim.url,
    jsDomains: ['h5.example.com'],
  });
});

after(async () => {
  await wx.close();
  await sim.close();
});

const assertVerifies = (config: JssdkConfig, url: string) => verifies(sim, APP_ID, config, url);

const configPath = `/jssdk/config?url=${encodeURIComponent(PAGE)}&apis=chooseImage,uploadImage`;

describe('README: use it as a library', () => {
  test('createWxkit(...).jssdkConfig({url, jsApiList}) gives a config WeChat accepts', async () => {
    // README: createWxkit({ appId: process.env.WX_APP_ID!, secret: process.env.WX_APP_SECRET, store })
    const env: NodeJS.ProcessEnv = { WX_APP_ID: APP_ID, WX_APP_SECRET: SECRET };
    const lib = createWxkit({
      appId: env.WX_APP_ID!,
      secret: env.WX_APP_SECRET,
      store: 'memory',
      apiBase: sim.url, // the README's example talks to WeChat; here the simulator stands in
    });
    try {
      const pageUrl = `${PAGE}#/cart`;
      const config = await lib.jssdkConfig({ url: pageUrl, jsApiList: ['chooseImage'] }); // pass to wx.config
      assert.deepEqual(Object.keys(config).sort(), [
        'appId',
        'debug',
        'jsApiList',
        'nonceStr',
        'openTagList',
        'signature',
        'timestamp',
      ]);
      assert.deepEqual(config.jsApiList, ['chooseImage']);
      assertVerifies(config, pageUrl); // the #fragment is not signed, as WeChat requires
      assert.equal(await lib.ticket('jsapi'), sim.state.currentTicket(APP_ID));
      assert.match(await lib.accessToken(), /\S{20,}/);
    } finally {
      await lib.close();
    }
  });

  test('pure helpers need no account: signJssdk (official vector), normalizeSignUrl, diagnoseSignature', () => {
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    const signature = signJssdk({
      ticket,
      nonceStr: 'Wm3WZYTPz0wzccnW',
      timestamp: 1414587457,
      url: 'http://mp.weixin.qq.com?params=value',
    });
    assert.equal(signature, '0f9de62fce790f9a083d5c99e95740ceb90c27ed');
    assert.equal(normalizeSignUrl('https://h5.example.com/a?b=1#/c'), 'https://h5.example.com/a?b=1');
    assert.equal(
      normalizeSignUrl('https%3A%2F%2Fh5.example.com%2Fa%3Fb%3D1'),
      'https://h5.example.com/a?b=1',
    );

    // README "Why did my page get config:invalid signature?": the page signed its URL with the #fragment.
    const withHash = 'https://h5.example.com/app/#/cart';
    const bad = signJssdk({ ticket, nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1700000000, url: withHash });
    const report = diagnoseSignature({
      url: withHash,
      signature: bad,
      nonceStr: 'Wm3WZYTPz0wzccnW',
      timestamp: 1700000000,
      ticket,
    });
    assert.equal(report.ok, false);
    assert.equal(report.code, 'url_hash');
    assert.match(report.en, /#/);
    assert.ok(report.zh.length > 0);
  });

  test('typed errors: one base class with a stable code, hint and status', async () => {
    await assert.rejects(wx.jssdkConfig({ url: 'https://evil.example.org/' }), (e: unknown) => {
      assert.ok(isWxkitError(e));
      assert.equal(e.code, 'url_not_allowed');
      assert.equal(e.status, 403);
      assert.ok(e.hint?.en, 'an English hint');
      return true;
    });
    await assert.rejects(
      wx.jssdkConfig({ url: 'not a url' }),
      (e: unknown) => isWxkitError(e) && e.code === 'invalid_url',
    );
  });
});

describe('docs/simulator.md: in your own tests', () => {
  test('the example runs as written (virtual clock, faults, stats)', async () => {
    const own = await startSimulator({
      apps: [{ appId: 'wxabc', secret: 's3cret', jsDomains: ['h5.example.com'] }],
    });
    const client = createWxkit({
      appId: 'wxabc',
      secret: 's3cret',
      apiBase: own.url,
      openBase: own.url,
      store: 'memory',
      now: () => own.state.nowMs(), // wxkit's clock follows the virtual one
    });
    try {
      const config = await client.jssdkConfig({ url: 'https://h5.example.com/page' });
      assert.equal(config.appId, 'wxabc');
      assert.equal(own.state.currentTicket('wxabc'), await client.ticket()); // the ticket WeChat verifies with
      assert.deepEqual(own.stats().calls, { '/cgi-bin/stable_token': 1, '/cgi-bin/ticket/getticket': 1 });
      own.advance(7200); // every token and ticket is now expired
      own.setFaults({ path: '/cgi-bin/stable_token', errcode: -1, times: 2 }); // WeChat is busy twice
      const first = await client.ticket().catch((e: unknown) => e);
      // A transient -1 is retried once after a short pause, then backed off: the caller sees either the
      // fresh ticket (retry succeeded) or `upstream_unavailable` — never a crash, never a retry storm.
      if (typeof first === 'string') assert.equal(first, own.state.currentTicket('wxabc'));
      else assert.ok(isWxkitError(first) && first.code === 'upstream_unavailable', String(first));
      assert.ok((own.stats().calls['/cgi-bin/stable_token'] ?? 0) <= 4);
    } finally {
      await client.close();
      await own.close();
    }
  });
});

describe('docs/oauth.md: OAuth from the library', () => {
  test('authorizeUrl → consent → exchangeCode (twice) → userinfo → refresh → checkAccessToken', async () => {
    const state = 'st4te';
    const url = wx.oauth.authorizeUrl({
      redirectUri: 'https://h5.example.com/cb',
      scope: 'snsapi_userinfo',
      state,
    });
    assert.ok(url.startsWith(`${sim.url}/connect/oauth2/authorize?`) && url.endsWith('#wechat_redirect'));
    // The user presses 允许 on the simulated consent page: the browser posts the page's form.
    const page = await (await fetch(url)).text();
    const form = new URLSearchParams();
    for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      form.set(m[1]!, m[2]!);
    const openid = /name="openid" id="user-0" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(openid, 'the consent page lists the simulated users');
    form.set('openid', openid);
    form.set('action', 'allow');
    const back = await fetch(`${sim.url}/connect/oauth2/authorize/confirm`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    assert.equal(back.status, 302);
    const callback = new URL(back.headers.get('location') ?? '');
    assert.equal(callback.origin + callback.pathname, 'https://h5.example.com/cb');
    assert.equal(callback.searchParams.get('state'), state);
    const code = callback.searchParams.get('code') ?? '';

    // in the callback — safe to call twice with the same code:
    const token = await wx.oauth.exchangeCode(code);
    assert.deepEqual(await wx.oauth.exchangeCode(code), token);
    assert.equal(token.openid, openid);
    assert.equal(token.scope, 'snsapi_userinfo');
    const user = await wx.oauth.userinfo({
      accessToken: token.accessToken,
      openid: token.openid,
      lang: 'en',
    });
    assert.equal(user.openid, openid);
    assert.ok(user.nickname);
    const fresh = await wx.oauth.refresh(token.refreshToken); // 30 days
    assert.equal(fresh.openid, openid);
    assert.equal(
      await wx.oauth.checkAccessToken({ accessToken: fresh.accessToken, openid: token.openid }),
      true,
    );
    assert.equal(await wx.oauth.checkAccessToken({ accessToken: 'forged', openid: token.openid }), false);
  });
});

describe('README: mount the service in your app', () => {
  test('Express: wxkit routes answer under /wx, everything else goes on to your routes', async () => {
    const appId = APP_ID;
    const secret = SECRET;
    const account = createWxkit({ appId, secret, jsDomains: ['h5.example.com'], apiBase: sim.url });
    const app = express();
    app.use('/wx', createExpressMiddleware(account, { log: false }));
    app.get('/wx/mine', (_req, res) => {
      res.json({ from: 'app' });
    });
    app.get('/hello', (_req, res) => {
      res.json({ from: 'app' });
    });
    const server = createServer(app);
    const base = await listenNode(server);
    try {
      const res = await fetch(`${base}/wx${configPath}`);
      assert.equal(res.status, 200);
      const config = (await res.json()) as JssdkConfig;
      assert.deepEqual(config.jsApiList, ['chooseImage', 'uploadImage']);
      assertVerifies(config, PAGE);
      assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { from: 'app' });
      assert.deepEqual(await (await fetch(`${base}/wx/mine`)).json(), { from: 'app' });
    } finally {
      await closeNode(server);
      await account.close();
    }
  });

  test('Koa: app.use(createKoaMiddleware(wx))', async () => {
    const app = new Koa();
    app.use(createKoaMiddleware(wx, { log: false }));
    app.use((ctx) => {
      ctx.body = { from: 'app' };
    });
    const server = createServer(app.callback());
    const base = await listenNode(server);
    try {
      const res = await fetch(`${base}${configPath}`);
      assert.equal(res.status, 200);
      assertVerifies((await res.json()) as JssdkConfig, PAGE);
      const post = await fetch(`${base}/jssdk/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: PAGE, jsApiList: ['chooseImage'] }),
      });
      assert.equal(post.status, 200);
      assertVerifies((await post.json()) as JssdkConfig, PAGE);
      assert.deepEqual(await (await fetch(`${base}/other`)).json(), { from: 'app' });
    } finally {
      await closeNode(server);
    }
  });

  test('Fastify: app.register(createFastifyPlugin(wx), { prefix: "/wx" })', async () => {
    const app = Fastify();
    app.get('/hello', async () => ({ from: 'app' }));
    await app.register(createFastifyPlugin(wx, { log: false }), { prefix: '/wx' });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${base}/wx${configPath}`);
      assert.equal(res.status, 200);
      assertVerifies((await res.json()) as JssdkConfig, PAGE);
      const post = await fetch(`${base}/wx/jssdk/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: PAGE }),
      });
      assert.equal(post.status, 200);
      assertVerifies((await post.json()) as JssdkConfig, PAGE);
      // Fastify's own JSON parsing still works outside wxkit's plugin scope.
      assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { from: 'app' });
      const bad = await fetch(`${base}/wx/jssdk/config?url=ftp%3A%2F%2Fx`);
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'invalid_url');
    } finally {
      await app.close();
    }
  });

  test('Hono: app.all("/wx/*", (c) => handler(c.req.raw)) with basePath /wx', async () => {
    const handler = createHandler(wx, { basePath: '/wx', log: false });
    // Hono hands the handler its raw web Request; nothing else is needed.
    const c = { req: { raw: new Request(`http://h5.example.com/wx${configPath}`) } };
    const res = await handler(c.req.raw);
    assert.equal(res.status, 200);
    assertVerifies((await res.json()) as JssdkConfig, PAGE);
  });

  test('Next.js: export { handler as GET, handler as POST, handler as OPTIONS } from app/wx/[...path]/route.ts', async () => {
    const handler = createHandler(wx, { basePath: '/wx', log: false });
    const route = { GET: handler, POST: handler, OPTIONS: handler };
    const context = { params: Promise.resolve({ path: ['jssdk', 'config'] }) }; // what Next.js passes second
    const get = await route.GET(new Request(`http://h5.example.com/wx${configPath}`), context);
    assert.equal(get.status, 200);
    assertVerifies((await get.json()) as JssdkConfig, PAGE);
    const post = await route.POST(
      new Request('http://h5.example.com/wx/jssdk/config', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: PAGE, jsApiList: ['chooseImage'] }),
      }),
      context,
    );
    assert.equal(post.status, 200);
    assertVerifies((await post.json()) as JssdkConfig, PAGE);
    const options = await route.OPTIONS(
      new Request('http://h5.example.com/wx/jssdk/config', {
        method: 'OPTIONS',
        headers: { origin: 'https://h5.example.com', 'access-control-request-method': 'POST' },
      }),
      context,
    );
    assert.ok(options.status < 300, `preflight answered ${options.status}`);
  });
});
