import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOAuthClient } from '../../src/oauth/client.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

const APP = 'wxoauthtest000001';
const SECRET = 'oauth-test-secret';
const REDIRECT = 'http://localhost:3999/oauth/callback?keep=1';

let sim: Simulator;

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
});
after(() => sim.close());

const client = () => createOAuthClient({ appId: APP, secret: SECRET, apiBase: sim.url, openBase: sim.url });

function authorizeUrl(scope: 'snsapi_base' | 'snsapi_userinfo', state = 'st4te') {
  return client().authorizeUrl({ redirectUri: REDIRECT, scope, state });
}

async function html(url: string): Promise<string> {
  const res = await fetch(url, { redirect: 'manual' });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  return res.text();
}

/** Submits the consent form the way a browser does. */
async function consent(
  scope: 'snsapi_base' | 'snsapi_userinfo',
  openid: string,
  action = 'allow',
  state = 'st4te',
) {
  const form = new URLSearchParams({
    appid: APP,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope,
    state,
    openid,
    action,
  });
  const res = await fetch(`${sim.url}/connect/oauth2/authorize/confirm`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location') ?? '');
}

describe('simulated authorize page', () => {
  test('snsapi_base redirects straight back with code and state, keeping the redirect query', async () => {
    const res = await fetch(authorizeUrl('snsapi_base'), { redirect: 'manual' });
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get('location') ?? '');
    assert.equal(back.origin + back.pathname, 'http://localhost:3999/oauth/callback');
    assert.equal(back.searchParams.get('keep'), '1');
    assert.equal(back.searchParams.get('state'), 'st4te');
    const code = back.searchParams.get('code') ?? '';
    assert.match(code, /^[0-9a-f]{32}$/);

    const token = await client().exchangeCode(code);
    assert.equal(token.scope, 'snsapi_base');
    assert.equal(token.expiresIn, 7200);
    assert.equal(token.isSnapshotUser, false);
    assert.match(token.openid, /^oSIM/);
    // snsapi_base cannot read the profile
    await assert.rejects(client().userinfo({ accessToken: token.accessToken, openid: token.openid }), {
      errcode: 48001,
      code: 'unauthorized',
    });
    assert.equal(
      await client().checkAccessToken({ accessToken: token.accessToken, openid: token.openid }),
      true,
    );
    // A code is single use: a second exchange (another client, no shared cache) gets 40163
    await assert.rejects(client().exchangeCode(code), { errcode: 40163, code: 'unauthorized' });
  });

  test('snsapi_userinfo shows a consent page with the users, #allow and #deny', async () => {
    const page = await html(authorizeUrl('snsapi_userinfo'));
    assert.match(page, /id="allow"/);
    assert.match(page, /id="deny"/);
    assert.match(page, /Alice 小爱/);
    assert.match(page, /Bob 小波/);
    assert.match(page, /id="snapshot-user"/);
  });

  test('allow → code → token with unionid → userinfo in three languages, refresh, auth', async () => {
    const bob = sim.state.app(APP)?.users[1];
    assert.ok(bob);
    const back = await consent('snsapi_userinfo', bob.openid);
    const token = await client().exchangeCode(back.searchParams.get('code') ?? '');
    assert.equal(token.openid, bob.openid);
    assert.equal(token.scope, 'snsapi_userinfo');
    assert.equal(token.unionid, bob.unionid);

    const zh = await client().userinfo({ accessToken: token.accessToken, openid: token.openid });
    assert.equal(zh.nickname, 'Bob 小波');
    assert.equal(zh.city, '北京');
    assert.equal(zh.country, '中国');
    assert.equal(zh.unionid, bob.unionid);
    const en = await client().userinfo({ accessToken: token.accessToken, openid: token.openid, lang: 'en' });
    assert.equal(en.country, 'China');
    const tw = await client().userinfo({
      accessToken: token.accessToken,
      openid: token.openid,
      lang: 'zh_TW',
    });
    assert.equal(tw.country, '中國');
    // another user's openid with this token
    await assert.rejects(client().userinfo({ accessToken: token.accessToken, openid: 'oSomeoneElse' }), {
      errcode: 40003,
    });

    sim.advance(7200);
    assert.equal(
      await client().checkAccessToken({ accessToken: token.accessToken, openid: token.openid }),
      false,
    );
    await assert.rejects(client().userinfo({ accessToken: token.accessToken, openid: token.openid }), {
      errcode: 42001,
    });
    const renewed = await client().refresh(token.refreshToken);
    assert.notEqual(renewed.accessToken, token.accessToken);
    assert.equal(renewed.openid, bob.openid);
    assert.equal(
      (await client().userinfo({ accessToken: renewed.accessToken, openid: bob.openid })).nickname,
      'Bob 小波',
    );

    sim.advance(30 * 86400);
    await assert.rejects(client().refresh(token.refreshToken), { errcode: 42002, code: 'unauthorized' });
    await assert.rejects(client().refresh('not-a-refresh-token'), { errcode: 40030 });
  });

  test('deny redirects back with state and no code', async () => {
    const back = await consent('snsapi_userinfo', 'whatever', 'deny');
    assert.equal(back.searchParams.get('code'), null);
    assert.equal(back.searchParams.get('state'), 'st4te');
  });

  test('a code dies after 5 virtual minutes (40029)', async () => {
    const alice = sim.state.app(APP)?.users[0];
    assert.ok(alice);
    const back = await consent('snsapi_userinfo', alice.openid);
    sim.advance(301);
    await assert.rejects(client().exchangeCode(back.searchParams.get('code') ?? ''), { errcode: 40029 });
    await assert.rejects(client().exchangeCode('0123456789abcdef0123456789abcdef'), { errcode: 40029 });
  });

  test('wrong secret is a config error, not a user error', async () => {
    const back = await consent('snsapi_base', sim.state.app(APP)?.users[0]?.openid ?? '');
    const bad = createOAuthClient({ appId: APP, secret: 'wrong', apiBase: sim.url });
    await assert.rejects(
      bad.exchangeCode(back.searchParams.get('code') ?? ''),
      (e: Error & { errcode?: number; code?: string }) => {
        assert.equal(e.errcode, 40125);
        assert.equal(e.code, 'wechat_error');
        assert.doesNotMatch(e.message, /wrong/);
        return true;
      },
    );
  });

  test('a timeline-snapshot visitor gets is_snapshotuser and base rights only', async () => {
    const back = await consent('snsapi_userinfo', '__snapshot__');
    const token = await client().exchangeCode(back.searchParams.get('code') ?? '');
    assert.equal(token.isSnapshotUser, true);
    assert.equal(token.scope, 'snsapi_base');
    assert.equal(token.unionid, undefined);
    await assert.rejects(client().userinfo({ accessToken: token.accessToken, openid: token.openid }), {
      errcode: 48001,
    });
  });

  test('a configured user marked is_snapshotuser: 1 is a snapshot visitor, even with snsapi_base', async () => {
    const snap = await startSimulator({
      apps: [
        {
          appId: 'wxsnap00000000001',
          secret: 's',
          users: [{ openid: 'oSnapUser', nickname: 'Snap', is_snapshotuser: 1 }],
        },
      ],
    });
    try {
      const c = createOAuthClient({
        appId: 'wxsnap00000000001',
        secret: 's',
        apiBase: snap.url,
        openBase: snap.url,
      });
      const res = await fetch(c.authorizeUrl({ redirectUri: REDIRECT, scope: 'snsapi_base', state: 'x' }), {
        redirect: 'manual',
      });
      const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
      const token = await c.exchangeCode(code);
      assert.equal(token.isSnapshotUser, true);
      assert.equal(token.openid, 'oSnapUser');
    } finally {
      await snap.close();
    }
  });

  test('bad parameters get WeChat’s error page', async () => {
    const cases: Array<[string, string]> = [
      [authorizeUrl('snsapi_base').replace(`appid=${APP}`, 'appid=wxnosuchapp'), '40013'],
      [authorizeUrl('snsapi_base').replace(`appid=${APP}`, 'appid='), '10012'],
      [
        authorizeUrl('snsapi_base').replace(
          encodeURIComponent(REDIRECT),
          encodeURIComponent('https://evil.example/cb'),
        ),
        '10003',
      ],
      [
        authorizeUrl('snsapi_base').replace(
          encodeURIComponent(REDIRECT),
          encodeURIComponent('https://sub.h5.example.com/cb'),
        ),
        '10003',
      ],
      [authorizeUrl('snsapi_base').replace('scope=snsapi_base', 'scope=snsapi_login'), '10005'],
      [authorizeUrl('snsapi_base').replace('response_type=code', 'response_type=token'), '10010'],
    ];
    for (const [url, errcode] of cases) {
      const page = await html(url);
      assert.match(page, new RegExp(`id="wx-error"[^>]*data-errcode="${errcode}"`), url);
    }
    // the account's own web-authorization domain is accepted
    const ok = await fetch(
      authorizeUrl('snsapi_base').replace(
        encodeURIComponent(REDIRECT),
        encodeURIComponent('https://h5.example.com/cb'),
      ),
      { redirect: 'manual' },
    );
    assert.equal(ok.status, 302);
  });

  test('values are escaped in the consent page', async () => {
    const url = authorizeUrl('snsapi_userinfo').replace(
      encodeURIComponent(REDIRECT),
      encodeURIComponent('http://localhost:3999/cb?x="><script>alert(1)</script>'),
    );
    const page = await html(url);
    assert.doesNotMatch(page, /<script>alert/);
  });

  test('the simulator counts /sns calls', () => {
    const calls = sim.stats().calls;
    assert.ok((calls['/sns/oauth2/access_token'] ?? 0) > 0);
    assert.ok((calls['/connect/oauth2/authorize'] ?? 0) > 0);
  });
});
