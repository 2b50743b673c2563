import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeListener } from '../../src/adapters/node.ts';
import { secondsUntilQuotaReset } from '../../src/errcodes.ts';
import { createHandler, type HandlerOptions } from '../../src/http/handler.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';
import { freePort } from '../stores/redis-server.ts';

/**
 * Issue 10 item 11: public routes must not repeat WeChat's internals to anonymous callers — the egress
 * IP of 40164, "invalid appsecret" and how to reset it, `WX_API_BASE` in `/readyz`, the configured appIds
 * on an unknown appId. Each test performs the disclosure over real HTTP. Issue 11 item 6: 45009 is a 503
 * whose Retry-After points at WeChat's quota reset; config refusals carry no Retry-After; no
 * `details.cachedFailure` in public bodies.
 */

const APP = 'wxdisclose0000001';
const SECRET = 'disclose-secret';
const OTHER = 'wxdisclose0000002';
const PAGE = `/jssdk/config?url=${encodeURIComponent('https://h5.example.com/p')}`;
/** A request that came through a reverse proxy on the same host: anonymous, although from 127.0.0.1. */
const VIA_PROXY = { 'x-forwarded-for': '203.0.113.7' };
const API_KEY = 'disclosure-test-key-0123456789';

let sim: Simulator;
const closers: Array<() => Promise<unknown>> = [];

interface Served {
  wx: Wxkit;
  url: string;
  warnings: string[];
  logs: Record<string, unknown>[];
}

async function serve(options: Partial<WxkitOptions> = {}, handlerOptions: HandlerOptions = {}) {
  const warnings: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const common = { apiBase: sim.url, store: 'memory', jsDomains: ['h5.example.com'] };
  const wx = createWxkit({
    appId: APP,
    secret: SECRET,
    ...common,
    logger: { warn: (m) => warnings.push(m) },
    ...options,
  });
  const other = createWxkit({ appId: OTHER, secret: SECRET, ...common });
  const handler = createHandler([wx, other], {
    log: (e) => logs.push(e as Record<string, unknown>),
    rateLimit: false,
    apiKeys: [API_KEY],
    ...handlerOptions,
  });
  const server = createServer(nodeListener(handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await wx.close();
    await other.close();
  });
  return { wx, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, warnings, logs } as Served;
}

/** The fields these tests read, of an error body or a /readyz body. */
interface Body {
  error: { code: string; message: string; hint: string; wechat: { errcode: number; errmsg?: string } };
  accounts: Array<{ error: { code: string; errcode?: number; errmsg?: string }; breaker?: unknown }>;
}

async function call(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as Body };
}

before(async () => {
  sim = await startSimulator({
    apps: [
      { appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] },
      { appId: OTHER, secret: SECRET, jsDomains: ['h5.example.com'] },
    ],
  });
});

after(async () => {
  for (const c of closers) await c();
  await sim.close();
});

describe('anonymous callers get codes and generic hints, not WeChat internals', () => {
  test("40164: the server's egress IP stays out of public bodies; the log and internal /readyz keep it", async () => {
    sim.setFaults({ ipWhitelist: ['198.51.100.1'] });
    try {
      const s = await serve();
      const res = await call(s.url + PAGE);
      assert.equal(res.status, 502);
      assert.equal(res.body.error.code, 'wechat_error');
      assert.equal(res.body.error.wechat.errcode, 40164);
      assert.ok(res.body.error.hint.length > 0);
      assert.doesNotMatch(res.text, /127\.0\.0\.1|invalid ip|whitelist|白名单/i, res.text);
      assert.equal(res.headers.get('retry-after'), null, 'a config refusal is not retried by waiting');
      const again = await call(s.url + PAGE); // answered from the negative cache
      assert.doesNotMatch(again.text, /cachedFailure/);
      assert.ok(
        s.warnings.some((w) => w.includes('40164')),
        'the log names the errcode',
      );

      const anonymous = await call(`${s.url}/readyz`, VIA_PROXY);
      assert.equal(anonymous.status, 503);
      assert.doesNotMatch(anonymous.text, /127\.0\.0\.1|invalid ip|whitelist/i, anonymous.text);
      assert.equal(anonymous.body.accounts[0]?.error.errcode, 40164);
      const internal = await call(`${s.url}/readyz`);
      assert.match(internal.body.accounts[0]?.error.errmsg ?? '', /invalid ip 127\.0\.0\.1/);
    } finally {
      sim.clearFaults();
    }
  });

  test('40125: no "invalid appsecret" and no reset instructions in public bodies', async () => {
    const s = await serve({ secret: 'not-the-secret' });
    const res = await call(s.url + PAGE);
    assert.equal(res.status, 502);
    assert.equal(res.body.error.wechat.errcode, 40125);
    assert.doesNotMatch(res.text, /appsecret|WX_APP_SECRET|reset|重置/i, res.text);
    assert.ok(
      s.warnings.some((w) => /40125 invalid appsecret/.test(w)),
      'the log keeps the detail',
    );
  });

  test('WX_API_BASE: not in /readyz nor in a 503 for anonymous callers; internal callers see it', async () => {
    const port = await freePort(); // nothing listens: "Cannot reach http://127.0.0.1:PORT"
    const s = await serve({ apiBase: `http://127.0.0.1:${port}` });
    const res = await call(s.url + PAGE);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'upstream_unavailable');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.ok(!res.text.includes(String(port)), res.text);
    const anonymous = await call(`${s.url}/readyz`, VIA_PROXY);
    assert.equal(anonymous.status, 503);
    assert.ok(!anonymous.text.includes(String(port)), anonymous.text);
    assert.ok(!anonymous.text.includes(APP) && !anonymous.text.includes(OTHER), 'no list of accounts');
    // The circuit breaker in front of the dead upstream: its state for everyone, its upstream for insiders.
    assert.equal(anonymous.body.accounts[0]?.breaker, 'open');
    const internal = await call(`${s.url}/readyz`);
    assert.ok(internal.text.includes(`127.0.0.1:${port}`), 'a loopback caller sees the upstream');
    const breaker = (internal.body.accounts[0]?.breaker ?? {}) as { state?: string; upstream?: string };
    assert.deepEqual(
      { state: breaker.state, upstream: breaker.upstream },
      { state: 'open', upstream: `http://127.0.0.1:${port}` },
    );
    const keyed = await call(`${s.url}/readyz`, { ...VIA_PROXY, authorization: `Bearer ${API_KEY}` });
    assert.ok(keyed.text.includes(`127.0.0.1:${port}`), 'so does a caller with an API key');
    const wrongKey = await call(`${s.url}/readyz`, { ...VIA_PROXY, authorization: 'Bearer nope' });
    assert.ok(!wrongKey.text.includes(String(port)));
  });

  test('an unknown appId does not list the configured appIds; the log does', async () => {
    const s = await serve();
    const res = await call(`${s.url + PAGE}&appId=wxguess00000000001`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'unknown_app');
    assert.ok(!res.text.includes(APP) && !res.text.includes(OTHER), res.text);
    const line = s.logs.find((l) => l.msg === 'unknown appId');
    assert.deepEqual(line?.configured, [APP, OTHER]);
  });
});

describe('/metrics follows the /readyz rule (issue 18 item 6)', () => {
  test('anonymous callers see account-1, account-2 and upstream-1 where insiders see appIds and the upstream', async () => {
    const s = await serve();
    assert.equal((await call(s.url + PAGE)).status, 200);
    assert.equal((await call(`${s.url + PAGE}&appId=${OTHER}`)).status, 200);
    const simHost = new URL(sim.url).host;
    const scrape = async (headers: Record<string, string>) =>
      (await fetch(`${s.url}/metrics`, { headers })).text();
    const anonymous = await scrape(VIA_PROXY);
    for (const secret of [APP, OTHER, simHost])
      assert.ok(!anonymous.includes(secret), `${secret} in ${anonymous}`);
    assert.match(anonymous, /wxkit_refresh_total\{appid="account-1",credential="jsapi_ticket"\} 1/);
    assert.match(anonymous, /wxkit_refresh_total\{appid="account-2",credential="jsapi_ticket"\} 1/);
    assert.match(anonymous, /host="upstream-1"/);
    const wrongKey = await scrape({ ...VIA_PROXY, authorization: 'Bearer nope' });
    assert.ok(!wrongKey.includes(APP));
    for (const internal of [
      await scrape({}),
      await scrape({ ...VIA_PROXY, authorization: `Bearer ${API_KEY}` }),
    ]) {
      assert.match(
        internal,
        new RegExp(`wxkit_refresh_total\\{appid="${APP}",credential="jsapi_ticket"\\} 1`),
      );
      assert.ok(internal.includes(OTHER) && internal.includes(simHost));
      // The same series, only renamed: nothing merged, nothing lost.
      const series = (text: string) => text.split('\n').filter((l) => /appid=|host=/.test(l)).length;
      assert.equal(series(internal), series(anonymous));
    }
  });
});

describe('status semantics', () => {
  test('45009 is 503 with Retry-After at the quota reset (midnight Beijing time), not 30 s', async () => {
    sim.setFaults({ path: '/cgi-bin/stable_token', errcode: 45009 });
    try {
      const s = await serve();
      for (const attempt of ['fresh', 'remembered']) {
        const before = secondsUntilQuotaReset(Date.now());
        const res = await call(s.url + PAGE);
        const after = secondsUntilQuotaReset(Date.now());
        assert.equal(res.status, 503, attempt);
        assert.equal(res.body.error.code, 'wechat_error');
        assert.equal(res.body.error.wechat.errcode, 45009);
        const retryAfter = Number(res.headers.get('retry-after'));
        // The value, not a timing: between the reset distance measured before and after the request.
        assert.ok(retryAfter <= before && retryAfter >= after - 1, `${attempt}: ${retryAfter}`);
        assert.match(res.body.error.hint, /midnight Beijing time/);
        assert.doesNotMatch(res.text, /cachedFailure|clear_quota/);
      }
    } finally {
      sim.clearFaults();
    }
  });

  test('secondsUntilQuotaReset counts to 16:00 UTC', () => {
    assert.equal(secondsUntilQuotaReset(Date.UTC(2026, 0, 1, 15, 59, 0)), 60);
    assert.equal(secondsUntilQuotaReset(Date.UTC(2026, 0, 1, 16, 0, 0)), 86_400);
    assert.equal(secondsUntilQuotaReset(Date.UTC(2026, 0, 1, 16, 0, 1)), 86_399);
    assert.equal(secondsUntilQuotaReset(Date.UTC(2026, 0, 2, 0, 0, 0)), 16 * 3600);
  });
});
