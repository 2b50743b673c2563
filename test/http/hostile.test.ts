import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { API_KEY, servedFixture } from './helpers.ts';

const served = servedFixture({ rateLimit: false });

/** Sends bytes as they are (no client-side validation) and reads the whole answer. */
function raw(request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(served.server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      resolve({ status: Number(head.split(' ')[1]), headers: head, body: text.slice(split + 4) });
    });
    socket.end(request);
  });
}

const GOOD = encodeURIComponent('https://h5.example.com/page');
const big = 'x'.repeat(20_000);

type Case = {
  name: string;
  status: number;
  code: string;
} & (
  | { path: string; method?: string; body?: string | Buffer; headers?: Record<string, string> }
  | { raw: string | Buffer }
);

const json = (v: unknown) => JSON.stringify(v);
const cfg = (url: string) => `/jssdk/config?url=${encodeURIComponent(url)}`;

const cases: Case[] = [
  // malformed and oversized
  {
    name: 'truncated JSON',
    path: '/jssdk/config',
    method: 'POST',
    body: '{"url":',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'JSON array body',
    path: '/jssdk/config',
    method: 'POST',
    body: '[]',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'JSON null body',
    path: '/jssdk/config',
    method: 'POST',
    body: 'null',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'empty body',
    path: '/jssdk/config',
    method: 'POST',
    body: '',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'invalid UTF-8 body',
    path: '/jssdk/config',
    method: 'POST',
    body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'deeply nested JSON',
    path: '/jssdk/config',
    method: 'POST',
    body: '['.repeat(5000) + ']'.repeat(5000),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'body over 16 KB',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: `https://h5.example.com/${big}` }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'announced 100 MB upload',
    raw: 'POST /jssdk/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"url":',
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'URL over 8 KB',
    path: `/jssdk/config?url=${GOOD}&_pad=${'x'.repeat(10_000)}`,
    status: 414,
    code: 'payload_too_large',
  },
  {
    name: 'header block over the limit',
    raw: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'payload_too_large',
  },
  // wrong types
  {
    name: 'url is a number',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 123 }),
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'url is an array',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: ['https://h5.example.com/'] }),
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'jsApiList of numbers',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', jsApiList: [1, 2] }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'jsApiList is an object',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', jsApiList: { a: 1 } }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'api name with markup',
    path: `${cfg('https://h5.example.com/')}&apis=%3Cscript%3E`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: '500 api names',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', jsApiList: Array(500).fill('a') }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'debug is a string',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', debug: 'yes' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'appId is an object',
    path: '/jssdk/config',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', appId: {} }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'appId with a path',
    path: `${cfg('https://h5.example.com/')}&appId=..%2F..%2Fetc`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'diagnose timestamp is an object',
    path: '/jssdk/diagnose',
    method: 'POST',
    body: json({ url: 'https://h5.example.com/', signature: 'a', nonceStr: 'b', timestamp: {} }),
    status: 400,
    code: 'invalid_request',
  },
  // prototype pollution
  {
    name: '__proto__ key',
    path: '/jssdk/config',
    method: 'POST',
    body: '{"url":"https://h5.example.com/","__proto__":{"isAdmin":true}}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'nested constructor.prototype',
    path: '/jssdk/config',
    method: 'POST',
    body: '{"url":"https://h5.example.com/","x":{"constructor":{"prototype":{"polluted":1}}}}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: '__proto__ in diagnose',
    path: '/jssdk/diagnose',
    method: 'POST',
    body: '{"__proto__":{"url":"https://h5.example.com/"}}',
    status: 400,
    code: 'invalid_request',
  },
  // allow-list tricks
  {
    name: 'suffix domain h5.example.com.evil.com',
    path: cfg('https://h5.example.com.evil.com/'),
    status: 403,
    code: 'url_not_allowed',
  },
  {
    name: 'domain in the path evil.com/h5.example.com',
    path: cfg('https://evil.com/h5.example.com'),
    status: 403,
    code: 'url_not_allowed',
  },
  {
    name: 'userinfo h5.example.com@evil.com',
    path: cfg('https://h5.example.com@evil.com/'),
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'userinfo user:pass@h5.example.com',
    path: cfg('https://user:pass@h5.example.com/'),
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'backslash evil.com\\@h5.example.com',
    path: cfg('https://evil.com\\@h5.example.com/'),
    status: 403,
    code: 'url_not_allowed',
  },
  {
    name: 'hash evil.com#@h5.example.com',
    path: cfg('https://evil.com#@h5.example.com'),
    status: 403,
    code: 'url_not_allowed',
  },
  {
    name: 'lookalike prefix xh5.example.com',
    path: cfg('https://xh5.example.com/'),
    status: 403,
    code: 'url_not_allowed',
  },
  { name: 'trailing-dot host', path: cfg('https://h5.example.com./'), status: 403, code: 'url_not_allowed' },
  {
    name: 'encoded dot in host',
    path: cfg('https://h5.example.com%2eevil.com/'),
    status: 403,
    code: 'url_not_allowed',
  },
  {
    name: 'other port 8080',
    path: cfg('https://h5.example.com:8080/'),
    status: 403,
    code: 'url_not_allowed',
  },
  { name: 'loopback outside sandbox', path: cfg('http://127.0.0.1/'), status: 403, code: 'url_not_allowed' },
  {
    name: 'javascript: URL',
    path: cfg('javascript:alert(1)//h5.example.com'),
    status: 400,
    code: 'invalid_url',
  },
  { name: 'protocol-relative URL', path: cfg('//h5.example.com/'), status: 400, code: 'invalid_url' },
  // CRLF, NUL, encoding
  {
    name: 'encoded CRLF in url',
    path: `/jssdk/config?url=${GOOD}%0d%0aSet-Cookie:%20a=b`,
    status: 400,
    code: 'invalid_url',
  },
  { name: 'encoded NUL in url', path: `/jssdk/config?url=${GOOD}%00`, status: 400, code: 'invalid_url' },
  {
    name: 'raw CRLF splitting the request line',
    raw: 'GET /jssdk/config?url=a\r\nX: y HTTP/1.1\r\nHost: x\r\n\r\n',
    status: 400,
    code: 'invalid_url',
  },
  {
    name: 'bare CR in the path',
    raw: 'GET /jssdk/con\rfig HTTP/1.1\r\nHost: x\r\n\r\n',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'CRLF in a header value',
    raw: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'raw NUL in the path',
    raw: Buffer.from('GET /jssdk/\0config HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'malformed Content-Length',
    raw: 'POST /jssdk/config HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'truncated percent-escape',
    path: '/jssdk/config?url=https%3A%2F%2Fh5.example.com%2F%E0%A4%A',
    status: 400,
    code: 'invalid_request',
  },
  { name: 'non-hex percent-escape', path: '/jssdk/config?url=%zz', status: 400, code: 'invalid_request' },
  {
    name: 'overlong UTF-8 escape',
    path: `/jssdk/config?url=${GOOD}%C0%AF`,
    status: 400,
    code: 'invalid_request',
  },
  // duplicates and unencoded URLs
  {
    name: 'duplicate url parameter',
    path: `/jssdk/config?url=${GOOD}&url=${encodeURIComponent('https://evil.com/')}`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'apis and jsApiList both',
    path: `/jssdk/config?url=${GOOD}&apis=a&jsApiList=b`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'unencoded page URL with its own query',
    path: '/jssdk/config?url=https://h5.example.com/p?x=1&y=2',
    status: 400,
    code: 'invalid_request',
  },
  // methods, paths, auth
  {
    name: 'DELETE on /jssdk/config',
    path: `/jssdk/config?url=${GOOD}`,
    method: 'DELETE',
    status: 405,
    code: 'invalid_request',
  },
  { name: 'unknown path', path: '/admin', status: 404, code: 'not_found' },
  {
    name: 'path traversal to media',
    path: '/jssdk/media/..%2f..%2fetc%2fpasswd',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'unknown appId',
    path: `${cfg('https://h5.example.com/')}&appId=wxdoesnotexist`,
    status: 404,
    code: 'unknown_app',
  },
  {
    name: 'token API without a key',
    path: '/v1/apps/wxa000000000000001/access_token',
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token API with a long wrong key',
    path: '/v1/apps/wxa000000000000001/access_token',
    headers: { authorization: `Bearer ${API_KEY}${'x'.repeat(4000)}` },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'token API with Basic auth',
    path: '/v1/apps/wxa000000000000001/access_token',
    headers: { authorization: `Basic ${Buffer.from(`a:${API_KEY}`).toString('base64')}` },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'invalidate with a numeric value',
    path: '/v1/apps/wxa000000000000001/access_token/invalidate',
    method: 'POST',
    body: json({ value: 1 }),
    headers: { authorization: `Bearer ${API_KEY}` },
    status: 400,
    code: 'invalid_request',
  },
];

test('hostile inputs get the documented 4xx JSON error, never a 500 or a stack trace, and the service keeps serving', async (t) => {
  for (const c of cases) {
    await t.test(c.name, async () => {
      let status: number;
      let text: string;
      if ('raw' in c) {
        const r = await raw(c.raw);
        status = r.status;
        text = r.body;
        assert.match(r.headers, /content-type: application\/json/i);
      } else {
        const res = await fetch(`${served.server.url}${c.path}`, {
          method: c.method ?? 'GET',
          headers: { 'content-type': 'application/json', ...(c.headers ?? {}) },
          ...(c.body !== undefined ? { body: c.body as BodyInit } : {}),
        });
        status = res.status;
        text = await res.text();
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      }
      assert.equal(status, c.status, text);
      const body = JSON.parse(text) as { error: { code: string; message: string; hint: string } };
      assert.equal(body.error.code, c.code, text);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(typeof body.error.hint, 'string');
      assert.doesNotMatch(text, /\bat \S+:\d+:\d+|node:internal|\.ts:\d+/, 'no stack trace');
      assert.ok(!text.includes(API_KEY), 'never echoes the key');
    });
  }
  const health = await fetch(`${served.server.url}/healthz`);
  assert.equal(health.status, 200);
  const ok = await fetch(`${served.server.url}/jssdk/config?url=${GOOD}`);
  assert.equal(ok.status, 200, 'still signing after the barrage');
  assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  assert.equal(served.f.logs.filter((l) => l.level === 'error').length, 0, 'no internal errors logged');
});
