import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientIp } from '../../src/http/handler.ts';
import type { HttpInput } from '../../src/http/route.ts';
import { servedFixture } from '../http/helpers.ts';

const served = servedFixture({ rateLimit: false });

const PAGE = 'https://h5.example.com';

function preflight(path: string, origin: string, requestedHeaders?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${served.server.port}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      ...(requestedHeaders ? { 'access-control-request-headers': requestedHeaders } : {}),
    },
  });
}

describe('preflight is answered per route (issue 10 item 8)', () => {
  for (const path of [
    '/v1/apps/wxa000000000000001/access_token',
    '/v1/apps/wxa000000000000001/access_token/invalidate',
    '/oauth/logout',
    '/oauth/me',
    '/metrics',
  ]) {
    test(`${path}: never approved for a page, even a JS-safe one`, async () => {
      const res = await preflight(path, PAGE, 'authorization');
      assert.equal(res.status, 204);
      for (const h of [
        'access-control-allow-origin',
        'access-control-allow-credentials',
        'access-control-allow-headers',
        'access-control-allow-methods',
      ]) {
        assert.equal(res.headers.get(h), null, `${h} on ${path}`);
      }
    });
  }

  test('CORS routes: approved for allowed origins with their own methods only', async () => {
    const media = await preflight('/jssdk/media', PAGE, 'content-type');
    assert.equal(media.headers.get('access-control-allow-origin'), PAGE);
    assert.equal(media.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(media.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    assert.equal(media.headers.get('access-control-allow-headers'), 'content-type');
    const config = await preflight('/jssdk/config', PAGE);
    assert.equal(config.headers.get('access-control-allow-methods'), 'GET, POST, HEAD, OPTIONS');
    const evil = await preflight('/jssdk/config', 'https://evil.example');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('access-control-allow-methods'), null);
    assert.equal(evil.headers.get('vary'), 'Origin');
  });

  test('an unknown path is still a 404', async () => {
    const res = await preflight('/nope', PAGE);
    assert.equal(res.status, 404);
  });

  test('a 404 outside sandbox mode lists every family of endpoints (issue 12 item 6)', async () => {
    const res = await fetch(`http://127.0.0.1:${served.server.port}/`);
    assert.equal(res.status, 404);
    const { error } = (await res.json()) as { error: { hint: string } };
    for (const path of ['/jssdk/config', '/jssdk/media', '/oauth/login', '/v1/apps/', '/readyz']) {
      assert.ok(error.hint.includes(path), `${path} in ${error.hint}`);
    }
  });
});

describe('trusted proxies (issue 10 item 10)', () => {
  const input = (xff: string | undefined): HttpInput => ({
    method: 'GET',
    target: '/',
    header: (name) => (name === 'x-forwarded-for' ? xff : undefined),
    clientIp: '10.0.0.9',
    readBody: async () => new Uint8Array(0),
  });

  test('a header shorter than the trusted hops is the client talking: the socket address is used', () => {
    // Two proxies: the real chain is "client, proxy1". A client that sends its own header straight to
    // proxy 1 gets "spoofed, client"; one that reached proxy 2 directly sends only "spoofed".
    assert.equal(clientIp(input('6.6.6.6'), 2), '10.0.0.9');
    assert.equal(clientIp(input('6.6.6.6, 1.2.3.4'), 2), '6.6.6.6');
    assert.equal(clientIp(input('6.6.6.6, 1.2.3.4, 5.6.7.8'), 2), '1.2.3.4');
    assert.equal(clientIp(input('1.2.3.4'), 1), '1.2.3.4');
    assert.equal(clientIp(input(undefined), 1), '10.0.0.9');
  });

  test('an entry that is not an address is not a client identity', () => {
    assert.equal(clientIp(input('not-an-ip'), 1), '10.0.0.9');
    assert.equal(clientIp(input(', '), 1), '10.0.0.9');
    assert.equal(clientIp(input('::1'), 1), '::1');
  });
});
