import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { createFastifyPlugin } from '../../src/adapters/fastify.ts';
import { createHandler } from '../../src/http/handler.ts';
import { listen } from '../../src/serve/server.ts';
import { servedFixture } from './helpers.ts';

// Findings of the security/robustness review of the service, each pinned by a test.

const served = servedFixture({ rateLimit: false });

const internalErrors = () => served.f.logs.filter((l) => l.level === 'error' || l.code === 'internal');

test('a request body that fails while being read is a 400, not a 500 "bug in wxkit"', async () => {
  served.f.logs.length = 0;
  const body = new ReadableStream({
    pull(c) {
      c.error(new Error('socket hang up'));
    },
  });
  const res = await served.f.handler(
    new Request('http://svc.test/jssdk/config', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit),
  );
  assert.equal(res.status, 400);
  const err = (await res.json()) as { error: { code: string } };
  assert.equal(err.error.code, 'invalid_request');
  assert.deepEqual(internalErrors(), []);
});

test('a client that hangs up in the middle of its body leaves no internal error behind', async () => {
  served.f.logs.length = 0;
  await new Promise<void>((resolve, reject) => {
    const socket = connect(served.server.port, '127.0.0.1', () => {
      socket.write(
        'POST /jssdk/config HTTP/1.1\r\nHost: svc.test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"url":',
      );
      setImmediate(() => socket.destroy());
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  // The handler finishes on its own; wait until it has logged the request line.
  for (let i = 0; i < 200 && !served.f.logs.some((l) => l.msg === 'request'); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const line = served.f.logs.find((l) => l.msg === 'request');
  assert.ok(line, 'the request was answered');
  assert.equal(line.status, 400);
  assert.deepEqual(internalErrors(), []);
});

test('cacheable CORS responses say Vary: Origin also when the request had no Origin', async () => {
  // A CDN that stored the copy without Access-Control-Allow-Origin must not hand it to a page's fetch().
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-review-'));
  try {
    const script = join(dir, 'client.global.js');
    await writeFile(script, 'window.wxkit = {};');
    const handler = createHandler([served.f.a], { clientScriptPath: script, log: false, rateLimit: false });
    const plain = await handler(new Request('http://svc.test/jssdk/client.js'));
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('cache-control') ?? '', /public/);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    assert.match(plain.headers.get('vary') ?? '', /Origin/i);
    const cors = await handler(
      new Request('http://svc.test/jssdk/client.js', { headers: { origin: 'https://h5.example.com' } }),
    );
    assert.equal(cors.headers.get('access-control-allow-origin'), 'https://h5.example.com');
    assert.match(cors.headers.get('vary') ?? '', /Origin/i);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an internal error quoting a JSON body logs no token, ticket or secret from it', async () => {
  const logs: Record<string, unknown>[] = [];
  const handler = createHandler([served.f.a], {
    log: (e) => logs.push(e),
    rateLimit: false,
    routes: [
      {
        method: 'GET',
        path: '/boom',
        handle() {
          throw new Error(
            'unexpected upstream body {"access_token":"AT-SECRET-123","expires_in":7200,"ticket": "TK-SECRET-456","secret":"APP-SECRET-789"}',
          );
        },
      },
    ],
  });
  const res = await handler(new Request('http://svc.test/boom'));
  assert.equal(res.status, 500);
  const text = JSON.stringify(logs) + (await res.text());
  assert.ok(
    logs.some((l) => l.msg === 'internal error'),
    'the internal error is logged',
  );
  for (const secret of ['AT-SECRET-123', 'TK-SECRET-456', 'APP-SECRET-789']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
});

/** A handler with a never-ending streamed route; `cancelled` settles when the stream is cancelled. */
function streamingHandler() {
  let timer: NodeJS.Timeout | undefined;
  let cancelled: () => void = () => {};
  const wasCancelled = new Promise<string>((resolve) => {
    cancelled = () => resolve('cancelled');
  });
  const handler = createHandler([served.f.a], {
    log: false,
    rateLimit: false,
    routes: [
      {
        method: 'GET',
        path: '/events',
        handle: () =>
          new Response(
            new ReadableStream({
              start(c) {
                timer = setInterval(() => c.enqueue(new TextEncoder().encode('data: x\n\n')), 5);
              },
              cancel() {
                clearInterval(timer);
                cancelled();
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      },
    ],
  });
  const outcome = () =>
    Promise.race([
      wasCancelled,
      new Promise<string>((r) => setTimeout(() => r('still running'), 3000).unref()),
    ]);
  return { handler, outcome, stop: () => clearInterval(timer) };
}

for (const method of ['GET', 'HEAD']) {
  test(`a streamed Response is cancelled when nobody reads it any more (${method}; no source left running)`, async () => {
    const s = streamingHandler();
    const srv = await listen(s.handler, '127.0.0.1', 0);
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(srv.port, '127.0.0.1', () =>
          socket.write(`${method} /events HTTP/1.1\r\nHost: svc.test\r\n\r\n`),
        );
        socket.once('data', () => {
          socket.destroy(); // GET: the client goes away mid-stream; HEAD: the answer is complete
          resolve();
        });
        socket.on('error', reject);
      });
      assert.equal(await s.outcome(), 'cancelled');
    } finally {
      s.stop();
      await srv.close(100);
    }
  });
}

test('a streamed Response is cancelled for a HEAD request through the web handler', async () => {
  const s = streamingHandler();
  try {
    const res = await s.handler(new Request('http://svc.test/events', { method: 'HEAD' }));
    assert.equal(res.status, 200);
    assert.equal(res.body, null);
    assert.equal(await s.outcome(), 'cancelled');
  } finally {
    s.stop();
  }
});

test('Fastify: a reply that cannot be written is a 500 JSON, not a hijacked request left hanging', async () => {
  const handler = createHandler([served.f.a], {
    log: false,
    rateLimit: false,
    // A user route with a header Node refuses to send (CR/LF in the value).
    routes: [
      {
        method: 'GET',
        path: '/bad-header',
        handle: () => ({ status: 200, headers: { 'x-bad': 'a\r\nb' }, body: 'x' }),
      },
    ],
  });
  const app = Fastify({ logger: false });
  await app.register(createFastifyPlugin(handler));
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = app.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/bad-header`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 500);
    const err = (await res.json()) as { error: { code: string } };
    assert.equal(err.error.code, 'internal');
  } finally {
    await app.close();
  }
});
