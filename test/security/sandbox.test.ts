// SPEC §10: `wxkit serve` without an account runs the sandbox only on a laptop (loopback, no production
// variable) or when asked with --sandbox / WXKIT_SANDBOX=1; otherwise exit 1 naming WX_APP_ID. Every case
// spawns the real CLI.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.ts';
import { runCli, startServe } from '../serve/spawn.ts';

const KEY = 'sandbox-test-api-key-0123456789';
const SECRET = 'sandbox-test-session-secret-0123456789';

let cwd: string;
let emptyConfig: string;
before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'wxkit-sandbox-'));
  emptyConfig = join(cwd, 'no-accounts.json');
  writeFileSync(emptyConfig, JSON.stringify({ jsDomains: ['h5.example.com'] }));
});
after(() => rmSync(cwd, { recursive: true, force: true }));

/** One line on stderr, in both languages, naming WX_APP_ID and --sandbox; nothing served. */
function assertRefused(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.code, 1, `${what}: ${r.stderr}${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.match(r.stderr, /WX_APP_ID/, what);
  assert.match(r.stderr, /--sandbox/, what);
  assert.match(r.stderr, /[\u4e00-\u9fff]/, `${what}: Chinese too`);
  assert.doesNotMatch(r.stdout, /listening on|SANDBOX MODE/, what);
  assert.doesNotMatch(r.stderr, /\bat \S+:\d+/, `${what}: no stack`);
}

describe('wxkit serve without an account refuses to become a sandbox on a deployment', () => {
  const refusing: { name: string; env: Record<string, string>; args?: string[] }[] = [
    {
      // The reviewer's case: an account that did not arrive on a production host.
      name: 'HOST=0.0.0.0 + WX_JS_DOMAINS + WXKIT_PUBLIC_URL + WXKIT_API_KEYS',
      env: {
        HOST: '0.0.0.0',
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_PUBLIC_URL: 'https://wx.example.com',
        WXKIT_API_KEYS: KEY,
      },
    },
    { name: 'HOST=0.0.0.0 alone', env: { HOST: '0.0.0.0' } },
    { name: 'HOST=::', env: { HOST: '::' } },
    { name: 'a LAN address', env: { HOST: '192.168.1.20' } },
    { name: '--host 0.0.0.0', env: {}, args: ['--host', '0.0.0.0'] },
    { name: 'WX_JS_DOMAINS on loopback', env: { WX_JS_DOMAINS: 'h5.example.com' } },
    { name: 'WXKIT_PUBLIC_URL on loopback', env: { WXKIT_PUBLIC_URL: 'https://wx.example.com' } },
    { name: 'WXKIT_STORE on loopback', env: { WXKIT_STORE: 'memory' } },
    { name: 'WXKIT_API_KEYS on loopback', env: { WXKIT_API_KEYS: KEY } },
    { name: 'WXKIT_CONFIG naming a file without accounts', env: { WXKIT_CONFIG: 'no-accounts.json' } },
    { name: 'WX_CORP_ID (a WeCom account was meant)', env: { WX_CORP_ID: 'ww0123456789abcdef' } },
    { name: '--workers 2 with HOST=0.0.0.0', env: { HOST: '0.0.0.0' }, args: ['--workers', '2'] },
    // Issue 18 item 8: loopback behind a same-host proxy (nginx → 127.0.0.1), the account missing.
    { name: 'WXKIT_TRUST_PROXY on loopback', env: { HOST: '127.0.0.1', WXKIT_TRUST_PROXY: '1' } },
    { name: 'WXKIT_CORS_ORIGINS on loopback', env: { WXKIT_CORS_ORIGINS: 'https://h5.example.com' } },
    { name: 'WXKIT_CARD_IDS on loopback', env: { WXKIT_CARD_IDS: 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc' } },
    { name: 'WXKIT_RATE_LIMIT on loopback', env: { WXKIT_RATE_LIMIT: '20' } },
    { name: 'WXKIT_IDLE_TIMEOUT on loopback', env: { WXKIT_IDLE_TIMEOUT: '30' } },
    { name: 'WXKIT_WRITE_TIMEOUT on loopback', env: { WXKIT_WRITE_TIMEOUT: '30' } },
    { name: 'a shared media store on loopback', env: { WXKIT_MEDIA_STORE: 'redis://127.0.0.1:1/0' } },
  ];
  for (const c of refusing) {
    test(`${c.name}: exit 1, one line`, async () => {
      const r = await runCli(['serve', ...(c.args ?? [])], { PORT: '0', ...c.env }, cwd);
      assertRefused(r, c.name);
      assert.ok(!r.stderr.includes(KEY), 'the API key is never printed');
    });
  }

  test('a wxkit.config.json without accounts in the working directory: refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-sandbox-file-'));
    try {
      writeFileSync(join(dir, 'wxkit.config.json'), JSON.stringify({ publicUrl: 'https://wx.example.com' }));
      assertRefused(await runCli(['serve'], { PORT: '0' }, dir), 'wxkit.config.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the refusal names what it saw, never a value that may hold a password', async () => {
    const r = await runCli(
      ['serve'],
      { PORT: '0', HOST: '0.0.0.0', WXKIT_STORE: 'redis://:hunter2-password@127.0.0.1:6379' },
      cwd,
    );
    assertRefused(r, 'redis store');
    assert.match(r.stderr, /HOST=0\.0\.0\.0/);
    assert.match(r.stderr, /WXKIT_STORE/);
    assert.ok(!r.stderr.includes('hunter2'));
  });

  test('--sandbox with an account configured is a contradiction: exit 1', async () => {
    const r = await runCli(
      ['serve', '--sandbox'],
      { PORT: '0', WX_APP_ID: 'wx1234567890abcdef', WX_APP_SECRET: 'app-secret-0123456789' },
      cwd,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--sandbox/);
    assert.doesNotMatch(r.stdout, /listening on/);
  });

  test('WXKIT_SANDBOX with an unknown value: exit 1', async () => {
    const r = await runCli(['serve'], { PORT: '0', WXKIT_SANDBOX: 'maybe' }, cwd);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /WXKIT_SANDBOX must be 1 or 0/);
  });
});

/** `/readyz` of a running service. */
async function readyz(url: string): Promise<{ ready: boolean; mode: string }> {
  const res = await fetch(`${url}/readyz`);
  assert.equal(res.status, 200);
  return (await res.json()) as { ready: boolean; mode: string };
}

/** The lines printed at start (before the first JSON log line). */
function startLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
}

describe('wxkit serve runs the sandbox when it may', () => {
  test('loopback with nothing set: the sandbox, and every start line and /readyz say so', async () => {
    const serve = await startServe({ WXKIT_SESSION_SECRET: SECRET }, [], cwd);
    try {
      const lines = startLines(serve.stdout());
      assert.ok(lines.length >= 2, serve.stdout());
      for (const l of lines) assert.match(l, /sandbox/i, l);
      assert.deepEqual((await readyz(serve.url)).mode, 'sandbox');
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });

  for (const ask of [
    { name: '--sandbox', args: ['--sandbox'], env: {} },
    { name: 'WXKIT_SANDBOX=1', args: [], env: { WXKIT_SANDBOX: '1' } },
  ]) {
    test(`${ask.name} with production variables set: the sandbox, on purpose`, async () => {
      const serve = await startServe(
        {
          HOST: '127.0.0.1',
          WX_JS_DOMAINS: 'h5.example.com',
          WXKIT_PUBLIC_URL: 'https://wx.example.com',
          WXKIT_API_KEYS: KEY,
          WXKIT_STORE: 'memory',
          WXKIT_SESSION_SECRET: SECRET,
          WXKIT_LOG: 'off',
          ...ask.env,
        },
        ask.args,
        cwd,
      );
      try {
        for (const l of startLines(serve.stdout())) assert.match(l, /sandbox/i, l);
        const ready = await readyz(serve.url);
        assert.equal(ready.mode, 'sandbox');
        assert.equal(ready.ready, true);
        const res = await fetch(
          `${serve.url}/jssdk/config?url=${encodeURIComponent('https://h5.example.com/p')}`,
        );
        assert.equal(res.status, 200);
        assert.match(((await res.json()) as { appId: string }).appId, /^wx5andb0x/);
      } finally {
        assert.equal(await serve.stop(), 0);
      }
      // Its warnings (the https public URL without a trusted proxy) are start lines too.
      const warnings = serve
        .stderr()
        .split('\n')
        .filter((l) => l.includes('warning ('));
      assert.ok(warnings.length > 0, serve.stderr());
      for (const l of warnings) assert.match(l, /^wxkit serve \(sandbox\): warning/, l);
    });
  }

  test('a live service says live in /readyz', async () => {
    const sim = await startSimulator({
      apps: [{ appId: 'wxc0ffee0000000002', secret: 'sandbox-live-secret', jsDomains: ['h5.example.com'] }],
    });
    const serve = await startServe(
      {
        WX_APP_ID: 'wxc0ffee0000000002',
        WX_APP_SECRET: 'sandbox-live-secret',
        WX_API_BASE: sim.url,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_STORE: 'memory',
        WXKIT_SESSION_SECRET: SECRET,
        WXKIT_LOG: 'off',
      },
      [],
      cwd,
    );
    try {
      assert.equal((await readyz(serve.url)).mode, 'live');
      assert.doesNotMatch(serve.stdout(), /sandbox/i);
    } finally {
      assert.equal(await serve.stop(), 0);
      await sim.close();
    }
  });
});

describe('WXKIT_API_KEYS entries are at least 16 characters', () => {
  const account = { WX_APP_ID: 'wx1234567890abcdef', WX_APP_SECRET: 'app-secret-0123456789', PORT: '0' };

  for (const keys of ['kZq9', `${KEY},short-key-15chr`]) {
    test(`${JSON.stringify(keys.replace(KEY, 'KEY'))}: exit 1, one line, the key not printed`, async () => {
      const r = await runCli(['serve'], { ...account, WXKIT_API_KEYS: keys }, cwd);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /WXKIT_API_KEYS entry \d of \d is \d+ characters; each key needs at least 16/);
      assert.match(r.stderr, /[\u4e00-\u9fff]/);
      for (const k of keys.split(',')) assert.ok(!r.stderr.includes(k), 'no key in the message');
      assert.doesNotMatch(r.stdout, /listening on/);
    });
  }

  test('a short key in the config file is refused the same way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-keys-file-'));
    try {
      writeFileSync(join(dir, 'wxkit.config.json'), JSON.stringify({ apiKeys: ['abc'] }));
      const r = await runCli(['serve'], account, dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /entry 1 of 1 is 3 characters/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
