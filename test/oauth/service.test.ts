import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createFileStore } from '../../src/stores/file.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { APP, Browser, SECRET, type Service, startService } from './stack.ts';

let sim: Simulator;
let svc: Service;
let clock = Date.now();

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['localhost'] }] });
  svc = await startService(sim, createMemoryStore(), { now: () => clock });
});
after(async () => {
  await svc.close();
  await sim.close();
});

const errorOf = async (res: Response) => {
  const body = (await res.json()) as {
    error: { code: string; message: string; details?: { reason?: string } };
  };
  return body.error;
};

describe('OAuth through the service, over HTTP', () => {
  test('snsapi_base: login → authorize → callback → session → /oauth/me', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_base', returnTo: '/shop?item=7#top' });
    assert.equal(cb.origin + cb.pathname, `${svc.url}/oauth/callback`);
    const res = await b.fetch(cb.href);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/shop?item=7#top');
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('wxkit_session='));
    assert.ok(setCookie);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.doesNotMatch(setCookie, /Secure/);
    const me = await b.me(svc);
    assert.equal(me.status, 200);
    assert.equal(me.body.scope, 'snsapi_base');
    assert.match(String(me.body.openid), /^oSIM/);
    assert.equal(me.body.nickname, undefined);
    // the cookie holds a random id, not the openid
    assert.ok(!setCookie.includes(String(me.body.openid)));
  });

  test('snsapi_userinfo: the consent page, then the profile in /oauth/me', async () => {
    const bob = sim.state.app(APP)?.users[1];
    assert.ok(bob);
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_userinfo', openid: bob.openid });
    assert.equal((await b.fetch(cb.href)).headers.get('location'), '/');
    const me = await b.me(svc);
    assert.equal(me.status, 200);
    assert.equal(me.body.openid, bob.openid);
    assert.equal(me.body.nickname, 'Bob 小波');
    assert.equal(me.body.unionid, bob.unionid);
    assert.equal(me.body.scope, 'snsapi_userinfo');
  });

  test('a replayed callback (same code) reuses the first login: one exchange, same session', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_userinfo', returnTo: '/after' });
    const before = sim.stats().calls['/sns/oauth2/access_token'] ?? 0;
    const first = await b.fetch(cb.href);
    const second = await b.fetch(cb.href);
    assert.equal(first.status, 302);
    assert.equal(second.status, 302);
    assert.equal(second.headers.get('location'), '/after');
    const c1 = first.headers.getSetCookie().find((c) => c.startsWith('wxkit_session='));
    const c2 = second.headers.getSetCookie().find((c) => c.startsWith('wxkit_session='));
    assert.ok(c1 && c2);
    assert.equal(c1.split(';')[0], c2.split(';')[0]);
    assert.equal((sim.stats().calls['/sns/oauth2/access_token'] ?? 0) - before, 1);
    assert.equal((await b.me(svc)).status, 200);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.match(metrics, /wxkit_oauth_logins_total\{result="replayed_callback"\} [1-9]/);
    assert.match(metrics, /wxkit_oauth_logins_total\{result="ok"\} [1-9]/);
    assert.match(
      metrics,
      /wxkit_upstream_calls_total\{endpoint="\/sns\/oauth2\/access_token",errcode="0"\} [1-9]/,
    );
  });

  test('two callbacks with the same code at once both log the user in', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_base' });
    const before = sim.stats().calls['/sns/oauth2/access_token'] ?? 0;
    const [x, y] = await Promise.all([b.fetch(cb.href), b.fetch(cb.href)]);
    assert.equal(x.status, 302, await x.clone().text());
    assert.equal(y.status, 302, await y.clone().text());
    assert.equal((sim.stats().calls['/sns/oauth2/access_token'] ?? 0) - before, 1);
  });

  test('a forged state, a state from another browser and a missing state are refused', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc);
    const state = cb.searchParams.get('state') ?? '';
    assert.match(state, /^[0-9a-f]{64}$/);
    const forged = new URL(cb);
    forged.searchParams.set('state', state.slice(0, 63) + (state.endsWith('0') ? '1' : '0'));
    let res = await b.fetch(forged.href);
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).details?.reason, 'state_mismatch');

    const other = new Browser();
    res = await other.fetch(cb.href);
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).details?.reason, 'state_no_nonce');
    await other.toCallback(svc); // the other browser now has a nonce of its own
    res = await other.fetch(cb.href);
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).details?.reason, 'state_mismatch');

    const missing = new URL(cb);
    missing.searchParams.delete('state');
    res = await b.fetch(missing.href);
    assert.equal(res.status, 400);
    const garbage = new URL(cb);
    garbage.searchParams.set('state', '<script>');
    res = await b.fetch(garbage.href);
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).details?.reason, 'state_malformed');
    // none of this created a session
    assert.equal((await b.me(svc)).status, 401);
  });

  test('an expired state is refused (10 minutes, service clock)', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc);
    clock += 10 * 60_000 + 1000;
    try {
      const res = await b.fetch(cb.href);
      assert.equal(res.status, 401);
      const err = await errorOf(res);
      assert.equal(err.code, 'unauthorized');
      assert.equal(err.details?.reason, 'state_expired');
    } finally {
      clock = Date.now();
    }
  });

  test('a state is single use: reusing it with another code is refused', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc);
    assert.equal((await b.fetch(cb.href)).status, 302);
    // WeChat issues a new code for the same state (e.g. the page was reopened from history)
    const again = await b.codeFor(sim.url, APP, svc, cb.searchParams.get('state') ?? '');
    assert.notEqual(again.searchParams.get('code'), cb.searchParams.get('code'));
    const res = await b.fetch(again.href);
    assert.equal(res.status, 401);
    assert.equal((await errorOf(res)).details?.reason, 'state_used');
  });

  test('foreign returnTo values are refused with 400 JSON', async () => {
    const b = new Browser();
    const bad = [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/%5Cevil.example',
      '/%2F/evil.example',
      '%2F%2Fevil.example',
      '/\t/evil.example',
      '/%09/evil.example',
      '/ok\r\nSet-Cookie: x=1',
      'javascript:alert(1)',
      'evil.example/path',
    ];
    for (const returnTo of bad) {
      const res = await b.fetch(`${svc.url}/oauth/login?returnTo=${encodeURIComponent(returnTo)}`);
      assert.equal(res.status, 400, returnTo);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const err = await errorOf(res);
      assert.equal(err.code, 'invalid_request', returnTo);
      assert.equal(err.details?.reason, 'return_to_not_allowed', returnTo);
      assert.equal(res.headers.get('location'), null);
    }
    // double-encoded (the query decodes once, the check decodes the rest)
    const res = await b.fetch(`${svc.url}/oauth/login?returnTo=%252F%252Fevil.example`);
    assert.equal(res.status, 400);
    // encoded so deep that the fourth decoding is the first to show `//` or `\\`: still refused
    for (const deep of ['/%2525252Fevil.example', '/%252525255Cevil.example']) {
      const r = await b.fetch(`${svc.url}/oauth/login?returnTo=${encodeURIComponent(deep)}`);
      assert.equal(r.status, 400, deep);
      assert.equal((await errorOf(r)).details?.reason, 'return_to_not_allowed', deep);
    }
  });

  test('a tampered or foreign session cookie is refused; logout ends the session', async () => {
    const b = new Browser();
    await b.fetch((await b.toCallback(svc)).href);
    assert.equal((await b.me(svc)).status, 200);
    const jar = b.cookies.get(new URL(svc.url).host);
    const value = jar?.get('wxkit_session') ?? '';
    const [sid = '', sig = ''] = value.split('.');
    for (const tampered of [
      `${sid.slice(0, -1)}${sid.endsWith('a') ? 'b' : 'a'}.${sig}`,
      `${sid}.${sig.slice(0, -2)}AA`,
      sid,
      'garbage',
    ]) {
      const res = await fetch(`${svc.url}/oauth/me`, { headers: { cookie: `wxkit_session=${tampered}` } });
      assert.equal(res.status, 401, tampered);
      assert.equal((await errorOf(res)).details?.reason, 'invalid_session_cookie');
    }
    const none = await fetch(`${svc.url}/oauth/me`);
    assert.equal(none.status, 401);
    assert.equal((await errorOf(none)).details?.reason, 'not_logged_in');

    const out = await b.fetch(`${svc.url}/oauth/logout`, { method: 'POST' });
    assert.equal(out.status, 200);
    // even with the old cookie replayed, the session is gone
    const replay = await fetch(`${svc.url}/oauth/me`, { headers: { cookie: `wxkit_session=${value}` } });
    assert.equal(replay.status, 401);
    assert.equal((await errorOf(replay)).details?.reason, 'session_ended');
  });

  test('a timeline-snapshot visitor is reported as such and gets no session', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_userinfo', openid: '__snapshot__' });
    const res = await b.fetch(cb.href);
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.getSetCookie().some((c) => c.includes('wxkit_session=')),
      false,
    );
    const err = await errorOf(res);
    assert.equal(err.code, 'forbidden');
    assert.equal(err.details?.reason, 'snapshot_user');
    assert.equal((err.details as { snapshotUser?: boolean }).snapshotUser, true);
    assert.match(err.message, /snapshot/);
    assert.equal((await b.me(svc)).status, 401);

    const b2 = new Browser();
    const cb2 = await b2.toCallback(svc, { scope: 'snsapi_userinfo', openid: '__snapshot__' });
    const page = await b2.fetch(cb2.href, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 403);
    assert.match(await page.text(), /使用完整服务/);
  });

  test('deny on the consent page returns to the page with oauth_error=access_denied', async () => {
    const b = new Browser();
    const cb = await b.toCallback(svc, { scope: 'snsapi_userinfo', returnTo: '/p?x=1', action: 'deny' });
    assert.equal(cb.searchParams.get('code'), null);
    const res = await b.fetch(cb.href);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/p?x=1&oauth_error=access_denied');
    assert.equal((await b.me(svc)).status, 401);
  });

  test('bad login parameters are clear 400s', async () => {
    for (const q of ['scope=snsapi_login', 'returnTo=/a&returnTo=/b', 'foo=1']) {
      const res = await fetch(`${svc.url}/oauth/login?${q}`, { redirect: 'manual' });
      assert.equal(res.status, 400, q);
    }
    const res = await fetch(`${svc.url}/oauth/login?appId=wxnope`, { redirect: 'manual' });
    assert.equal(res.status, 404);
  });
});

describe('several instances sharing a store', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wxkit-oauth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('login on one instance, callback on another, /oauth/me on a third', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => startService(sim, createFileStore({ dir }))));
    try {
      const browser = new Browser();
      const cb = await browser.toCallback(a as Service, { scope: 'snsapi_userinfo' });
      // the same browser reaches instance b (same host name in the jar; copy cookies across ports)
      const hostA = new URL((a as Service).url).host;
      const move = (to: Service) =>
        browser.cookies.set(new URL(to.url).host, new Map(browser.cookies.get(hostA)));
      move(b as Service);
      const onB = await browser.fetch(`${(b as Service).url}/oauth/callback${cb.search}`);
      assert.equal(onB.status, 302, await onB.clone().text());
      // the replay lands on instance a: the shared store gives it the first result
      browser.cookies.set(hostA, new Map(browser.cookies.get(new URL((b as Service).url).host)));
      const before = sim.stats().calls['/sns/oauth2/access_token'] ?? 0;
      const onA = await browser.fetch(`${(a as Service).url}/oauth/callback${cb.search}`);
      assert.equal(onA.status, 302, await onA.clone().text());
      assert.equal((sim.stats().calls['/sns/oauth2/access_token'] ?? 0) - before, 0);
      browser.cookies.set(new URL((c as Service).url).host, new Map(browser.cookies.get(hostA)));
      const me = await browser.me(c as Service);
      assert.equal(me.status, 200);
      assert.equal(me.body.nickname, 'Alice 小爱');
    } finally {
      await Promise.all([a, b, c].map((s) => s?.close()));
    }
  });
});

describe('cookie attributes behind https', () => {
  test('Secure and the __Host- prefix when the public URL is https', async () => {
    const { createHandler } = await import('../../src/http/handler.ts');
    const handler = createHandler(svc.wx, {
      publicUrl: 'https://h5.example.com',
      sessionSecret: 'x'.repeat(32),
      log: false,
    });
    const res = await handler(new Request('https://h5.example.com/oauth/login?returnTo=/a'));
    assert.equal(res.status, 302);
    const cookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(
      cookie,
      /^__Host-wxkit_oauth_nonce=[0-9a-f]{32}\.[A-Za-z0-9_-]+; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/,
    );
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('redirect_uri'), 'https://h5.example.com/oauth/callback');
    assert.equal(location.hash, '#wechat_redirect');
  });
});
