import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler } from '../../src/http/handler.ts';
import { signJssdk } from '../../src/signature.ts';
import { API_KEY, APP_A, APP_B, errorOf, type Fixture, fixture, get, post } from './helpers.ts';

let f: Fixture;
before(async () => {
  f = await fixture();
});
after(() => f.close());

async function ticketOf(appId: string): Promise<string> {
  const res = await get(f.handler, `/v1/apps/${appId}/jsapi_ticket`, { authorization: `Bearer ${API_KEY}` });
  assert.equal(res.status, 200);
  return ((await res.json()) as { value: string }).value;
}

describe('/jssdk/config', () => {
  test('GET signs the page URL for wx.config with the account ticket', async () => {
    const page = 'https://h5.example.com/shop/item?id=7&from=timeline';
    const res = await get(
      f.handler,
      `/jssdk/config?url=${encodeURIComponent(`${page}#/cart`)}&apis=chooseImage,uploadImage&openTags=wx-open-launch-weapp&debug=1`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'appId',
      'debug',
      'jsApiList',
      'nonceStr',
      'openTagList',
      'signature',
      'timestamp',
    ]);
    assert.equal(body.appId, APP_A);
    assert.deepEqual(body.jsApiList, ['chooseImage', 'uploadImage']);
    assert.deepEqual(body.openTagList, ['wx-open-launch-weapp']);
    assert.equal(body.debug, true);
    const ticket = await ticketOf(APP_A);
    const expected = signJssdk({
      ticket,
      nonceStr: body.nonceStr as string,
      timestamp: body.timestamp as number,
      url: page,
    });
    assert.equal(body.signature, expected, 'signed without the hash, nothing else changed');
  });

  test('POST takes the JSON form and a whole-encoded URL is decoded once', async () => {
    const page = 'https://h5.example.com/a?x=%E4%BD%A0';
    const res = await post(f.handler, '/jssdk/config', {
      url: encodeURIComponent(page),
      jsApiList: ['scanQRCode'],
      debug: false,
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      signature: string;
      nonceStr: string;
      timestamp: number;
      jsApiList: string[];
    };
    assert.deepEqual(body.jsApiList, ['scanQRCode']);
    const ticket = await ticketOf(APP_A);
    assert.equal(
      body.signature,
      signJssdk({ ticket, nonceStr: body.nonceStr, timestamp: body.timestamp, url: page }),
    );
  });

  test('appId selects the account; an unknown appId is unknown_app 404', async () => {
    const res = await get(
      f.handler,
      `/jssdk/config?appId=${APP_B}&url=${encodeURIComponent('https://b.example.org/app/x')}`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      appId: string;
      signature: string;
      nonceStr: string;
      timestamp: number;
    };
    assert.equal(body.appId, APP_B);
    const ticket = await ticketOf(APP_B);
    assert.equal(
      body.signature,
      signJssdk({
        ticket,
        nonceStr: body.nonceStr,
        timestamp: body.timestamp,
        url: 'https://b.example.org/app/x',
      }),
    );
    const unknown = await get(
      f.handler,
      `/jssdk/config?appId=wxnope&url=${encodeURIComponent('https://h5.example.com/')}`,
    );
    assert.equal(unknown.status, 404);
    assert.equal((await errorOf(unknown)).code, 'unknown_app');
  });

  test('url_not_allowed names the bound domains, the page host and the port rule', async () => {
    const res = await get(
      f.handler,
      `/jssdk/config?url=${encodeURIComponent('https://h5.example.com:8443/p')}`,
    );
    assert.equal(res.status, 403);
    const err = await errorOf(res);
    assert.equal(err.code, 'url_not_allowed');
    assert.match(err.message, /h5\.example\.com:8443/);
    assert.match(err.message, /80 and 443/);
    assert.match(err.message, /Bound JS-safe domains of wxa000000000000001: h5\.example\.com/);
    const path = await get(
      f.handler,
      `/jssdk/config?appId=${APP_B}&url=${encodeURIComponent('https://b.example.org/other')}`,
    );
    assert.equal(path.status, 403);
    assert.match((await errorOf(path)).message, /path prefix/);
    const evil = await get(
      f.handler,
      `/jssdk/config?url=${encodeURIComponent('https://h5.example.com.evil.com/')}`,
    );
    const evilErr = await errorOf(evil);
    assert.match(evilErr.message, /page host h5\.example\.com\.evil\.com /);
    assert.match(evilErr.message, /ports 80 and 443 only/, 'the port rule is always named');
    assert.deepEqual((evilErr.details as { domains: string[] }).domains, ['h5.example.com']);
    const loop = await get(f.handler, `/jssdk/config?url=${encodeURIComponent('http://127.0.0.1:5173/')}`);
    assert.equal(loop.status, 403, 'loopback is only exempt in sandbox mode');
  });

  test('a missing or relative url is invalid_url 400', async () => {
    for (const q of ['', '?url=', '?url=%2Fpath', '?url=ftp%3A%2F%2Fh5.example.com%2F']) {
      const res = await get(f.handler, `/jssdk/config${q}`);
      assert.equal(res.status, 400, q);
      assert.equal((await errorOf(res)).code, 'invalid_url', q);
    }
  });

  test('WeChat refusing the credentials is wechat_error 502 with the errcode; an outage is 503 with Retry-After', async () => {
    const sim = f.sim;
    const fresh = await fixture();
    try {
      fresh.sim.setFaults({ path: '/cgi-bin/stable_token', errcode: 40164, times: 100 });
      const res = await get(
        fresh.handler,
        `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`,
      );
      assert.equal(res.status, 502);
      const err = await errorOf(res);
      assert.equal(err.code, 'wechat_error');
      assert.deepEqual((err.wechat as { errcode: number }).errcode, 40164);
      assert.ok(err.hint.length > 0);
    } finally {
      await fresh.close();
    }
    const down = await fixture();
    try {
      down.sim.setFaults({ path: '/cgi-bin/stable_token', drop: true, times: 100 });
      const res = await get(
        down.handler,
        `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`,
      );
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal((await errorOf(res)).code, 'upstream_unavailable');
    } finally {
      await down.close();
    }
    assert.ok(sim);
  });
});

describe('/jssdk/diagnose', () => {
  test('names the first failing item and never returns the ticket', async () => {
    const good = (await (
      await get(f.handler, `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/p?a=1')}`)
    ).json()) as {
      signature: string;
      nonceStr: string;
      timestamp: number;
    };
    const ok = await post(f.handler, '/jssdk/diagnose', {
      url: 'https://h5.example.com/p?a=1',
      ...good,
      appId: APP_A,
    });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { ok: boolean }).ok, true);
    const ticket = await ticketOf(APP_A);
    // The page signed location.href with its hash: WeChat verifies the URL without it.
    const withHash = signJssdk({
      ticket,
      nonceStr: good.nonceStr,
      timestamp: good.timestamp,
      url: 'https://h5.example.com/p?a=1#/x',
    });
    const res = await post(f.handler, '/jssdk/diagnose', {
      url: 'https://h5.example.com/p?a=1#/x',
      signature: withHash,
      nonceStr: good.nonceStr,
      timestamp: good.timestamp,
      appId: APP_A,
      errMsg: 'config:invalid signature',
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const report = JSON.parse(text) as { ok: boolean; code: string };
    assert.equal(report.ok, false);
    assert.equal(report.code, 'url_hash');
    assert.ok(!text.includes(ticket), 'the ticket never leaves the service');
    const outside = await post(f.handler, '/jssdk/diagnose', { url: 'https://evil.example.net/', ...good });
    const outsideReport = (await outside.json()) as { code: string; expectedSignature?: string };
    assert.equal(outsideReport.code, 'domain_not_bound');
    assert.equal(
      outsideReport.expectedSignature,
      undefined,
      'no signature for pages outside the JS-safe domains',
    );
    const bad = await post(f.handler, '/jssdk/diagnose', { url: 'https://h5.example.com/' });
    assert.equal(bad.status, 400);
    assert.equal((await errorOf(bad)).code, 'invalid_request');
  });
});

describe('token API', () => {
  test('bearer keys guard it; compare-and-invalidate only drops the current token', async () => {
    const none = await get(f.handler, `/v1/apps/${APP_A}/access_token`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="wxkit"');
    const wrong = await get(f.handler, `/v1/apps/${APP_A}/access_token`, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal((await errorOf(wrong)).code, 'unauthorized');
    const auth = { authorization: `Bearer ${API_KEY}` };
    const unknown = await get(f.handler, '/v1/apps/wxunknown/access_token', auth);
    assert.equal(unknown.status, 404);
    assert.equal((await errorOf(unknown)).code, 'unknown_app');
    const res = await get(f.handler, `/v1/apps/${APP_A}/access_token`, auth);
    assert.equal(res.status, 200);
    const token = (await res.json()) as { value: string; expiresAt: number };
    assert.ok(token.value.length > 10);
    assert.ok(token.expiresAt > Date.now());
    const stale = await post(
      f.handler,
      `/v1/apps/${APP_A}/access_token/invalidate`,
      { value: 'not-the-current-one' },
      auth,
    );
    assert.deepEqual(await stale.json(), { invalidated: false });
    // Dropping the current token is throttled (test/security/tokens.test.ts): a fresh one is refused.
    const current = await post(
      f.handler,
      `/v1/apps/${APP_A}/access_token/invalidate`,
      { value: token.value },
      auth,
    );
    assert.equal(current.status, 429);
    assert.equal((await errorOf(current)).code, 'rate_limited');
    assert.ok(!JSON.stringify(f.logs).includes(token.value), 'tokens never reach the logs');
  });

  test('is off (404) without WXKIT_API_KEYS', async () => {
    const handler = createHandler(f.a, { log: false });
    const res = await get(handler, `/v1/apps/${APP_A}/access_token`, { authorization: `Bearer ${API_KEY}` });
    assert.equal(res.status, 404);
    assert.equal((await errorOf(res)).code, 'not_found');
  });
});

describe('service endpoints', () => {
  test('healthz, readyz and metrics', async () => {
    assert.deepEqual(await (await get(f.handler, '/healthz')).json(), { ok: true });
    const ready = await get(f.handler, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    const metrics = await (await get(f.handler, '/metrics')).text();
    assert.match(metrics, /# TYPE wxkit_http_requests_total counter/);
    assert.match(metrics, /wxkit_http_requests_total\{route="\/jssdk\/config",status="200"\} \d+/);
    assert.match(
      metrics,
      /wxkit_http_request_duration_seconds_bucket\{route="\/jssdk\/config",le="0\.005"\}/,
    );
    assert.match(metrics, /wxkit_upstream_calls_total/);
    assert.equal(metrics.match(/# TYPE wxkit_http_requests_total /g)?.length, 1, 'one header per family');
    assert.ok(!metrics.includes(await ticketOf(APP_A)));
  });

  test('readyz is 503 while credentials cannot be obtained', async () => {
    const down = await fixture();
    try {
      down.sim.setFaults({ path: '/cgi-bin/stable_token', errcode: 40164, times: 100 });
      const res = await get(down.handler, '/readyz');
      assert.equal(res.status, 503);
      const body = (await res.json()) as { ready: boolean; accounts: { credentials: boolean }[] };
      assert.equal(body.ready, false);
      assert.equal(body.accounts[0]?.credentials, false);
    } finally {
      await down.close();
    }
  });

  test('client.js is served with an ETag (304 on revalidation); a clear 503 when not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-client-'));
    try {
      const file = join(dir, 'client.global.js');
      writeFileSync(file, 'var wxkit=(function(){return {}})();');
      const handler = createHandler(f.a, { log: false, clientScriptPath: file });
      const res = await get(handler, '/jssdk/client.js');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      const etag = res.headers.get('etag');
      assert.ok(etag);
      assert.match(res.headers.get('cache-control') ?? '', /max-age/);
      assert.equal(await res.text(), 'var wxkit=(function(){return {}})();');
      const again = await get(handler, '/jssdk/client.js', { 'if-none-match': etag });
      assert.equal(again.status, 304);
      const missing = createHandler(f.a, { log: false, clientScriptPath: join(dir, 'nope.js') });
      const gone = await get(missing, '/jssdk/client.js');
      assert.equal(gone.status, 503);
      assert.match((await errorOf(gone)).message, /not built/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CORS: preflight and responses for the JS-safe domains only', async () => {
    const pre = await f.handler(
      new Request('http://svc.test/jssdk/config', {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.h5.example.com', 'access-control-request-method': 'POST' },
      }),
    );
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.h5.example.com');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Content-Type/);
    const url = `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`;
    const ok = await get(f.handler, url, { origin: 'http://h5.example.com' });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://h5.example.com');
    assert.equal(ok.headers.get('vary'), 'Origin');
    const evil = await get(f.handler, url, { origin: 'https://h5.example.com.evil.com' });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const port = await get(f.handler, url, { origin: 'https://h5.example.com:8443' });
    assert.equal(port.headers.get('access-control-allow-origin'), null);
    const token = await get(f.handler, `/v1/apps/${APP_A}/access_token`, {
      origin: 'https://h5.example.com',
      authorization: `Bearer ${API_KEY}`,
    });
    assert.equal(token.headers.get('access-control-allow-origin'), null, 'the token API is not for browsers');
    const listed = createHandler(f.a, { log: false, corsOrigins: ['https://admin.example.net'] });
    const res = await get(listed, url, { origin: 'https://admin.example.net' });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://admin.example.net');
  });

  test('CORS: cross-origin pages may send custom headers and cookies, but never under "*"', async () => {
    const preflight = (handler: typeof f.handler, requested: string) =>
      handler(
        new Request('http://svc.test/jssdk/media', {
          method: 'OPTIONS',
          headers: {
            origin: 'https://h5.example.com',
            'access-control-request-method': 'POST',
            'access-control-request-headers': requested,
          },
        }),
      );
    const pre = await preflight(f.handler, 'content-type, x-csrf-token');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type, x-csrf-token');
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    const junk = await preflight(f.handler, 'x-a, set-cookie: y');
    assert.equal(junk.headers.get('access-control-allow-headers'), 'Content-Type, Authorization');
    const url = `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`;
    const ok = await get(f.handler, url, { origin: 'https://h5.example.com' });
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const any = createHandler(f.a, { log: false, corsOrigins: '*' });
    const star = await get(any, url, { origin: 'https://anyone.example' });
    assert.equal(star.headers.get('access-control-allow-origin'), 'https://anyone.example');
    assert.equal(star.headers.get('access-control-allow-credentials'), null);
  });

  test('rate limit: a token bucket per client, 429 with Retry-After, refilled by the clock', async () => {
    let now = 1_000_000;
    const handler = createHandler(f.a, { log: false, rateLimit: { perSecond: 2, burst: 3 }, now: () => now });
    const hit = (ip: string) =>
      handler(new Request('http://svc.test/healthz-not-limited/jssdk/config'), { clientIp: ip }).then(() =>
        handler(
          new Request(`http://svc.test/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`),
          { clientIp: ip },
        ),
      );
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await hit('10.0.0.1')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await hit('10.0.0.1');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal((await errorOf(limited)).code, 'rate_limited');
    assert.equal((await hit('10.0.0.2')).status, 200, 'other clients are not affected');
    // A diagnosis is expensive: it takes a whole bucket here.
    const diag = new Request('http://svc.test/jssdk/diagnose', { method: 'POST', body: '{}' });
    assert.equal((await handler(diag, { clientIp: '10.0.0.3' })).status, 400);
    assert.equal((await hit('10.0.0.3')).status, 429);
    assert.equal(
      (await handler(new Request('http://svc.test/healthz'), { clientIp: '10.0.0.1' })).status,
      200,
    );
    now += 1000;
    assert.equal((await hit('10.0.0.1')).status, 200);
  });

  test('X-Forwarded-For decides the client only behind a trusted proxy', async () => {
    const url = `http://svc.test/jssdk/config?url=${encodeURIComponent('https://h5.example.com/')}`;
    const send = (h: ReturnType<typeof createHandler>, xff: string) =>
      h(new Request(url, { headers: { 'x-forwarded-for': xff } }), { clientIp: '10.9.9.9' }).then(
        (r) => r.status,
      );
    const direct = createHandler(f.a, { log: false, rateLimit: { perSecond: 1, burst: 1 }, now: () => 0 });
    assert.equal(await send(direct, '1.1.1.1'), 200);
    assert.equal(await send(direct, '2.2.2.2'), 429, 'a spoofed header does not buy a new bucket');
    const proxied = createHandler(f.a, {
      log: false,
      rateLimit: { perSecond: 1, burst: 1 },
      trustProxy: 1,
      now: () => 0,
    });
    assert.equal(await send(proxied, 'spoofed, 1.1.1.1'), 200);
    assert.equal(await send(proxied, 'spoofed, 2.2.2.2'), 200, 'the address the proxy saw');
    assert.equal(await send(proxied, 'other, 1.1.1.1'), 429, 'the client-supplied part is ignored');
  });

  test('an unexpected error is a 500 internal without details, logged without secrets', async () => {
    const logs: Record<string, unknown>[] = [];
    const handler = createHandler(f.a, {
      log: (e) => logs.push(e),
      routes: [
        {
          method: 'GET',
          path: '/boom',
          handle: () => {
            throw new TypeError('fetch failed for /cgi-bin/x?access_token=SECRET-TOKEN-123');
          },
        },
      ],
    });
    const res = await get(handler, '/boom');
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text).error.code, 'internal');
    assert.ok(!text.includes('SECRET') && !text.includes('TypeError') && !text.includes('cgi-bin'));
    const line = logs.find((l) => l.msg === 'internal error');
    assert.ok(line, 'logged');
    assert.match(String(line.error), /TypeError: fetch failed .*access_token=<redacted>/);
    assert.ok(!JSON.stringify(logs).includes('SECRET-TOKEN-123'));
    assert.equal((await get(handler, '/healthz')).status, 200, 'still serving');
  });

  test('refuses no accounts or the same appId twice', () => {
    assert.throws(() => createHandler([], { log: false }), { code: 'config_error' });
    assert.throws(() => createHandler([f.a, f.a], { log: false }), { code: 'config_error' });
  });

  test('basePath mounts the routes under a prefix (Next.js, Hono)', async () => {
    const handler = createHandler(f.a, { log: false, basePath: '/api/wx/' });
    assert.equal((await get(handler, '/api/wx/healthz')).status, 200);
    assert.equal((await get(handler, '/healthz')).status, 404);
  });

  test('one request log line per request, without query strings', async () => {
    f.logs.length = 0;
    await get(
      f.handler,
      `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/secret-page?token=abc')}`,
    );
    assert.equal(f.logs.length, 1);
    const line = f.logs[0] as Record<string, unknown>;
    assert.equal(line.route, '/jssdk/config');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.ok(!JSON.stringify(line).includes('secret-page'));
  });
});
