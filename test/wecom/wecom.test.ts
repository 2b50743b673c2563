import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWxkit } from '../../src/accounts/official.ts';
import { createWecom, type WecomInstance, type WecomOptions } from '../../src/accounts/wecom.ts';
import { WxkitError } from '../../src/errors.ts';
import { retryAfterOf } from '../../src/http/reply.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';

const CORP = 'wwl1bc0rp0000001';
const AGENT = '1000002';
const SECRET = 'wecom-app-secret-1';
const APP = { appId: 'wxl1b0ff1c1a1001', secret: 'official-secret' };
const PAGE = 'https://work.example.com/app/?from=menu';

let sim: Simulator;
const accounts: { close(): Promise<void> }[] = [];
before(async () => {
  sim = await startSimulator({
    apps: [APP],
    corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['work.example.com'] }],
    jsDomains: ['h5.example.com'],
  });
});
after(async () => {
  for (const a of accounts) await a.close();
  await sim.close();
});

const calls = (path: string) => sim.stats().calls[path] ?? 0;
/** A fresh start: no faults, every credential of the simulator expired, counts at zero. */
function fresh() {
  sim.clearFaults();
  sim.advance(8000);
  sim.reset();
}
function wecom(extra: Partial<WecomOptions> = {}): WecomInstance {
  const corp = createWecom({
    corpId: CORP,
    agentId: AGENT,
    secret: SECRET,
    apiBase: sim.url,
    openBase: sim.url,
    jsDomains: ['work.example.com'],
    now: () => sim.now() * 1000,
    ...extra,
  });
  accounts.push(corp);
  return corp;
}
const corpTicket = () => sim.state.wecom.currentCorpTicket(CORP);
const agentTicket = () => sim.state.wecom.currentAgentTicket(CORP, AGENT);
const verifies = (
  ticket: string | undefined,
  c: { nonceStr: string; timestamp: number; signature: string },
) =>
  ticket !== undefined &&
  c.signature === signJssdk({ ticket, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE });

async function rejection(p: Promise<unknown>): Promise<WxkitError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WxkitError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

describe('createWecom against the simulator', () => {
  test('wx.config is signed with the corp ticket (appId = corpId, beta), wx.agentConfig with the app ticket', async () => {
    fresh();
    const corp = wecom();
    const config = await corp.jssdkConfig({ url: `${PAGE}#/home`, jsApiList: ['selectExternalContact'] });
    const agent = await corp.agentConfig({ url: PAGE, jsApiList: ['selectExternalContact'] });
    assert.equal(config.appId, CORP);
    assert.equal(config.beta, true);
    assert.ok(verifies(corpTicket(), config), 'wx.config verifies against the corp jsapi_ticket');
    assert.deepEqual(Object.keys(agent).sort(), [
      'agentid',
      'corpid',
      'jsApiList',
      'nonceStr',
      'signature',
      'timestamp',
    ]);
    assert.equal(agent.corpid, CORP);
    assert.equal(agent.agentid, AGENT, 'agentid is a string');
    assert.deepEqual(agent.jsApiList, ['selectExternalContact']);
    assert.ok(verifies(agentTicket(), agent), 'wx.agentConfig verifies against the app ticket');
    assert.ok(!verifies(corpTicket(), agent), 'and not against the corp ticket');
    assert.equal(await corp.ticket('jsapi'), corpTicket());
    assert.equal(await corp.ticket('agent_config'), agentTicket());
    const status = await corp.status();
    assert.equal(status.type, 'wecom');
    assert.deepEqual(
      status.credentials.map((c) => [c.kind, c.cached, c.source]),
      [
        ['access_token', true, 'gettoken'],
        ['jsapi_ticket', true, 'get_jsapi_ticket'],
        ['agent_config_ticket', true, 'ticket/get'],
      ],
    );
    await assert.rejects(corp.ticket('wx_card' as never), /use jsapi or agent_config/);
  });

  test('a page outside the trusted domains is refused before any upstream call', async () => {
    fresh();
    const corp = wecom();
    const e = await rejection(corp.agentConfig({ url: 'https://evil.example.net/' }));
    assert.equal(e.code, 'url_not_allowed');
    assert.match(e.hint.zh, /可信域名/);
    assert.equal(calls('/cgi-bin/gettoken'), 0);
  });

  test('300 concurrent cold wx.config + wx.agentConfig in one process: one gettoken, one get_jsapi_ticket, one ticket/get', async () => {
    fresh();
    const corp = wecom();
    const pages = await Promise.all(
      Array.from({ length: 300 }, () =>
        Promise.all([corp.jssdkConfig({ url: PAGE }), corp.agentConfig({ url: PAGE })]),
      ),
    );
    assert.equal(calls('/cgi-bin/gettoken'), 1);
    assert.equal(calls('/cgi-bin/get_jsapi_ticket'), 1);
    assert.equal(calls('/cgi-bin/ticket/get'), 1);
    assert.ok(pages.every(([c, a]) => verifies(corpTicket(), c) && verifies(agentTicket(), a)));
  });

  test('refresh ahead: near expiry the held tickets keep serving while one background fetch each asks again', async () => {
    fresh();
    const corp = wecom();
    await corp.agentConfig({ url: PAGE });
    await corp.jssdkConfig({ url: PAGE });
    const before = { agent: agentTicket(), corp: corpTicket() };
    sim.advance(7200 - 200); // inside the 290 s refresh-ahead window, still valid
    const agent = await corp.agentConfig({ url: PAGE });
    const config = await corp.jssdkConfig({ url: PAGE });
    assert.ok(verifies(before.agent, agent) && verifies(before.corp, config), 'served from the held tickets');
    for (let i = 0; i < 200 && calls('/cgi-bin/ticket/get') + calls('/cgi-bin/get_jsapi_ticket') < 4; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls('/cgi-bin/ticket/get'), 2, 'one background refresh of the app ticket');
    assert.equal(calls('/cgi-bin/get_jsapi_ticket'), 2, 'one background refresh of the corp ticket');
    // WeCom answers the same tickets while they are valid: used to their end, then new ones.
    for (let i = 0; i < 10; i++) await corp.agentConfig({ url: PAGE });
    assert.equal(
      calls('/cgi-bin/ticket/get'),
      2,
      'a ticket WeCom re-issued unchanged is not asked for again',
    );
    sim.advance(300);
    const later = await corp.agentConfig({ url: PAGE });
    assert.notEqual(agentTicket(), before.agent);
    assert.ok(verifies(agentTicket(), later), 'after expiry the new app ticket signs');
  });

  test('a token WeCom ended early: compare-and-invalidate, one gettoken, the call retried once', async () => {
    fresh();
    const corp = wecom();
    const t1 = await corp.accessToken();
    assert.equal(sim.expireWecomToken(CORP, AGENT), true);
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await corp.request('/cgi-bin/get_jsapi_ticket');
        return ((await res.json()) as { errcode: number }).errcode;
      }),
    );
    assert.deepEqual(results, Array(20).fill(0), 'every call succeeded after its one retry');
    assert.equal(calls('/cgi-bin/gettoken'), 2, 'the first token, then one new one for 20 callers');
    assert.notEqual(await corp.accessToken(), t1);
    assert.equal(await corp.invalidateAccessToken(t1), false, 'the old token is no longer held');

    // The same rule inside a ticket fetch: another process holding the shared store's token (dead at
    // WeCom) asks for the app ticket: 42001 at ticket/get → a new token → ticket/get once more.
    fresh();
    const store = createMemoryStore();
    await wecom({ store }).accessToken();
    sim.expireWecomToken(CORP, AGENT);
    sim.reset();
    const agent = await wecom({ store }).agentConfig({ url: PAGE });
    assert.ok(verifies(agentTicket(), agent));
    assert.equal(calls('/cgi-bin/gettoken'), 1);
    assert.equal(calls('/cgi-bin/ticket/get'), 2, 'the refused call and its one retry');
  });

  for (const [what, extra, errcode] of [
    ['a wrong corpId (40013)', { corpId: 'wwn0such0c0rp001' }, 40013],
    [
      'a wrong secret at gettoken (40001: a config error here, not a token to refresh)',
      { secret: 'not-the-secret' },
      40001,
    ],
  ] as const) {
    test(`${what}: remembered, 200 callers make one upstream call, no retry loop`, async () => {
      fresh();
      const corp = wecom(extra);
      const errors = await Promise.all(
        Array.from({ length: 200 }, () => rejection(corp.agentConfig({ url: PAGE }))),
      );
      assert.ok(
        errors.every((e) => e.code === 'wechat_error' && e.errcode === errcode && e.platform === 'wecom'),
      );
      assert.equal(errors[0]?.category, 'config');
      assert.equal(errors[0]?.status, 502);
      assert.equal(
        retryAfterOf(errors[0] as WxkitError),
        undefined,
        'config refusals are not fixed by waiting',
      );
      assert.equal(calls('/cgi-bin/gettoken'), 1);
      assert.equal(calls('/cgi-bin/ticket/get'), 0);
      sim.advance(10);
      await rejection(corp.jssdkConfig({ url: PAGE }));
      assert.equal(calls('/cgi-bin/gettoken'), 1, 'still remembered 10 s later');
      assert.equal((await corp.status()).lastError?.errcode, errcode);
    });
  }

  test("the hourly ticket limit (45009): backed off for minutes, not until WeChat's midnight, then recovers", async () => {
    fresh();
    const spender = wecom();
    // Another service spends the app's hourly agent_config budget (100) with the same app.
    for (let i = 0; i < 100; i++)
      await (await spender.request('/cgi-bin/ticket/get?type=agent_config')).text();
    sim.reset();
    const corp = wecom({ store: createMemoryStore() });
    const errors = await Promise.all(
      Array.from({ length: 200 }, () => rejection(corp.agentConfig({ url: PAGE }))),
    );
    assert.ok(
      errors.every((e) => e.errcode === 45009 && e.code === 'upstream_unavailable'),
      errors[0]?.message,
    );
    const first = errors[0] as WxkitError;
    assert.equal(first.category, 'rate-limit');
    assert.equal(first.status, 503);
    assert.equal(calls('/cgi-bin/ticket/get'), 1, 'one call for 200 callers, not retried at once');
    const retry = retryAfterOf(first) ?? 0;
    assert.ok(retry >= 20 && retry <= 60, `Retry-After ${retry} s (a minute-scale backoff)`);
    sim.advance(31);
    await rejection(corp.agentConfig({ url: PAGE }));
    assert.equal(calls('/cgi-bin/ticket/get'), 2, 'one more attempt after the backoff');
    const second = await rejection(corp.agentConfig({ url: PAGE }));
    assert.ok((second.retryAfter ?? 0) > 30, `the backoff doubles (${second.retryAfter} s)`);
    assert.equal(calls('/cgi-bin/ticket/get'), 2);
    // The corp ticket has its own budget: wx.config still works.
    const config = await corp.jssdkConfig({ url: PAGE });
    assert.ok(verifies(corpTicket(), config));
    sim.advance(3600);
    const agent = await corp.agentConfig({ url: PAGE });
    assert.ok(verifies(agentTicket(), agent), 'recovers once WeCom lifts the block');
  });

  test('WeCom OAuth: authorize URL with agentid, getUserInfo exchanges a code once, members and non-members', async () => {
    fresh();
    const corp = wecom();
    const url = corp.oauth.authorizeUrl({ redirectUri: 'https://work.example.com/cb', state: 'st4te' });
    const u = new URL(url);
    assert.equal(u.searchParams.get('appid'), CORP);
    assert.equal(u.searchParams.get('agentid'), AGENT);
    assert.ok(url.endsWith('#wechat_redirect'));
    const codeOf = async () => {
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 302);
      const back = new URL(res.headers.get('location') ?? '');
      assert.equal(back.searchParams.get('state'), 'st4te');
      return back.searchParams.get('code') ?? '';
    };
    const code = await codeOf();
    const users = await Promise.all(Array.from({ length: 5 }, () => corp.oauth.getUserInfo(code)));
    assert.deepEqual(users, Array(5).fill({ userid: 'zhangsan' }));
    assert.deepEqual(await corp.oauth.getUserInfo(code), { userid: 'zhangsan' }, 'a repeated callback');
    assert.equal(calls('/cgi-bin/auth/getuserinfo'), 1);

    const guest = sim.setWecomUser(CORP, { openid: `oWW${CORP.slice(-8)}guest00000000` });
    assert.ok(guest && 'openid' in guest);
    const visitor = await corp.oauth.getUserInfo(await codeOf());
    assert.ok('openid' in visitor);
    assert.equal(visitor.openid, guest.openid);
    assert.equal(visitor.external_userid, guest.external_userid);
    sim.setWecomUser(CORP);

    const bad = await rejection(corp.oauth.getUserInfo('0123456789abcdef0123456789abcdef'));
    assert.equal(bad.code, 'unauthorized');
    assert.equal(bad.errcode, 40029);
    await assert.rejects(corp.oauth.getUserInfo(''), /no usable code/);
  });

  test('an Official Account and a WeCom app share one store without touching each other', async () => {
    fresh();
    const store = createMemoryStore();
    const corp = wecom({ store });
    const wx = createWxkit({ ...APP, apiBase: sim.url, store, now: () => sim.now() * 1000 });
    accounts.push(wx);
    const [a, o] = await Promise.all([
      corp.agentConfig({ url: PAGE }),
      wx.jssdkConfig({ url: 'https://h5.example.com/' }),
    ]);
    assert.ok(verifies(agentTicket(), a));
    assert.equal(o.appId, APP.appId);
    assert.notEqual(await wx.accessToken(), await corp.accessToken());
    assert.equal(calls('/cgi-bin/stable_token'), 1);
    assert.equal(calls('/cgi-bin/gettoken'), 1);
    assert.ok((await store.get(`wxkit:wecom:${CORP}:${AGENT}:agent_config_ticket`)) !== undefined);
    assert.ok((await store.get(`wxkit:${APP.appId}:jsapi_ticket`)) !== undefined);
  });

  test('bad options are config errors that name the variable, never echoing the secret', () => {
    assert.throws(() => createWecom({ corpId: '', agentId: AGENT, secret: SECRET }), /corpId/);
    assert.throws(() => createWecom({ corpId: CORP, agentId: 'app-1', secret: SECRET }), /agentId/);
    assert.throws(
      () => createWecom({ corpId: CORP, agentId: 1000002, secret: '' }),
      (e: WxkitError) => e.code === 'config_error' && /WX_CORP_SECRET/.test(e.hint.en),
    );
    assert.equal(createWecom({ corpId: CORP, agentId: 1000002, secret: SECRET }).agentId, '1000002');
  });
});
