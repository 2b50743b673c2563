// SPEC §5 fixes the names users import. Each entry point of package.json "exports" is imported from its
// source file (the map in tsup.config.ts) and checked for those exact names and their kinds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { libraryEntries } from '../../tsup.config.ts';

const ROOT = new URL('../../', import.meta.url);

/** SPEC §5: entry (as in package.json "exports") → export name → typeof. */
const SPEC_NAMES: Record<string, Record<string, 'function'>> = {
  '.': {
    createWxkit: 'function',
    createPlatform: 'function',
    signJssdk: 'function',
    normalizeSignUrl: 'function',
    WxkitError: 'function',
    isWxkitError: 'function',
    diagnoseSignature: 'function',
    // What a forward receiver (push, §11; pay notifications, §12) checks X-Wxkit-Signature with.
    verifyForwardSignature: 'function',
  },
  './stores': {
    createMemoryStore: 'function',
    createFileStore: 'function',
    createRedisStore: 'function',
    openStore: 'function',
  },
  './http': { createHandler: 'function' },
  './express': { createExpressMiddleware: 'function' },
  './koa': { createKoaMiddleware: 'function' },
  './fastify': { createFastifyPlugin: 'function' },
  './client': {
    configure: 'function',
    reconfigure: 'function',
    uploadImages: 'function',
    saveMedia: 'function',
    call: 'function',
    pay: 'function',
  },
  './simulator': { startSimulator: 'function' },
  // SPEC §11.
  './push': {
    pushSignature: 'function',
    createPushCrypto: 'function',
    createPushHandler: 'function',
    verifyUrl: 'function',
    verifyWecomUrl: 'function',
    parseMessage: 'function',
    PushError: 'function',
  },
  './pay': {
    createPay: 'function',
    paySign: 'function',
    verifyWechatpaySignature: 'function',
    PayError: 'function',
    isPayError: 'function',
  },
};

/** package.json "exports" key → the source file tsup builds it from. */
function sourceOf(subpath: string): string {
  const entry = subpath === '.' ? 'index' : subpath.slice(2);
  const src = libraryEntries[entry];
  assert.ok(src, `tsup.config.ts libraryEntries has "${entry}" for "${subpath}"`);
  return src;
}

test('every SPEC §5 entry point is in package.json "exports" and built from a source entry', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  for (const subpath of Object.keys(SPEC_NAMES)) {
    assert.ok(pkg.exports[subpath], `package.json exports "${subpath}"`);
    sourceOf(subpath);
  }
});

test('each entry point exports the SPEC §5 names with the right kind', async () => {
  for (const [subpath, names] of Object.entries(SPEC_NAMES)) {
    const mod = (await import(new URL(sourceOf(subpath), ROOT).href)) as Record<string, unknown>;
    for (const [name, kind] of Object.entries(names)) {
      assert.equal(typeof mod[name], kind, `wxkit${subpath === '.' ? '' : subpath.slice(1)} exports ${name}`);
    }
  }
});

test('typed errors: one base class with a stable code, errcode, errmsg, hint and cause', async () => {
  const { WxkitError, isWxkitError, ErrorCodes } = await import('../../src/index.ts');
  const cause = new Error('socket hang up');
  const e = new WxkitError(ErrorCodes.WECHAT_ERROR, 'WeChat refused', {
    errcode: 40164,
    errmsg: 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 1-2-3',
    cause,
  });
  assert.ok(e instanceof Error);
  assert.ok(isWxkitError(e));
  assert.equal(e.code, 'wechat_error');
  assert.equal(e.errcode, 40164);
  assert.match(e.errmsg ?? '', /not in whitelist/);
  assert.equal(e.cause, cause);
  assert.ok(e.hint.en.length > 0 && e.hint.zh.length > 0, 'the errcode table supplies a hint');
  const body = e.toJSON() as { error: { code: string; wechat?: { errcode: number } } };
  assert.equal(body.error.code, 'wechat_error');
  assert.equal(body.error.wechat?.errcode, 40164);
});

test('createWxkit() returns the SPEC §5 methods and the oauth client', async () => {
  const { createWxkit } = await import('../../src/index.ts');
  const wx = createWxkit({
    appId: 'wxentries0000001',
    secret: 's',
    store: 'memory',
    apiBase: 'http://127.0.0.1:9',
  });
  try {
    for (const name of [
      'jssdkConfig',
      'accessToken',
      'ticket',
      'request',
      'downloadMedia',
      'close',
    ] as const) {
      assert.equal(typeof wx[name], 'function', `wx.${name}`);
    }
    for (const name of ['authorizeUrl', 'exchangeCode', 'refresh', 'userinfo'] as const) {
      assert.equal(typeof wx.oauth[name], 'function', `wx.oauth.${name}`);
    }
    const url = new URL(
      wx.oauth.authorizeUrl({ redirectUri: 'https://h5.example.com/cb', scope: 'snsapi_base', state: 's1' }),
    );
    assert.equal(url.pathname, '/connect/oauth2/authorize');
    assert.equal(url.searchParams.get('appid'), 'wxentries0000001');
    assert.equal(url.hash, '#wechat_redirect');
  } finally {
    await wx.close();
  }
});

test('startSimulator() returns {url, close()} plus the control methods', async () => {
  const { startSimulator } = await import('../../src/simulator/index.ts');
  const sim = await startSimulator();
  try {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const name of [
      'stats',
      'reset',
      'advance',
      'setPlatform',
      'setFaults',
      'clearFaults',
      'rotate',
    ] as const) {
      assert.equal(typeof sim[name], 'function', `sim.${name}`);
    }
  } finally {
    await sim.close();
  }
});
