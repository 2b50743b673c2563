// The public option and result types are importable from the entry points users import (package.json
// "exports" → source entries). `npx tsc -p tsconfig.json` checks this file: a type that disappears from
// an entry point, or changes shape under the README's usage, breaks the type-check. The runtime test only
// makes sure the file is loaded by the runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import type { Middleware } from 'koa';
import type { createExpressMiddleware } from '../../src/adapters/express.ts';
import type { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import type { createKoaMiddleware } from '../../src/adapters/koa.ts';
import type {
  ConfigureOptions,
  SavedMedia,
  UrlMode,
  Wx,
  WxkitClientError,
  WxResult,
} from '../../src/client/index.ts';
import type { HandlerOptions, WxkitHandler } from '../../src/http/index.ts';
import type {
  CallOptions,
  CredentialValue,
  DiagnoseInput,
  Diagnosis,
  DownloadedMedia,
  ErrorCode,
  Hint,
  JssdkConfig,
  JssdkConfigInput,
  OAuthClient,
  OAuthScope,
  OAuthToken,
  OAuthUserinfo,
  SignInput,
  Store,
  TicketType,
  TokenMode,
  Wxkit,
  WxkitConfig,
  WxkitErrorOptions,
  WxkitInstance,
  WxkitOptions,
  WxkitStatus,
} from '../../src/index.ts';
import type { Simulator, SimulatorFault, SimulatorOptions } from '../../src/simulator/index.ts';
import type {
  FileStoreOptions,
  RedisStoreOptions,
  StoreSpec,
  Store as StoresEntryStore,
} from '../../src/stores/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

// SPEC §5's option names, as a user writes them.
export const options = {
  appId: 'wx1',
  secret: 's',
  tokenMode: 'stable',
  apiBase: 'https://api.weixin.qq.com',
  openBase: 'https://open.weixin.qq.com',
  store: 'file:.wxkit',
  jsDomains: ['h5.example.com'],
} satisfies WxkitOptions;

export const jssdkInput = {
  url: 'https://h5.example.com/',
  jsApiList: ['chooseImage'],
  openTagList: ['wx-open-launch-weapp'],
  debug: false,
} satisfies JssdkConfigInput;

export const clientOptions = {
  endpoint: 'https://wx.example.com',
  jsApiList: ['chooseImage'],
  openTagList: [],
  debug: false,
  urlMode: 'auto',
  sdkUrl: 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js',
  headers: { 'x-csrf': 't' },
} satisfies ConfigureOptions;

export const signInput = {
  ticket: 't',
  nonceStr: 'n',
  timestamp: 1,
  url: 'https://h5.example.com/',
} satisfies SignInput;
export const simOptions = {
  port: 0,
  apps: ['wxabc:s3cret'],
  jsDomains: ['h5.example.com'],
  platform: 'ios',
} satisfies SimulatorOptions;
export const fault = { path: '/cgi-bin/token', errcode: 45009, times: 5 } satisfies SimulatorFault;
export const handlerOptions = { basePath: '/wx', apiKeys: ['k'] } satisfies HandlerOptions;

export type Checks = [
  // wx.config's fields, exactly (SPEC §3).
  Expect<
    Equal<
      keyof JssdkConfig,
      'appId' | 'timestamp' | 'nonceStr' | 'signature' | 'jsApiList' | 'openTagList' | 'debug'
    >
  >,
  Expect<Equal<TicketType, 'jsapi' | 'wx_card'>>,
  Expect<Equal<TokenMode, 'stable' | 'classic' | 'remote'>>,
  Expect<Equal<UrlMode, 'auto' | 'current' | 'landing'>>,
  Expect<Equal<OAuthScope, 'snsapi_base' | 'snsapi_userinfo'>>,
  // createWxkit() returns an object usable wherever a Wxkit is expected (handlers, adapters).
  Expect<WxkitInstance extends Wxkit ? true : false>,
  Expect<Equal<Awaited<ReturnType<Wxkit['jssdkConfig']>>, JssdkConfig>>,
  Expect<Equal<Awaited<ReturnType<Wxkit['downloadMedia']>>, DownloadedMedia>>,
  Expect<Equal<Awaited<ReturnType<Wxkit['status']>>, WxkitStatus>>,
  Expect<Equal<Wxkit['oauth'], OAuthClient>>,
  Expect<Equal<Awaited<ReturnType<OAuthClient['exchangeCode']>>, OAuthToken>>,
  Expect<Equal<Awaited<ReturnType<OAuthClient['userinfo']>>, OAuthUserinfo>>,
  // The Store contract is the same type from 'wxkit' and 'wxkit/stores'.
  Expect<Equal<Store, StoresEntryStore>>,
  Expect<Extract<WxkitOptions['store'], Store> extends never ? false : true>,
  Expect<Extract<WxkitOptions['store'], StoreSpec> extends never ? false : true>,
  // The handler is a web-standard (Request) => Promise<Response>.
  Expect<WxkitHandler extends (request: Request) => Promise<Response> ? true : false>,
  Expect<Equal<ReturnType<typeof createKoaMiddleware>, Middleware>>,
  Expect<Equal<ReturnType<typeof createFastifyPlugin>, FastifyPluginAsync>>,
  Expect<Wxkit extends Parameters<typeof createExpressMiddleware>[0] ? true : false>,
  Expect<WxkitClientError extends Error ? true : false>,
  Expect<Equal<Awaited<ReturnType<Simulator['close']>>, void>>,
];

// Types that only need to exist on their entry point.
export type Exported = [
  CallOptions,
  CredentialValue,
  DiagnoseInput,
  Diagnosis,
  ErrorCode,
  Hint,
  WxkitConfig,
  WxkitErrorOptions,
  SavedMedia,
  Wx,
  WxResult,
  FileStoreOptions,
  RedisStoreOptions,
];

test('the public types compile (checked by tsc -p tsconfig.json)', () => {
  assert.equal(options.tokenMode, 'stable');
  assert.equal(clientOptions.urlMode, 'auto');
});

test('wxkit/client call() types the common JS-SDK APIs (test/api/fixtures/client-calls.ts under strict tsc)', () => {
  // Its own tsc run, so that `node --test` fails too: the README's upload code (localIds: string[]),
  // results of chooseImage, uploadImage, getLocation, scanQRCode, chooseWXPay…, and wrong arguments.
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '--noEmit',
      '--strict',
      '--noUncheckedIndexedAccess',
      '--exactOptionalPropertyTypes',
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--lib',
      'ES2023,DOM,DOM.Iterable',
      '--allowImportingTsExtensions',
      '--skipLibCheck',
      '--types',
      'node',
      'test/api/fixtures/client-calls.ts',
    ],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
