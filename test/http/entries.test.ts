import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const require = createRequire(import.meta.url);
const fakeAccount = { appId: 'wx1', jsDomains: [], metrics: { render: () => '' } };

test('wxkit/http, /express, /koa, /fastify load from the built ESM and CommonJS files', async () => {
  assert.ok(existsSync(`${DIST}http.cjs`), 'run `npx tsup` first (npm test builds)');
  const names: Record<string, string> = {
    http: 'createHandler',
    express: 'createExpressMiddleware',
    koa: 'createKoaMiddleware',
    fastify: 'createFastifyPlugin',
  };
  for (const [entry, fn] of Object.entries(names)) {
    const cjs = require(`${DIST}${entry}.cjs`) as Record<string, unknown>;
    const esm = (await import(`${DIST}${entry}.js`)) as Record<string, unknown>;
    assert.equal(typeof cjs[fn], 'function', `${entry}.cjs exports ${fn}`);
    assert.equal(typeof esm[fn], 'function', `${entry}.js exports ${fn}`);
  }
  // The CommonJS build finds the browser helper without import.meta.
  const { createHandler } = require(`${DIST}http.cjs`) as {
    createHandler: (w: unknown, o: unknown) => (r: Request) => Promise<Response>;
  };
  const res = await createHandler(fakeAccount, { log: false })(new Request('http://x/jssdk/client.js'));
  assert.equal(res.status, 200);
  assert.match(await res.text(), /wxkit/);
});

test('wxkit/push loads from the built ESM and CommonJS files; its errors are the main entry’s WxkitError', async () => {
  assert.ok(existsSync(`${DIST}push.cjs`), 'run `npx tsup` first (npm test builds)');
  for (const load of [
    async () => [require(`${DIST}push.cjs`), require(`${DIST}index.cjs`)] as Record<string, unknown>[],
    async () =>
      [await import(`${DIST}push.js`), await import(`${DIST}index.js`)] as Record<string, unknown>[],
  ]) {
    const [push, main] = (await load()) as [
      { createPushCrypto: (o: object) => unknown; createPushHandler: unknown; PushError: new () => Error },
      { WxkitError: new () => Error },
    ];
    assert.equal(typeof push.createPushHandler, 'function');
    assert.throws(
      () => push.createPushCrypto({ encodingAESKey: 'short', receiveId: 'wx1' }),
      (e: unknown) => e instanceof push.PushError && e instanceof main.WxkitError,
    );
  }
});
