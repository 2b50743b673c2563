import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { APP, classicToken, getJson, postJson } from './helpers.ts';
import {
  AGENT,
  AGENT_SECRET,
  AGENT2,
  AGENT2_SECRET,
  agentTicket,
  CORP,
  corpTicket,
  gettoken,
  isWecomError,
  startWecom,
  tokenOf,
} from './wecom-helpers.ts';

describe('WeCom /cgi-bin/gettoken', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startWecom();
  });
  after(() => sim.close());

  test('answers errcode 0 and a 7200 s token; the same token while it is valid, with the time left', async () => {
    const first = await gettoken(sim);
    assert.equal(first.errcode, 0);
    assert.equal(first.errmsg, 'ok');
    assert.equal(first.expires_in, 7200);
    assert.equal(typeof first.access_token, 'string');
    sim.advance(1000);
    const again = await gettoken(sim);
    assert.equal(again.access_token, first.access_token, '有效期内重复获取返回相同结果');
    assert.equal(again.expires_in, 6200);
  });

  test('each app has its own secret and so its own token', async () => {
    const a = await tokenOf(sim, AGENT_SECRET);
    const b = await tokenOf(sim, AGENT2_SECRET);
    assert.notEqual(a, b);
  });

  test('after 7200 s a new token; the old one answers 42001, an unknown one 40014, none 41001', async () => {
    const old = await tokenOf(sim);
    sim.advance(7200);
    assert.ok(isWecomError(await corpTicket(sim, old), 42001, 'access_token expired'));
    const fresh = await tokenOf(sim);
    assert.notEqual(fresh, old);
    assert.equal((await corpTicket(sim, fresh)).errcode, 0);
    assert.ok(isWecomError(await corpTicket(sim, old), 42001));
    assert.ok(isWecomError(await corpTicket(sim, 'not-a-token'), 40014, 'invalid access_token'));
    assert.ok(isWecomError(await getJson(`${sim.url}/cgi-bin/get_jsapi_ticket`), 41001));
  });

  test("errors in WeCom's shape: 41002, 40013 invalid corpid, 41004, 40001 invalid credential", async () => {
    assert.ok(
      isWecomError(await getJson(`${sim.url}/cgi-bin/gettoken?corpsecret=x`), 41002, 'corpid missing'),
    );
    assert.ok(isWecomError(await gettoken(sim, 'wwnope'), 40013, 'invalid corpid'));
    assert.ok(isWecomError(await getJson(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}`), 41004));
    const wrong = await gettoken(sim, CORP, 'wrong-secret');
    assert.ok(isWecomError(wrong, 40001, 'invalid credential'));
    assert.ok(!JSON.stringify(wrong).includes('wrong-secret'), 'the secret is not echoed');
    assert.ok(isWecomError(await gettoken(sim, APP, AGENT_SECRET), 40013), 'an Official Account is no corp');
    const post = await getJson(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=${AGENT_SECRET}`, {
      method: 'POST',
    });
    assert.ok(isWecomError(post, 43001));
  });

  test('tokens do not cross: an Official Account token is 40014 here, a WeCom token 40001 there', async () => {
    const oa = (await classicToken(sim)).access_token as string;
    assert.ok(isWecomError(await corpTicket(sim, oa), 40014));
    const wecom = await tokenOf(sim);
    const res = await getJson(`${sim.url}/cgi-bin/ticket/getticket?access_token=${wecom}&type=jsapi`);
    assert.equal(res.errcode, 40001);
  });

  test('WeCom ends a token early (/__sim/wecom/token/expire): 42001, then gettoken issues a new one', async () => {
    const t = await tokenOf(sim);
    const res = await postJson(`${sim.url}/__sim/wecom/token/expire`, { corpId: CORP, agentId: AGENT });
    assert.deepEqual(res, { corpId: CORP, agentId: AGENT, expired: true });
    assert.ok(isWecomError(await corpTicket(sim, t), 42001));
    assert.notEqual(await tokenOf(sim), t);
    assert.equal(sim.expireWecomToken(CORP, Number(AGENT)), true);
    assert.equal(sim.expireWecomToken(CORP, Number(AGENT)), false);
  });
});

describe('WeCom tickets: the corp jsapi_ticket and the app agent_config ticket', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startWecom();
  });
  after(() => sim.close());

  test('the same ticket while valid (expires_in = time left), a new one after 7200 s', async () => {
    const token = await tokenOf(sim);
    const first = await corpTicket(sim, token);
    assert.equal(first.errcode, 0);
    assert.equal(first.errmsg, 'ok');
    assert.equal(first.expires_in, 7200);
    sim.advance(600);
    const again = await corpTicket(sim, token);
    assert.equal(again.ticket, first.ticket);
    assert.equal(again.expires_in, 6600);
    assert.equal(sim.state.currentCorpTicket(CORP), first.ticket);
    const app = await agentTicket(sim, token);
    assert.equal(app.errcode, 0);
    assert.notEqual(app.ticket, first.ticket, 'the app ticket is another ticket');
    assert.equal((await agentTicket(sim, token)).ticket, app.ticket);
    assert.equal(sim.state.currentAgentTicket(CORP, AGENT), app.ticket);
    assert.equal(sim.state.currentAgentTicket(CORP, Number(AGENT)), app.ticket);
    sim.advance(7200);
    const token2 = await tokenOf(sim);
    assert.notEqual((await corpTicket(sim, token2)).ticket, first.ticket);
    assert.notEqual((await agentTicket(sim, token2)).ticket, app.ticket);
  });

  test('the corp ticket is one per corp, the app ticket one per app', async () => {
    const t1 = await tokenOf(sim, AGENT_SECRET);
    const t2 = await tokenOf(sim, AGENT2_SECRET);
    assert.equal((await corpTicket(sim, t1)).ticket, (await corpTicket(sim, t2)).ticket);
    const a1 = (await agentTicket(sim, t1)).ticket;
    const a2 = (await agentTicket(sim, t2)).ticket;
    assert.notEqual(a1, a2);
    assert.equal(sim.state.currentAgentTicket(CORP, AGENT2), a2);
  });

  test('ticket/get needs type=agent_config (40058 otherwise)', async () => {
    const token = await tokenOf(sim);
    assert.ok(isWecomError(await agentTicket(sim, token, 'jsapi'), 40058));
    assert.ok(isWecomError(await getJson(`${sim.url}/cgi-bin/ticket/get?access_token=${token}`), 40058));
  });

  test('/__sim/tickets/expire ends the corp ticket ({appId: corpId}) or an app ticket (agent_config)', async () => {
    const token = await tokenOf(sim);
    const corpT = (await corpTicket(sim, token)).ticket;
    const appT = (await agentTicket(sim, token)).ticket;
    const res = await postJson(`${sim.url}/__sim/tickets/expire`, { appId: CORP, type: 'jsapi' });
    assert.deepEqual(res, { appId: CORP, type: 'jsapi', expired: true });
    assert.equal(sim.state.currentCorpTicket(CORP), undefined);
    assert.equal(sim.state.currentAgentTicket(CORP, AGENT), appT, 'the app ticket lives on');
    assert.notEqual((await corpTicket(sim, token)).ticket, corpT);
    const res2 = await postJson(`${sim.url}/__sim/tickets/expire`, { appId: CORP, type: 'agent_config' });
    assert.deepEqual(res2, { appId: CORP, type: 'agent_config', agentId: AGENT, expired: true });
    assert.notEqual((await agentTicket(sim, token)).ticket, appT);
    assert.equal(sim.expireTicket(CORP, 'agent_config', AGENT2), true, 'app 2 had one (previous test)');
    assert.equal(sim.expireTicket(CORP, 'agent_config', AGENT2), false, 'already ended');
    assert.equal(sim.state.currentAgentTicket(CORP, AGENT2), undefined);
    for (const body of [
      { appId: CORP, type: 'wx_card' },
      { appId: CORP, type: 'agent_config', agentId: 999 },
      { appId: CORP, type: 'jsapi', agentId: AGENT },
      { appId: APP, type: 'agent_config' },
      { appId: APP, agentId: AGENT },
    ]) {
      const r = await fetch(`${sim.url}/__sim/tickets/expire`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
  });

  test('counted in /__sim/stats under their paths; faults answer in WeCom shape', async () => {
    sim.reset();
    const token = await tokenOf(sim);
    await corpTicket(sim, token);
    await agentTicket(sim, token);
    await agentTicket(sim, token);
    const stats = (await getJson(`${sim.url}/__sim/stats`)) as { calls: Record<string, number> };
    assert.equal(stats.calls['/cgi-bin/gettoken'], 1);
    assert.equal(stats.calls['/cgi-bin/get_jsapi_ticket'], 1);
    assert.equal(stats.calls['/cgi-bin/ticket/get'], 2);
    await postJson(`${sim.url}/__sim/faults`, { path: '/cgi-bin/gettoken', errcode: -1, times: 1 });
    assert.ok(isWecomError(await gettoken(sim), -1, 'system busy'));
    assert.equal((await gettoken(sim)).errcode, 0, 'the fault was used up');
    await postJson(`${sim.url}/__sim/faults`, { path: '/cgi-bin/ticket/get', errcode: 45009, times: 2 });
    assert.ok(isWecomError(await agentTicket(sim, token), 45009, 'api freq out of limit'));
    assert.ok(isWecomError(await agentTicket(sim, token), 45009));
    assert.equal((await agentTicket(sim, token)).errcode, 0);
    assert.equal(sim.stats().calls['/cgi-bin/gettoken'], 3, 'faulted calls are counted too');
  });

  test('trusted IPs: gettoken still answers, the APIs using the token answer 60020', async () => {
    await postJson(`${sim.url}/__sim/faults`, { ipWhitelist: ['10.9.8.7'] });
    try {
      const token = await tokenOf(sim);
      const res = await corpTicket(sim, token);
      assert.ok(isWecomError(res, 60020, 'not allow to access from your ip'));
      assert.match(String(res.errmsg), /from ip: 127\.0\.0\.1,/);
      assert.ok(isWecomError(await agentTicket(sim, token), 60020));
    } finally {
      await fetch(`${sim.url}/__sim/faults`, { method: 'DELETE' });
    }
  });
});

describe('WeCom hourly ticket limits', () => {
  test('agent_config: 100 calls per app an hour, then 45009 for 60 minutes; other apps unaffected', async () => {
    const sim = await startWecom();
    try {
      const token = await tokenOf(sim);
      for (let i = 0; i < 100; i++) assert.equal((await agentTicket(sim, token)).errcode, 0, `call ${i + 1}`);
      assert.ok(isWecomError(await agentTicket(sim, token), 45009, 'api freq out of limit'));
      assert.equal(
        (await agentTicket(sim, await tokenOf(sim, AGENT2_SECRET))).errcode,
        0,
        'app 2 has its own',
      );
      assert.equal((await corpTicket(sim, token)).errcode, 0, 'get_jsapi_ticket is counted apart');
      sim.advance(3599);
      const again = await tokenOf(sim);
      assert.ok(isWecomError(await agentTicket(sim, again), 45009), 'blocked for 60 minutes');
      sim.advance(1);
      assert.equal((await agentTicket(sim, await tokenOf(sim))).errcode, 0, 'an hour later it answers');
    } finally {
      await sim.close();
    }
  });

  test('get_jsapi_ticket: 100 per app and 400 per corp an hour (a sliding hour)', async () => {
    const agents = [1000001, 1000002, 1000003, 1000004, 1000005];
    const sim = await startSimulator({
      corps: agents.map((a) => ({ corpId: CORP, agentId: a, secret: `s${a}` })),
    });
    try {
      const tokens: string[] = [];
      for (const a of agents) tokens.push(await tokenOf(sim, `s${a}`));
      const [t1, t2, t3, t4, t5] = tokens as [string, string, string, string, string];
      for (let i = 0; i < 60; i++) assert.equal((await corpTicket(sim, t1)).errcode, 0);
      sim.advance(1800);
      for (let i = 0; i < 40; i++) assert.equal((await corpTicket(sim, t1)).errcode, 0);
      sim.advance(1799);
      // 100 in the last hour for app 1: refused, and app 1 is now blocked for 60 minutes.
      assert.ok(isWecomError(await corpTicket(sim, t1), 45009));
      sim.advance(1);
      assert.ok(isWecomError(await corpTicket(sim, t1), 45009), 'blocked although the window slid');
      for (const t of [t2, t3, t4]) {
        for (let i = 0; i < 100; i++) assert.equal((await corpTicket(sim, t)).errcode, 0);
      }
      // 40 calls of app 1 + 300 of apps 2–4 in the last hour: app 5 may make 60 more.
      for (let i = 0; i < 60; i++)
        assert.equal((await corpTicket(sim, t5)).errcode, 0, `app 5 call ${i + 1}`);
      assert.ok(isWecomError(await corpTicket(sim, t5), 45009), 'the corp has had 400 this hour');
      assert.ok(isWecomError(await corpTicket(sim, t2), 45009), 'the corp is blocked for every app');
    } finally {
      await sim.close();
    }
  });
});

describe('startSimulator({corps}) options', () => {
  test('strings and objects; one corp with several apps; secrets are not echoed in errors', async () => {
    const sim = await startWecom();
    try {
      assert.deepEqual(
        sim.corps.map((c) => [c.corpId, c.agentId]),
        [
          [CORP, AGENT],
          [CORP, AGENT2],
        ],
      );
      const listed = (await getJson(`${sim.url}/__sim/corps`)) as { corps: Array<Record<string, unknown>> };
      assert.equal(listed.corps.length, 1);
      assert.ok(!JSON.stringify(listed).includes(AGENT_SECRET));
    } finally {
      await sim.close();
    }
    for (const corps of [
      ['ww1:1000002'],
      ['ww1::secret'],
      ['ww1:abc:secret'],
      ['ww1:0:secret'],
      ['ww1:1000002:s', 'ww1:1000002:t'],
      ['ww1:1000002:s', 'ww1:1000003:s'],
      [`${APP}:1000002:s`],
    ]) {
      await assert.rejects(startSimulator({ apps: [`${APP}:x`], corps }), /corp|CORPID|agentid/i);
    }
  });
});
