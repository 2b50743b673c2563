import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { getJson, postJson } from './helpers.ts';
import { AGENT, AGENT2, AGENT2_SECRET, CORP, isWecomError, startWecom, tokenOf } from './wecom-helpers.ts';

const REDIRECT = 'https://work.example.com/oauth/callback?from=menu';

function authorizeUrl(sim: Simulator, extra: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  const params: Record<string, string | undefined> = {
    appid: CORP,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'snsapi_base',
    state: 'st-1',
    agentid: AGENT,
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return `${sim.url}/connect/oauth2/authorize?${q}#wechat_redirect`;
}

/** Follows nothing: the 302's Location, parsed. */
async function authorize(sim: Simulator, extra: Record<string, string | undefined> = {}): Promise<URL> {
  const res = await fetch(authorizeUrl(sim, extra), { redirect: 'manual' });
  assert.equal(res.status, 302, await res.text());
  return new URL(res.headers.get('location') ?? '');
}

async function errorOf(sim: Simulator, extra: Record<string, string | undefined>): Promise<string> {
  const res = await fetch(authorizeUrl(sim, extra), { redirect: 'manual' });
  assert.equal(res.status, 200);
  const html = await res.text();
  return /data-errcode="(\d+)"/.exec(html)?.[1] ?? 'none';
}

describe('WeCom OAuth', () => {
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startWecom();
    token = await tokenOf(sim);
  });
  after(() => sim.close());

  const userinfo = (code: string | null, t = token) =>
    getJson(`${sim.url}/cgi-bin/auth/getuserinfo?access_token=${t}${code === null ? '' : `&code=${code}`}`);

  test('authorize with agentid redirects at once (no consent page) with code and state; the first member', async () => {
    const back = await authorize(sim);
    assert.equal(back.origin + back.pathname, 'https://work.example.com/oauth/callback');
    assert.equal(back.searchParams.get('from'), 'menu', "the redirect_uri's own query stays");
    assert.equal(back.searchParams.get('state'), 'st-1');
    const code = back.searchParams.get('code') ?? '';
    assert.match(code, /^[0-9a-f]{32}$/);
    assert.deepEqual(await userinfo(code), { errcode: 0, errmsg: 'ok', userid: 'zhangsan' });
  });

  test('a code is single use and lives 5 minutes: 40029 invalid code', async () => {
    const code = (await authorize(sim)).searchParams.get('code') ?? '';
    assert.equal((await userinfo(code)).userid, 'zhangsan');
    assert.ok(isWecomError(await userinfo(code), 40029, 'invalid code'), 'used');
    const late = (await authorize(sim)).searchParams.get('code') ?? '';
    sim.advance(300);
    assert.ok(isWecomError(await userinfo(late), 40029), 'expired');
    assert.ok(isWecomError(await userinfo('nope'), 40029), 'unknown');
    assert.ok(isWecomError(await userinfo(null), 41008), 'missing');
    token = await tokenOf(sim);
  });

  test('another member or a non-member: simuser=… on the link, or POST /__sim/wecom/user', async () => {
    const lisi = (await authorize(sim, { simuser: 'lisi' })).searchParams.get('code') ?? '';
    assert.deepEqual(await userinfo(lisi), { errcode: 0, errmsg: 'ok', userid: 'lisi' });
    const corps = (await getJson(`${sim.url}/__sim/corps`)) as {
      corps: Array<{ users: Array<{ openid?: string; external_userid?: string }> }>;
    };
    const guest = corps.corps[0]?.users.find((u) => u.openid);
    assert.ok(guest?.openid);
    const set = await postJson(`${sim.url}/__sim/wecom/user`, { corpId: CORP, openid: guest.openid });
    assert.deepEqual(set.user, guest);
    const code = (await authorize(sim)).searchParams.get('code') ?? '';
    assert.deepEqual(await userinfo(code), {
      errcode: 0,
      errmsg: 'ok',
      openid: guest.openid,
      external_userid: guest.external_userid,
    });
    sim.setWecomUser(CORP, { userid: 'lisi' });
    assert.equal((await userinfo((await authorize(sim)).searchParams.get('code') ?? '')).userid, 'lisi');
    sim.setWecomUser(CORP);
    assert.equal((await userinfo((await authorize(sim)).searchParams.get('code') ?? '')).userid, 'zhangsan');
    const bad = await fetch(`${sim.url}/__sim/wecom/user`, {
      method: 'POST',
      body: JSON.stringify({ corpId: CORP, userid: 'nobody' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(await errorOf(sim, { simuser: 'nobody' }), '40003');
  });

  test('snsapi_privateinfo gives a user_ticket (1800 s) to members, and needs agentid', async () => {
    const code = (await authorize(sim, { scope: 'snsapi_privateinfo' })).searchParams.get('code') ?? '';
    const body = await userinfo(code);
    assert.equal(body.userid, 'zhangsan');
    assert.equal(typeof body.user_ticket, 'string');
    assert.equal(body.expires_in, 1800);
    assert.equal(await errorOf(sim, { scope: 'snsapi_privateinfo', agentid: undefined }), '10016');
  });

  test('link checks: scope, response_type, agentid, redirect host on the trusted domains, state length', async () => {
    assert.equal(await errorOf(sim, { scope: 'snsapi_userinfo' }), '10005');
    assert.equal(await errorOf(sim, { response_type: 'token' }), '10010');
    assert.equal(await errorOf(sim, { agentid: '999' }), '40056');
    assert.equal(await errorOf(sim, { redirect_uri: 'https://evil.example/cb' }), '50001');
    assert.equal(await errorOf(sim, { redirect_uri: 'not a url' }), '10011');
    assert.equal(await errorOf(sim, { state: 'x'.repeat(129) }), '10013');
    // Without agentid any app's trusted domain will do; loopback always does.
    assert.equal((await authorize(sim, { agentid: undefined })).host, 'work.example.com');
    assert.equal((await authorize(sim, { redirect_uri: 'http://127.0.0.1:3000/cb' })).port, '3000');
  });

  test("the code's redirect domain must be a trusted domain of the token's app (50001), its corp the token's", async () => {
    const code = (await authorize(sim)).searchParams.get('code') ?? '';
    const app2 = await tokenOf(sim, AGENT2_SECRET);
    assert.ok(isWecomError(await userinfo(code, app2), 50001), 'app 2 does not trust work.example.com');
    assert.equal((await userinfo(code)).userid, 'zhangsan', 'a 50001 does not use the code up');
    const local = (await authorize(sim, { agentid: AGENT2, redirect_uri: 'http://localhost/cb' }))
      .searchParams;
    assert.equal((await userinfo(local.get('code'), app2)).userid, 'zhangsan');
    assert.ok(isWecomError(await userinfo('x', 'bad-token'), 40014));
  });

  test('an Official Account appid still gets the WeChat consent flow', async () => {
    const res = await fetch(
      `${sim.url}/connect/oauth2/authorize?appid=wxsimtest00000001&redirect_uri=${encodeURIComponent('http://localhost/cb')}&response_type=code&scope=snsapi_userinfo&state=s#wechat_redirect`,
    );
    assert.equal(res.status, 200);
    assert.match(await res.text(), /id="allow"/);
  });

  test('counted in /__sim/stats as /cgi-bin/auth/getuserinfo', () => {
    assert.ok((sim.stats().calls['/cgi-bin/auth/getuserinfo'] ?? 0) > 5);
  });
});

test('users given with any app of a corp replace the sample users; the first member logs in', async () => {
  const sim = await startSimulator({
    corps: [
      `${CORP}:1000001:s1`,
      { corpId: CORP, agentId: 1000002, secret: 's2', users: [{ openid: 'oGuest' }, { userid: 'wangwu' }] },
    ],
  });
  try {
    const res = await fetch(
      `${sim.url}/connect/oauth2/authorize?appid=${CORP}&redirect_uri=${encodeURIComponent('http://localhost/cb')}&response_type=code&scope=snsapi_base&state=s`,
      { redirect: 'manual' },
    );
    const code = new URL(res.headers.get('location') ?? '').searchParams.get('code');
    const token = (await getJson(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=s1`)).access_token;
    const body = await getJson(`${sim.url}/cgi-bin/auth/getuserinfo?access_token=${token}&code=${code}`);
    assert.equal(body.userid, 'wangwu');
    const corps = (await getJson(`${sim.url}/__sim/corps`)) as { corps: Array<{ users: unknown[] }> };
    assert.deepEqual(corps.corps[0]?.users, [{ openid: 'oGuest' }, { userid: 'wangwu' }]);
  } finally {
    await sim.close();
  }
});
