import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWecom, type WecomInstance } from '../../src/accounts/wecom.ts';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Account } from '../../src/types.ts';
import { createWxkit, type WxkitInstance } from '../../src/wxkit.ts';
import { Browser } from '../oauth/stack.ts';

/**
 * One handler holding an Official Account and two apps of one WeCom corp, over HTTP against the
 * simulator: signatures checked against the simulator's own tickets, WeCom OAuth into /oauth/me, the
 * diagnosis codes of wx.agentConfig, and the routes that refuse the wrong kind of account.
 */

const APP = 'wxside0by0side001';
const APP_SECRET = 'official-side-secret';
const CORP = 'wwside0by0side001';
const AGENT = '1000002';
const AGENT2 = '1000003';
const NONCE = 'N0nceN0nceN0nce1';
const TS = 1_700_000_000;
const PAGE = 'http://localhost/tools/contacts?from=singlemessage';
const API_KEY = 'wecom-http-test-key-0123456789';

let sim: Simulator;
let official: WxkitInstance;
let corp: WecomInstance;
let corp2: WecomInstance;
let server: RunningServer;
let url: string;

before(async () => {
  sim = await startSimulator({
    apps: [{ appId: APP, secret: APP_SECRET, jsDomains: ['localhost'] }],
    corps: [
      { corpId: CORP, agentId: AGENT, secret: 'agent-one-secret', jsDomains: ['localhost'] },
      { corpId: CORP, agentId: AGENT2, secret: 'agent-two-secret', jsDomains: ['localhost'] },
    ],
  });
  const store = createMemoryStore();
  const common = { apiBase: sim.url, openBase: sim.url, store, jsDomains: ['localhost'] };
  official = createWxkit({ appId: APP, secret: APP_SECRET, ...common });
  corp = createWecom({ corpId: CORP, agentId: AGENT, secret: 'agent-one-secret', ...common });
  corp2 = createWecom({ corpId: CORP, agentId: AGENT2, secret: 'agent-two-secret', ...common });
  let handler: WxkitHandler | undefined;
  server = await listen(
    () => {
      handler ??= createHandler([official, corp, corp2] as Account[], {
        sandbox: true,
        publicUrl: server.url,
        sessionSecret: 'wecom-session-secret-0123456789abcdef',
        apiKeys: [API_KEY],
        cardIds: ['pCARD0000000000000000001'],
        log: false,
        rateLimit: false,
      });
      return handler;
    },
    '127.0.0.1',
    0,
  );
  url = server.url;
});
after(async () => {
  await server.close(100);
  await Promise.all([official.close(), corp.close(), corp2.close()]);
  await sim.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers field by field
type Json = Record<string, any>;

async function getJson(path: string, init?: RequestInit) {
  const res = await fetch(url + path, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}
const post = (path: string, body: unknown) =>
  getJson(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const q = (o: Record<string, string>) => new URLSearchParams(o).toString();

describe('Official Account and WeCom apps in one handler', () => {
  test('/jssdk/config signs each kind with its own ticket (the corp ticket for a corp, beta: true)', async () => {
    const oa = await getJson(`/jssdk/config?${q({ url: PAGE, apis: 'chooseImage', appId: APP })}`);
    assert.equal(oa.status, 200);
    assert.equal(oa.body.appId, APP);
    assert.equal(oa.body.beta, undefined);
    const oaTicket = sim.state.currentTicket(APP, 'jsapi');
    assert.ok(oaTicket);
    assert.equal(
      oa.body.signature,
      signJssdk({ ticket: oaTicket, nonceStr: oa.body.nonceStr, timestamp: oa.body.timestamp, url: PAGE }),
    );

    const wc = await post('/jssdk/config', { url: `${PAGE}#/a`, jsApiList: ['agentConfig'], appId: CORP });
    assert.equal(wc.status, 200);
    assert.equal(wc.body.appId, CORP);
    assert.equal(wc.body.beta, true);
    const corpTicket = sim.state.currentCorpTicket(CORP);
    assert.ok(corpTicket);
    assert.equal(
      wc.body.signature,
      signJssdk({ ticket: corpTicket, nonceStr: wc.body.nonceStr, timestamp: wc.body.timestamp, url: PAGE }),
    );
  });

  test('/jssdk/agent-config signs with the app ticket of the chosen app (GET and POST)', async () => {
    const a = await getJson(
      `/jssdk/agent-config?${q({ url: PAGE, apis: 'getCurExternalContact', appId: CORP })}`,
    );
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.body).sort(), [
      'agentid',
      'corpid',
      'jsApiList',
      'nonceStr',
      'signature',
      'timestamp',
    ]);
    assert.equal(a.body.corpid, CORP);
    assert.equal(a.body.agentid, AGENT);
    assert.deepEqual(a.body.jsApiList, ['getCurExternalContact']);
    const t1 = sim.state.currentAgentTicket(CORP, AGENT);
    assert.ok(t1);
    assert.equal(
      a.body.signature,
      signJssdk({ ticket: t1, nonceStr: a.body.nonceStr, timestamp: a.body.timestamp, url: PAGE }),
    );
    assert.notEqual(t1, sim.state.currentCorpTicket(CORP), 'the app ticket is not the corp ticket');

    const b = await post('/jssdk/agent-config', { url: PAGE, appId: CORP, agentId: Number(AGENT2) });
    assert.equal(b.status, 200);
    assert.equal(b.body.agentid, AGENT2);
    const t2 = sim.state.currentAgentTicket(CORP, AGENT2);
    assert.ok(t2);
    assert.notEqual(t2, t1);
    assert.equal(
      b.body.signature,
      signJssdk({ ticket: t2, nonceStr: b.body.nonceStr, timestamp: b.body.timestamp, url: PAGE }),
    );
  });

  test('/jssdk/agent-config: the URL rules, allow-list, errors and CORS of /jssdk/config', async () => {
    const bad = await getJson(`/jssdk/agent-config?${q({ url: 'ftp://x/', appId: CORP })}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_url');
    const missing = await getJson(`/jssdk/agent-config?appId=${CORP}`);
    assert.equal(missing.body.error.code, 'invalid_url');
    const tail = await fetch(`${url}/jssdk/agent-config?url=http://localhost/p?x=1&y=2&appId=${CORP}`);
    assert.equal(tail.status, 400, 'an unencoded page URL is refused, not signed wrong');
    const off = await getJson(`/jssdk/agent-config?${q({ url: 'https://evil.example/p', appId: CORP })}`);
    assert.equal(off.status, 403);
    assert.equal(off.body.error.code, 'url_not_allowed');
    assert.match(off.body.error.message, /trusted domain/);
    const oa = await getJson(`/jssdk/agent-config?${q({ url: PAGE, appId: APP })}`);
    assert.equal(oa.status, 400, 'an Official Account has no wx.agentConfig');
    assert.match(oa.body.error.message, /WeCom apps/);
    const unknown = await getJson(`/jssdk/agent-config?${q({ url: PAGE, appId: CORP, agentId: '999' })}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'unknown_app');
    const notDigits = await getJson(`/jssdk/agent-config?${q({ url: PAGE, appId: CORP, agentId: 'x1' })}`);
    assert.equal(notDigits.status, 400);
    // The same decoding as /jssdk/config: a whole-encoded URL is decoded once, the hash dropped.
    const enc = await getJson(
      `/jssdk/agent-config?url=${encodeURIComponent(encodeURIComponent(`${PAGE}#x`))}&appId=${CORP}`,
    );
    assert.equal(enc.status, 200);
    const ticket = sim.state.currentAgentTicket(CORP, AGENT) as string;
    assert.equal(
      enc.body.signature,
      signJssdk({ ticket, nonceStr: enc.body.nonceStr, timestamp: enc.body.timestamp, url: PAGE }),
    );
    const cors = await fetch(`${url}/jssdk/agent-config?${q({ url: PAGE, appId: CORP })}`, {
      headers: { origin: 'http://localhost' },
    });
    assert.equal(cors.headers.get('access-control-allow-origin'), 'http://localhost');
    const pre = await fetch(`${url}/jssdk/agent-config`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
  });

  test('routes for Official Accounts refuse a corp with a clear 400; the token API serves both', async () => {
    const card = await post('/jssdk/card-sign', { appId: CORP, cardId: 'pCARD0000000000000000001' });
    assert.equal(card.status, 400);
    assert.equal(card.body.error.details.reason, 'wecom_account');
    const auth = { authorization: `Bearer ${API_KEY}` };
    const token = await getJson(`/v1/apps/${CORP}/access_token?agentId=${AGENT2}`, { headers: auth });
    assert.equal(token.status, 200);
    assert.equal(token.body.value, await corp2.accessToken());
    assert.notEqual(token.body.value, await corp.accessToken(), 'each app has its own token');
    const ticket = await getJson(`/v1/apps/${CORP}/jsapi_ticket`, { headers: auth });
    assert.equal(ticket.body.value, sim.state.currentCorpTicket(CORP));
    const agentTicket = await getJson(`/v1/apps/${CORP}/agent_config_ticket`, { headers: auth });
    assert.equal(agentTicket.body.value, sim.state.currentAgentTicket(CORP, AGENT));
    const oaAgent = await getJson(`/v1/apps/${APP}/agent_config_ticket`, { headers: auth });
    assert.equal(oaAgent.status, 400);
    const oaToken = await getJson(`/v1/apps/${APP}/access_token`, { headers: auth });
    assert.equal(oaToken.body.value, await official.accessToken());
  });
});

describe('WeCom OAuth through /oauth/*', () => {
  async function login(b: Browser, params: Record<string, string>) {
    const start = await b.fetch(`${url}/oauth/login?${q({ appId: CORP, returnTo: '/me', ...params })}`);
    assert.equal(start.status, 302, await start.clone().text());
    const authorize = new URL(start.headers.get('location') ?? '');
    return authorize;
  }

  test('a member: authorize URL with agentid, the code exchanged once, /oauth/me = {corpId, userid}', async () => {
    const b = new Browser();
    const authorize = await login(b, {});
    assert.equal(authorize.searchParams.get('appid'), CORP);
    assert.equal(authorize.searchParams.get('agentid'), AGENT);
    assert.equal(authorize.searchParams.get('scope'), 'snsapi_base');
    assert.equal(authorize.hash, '#wechat_redirect');
    const redirected = await b.fetch(authorize.href);
    assert.equal(redirected.status, 302, 'WeCom redirects at once, no consent page');
    const cb = new URL(redirected.headers.get('location') ?? '');
    assert.equal(cb.origin + cb.pathname, `${url}/oauth/callback`);
    const before = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as {
      calls: Record<string, number>;
    };
    const done = await b.fetch(cb.href);
    assert.equal(done.status, 302);
    assert.equal(done.headers.get('location'), '/me');
    const again = await b.fetch(cb.href);
    assert.equal(again.status, 302, 'a repeated callback does not fail the user');
    const stats = (await (await fetch(`${sim.url}/__sim/stats`)).json()) as { calls: Record<string, number> };
    const calls = (s: typeof stats) => s.calls['/cgi-bin/auth/getuserinfo'] ?? 0;
    assert.equal(calls(stats) - calls(before), 1, 'getuserinfo once for the code');
    const me = await b.fetch(`${url}/oauth/me`);
    const user = (await me.json()) as Record<string, unknown>;
    assert.equal(me.status, 200);
    assert.equal(user.corpId, CORP);
    assert.equal(user.agentId, AGENT);
    assert.equal(user.userid, 'zhangsan');
    assert.equal(user.openid, undefined);
  });

  test('a non-member through the second app: /oauth/me = {corpId, openid}', async () => {
    const guest = sim.state.wecom.corp(CORP)?.users.find((u) => 'openid' in u);
    assert.ok(guest && 'openid' in guest);
    const b = new Browser();
    const authorize = await login(b, { agentId: AGENT2 });
    assert.equal(authorize.searchParams.get('agentid'), AGENT2);
    authorize.searchParams.set('simuser', guest.openid);
    const redirected = await b.fetch(authorize.href);
    const cb = new URL(redirected.headers.get('location') ?? '');
    assert.equal((await b.fetch(cb.href)).status, 302);
    const user = (await (await b.fetch(`${url}/oauth/me`)).json()) as Record<string, unknown>;
    assert.equal(user.corpId, CORP);
    assert.equal(user.agentId, AGENT2);
    assert.equal(user.openid, guest.openid);
    assert.equal(user.userid, undefined);
  });

  test('the same protections: a forged state, another browser, a WeCom scope only', async () => {
    const b = new Browser();
    const authorize = await login(b, {});
    const cb = new URL((await b.fetch(authorize.href)).headers.get('location') ?? '');
    const other = new Browser();
    const stolen = await other.fetch(cb.href);
    assert.equal(stolen.status, 403, 'a callback without the login cookie is refused');
    const forged = new URL(cb.href);
    forged.searchParams.set('state', `${'0'.repeat(24)}ffffffff${'0'.repeat(32)}`);
    assert.equal((await b.fetch(forged.href)).status, 403);
    const bad = await b.fetch(`${url}/oauth/login?${q({ appId: CORP, scope: 'snsapi_userinfo' })}`);
    assert.equal(bad.status, 400);
    const privateinfo = await login(new Browser(), { scope: 'snsapi_privateinfo' });
    assert.equal(privateinfo.searchParams.get('scope'), 'snsapi_privateinfo');
  });

  test('a WeCom session is not an Official Account user: card routes do not act for it', async () => {
    const b = new Browser();
    const authorize = await login(b, {});
    await b.fetch(new URL((await b.fetch(authorize.href)).headers.get('location') ?? '').href);
    const res = await b.fetch(`${url}/jssdk/card-ext`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appId: APP, cardId: 'pCARD0000000000000000001', bindOpenid: true }),
    });
    assert.equal(res.status, 401);
  });
});

describe('/jssdk/diagnose understands wx.agentConfig', () => {
  const agentArgs = (ticket: string, extra: Record<string, unknown> = {}) => ({
    kind: 'agentConfig',
    url: PAGE,
    corpid: CORP,
    agentid: Number(AGENT),
    timestamp: TS,
    nonceStr: NONCE,
    signature: signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url: PAGE }),
    errMsg: 'agentConfig:invalid signature',
    ...extra,
  });

  test('signed right with the app ticket (agentid as a number is fine): ok', async () => {
    await corp.agentConfig({ url: PAGE });
    const r = await post('/jssdk/diagnose', {
      ...agentArgs(sim.state.currentAgentTicket(CORP, AGENT) as string),
      errMsg: undefined,
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.kind, 'agentConfig');
    assert.equal(r.body.agentId, AGENT);
    assert.equal(r.body.code, 'ok', JSON.stringify(r.body));
  });

  test('the corp ticket used for wx.agentConfig: wrong_ticket_kind; the reverse for wx.config', async () => {
    const corpTicket = sim.state.currentCorpTicket(CORP) as string;
    const r = await post('/jssdk/diagnose', agentArgs(corpTicket));
    assert.equal(r.body.code, 'wrong_ticket_kind', JSON.stringify(r.body));
    assert.match(r.body.en, /agent_config/);
    assert.match(r.body.zh, /agent_config/);
    assert.ok(!JSON.stringify(r.body).includes(corpTicket), 'tickets never leave the service');
    const appTicket = sim.state.currentAgentTicket(CORP, AGENT) as string;
    const c = await post('/jssdk/diagnose', {
      url: PAGE,
      appId: CORP,
      timestamp: TS,
      nonceStr: NONCE,
      signature: signJssdk({ ticket: appTicket, nonceStr: NONCE, timestamp: TS, url: PAGE }),
      errMsg: 'config:invalid signature',
    });
    assert.equal(c.body.code, 'wrong_ticket_kind', JSON.stringify(c.body));
    assert.ok(!JSON.stringify(c.body).includes(appTicket));
  });

  test('corpid_mismatch, agentid_mismatch and agentid_type', async () => {
    const ticket = sim.state.currentAgentTicket(CORP, AGENT) as string;
    const other = await post('/jssdk/diagnose', agentArgs(ticket, { corpid: 'wwsomeoneelse0001' }));
    assert.equal(other.body.code, 'corpid_mismatch', JSON.stringify(other.body));
    const wrongApp = await post('/jssdk/diagnose', agentArgs(ticket, { agentid: '1000009' }));
    assert.equal(wrongApp.body.code, 'agentid_mismatch', JSON.stringify(wrongApp.body));
    const typed = await post('/jssdk/diagnose', agentArgs(ticket, { agentid: 'AgentId 1000002' }));
    assert.equal(typed.body.code, 'agentid_type', JSON.stringify(typed.body));
    const asString = await post('/jssdk/diagnose', agentArgs(ticket, { agentid: AGENT, errMsg: undefined }));
    assert.equal(asString.body.code, 'ok', 'a string of digits is as good as a number');
  });

  test('a page on another URL: the URL causes of wx.config apply to wx.agentConfig too', async () => {
    const ticket = sim.state.currentAgentTicket(CORP, AGENT) as string;
    const r = await post(
      '/jssdk/diagnose',
      agentArgs(ticket, {
        url: `${PAGE}#/route`,
        signature: signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url: `${PAGE}#/route` }),
      }),
    );
    assert.equal(r.body.code, 'url_hash', JSON.stringify(r.body));
    const bad = await post('/jssdk/diagnose', { ...agentArgs(ticket), kind: 'agent' });
    assert.equal(bad.status, 400);
  });
});
