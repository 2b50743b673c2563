import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientKey } from '../../src/http/client-address.ts';
import { clientIp } from '../../src/http/handler.ts';
import type { HttpInput } from '../../src/http/route.ts';
import { fixture, servedFixture } from '../http/helpers.ts';

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

describe('rate-limit keys (issue 18 item 4)', () => {
  const input = (xff: string | undefined, socket = '10.0.0.9'): HttpInput => ({
    method: 'GET',
    target: '/',
    header: (name) => (name === 'x-forwarded-for' ? xff : undefined),
    clientIp: socket,
    readBody: async () => new Uint8Array(0),
  });

  test('ports are stripped from X-Forwarded-For entries, and ::ffff: is unmapped', () => {
    assert.equal(clientIp(input('1.2.3.4:51234'), 1), '1.2.3.4');
    assert.equal(clientIp(input('6.6.6.6, 1.2.3.4:443'), 1), '1.2.3.4');
    assert.equal(clientIp(input('[2001:db8::7]:8443'), 1), '2001:db8::7');
    assert.equal(clientIp(input('[2001:db8::7]'), 1), '2001:db8::7');
    assert.equal(clientIp(input('::ffff:1.2.3.4'), 1), '1.2.3.4');
    assert.equal(clientIp(input(undefined, '::ffff:10.0.0.8'), 1), '10.0.0.8', 'a dual-stack socket');
    assert.equal(clientIp(input('1.2.3.4:99999'), 1), '10.0.0.9', 'not a port');
    assert.equal(clientIp(input('1.2.3.4:80:80'), 1), '10.0.0.9');
  });

  test('an IPv6 client is keyed by its /64; IPv4 by its address', () => {
    const key = clientKey('2001:db8:1:2:aaaa::1');
    assert.equal(key, '2001:db8:1:2::/64');
    for (const other of [
      '2001:db8:1:2::ffff',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:0',
    ]) {
      assert.equal(clientKey(other), key, other);
    }
    assert.notEqual(clientKey('2001:db8:1:3::1'), key);
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(clientKey('1.2.3.4'), '1.2.3.4');
    assert.notEqual(clientKey('1.2.3.5'), clientKey('1.2.3.4'));
  });

  /** Statuses of `GET /oauth/me` (a rate-limited route) sent through one trusted proxy with these X-Forwarded-For. */
  async function statuses(xffs: readonly string[]): Promise<number[]> {
    const f = await fixture({ trustProxy: 1, rateLimit: { perSecond: 0.001, burst: 2 }, now: () => 0 });
    try {
      const out: number[] = [];
      for (const xff of xffs) {
        const res = await f.handler(
          new Request('http://svc.example/oauth/me', {
            headers: { 'x-forwarded-for': xff },
          }),
          { clientIp: '127.0.0.1' },
        );
        out.push(res.status);
      }
      return out;
    } finally {
      await f.close();
    }
  }

  test('a client walking through its IPv6 /64 stays in one bucket', async () => {
    const walk = ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6::3', '2001:db8:5:6:ffff::4'];
    const answers = await statuses(walk);
    assert.deepEqual(answers.slice(2), [429, 429], `statuses: ${answers}`);
    assert.deepEqual((await statuses(['2001:db8:5:6::1', '2001:db8:9:9::1'])).includes(429), false);
  });

  test('clients behind a proxy that writes ports get a bucket each, not one shared bucket', async () => {
    const answers = await statuses(['1.1.1.1:4001', '2.2.2.2:4001', '3.3.3.3:4001', '4.4.4.4:4001']);
    assert.deepEqual(answers.includes(429), false, `statuses: ${answers}`);
    const same = await statuses(['5.5.5.5:1', '5.5.5.5:2', '::ffff:5.5.5.5']);
    assert.equal(same[2], 429, `one client, three spellings: ${same}`);
  });
});
