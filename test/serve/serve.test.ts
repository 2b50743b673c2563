import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.ts';
import { runCli, type ServeProcess, startServe } from './spawn.ts';

let cwd: string;
before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'wxkit-serve-'));
});
after(() => rmSync(cwd, { recursive: true, force: true }));

describe('wxkit serve in sandbox mode (no WX_APP_ID)', () => {
  let serve: ServeProcess;
  let simUrl: string;
  before(async () => {
    serve = await startServe({ WXKIT_SESSION_SECRET: 'serve-test-session-secret-0123456789' }, [], cwd);
    simUrl = /simulator \((http:\/\/[^,]+),/.exec(serve.stdout())?.[1] ?? '';
  });
  after(() => serve.stop());

  test('says it is sandbox mode, where to look and how to go live', () => {
    const out = serve.stdout();
    assert.match(out, /SANDBOX MODE/);
    assert.match(out, new RegExp(`Open ${serve.url.replace(/[.]/g, '\\.')}/ for the demo page`));
    assert.match(out, /set WX_APP_ID, WX_APP_SECRET and WX_JS_DOMAINS/);
    assert.match(simUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('serves the demo page and signs loopback pages on any port', async () => {
    const page = await fetch(`${serve.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /src="\/jssdk\/client\.js"/);
    assert.ok(html.includes(`${simUrl}/jweixin.js`));
    const res = await fetch(
      `${serve.url}/jssdk/config?url=${encodeURIComponent('http://localhost:5173/app?x=1')}&apis=chooseImage`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { appId: string; signature: string };
    assert.match(body.signature, /^[0-9a-f]{40}$/);
    const ready = await fetch(`${serve.url}/readyz`);
    assert.equal(ready.status, 200);
    const outside = await fetch(
      `${serve.url}/jssdk/config?url=${encodeURIComponent('https://example.com/')}`,
    );
    assert.equal(outside.status, 403);
  });

  test('logs one JSON line per request without the query string', async () => {
    await fetch(`${serve.url}/jssdk/config?url=${encodeURIComponent('http://localhost/private-path')}`);
    // Log lines are written in batches (every ~10 ms): wait for this one rather than race it.
    const parsed = () =>
      serve
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (let i = 0; i < 200 && !parsed().some((l) => l.route === '/jssdk/config'); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const line = parsed().find((l) => l.route === '/jssdk/config');
    assert.ok(line);
    assert.equal(line.method, 'GET');
    assert.equal(typeof line.ms, 'number');
    assert.ok(!serve.stdout().includes('private-path'));
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const serve = await startServe({ WXKIT_LOG: 'off' }, [], cwd);
    const { port } = new URL(serve.url);
    // A request whose body is still arriving when SIGTERM comes.
    const body = JSON.stringify({ url: 'http://localhost/page' });
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (c) => {
        text += c;
      });
      socket.on('close', () => resolve(text));
    });
    socket.write(
      `POST /jssdk/config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const code = serve.stop();
    await new Promise((r) => setTimeout(r, 300));
    socket.end(body.slice(10));
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    assert.match(text, /"signature":"[0-9a-f]{40}"/);
    assert.equal(await code, 0);
    await assert.rejects(fetch(`${serve.url}/healthz`), 'no longer accepting');
  });
});

describe('start errors', () => {
  test('bad configuration: one line, exit 1; bad flags: exit 2', async () => {
    const cases: { args: string[]; env: Record<string, string>; code: number; match: RegExp }[] = [
      { args: ['serve'], env: { PORT: 'abc' }, code: 1, match: /PORT must be a number/ },
      { args: ['serve'], env: { WX_APP_ID: 'wx1234567890abcdef' }, code: 1, match: /AppSecret/ },
      {
        args: ['serve'],
        env: { WX_APP_ID: 'wx1234567890abcdef', WX_APP_SECRET: 's', WX_JS_DOMAINS: 'h5.example.com:8080' },
        code: 1,
        match: /JS-safe domain/,
      },
      { args: ['serve'], env: { WX_TOKEN_MODE: 'fast' }, code: 1, match: /WX_TOKEN_MODE/ },
      { args: ['serve'], env: { WXKIT_CORS_ORIGINS: 'not an origin' }, code: 1, match: /WXKIT_CORS_ORIGINS/ },
      { args: ['serve', '--workers', 'lots'], env: {}, code: 2, match: /--workers/ },
      { args: ['serve', '--bogus'], env: {}, code: 2, match: /bogus/ },
    ];
    for (const c of cases) {
      const r = await runCli(c.args, c.env, cwd);
      assert.equal(r.code, c.code, `${JSON.stringify(c)}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(r.stderr, c.match);
      assert.doesNotMatch(r.stderr, /\bat \S+:\d+/);
    }
  });

  test('a port in use is one line and exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve'], { PORT: String(port) }, cwd);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /already in use/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    } finally {
      blocker.close();
    }
  });
});

describe('--workers', () => {
  test('N processes sharing a file store fetch the token and the ticket once', async () => {
    const sim = await startSimulator({
      apps: [{ appId: 'wxc0ffee0000000001', secret: 'workers-secret', jsDomains: ['h5.example.com'] }],
    });
    const store = mkdtempSync(join(tmpdir(), 'wxkit-workers-store-'));
    const serve = await startServe(
      {
        WX_APP_ID: 'wxc0ffee0000000001',
        WX_APP_SECRET: 'workers-secret',
        WX_API_BASE: sim.url,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_STORE: `file:${store}`,
        WXKIT_LOG: 'off',
        WXKIT_RATE_LIMIT: 'off',
        WXKIT_SESSION_SECRET: 'workers-test-secret-0123456789abcdef',
      },
      ['--workers', '2'],
      cwd,
    );
    try {
      const url = `${serve.url}/jssdk/config?url=${encodeURIComponent('https://h5.example.com/p')}`;
      const results = await Promise.all(Array.from({ length: 200 }, () => fetch(url).then((r) => r.status)));
      assert.deepEqual(new Set(results), new Set([200]));
      const calls = sim.stats().calls;
      assert.equal(calls['/cgi-bin/stable_token'], 1, JSON.stringify(calls));
      assert.equal(calls['/cgi-bin/ticket/getticket'], 1, JSON.stringify(calls));
    } finally {
      assert.equal(await serve.stop(), 0);
      await sim.close();
      rmSync(store, { recursive: true, force: true });
    }
  });

  test('N processes serve the same port and stop together on SIGTERM', async () => {
    const serve = await startServe(
      { WXKIT_LOG: 'off', WXKIT_SESSION_SECRET: 'workers-test-secret-0123456789abcdef' },
      ['--workers', '2'],
      cwd,
    );
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${serve.url}/jssdk/config?url=${encodeURIComponent('http://localhost/')}`),
        ),
      );
      for (const r of results) assert.equal(r.status, 200);
      const sigs = await Promise.all(results.map((r) => r.json() as Promise<{ appId: string }>));
      assert.ok(sigs.every((s) => s.appId === sigs[0]?.appId));
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });
});
