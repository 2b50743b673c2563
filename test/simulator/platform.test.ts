// The simulated open platform (SPEC §13): ticket pushes on the virtual clock, the component endpoints
// with their errcodes, the authorization page and its events, and the refresh-token rules.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPushCrypto } from '../../src/push/crypto.ts';
import { pushSignature } from '../../src/push/signature.ts';
import { readXml } from '../../src/push/xml.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

const COMPONENT = 'wxc0mp0nent000001';
const SECRET = 'component-secret-for-tests';
const TOKEN = 'componenttoken';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** The platform's 授权事件接收URL: checks the signature, decrypts, records, answers `success`. */
async function eventsReceiver() {
  const events: Record<string, string>[] = [];
  const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: COMPONENT });
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const outer = readXml(body) as Record<string, string>;
      const encrypt = outer.Encrypt ?? '';
      const expected = pushSignature(TOKEN, q.get('timestamp') ?? '', q.get('nonce') ?? '', encrypt);
      if (q.get('msg_signature') !== expected || outer.AppId !== COMPONENT) {
        res.writeHead(401).end('bad signature');
        return;
      }
      events.push(readXml(crypto.decrypt(encrypt).message) as Record<string, string>);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/platform/events`;
  return {
    url,
    events,
    tickets: () => events.filter((e) => e.InfoType === 'component_verify_ticket'),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const post = async (sim: Simulator, path: string, body: unknown) => {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
};

describe('simulated open platform', () => {
  let sim: Simulator;
  let receiver: Awaited<ReturnType<typeof eventsReceiver>>;
  let componentToken: string;

  before(async () => {
    receiver = await eventsReceiver();
    sim = await startSimulator({
      components: [`${COMPONENT}:${SECRET}:${TOKEN}:${AES_KEY}`],
      componentEvents: receiver.url,
      authorizers: 5,
    });
    await sim.openPlatform.pusher.settle();
  });
  after(async () => {
    await sim.close();
    await receiver.close();
  });

  const component = () => sim.openPlatform.state.get(COMPONENT)!;
  const api = (path: string, body: Record<string, unknown>) =>
    post(sim, `${path}?component_access_token=${encodeURIComponent(componentToken)}`, {
      component_appid: COMPONENT,
      ...body,
    });

  test('a verify ticket is pushed at start, encrypted and signed; the component token needs a ticket WeChat pushed', async () => {
    assert.equal(receiver.tickets().length, 1);
    const ticket = receiver.tickets()[0]?.ComponentVerifyTicket;
    assert.ok(ticket?.startsWith('ticket@@@'));
    const forged = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: SECRET,
      component_verify_ticket: 'ticket@@@made-up',
    });
    assert.equal(forged.errcode, 61006);
    const wrongSecret = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: 'nope',
      component_verify_ticket: ticket,
    });
    assert.equal(wrongSecret.errcode, 40125);
    const ok = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: SECRET,
      component_verify_ticket: ticket,
    });
    assert.equal(ok.expires_in, 7200);
    componentToken = String(ok.component_access_token);
  });

  test('tickets come every 10 virtual minutes; stopped, the last one ends after 12 hours (61005)', async () => {
    const before = receiver.tickets().length;
    sim.advance(599);
    sim.openPlatform.pusher.tick();
    await sim.openPlatform.pusher.settle();
    assert.equal(receiver.tickets().length, before, 'not yet due');
    sim.advance(1);
    sim.openPlatform.pusher.tick();
    await sim.openPlatform.pusher.settle();
    assert.equal(receiver.tickets().length, before + 1);
    const last = receiver.tickets().at(-1)?.ComponentVerifyTicket;
    await post(sim, '/__sim/platform/tickets', { stop: true });
    sim.advance(11 * 3600);
    sim.openPlatform.pusher.tick();
    await sim.openPlatform.pusher.settle();
    assert.equal(receiver.tickets().length, before + 1, 'no push while stopped');
    const late = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: SECRET,
      component_verify_ticket: last,
    });
    assert.ok(late.component_access_token, 'still valid after 11 hours');
    componentToken = String(late.component_access_token);
    sim.advance(3600);
    const expired = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: SECRET,
      component_verify_ticket: last,
    });
    assert.equal(expired.errcode, 61005);
    const resumed = await post(sim, '/__sim/platform/tickets', { resume: true, push: true });
    assert.equal((resumed.pushed as { ok: boolean }).ok, true, 'the receiver answered success');
    const fresh = await post(sim, '/cgi-bin/component/api_component_token', {
      component_appid: COMPONENT,
      component_appsecret: SECRET,
      component_verify_ticket: receiver.tickets().at(-1)?.ComponentVerifyTicket,
    });
    componentToken = String(fresh.component_access_token);
    assert.ok(componentToken);
  });

  test('the authorization page needs a click from the redirect host, then redirects with auth_code and pushes `authorized`', async () => {
    const pre = await api('/cgi-bin/component/api_create_preauthcode', {});
    const preAuthCode = String(pre.pre_auth_code);
    const redirect = 'https://platform.example.com/platform/authorized';
    const login = `${sim.url}/cgi-bin/componentloginpage?component_appid=${COMPONENT}&pre_auth_code=${encodeURIComponent(preAuthCode)}&redirect_uri=${encodeURIComponent(redirect)}&auth_type=1`;
    const direct = await (await fetch(login)).text();
    assert.match(direct, /授权入口页所在域名/, 'opened without a click on the platform page');
    const shown = await (
      await fetch(login, { headers: { referer: 'https://platform.example.com/start' } })
    ).text();
    assert.match(shown, /id="authorize"/);
    const appId = component().candidates[1]!;
    const confirm = await fetch(`${sim.url}/cgi-bin/componentloginpage/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        component_appid: COMPONENT,
        pre_auth_code: preAuthCode,
        redirect_uri: redirect,
        appid: appId,
      }),
    });
    assert.equal(confirm.status, 302);
    const back = new URL(confirm.headers.get('location') ?? '');
    assert.equal(back.origin + back.pathname, redirect);
    const authCode = back.searchParams.get('auth_code') ?? '';
    assert.equal(back.searchParams.get('expires_in'), '3600');
    await sim.openPlatform.pusher.settle();
    const event = receiver.events.find((e) => e.InfoType === 'authorized');
    assert.equal(event?.AuthorizerAppid, appId);
    assert.equal(event?.AuthorizationCode, authCode);

    const again = await fetch(login, { headers: { referer: 'https://platform.example.com/start' } });
    assert.match(await again.text(), /pre_auth_code/, 'a pre-auth code is single use');

    const auth = await api('/cgi-bin/component/api_query_auth', { authorization_code: authCode });
    const info = auth.authorization_info as Record<string, unknown>;
    assert.equal(info.authorizer_appid, appId);
    assert.ok(String(info.authorizer_refresh_token).startsWith('refreshtoken@@@'));
    const reuse = await api('/cgi-bin/component/api_query_auth', { authorization_code: authCode });
    assert.equal(reuse.errcode, 61009, 'an authorization code is single use');

    // The authorizer token signs for the account like any token: its jsapi_ticket comes from it.
    const t = await (
      await fetch(
        `${sim.url}/cgi-bin/ticket/getticket?type=jsapi&access_token=${encodeURIComponent(String(info.authorizer_access_token))}`,
      )
    ).json();
    assert.equal((t as { errcode: number }).errcode, 0);
  });

  test('refresh tokens: re-authorization replaces it (old → 61023) and kills the access token (40001); unauthorization → 61003', async () => {
    const appId = component().candidates[2]!;
    const first = (await post(sim, '/__sim/platform/authorize', { appId })) as {
      codes: { authCode: string }[];
    };
    const auth = (
      await api('/cgi-bin/component/api_query_auth', { authorization_code: first.codes[0]?.authCode })
    ).authorization_info as Record<string, string>;
    const refresh1 = auth.authorizer_refresh_token;
    const refreshed = await api('/cgi-bin/component/api_authorizer_token', {
      authorizer_appid: appId,
      authorizer_refresh_token: refresh1,
    });
    const token1 = String(refreshed.authorizer_access_token);
    assert.equal(refreshed.authorizer_refresh_token, refresh1, 'the refresh token stays while authorized');
    const ticket = (token: string) =>
      fetch(`${sim.url}/cgi-bin/ticket/getticket?type=jsapi&access_token=${encodeURIComponent(token)}`).then(
        (r) => r.json() as Promise<{ errcode: number }>,
      );
    assert.equal((await ticket(token1)).errcode, 0);

    await post(sim, '/__sim/platform/authorize', { appId });
    await sim.openPlatform.pusher.settle();
    assert.ok(receiver.events.some((e) => e.InfoType === 'updateauthorized' && e.AuthorizerAppid === appId));
    assert.equal((await ticket(token1)).errcode, 40001, 're-authorization kills the current token');
    const stale = await api('/cgi-bin/component/api_authorizer_token', {
      authorizer_appid: appId,
      authorizer_refresh_token: refresh1,
    });
    assert.equal(stale.errcode, 61023);
    const info = await api('/cgi-bin/component/api_get_authorizer_info', { authorizer_appid: appId });
    const refresh2 = (info.authorization_info as Record<string, string>).authorizer_refresh_token;
    assert.notEqual(refresh2, refresh1);
    const healed = await api('/cgi-bin/component/api_authorizer_token', {
      authorizer_appid: appId,
      authorizer_refresh_token: refresh2,
    });
    assert.ok(healed.authorizer_access_token);

    await post(sim, '/__sim/platform/unauthorize', { appId });
    await sim.openPlatform.pusher.settle();
    assert.ok(receiver.events.some((e) => e.InfoType === 'unauthorized' && e.AuthorizerAppid === appId));
    const gone = await api('/cgi-bin/component/api_authorizer_token', {
      authorizer_appid: appId,
      authorizer_refresh_token: refresh2,
    });
    assert.equal(gone.errcode, 61003);
    assert.equal((await ticket(String(healed.authorizer_access_token))).errcode, 40001);
  });

  test('the authorizer list pages at most 500 and sometimes leaves the refresh token out', async () => {
    await post(sim, '/__sim/platform/authorize', { count: 5, events: false });
    const tooMany = await api('/cgi-bin/component/api_get_authorizer_list', { offset: 0, count: 501 });
    assert.equal(tooMany.errcode, 40097);
    const quirky = component().candidates[0]!;
    await post(sim, '/__sim/platform/quirks', { listMissingRefreshToken: [quirky] });
    const page1 = await api('/cgi-bin/component/api_get_authorizer_list', { offset: 0, count: 3 });
    const page2 = await api('/cgi-bin/component/api_get_authorizer_list', { offset: 3, count: 3 });
    assert.equal(page1.total_count, 5);
    const rows = [...(page1.list as Record<string, unknown>[]), ...(page2.list as Record<string, unknown>[])];
    assert.equal(rows.length, 5);
    assert.deepEqual(new Set(rows.map((r) => r.authorizer_appid)), new Set(component().candidates));
    for (const r of rows) {
      if (r.authorizer_appid === quirky) assert.equal(r.refresh_token, undefined);
      else assert.ok(String(r.refresh_token).startsWith('refreshtoken@@@'));
    }
  });

  test('component OAuth: the authorize page needs component_appid of a platform the account authorized (10015); the component exchange keeps the code rules', async () => {
    const [mine, other, , late, revoked] = component().candidates as [string, string, string, string, string];
    const authorizeUrl = (appid: string, extra: Record<string, string> = {}) =>
      `${sim.url}/connect/oauth2/authorize?${new URLSearchParams({
        appid,
        redirect_uri: 'http://127.0.0.1/cb',
        response_type: 'code',
        scope: 'snsapi_base',
        state: 's',
        ...extra,
      })}#wechat_redirect`;
    const codeFor = async (appid: string, viaComponent = true) => {
      const res = await fetch(authorizeUrl(appid, viaComponent ? { component_appid: COMPONENT } : {}), {
        redirect: 'manual',
      });
      const back = new URL(res.headers.get('location') ?? '');
      if (viaComponent) assert.equal(back.searchParams.get('appid'), appid);
      return back.searchParams.get('code') ?? '';
    };
    const exchange = async (q: Record<string, string>, path = '/sns/oauth2/component/access_token') =>
      (await (await fetch(`${sim.url}${path}?${new URLSearchParams(q)}`)).json()) as Record<string, unknown>;
    const asComponent = (appid: string, code: string) =>
      exchange({
        appid,
        code,
        grant_type: 'authorization_code',
        component_appid: COMPONENT,
        component_access_token: componentToken,
      });

    await post(sim, '/__sim/platform/unauthorize', { appId: revoked });
    for (const url of [
      authorizeUrl(revoked, { component_appid: COMPONENT }),
      authorizeUrl(mine, { component_appid: 'wxnotaplatform00' }),
    ]) {
      assert.match(await (await fetch(url)).text(), /data-errcode="10015"[^<]*公众号未授权第三方平台/);
    }

    const code = await codeFor(mine);
    assert.equal((await asComponent(other, code)).errcode, 40029, 'bound to the appId');
    assert.equal(
      (
        await exchange({
          appid: mine,
          code,
          grant_type: 'authorization_code',
          component_appid: COMPONENT,
          component_access_token: 'made-up',
        })
      ).errcode,
      40001,
    );
    const secret = sim.state.app(mine)!.secret;
    assert.equal(
      (
        await exchange(
          { appid: mine, secret, code, grant_type: 'authorization_code' },
          '/sns/oauth2/access_token',
        )
      ).errcode,
      40029,
      'a platform’s code is not exchanged with the account’s secret',
    );
    const token = await asComponent(mine, code);
    assert.match(String(token.openid), /^o/);
    assert.equal((await asComponent(mine, code)).errcode, 40163, 'single use');
    assert.equal(
      (await asComponent(mine, await codeFor(mine, false))).errcode,
      40029,
      'an own code is not the platform’s',
    );
    const refreshed = await exchange(
      {
        appid: mine,
        grant_type: 'refresh_token',
        component_appid: COMPONENT,
        component_access_token: componentToken,
        refresh_token: String(token.refresh_token),
      },
      '/sns/oauth2/component/refresh_token',
    );
    assert.equal(refreshed.openid, token.openid);

    const stale = await codeFor(late);
    sim.advance(300);
    assert.equal((await asComponent(late, stale)).errcode, 40029, 'five minutes');
    const pending = await codeFor(late);
    await post(sim, '/__sim/platform/unauthorize', { appId: late });
    assert.equal((await asComponent(late, pending)).errcode, 61003);
    sim.advance(7200);
    assert.equal(
      (await asComponent(mine, await codeFor(mine))).errcode,
      42001,
      'the component token expired',
    );
  });
});
