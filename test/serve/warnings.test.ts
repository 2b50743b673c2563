// `wxkit serve` prints one warning line (English / 中文) per risky setting. The rules are pure functions
// of the settings (tested directly, including non-loopback hosts this test never binds); the spawned
// processes check that the lines really reach stderr.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RULES, startupWarnings, type WarningInput } from '../../src/serve/warnings.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { startRedisServer } from '../stores/redis-server.ts';
import { startServe } from './spawn.ts';

/** A safe production setup: no rule fires. */
const SAFE: WarningInput = {
  sandbox: false,
  host: '0.0.0.0',
  port: 3000,
  publicUrl: 'https://wx.example.com',
  sessionSecret: true,
  corsOrigins: undefined,
  apiKeys: 0,
  trustProxy: 1,
  rateLimited: true,
  store: 'redis://redis:6379',
  workers: 1,
  accounts: [{ appId: 'wx1234567890abcdef', jsDomains: ['h5.example.com'] }],
};
/** A laptop: loopback, nothing configured. */
const LAPTOP: WarningInput = {
  ...SAFE,
  host: '127.0.0.1',
  publicUrl: undefined,
  trustProxy: 0,
  store: 'file:.wxkit',
};

const ids = (s: WarningInput) => startupWarnings(s).map((w) => w.id);

describe('start-up warning rules', () => {
  test('a safe deployment and a plain laptop set off nothing', () => {
    // A container (HOST=0.0.0.0 behind a proxy) always gets these two reminders: the network around it
    // must keep /metrics internal and let only the proxy in.
    assert.deepEqual(ids(SAFE), ['metrics-open', 'trust-proxy-open']);
    // Behind a proxy on the same host, /metrics is reachable through it (issue 18 item 6).
    assert.deepEqual(ids({ ...SAFE, host: '127.0.0.1' }), ['metrics-via-proxy']);
    assert.deepEqual(ids({ ...SAFE, host: '127.0.0.1', trustProxy: 0, publicUrl: undefined }), []);
    assert.deepEqual(ids(LAPTOP), []);
    assert.deepEqual(ids({ ...LAPTOP, sandbox: true, sessionSecret: false }), []);
  });

  const cases: { name: string; input: WarningInput; id: string; mentions: RegExp }[] = [
    {
      name: 'no session secret behind https',
      input: { ...SAFE, sessionSecret: false },
      id: 'session-secret',
      mentions: /WXKIT_SESSION_SECRET.*https:\/\/wx\.example\.com.*restarts.*other instances/,
    },
    {
      name: 'CORS for every origin',
      input: { ...SAFE, corsOrigins: '*' },
      id: 'cors-any-origin',
      mentions: /WXKIT_CORS_ORIGINS=\*/,
    },
    {
      name: 'token API on a public host',
      input: { ...SAFE, apiKeys: 2 },
      id: 'token-api-open',
      mentions: /WXKIT_API_KEYS.*HOST=0\.0\.0\.0.*keep \/v1 and \/metrics on an internal network/,
    },
    {
      name: '/metrics on a public host',
      input: SAFE,
      id: 'metrics-open',
      mentions: /\/metrics.*internal network/,
    },
    {
      name: 'trusted proxy headers on a public host',
      input: { ...SAFE, trustProxy: 2 },
      id: 'trust-proxy-open',
      mentions: /WXKIT_TRUST_PROXY.*HOST=0\.0\.0\.0.*X-Forwarded-For/,
    },
    {
      name: 'https public URL without a trusted proxy',
      input: { ...SAFE, host: '127.0.0.1', trustProxy: 0 },
      id: 'proxy-not-trusted',
      mentions: /WXKIT_TRUST_PROXY is not set/,
    },
    {
      name: 'plain http public URL',
      input: { ...SAFE, publicUrl: 'http://wx.example.com' },
      id: 'public-url-http',
      mentions: /http:\/\/wx\.example\.com.*https:\/\//,
    },
    {
      name: 'no public URL on a public host',
      input: { ...SAFE, publicUrl: undefined, port: 8080 },
      id: 'public-url-missing',
      mentions: /WXKIT_PUBLIC_URL is not set.*http:\/\/localhost:8080/,
    },
    {
      name: 'an account with no JS-safe domain',
      input: { ...LAPTOP, accounts: [...SAFE.accounts, { appId: 'wxbare0000000001', jsDomains: [] }] },
      id: 'no-js-domains',
      mentions: /wxbare0000000001.*every page will be refused.*WX_JS_DOMAINS.*WXKIT_PUBLIC_URL/,
    },
    {
      name: 'rate limit off on a public host',
      input: { ...SAFE, rateLimited: false },
      id: 'rate-limit-off',
      mentions: /WXKIT_RATE_LIMIT=off/,
    },
    {
      name: 'a trusted proxy in front of a loopback listener',
      input: { ...SAFE, host: '127.0.0.1' },
      id: 'metrics-via-proxy',
      mentions: /WXKIT_TRUST_PROXY.*\/metrics.*block/,
    },
    {
      name: 'memory store with workers',
      input: { ...LAPTOP, store: 'memory', workers: 4 },
      id: 'memory-store-workers',
      mentions: /WXKIT_STORE=memory with 4 workers/,
    },
    {
      name: 'Redis credentials shared, media on this disk',
      input: { ...SAFE, host: '127.0.0.1', mediaStore: 'file:.wxkit/media' },
      id: 'media-store-local',
      mentions: /WXKIT_STORE is Redis.*404.*WXKIT_MEDIA_STORE/,
    },
    {
      name: 'media and credentials in one Redis',
      input: { ...SAFE, mediaStore: 'redis://redis:6379/1', mediaSharesCredentialRedis: true },
      id: 'media-redis-shared',
      mentions: /share one Redis.*allkeys-lru.*noeviction/,
    },
    {
      name: 'a credential Redis that evicts',
      input: { ...SAFE, credentialRedisPolicy: 'volatile-lru' },
      id: 'credential-redis-evicts',
      mentions: /maxmemory-policy volatile-lru.*noeviction/,
    },
    {
      name: 'the sandbox on a public host (asked for with --sandbox)',
      input: { ...LAPTOP, sandbox: true, host: '0.0.0.0' },
      id: 'sandbox-open',
      mentions: /sandbox listens on HOST=0\.0\.0\.0/,
    },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.id}, in English and Chinese`, () => {
      const warnings = startupWarnings(c.input);
      const w = warnings.find((x) => x.id === c.id);
      assert.ok(w, `${c.id} in ${JSON.stringify(warnings.map((x) => x.id))}`);
      assert.match(w.en, c.mentions);
      assert.match(w.zh, /[\u4e00-\u9fff]/);
      assert.ok(!w.en.includes('\n') && !w.zh.includes('\n'), 'one line');
    });
  }

  test('every rule has a case above (docs/security.md mirrors this list)', () => {
    assert.equal(new Set(cases.map((c) => c.id)).size, RULES.length);
  });

  test('the store is compared, never printed (it may hold a Redis password)', () => {
    const all = startupWarnings({
      ...SAFE,
      sessionSecret: false,
      corsOrigins: '*',
      apiKeys: 1,
      rateLimited: false,
      store: 'redis://:hunter2@redis:6379',
      workers: 3,
    });
    assert.ok(all.length >= 5);
    for (const w of all) assert.ok(!`${w.en}${w.zh}`.includes('hunter2'));
  });
});

describe('wxkit serve prints the warnings at start', () => {
  let sim: Simulator;
  let cwd: string;
  const APP = 'wxc0ffee0000000003';
  const account = {
    WX_APP_ID: APP,
    WX_APP_SECRET: 'warnings-secret',
    WXKIT_STORE: 'memory',
    WXKIT_LOG: 'off',
  };
  before(async () => {
    sim = await startSimulator({
      apps: [{ appId: APP, secret: 'warnings-secret', jsDomains: ['h5.example.com'] }],
    });
    cwd = mkdtempSync(join(tmpdir(), 'wxkit-warnings-'));
  });
  after(async () => {
    await sim.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  const warningLines = (stderr: string) =>
    stderr.split('\n').filter((l) => l.startsWith('wxkit serve: warning'));

  test('risky settings: one line each, English / Chinese', async () => {
    const serve = await startServe(
      {
        ...account,
        WX_API_BASE: sim.url,
        WXKIT_PUBLIC_URL: 'https://h5.example.com',
        WXKIT_CORS_ORIGINS: '*',
      },
      [],
      cwd,
    );
    await serve.stop(); // all of stderr has arrived
    const lines = warningLines(serve.stderr());
    assert.deepEqual(
      lines.map((l) => /^wxkit serve: warning \(([a-z-]+)\)/.exec(l)?.[1]),
      ['session-secret', 'cors-any-origin', 'proxy-not-trusted'],
      serve.stderr(),
    );
    for (const l of lines) assert.match(l, /[\u4e00-\u9fff]/, l);
  });

  test('live without WX_JS_DOMAINS or WXKIT_PUBLIC_URL says every page will be refused', async () => {
    const serve = await startServe(
      { ...account, WX_API_BASE: sim.url, WXKIT_SESSION_SECRET: 'warnings-session-secret-0123456789' },
      [],
      cwd,
    );
    await serve.stop();
    const lines = warningLines(serve.stderr());
    assert.equal(lines.length, 1, serve.stderr());
    assert.match(lines[0] ?? '', /\(no-js-domains\).*every page will be refused/);
  });

  test('a sound local setup prints no warning', async () => {
    const serve = await startServe(
      {
        ...account,
        WX_API_BASE: sim.url,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_SESSION_SECRET: 'warnings-session-secret-0123456789',
      },
      [],
      cwd,
    );
    assert.equal(await serve.stop(), 0);
    assert.deepEqual(warningLines(serve.stderr()), []);
  });

  test('a credential Redis with an evicting maxmemory-policy is named at start (read from the server)', async () => {
    const redis = await startRedisServer();
    const raw = new Redis(redis.url);
    try {
      await raw.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      const serve = await startServe(
        {
          ...account,
          WX_API_BASE: sim.url,
          WX_JS_DOMAINS: 'h5.example.com',
          WXKIT_SESSION_SECRET: 'warnings-session-secret-0123456789',
          WXKIT_STORE: redis.url,
          WXKIT_MEDIA_STORE: 's3://bucket/p?endpoint=http://127.0.0.1:9',
          AWS_ACCESS_KEY_ID: 'AKIAWARNINGS',
          AWS_SECRET_ACCESS_KEY: 'warnings',
        },
        [],
        cwd,
      );
      assert.equal(await serve.stop(), 0);
      const lines = warningLines(serve.stderr());
      assert.equal(lines.length, 1, serve.stderr());
      assert.match(
        lines[0] ?? '',
        /\(credential-redis-evicts\).*maxmemory-policy allkeys-lru.*\/ .*noeviction/,
      );
      await raw.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      const calm = await startServe(
        {
          ...account,
          WX_API_BASE: sim.url,
          WX_JS_DOMAINS: 'h5.example.com',
          WXKIT_SESSION_SECRET: 'warnings-session-secret-0123456789',
          WXKIT_STORE: redis.url,
          WXKIT_MEDIA_STORE: 's3://bucket/p?endpoint=http://127.0.0.1:9',
          AWS_ACCESS_KEY_ID: 'AKIAWARNINGS',
          AWS_SECRET_ACCESS_KEY: 'warnings',
        },
        [],
        cwd,
      );
      assert.equal(await calm.stop(), 0);
      assert.deepEqual(warningLines(calm.stderr()), []);
    } finally {
      raw.disconnect();
      await redis.stop();
    }
  });
});
