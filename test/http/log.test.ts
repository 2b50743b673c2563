import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { serveOutput } from '../../src/cli/log-sink.ts';
import { Metrics } from '../../src/metrics.ts';
import { type ServeProcess, startServe } from '../serve/spawn.ts';

let cwd: string;
before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'wxkit-log-'));
});
after(() => rmSync(cwd, { recursive: true, force: true }));

const ENV = { WXKIT_SESSION_SECRET: 'log-test-session-secret-0123456789ab' };

/** Runs `count` GETs, `concurrency` at a time; resolves their statuses in order. */
async function requests(url: (i: number) => string, count: number, concurrency = 32): Promise<number[]> {
  const statuses: number[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      // A hang detector, not a timing assertion: a blocked server never answers at all.
      const res = await fetch(url(i), { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      statuses[i] = res.status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** SIGTERM, then everything the process wrote to stdout up to the pipe's end. */
async function stopAndRead(
  serve: ServeProcess,
): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const closed = new Promise((resolve) => serve.child.stdout?.once('close', resolve));
  const code = await serve.stop();
  await closed;
  const lines = serve
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines };
}

describe('wxkit serve request log on a pipe', () => {
  test('a burst of lines all arrive, in order, after SIGTERM', async () => {
    const serve = await startServe(ENV, [], cwd);
    const burst = 3000;
    const statuses = await requests(() => `${serve.url}/healthz`, burst);
    assert.ok(statuses.every((s) => s === 200));
    // Then one at a time, in a pattern the log must reproduce line for line, and stop at once.
    const pattern = Array.from({ length: 120 }, (_, i) =>
      i % 3 === 0 || i % 7 === 0 ? '/readyz' : '/healthz',
    );
    for (const path of pattern) await (await fetch(serve.url + path)).arrayBuffer();
    const { code, lines } = await stopAndRead(serve);
    assert.equal(code, 0);
    const requestLines = lines.filter((l) => l.msg === 'request');
    assert.equal(requestLines.length, burst + pattern.length);
    assert.deepEqual(
      requestLines.slice(burst).map((l) => l.route),
      pattern,
    );
  });

  test('a stdout nobody reads does not hold requests; its lines follow once it is read', async () => {
    const serve = await startServe(ENV, [], cwd);
    serve.child.stdout?.pause(); // the pipe (64 KB) fills, then every write(2) to it would block
    const count = 3000; // ~300 KB of lines
    const statuses = await requests(() => `${serve.url}/healthz`, count);
    assert.ok(statuses.every((s) => s === 200));
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /^wxkit_log_lines_dropped_total 0$/m); // within the buffer: nothing dropped
    serve.child.stdout?.resume();
    const { code, lines } = await stopAndRead(serve);
    assert.equal(code, 0);
    assert.equal(lines.filter((l) => l.msg === 'request' && l.route === '/healthz').length, count);
  });
});

describe('wxkit serve --workers 2 on one pipe', () => {
  test('every line arrives whole (no two processes interleave) after SIGTERM', async () => {
    const serve = await startServe(ENV, ['--workers', '2'], cwd);
    const count = 4000;
    const statuses = await requests(() => `${serve.url}/healthz`, count);
    assert.ok(statuses.every((s) => s === 200));
    const { code, lines } = await stopAndRead(serve); // JSON.parse of every line: none is cut or mixed
    assert.equal(code, 0);
    assert.equal(lines.filter((l) => l.msg === 'request' && l.route === '/healthz').length, count);
  });
});

describe('bufferedLines behind a stalled reader (a real FIFO)', () => {
  test('drops lines beyond the buffer and counts them in /metrics, never blocking the writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-fifo-'));
    const fifo = join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, 'w');
    const errors: string[] = [];
    const output = serveOutput(
      { out: () => {}, err: (l) => errors.push(l), env: {}, cwd: dir, outFd: writer },
      { maxBufferBytes: 16 * 1024 },
    );
    const metrics = new Metrics();
    output.count(metrics);
    const total = 4000; // 100 bytes each: 400 KB against a 64 KB pipe and a 16 KB buffer
    for (let i = 0; i < total; i++) {
      output.logLine(`${JSON.stringify({ seq: i, pad: 'x'.repeat(80 - String(i).length) })}\n`);
      if (i % 20 === 19) await tick(); // lines arrive over many turns of the event loop, as requests do
    }
    const dropped = Number(/^wxkit_log_lines_dropped_total (\d+)$/m.exec(metrics.render())?.[1]);
    assert.ok(dropped > 0, 'lines beyond the buffer are dropped and counted');
    // Now read: what was queued drains, and end() resolves.
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    let ended = false;
    const ending = output.end().then(() => {
      ended = true;
    });
    while (!ended) {
      try {
        const n = readSync(reader, buf);
        if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      await tick();
    }
    await ending;
    closeSync(writer);
    for (;;) {
      const n = readSync(reader, buf);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    closeSync(reader);
    rmSync(dir, { recursive: true, force: true });
    const seqs = Buffer.concat(chunks)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.equal(seqs.length + dropped, total, 'every line either arrived whole or was counted');
    assert.ok(
      seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)),
      'in order',
    );
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', new RegExp(`${dropped} log lines were dropped.*丢弃 ${dropped} 行日志`));
  });
});

describe('process.exit() with lines still queued', () => {
  test('the exit hook writes them synchronously', async () => {
    const sink = new URL('../../src/cli/log-sink.ts', import.meta.url).href;
    const code = `
      import { serveOutput } from ${JSON.stringify(sink)};
      const out = serveOutput({ out() {}, err() {}, env: {}, cwd: '.', outFd: 1 });
      for (let i = 0; i < 500; i++) out.logLine(JSON.stringify({ seq: i }) + '\\n');
      process.exit(0); // before the batch timer: only the exit hook can write them
    `;
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    const [status] = (await once(child, 'close')) as [number];
    assert.equal(status, 0);
    const seqs = out
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 500 }, (_, i) => i),
    );
  });
});

describe('log lines still carry no secrets', () => {
  let wechat: Server;
  let wechatUrl: string;
  before(async () => {
    // A WeChat that quotes credentials back in its error (as a proxy or a new errcode might).
    wechat = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          errcode: 48888,
          errmsg: 'denied access_token=LEAK-TOKEN-1 secret=LEAK-SECRET-2 "ticket":"LEAK-TICKET-3"',
        }),
      );
    });
    await new Promise<void>((r) => wechat.listen(0, '127.0.0.1', r));
    wechatUrl = `http://127.0.0.1:${(wechat.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => wechat.close(() => r())));

  test('an upstream error quoting a token, a secret and a ticket is logged redacted', async () => {
    const serve = await startServe(
      {
        ...ENV,
        WX_APP_ID: 'wx10c0000000000001',
        WX_APP_SECRET: 'LEAK-APP-SECRET-4',
        WX_API_BASE: wechatUrl,
        WX_JS_DOMAINS: 'h5.example.com',
        WXKIT_STORE: 'memory',
      },
      [],
      cwd,
    );
    const res = await fetch(
      `${serve.url}/jssdk/config?url=${encodeURIComponent('https://h5.example.com/a?access_token=LEAK-QUERY-5')}`,
    );
    await res.arrayBuffer();
    assert.ok(res.status >= 500);
    const { lines } = await stopAndRead(serve);
    const all = serve.stdout() + serve.stderr();
    assert.ok(
      lines.some((l) => String(l.msg).includes('access_token=<redacted>')),
      all,
    );
    assert.ok(lines.some((l) => l.msg === 'request' && l.route === '/jssdk/config'));
    assert.doesNotMatch(all, /LEAK-/);
  });
});
