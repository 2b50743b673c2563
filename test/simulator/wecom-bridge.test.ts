import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { APP, classicToken, postJson, ticket } from './helpers.ts';
import {
  AGENT,
  AGENT2,
  AGENT2_SECRET,
  agentTicket,
  CORP,
  corpTicket,
  startWecom,
  tokenOf,
} from './wecom-helpers.ts';

// The JS bridge's WeCom checks over HTTP, as /jweixin.js calls them: wx.config against the corp ticket,
// wx.agentConfig against the app ticket, and the agent-only wx.invoke APIs.

const PAGE = 'https://work.example.com/app/page?x=1';
const NONCE = 'n0nceW3C0m';
const TS = '1700000000';

function sign(ticket: string, url = PAGE) {
  return signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url });
}

describe('WeCom pages in the JS bridge', () => {
  let sim: Simulator;
  let corpT: string;
  let appT: string;
  let app2T: string;
  before(async () => {
    sim = await startWecom();
    const token = await tokenOf(sim);
    corpT = (await corpTicket(sim, token)).ticket as string;
    appT = (await agentTicket(sim, token)).ticket as string;
    app2T = (await agentTicket(sim, await tokenOf(sim, AGENT2_SECRET))).ticket as string;
  });
  after(() => sim.close());

  const bridge = (path: string, body: Record<string, unknown>) =>
    postJson(`${sim.url}/__sim/bridge/${path}`, body);

  async function config(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return bridge('config', {
      appId: CORP,
      timestamp: TS,
      nonceStr: NONCE,
      signature: sign(corpT),
      url: PAGE,
      beta: true,
      ...extra,
    });
  }

  function agentConfig(token: unknown, extra: Record<string, unknown> = {}) {
    return bridge('agent-config', {
      token,
      corpid: CORP,
      agentid: Number(AGENT),
      timestamp: TS,
      nonceStr: NONCE,
      signature: sign(appT),
      jsApiList: ['getCurExternalContact'],
      url: PAGE,
      ...extra,
    });
  }

  test('wx.config of a corp page verifies against the corp jsapi_ticket (beta: true accepted)', async () => {
    const ok = await config();
    assert.equal(ok.errMsg, 'config:ok');
    assert.equal(typeof ok.token, 'string');
    assert.equal(
      (await config({ signature: sign(appT) })).errMsg,
      'config:invalid signature',
      'not the app ticket',
    );
    const wrongUrl = await config({ url: 'https://work.example.com/app/other', debug: true });
    assert.deepEqual(wrongUrl, {
      errMsg: 'config:invalid signature',
      realAuthUrl: 'https://work.example.com/app/other',
    });
    assert.equal(
      (await config({ url: 'https://evil.example/app/page?x=1' })).errMsg,
      'config:invalid url domain',
    );
    assert.equal((await config({ url: `${PAGE}#/route` })).errMsg, 'config:ok', 'the hash is not signed');
  });

  test('iOS verifies the landing URL, Android the current one (after pushState)', async () => {
    const landing = 'https://work.example.com/spa/';
    const current = 'https://work.example.com/spa/orders/7';
    const where = { url: current, landingUrl: landing };
    assert.equal(
      (await config({ ...where, platform: 'ios', signature: sign(corpT, landing) })).errMsg,
      'config:ok',
    );
    assert.equal(
      (await config({ ...where, platform: 'android', signature: sign(corpT, current) })).errMsg,
      'config:ok',
    );
    const ios = (await config({ ...where, platform: 'ios', signature: sign(corpT, landing) })).token;
    assert.equal(
      (await agentConfig(ios, { ...where, platform: 'ios', signature: sign(appT, landing) })).errMsg,
      'agentConfig:ok',
    );
    assert.equal(
      (await agentConfig(ios, { ...where, platform: 'ios', signature: sign(appT, current) })).errMsg,
      'agentConfig:invalid signature',
    );
  });

  test('wx.agentConfig verifies against the app ticket; agentid as number or string', async () => {
    const { token } = await config();
    assert.deepEqual(await agentConfig(token), { errMsg: 'agentConfig:ok' });
    assert.deepEqual(await agentConfig(token, { agentid: AGENT }), { errMsg: 'agentConfig:ok' });
    assert.equal(
      (await agentConfig(token, { agentid: AGENT2, signature: sign(app2T) })).errMsg,
      'agentConfig:invalid url domain',
      "app 2's trusted domains are the default ones",
    );
    assert.equal(
      (
        await agentConfig(token, {
          agentid: AGENT2,
          url: 'http://localhost/p',
          signature: sign(app2T, 'http://localhost/p'),
        })
      ).errMsg,
      'agentConfig:ok',
    );
  });

  test('the corp ticket used for agentConfig is refused: agentConfig:invalid signature', async () => {
    const { token } = await config();
    const res = await agentConfig(token, { signature: sign(corpT), debug: true });
    assert.deepEqual(res, { errMsg: 'agentConfig:invalid signature', realAuthUrl: PAGE });
    assert.equal(
      (await agentConfig(token, { signature: sign(app2T) })).errMsg,
      'agentConfig:invalid signature',
    );
  });

  test('agentConfig before a successful wx.config is refused', async () => {
    assert.match(
      String((await agentConfig(undefined)).errMsg),
      /^agentConfig:fail, wx\.config has not succeeded/,
    );
    assert.match(String((await agentConfig('forged-token')).errMsg), /^agentConfig:fail/);
    const failed = await config({ signature: 'bad' });
    assert.equal(failed.token, undefined, 'a failed config opens no session');
  });

  test('corpid and agentid must name the configured corp and one of its apps; missing fields fail', async () => {
    const { token } = await config();
    assert.equal((await agentConfig(token, { corpid: 'wwother' })).errMsg, 'agentConfig:invalid corpId');
    assert.equal((await agentConfig(token, { agentid: 999 })).errMsg, 'agentConfig:invalid agentId');
    assert.equal((await agentConfig(token, { agentid: '1000002.0' })).errMsg, 'agentConfig:invalid agentId');
    assert.equal((await agentConfig(token, { signature: '' })).errMsg, 'agentConfig:fail');
    // An Official Account page has no corp to inject an app into.
    const oaToken = (await classicToken(sim)).access_token;
    const oaTicket = (await ticket(sim, oaToken)).ticket as string;
    const oaPage = 'http://localhost/oa';
    const oa = await bridge('config', {
      appId: APP,
      timestamp: TS,
      nonceStr: NONCE,
      signature: sign(oaTicket, oaPage),
      url: oaPage,
    });
    assert.equal(oa.errMsg, 'config:ok');
    assert.equal(
      (await agentConfig(oa.token, { corpid: APP, url: oaPage })).errMsg,
      'agentConfig:invalid corpId',
    );
    assert.equal((await agentConfig(oa.token, { url: oaPage })).errMsg, 'agentConfig:invalid corpId');
  });

  test('agent-only wx.invoke APIs work only after agentConfig listed them', async () => {
    const { token } = await config({ jsApiList: ['getCurExternalContact'] });
    const call = (name: string) => bridge('invoke', { token, name, args: {} });
    assert.deepEqual(await call('getCurExternalContact'), {
      err_msg: 'getCurExternalContact:fail_no permission',
    });
    await agentConfig(token, { jsApiList: ['getCurExternalContact', 'selectExternalContact'] });
    const cur = await call('getCurExternalContact');
    assert.equal(cur.err_msg, 'getCurExternalContact:ok');
    assert.match(String(cur.userId), /^wm/);
    const sel = await call('selectExternalContact');
    assert.equal(sel.err_msg, 'selectExternalContact:ok');
    assert.deepEqual(sel.userIds, [cur.userId]);
    assert.equal((await call('openUserProfile')).err_msg, 'openUserProfile:fail_no permission', 'not listed');
    assert.equal((await call('noSuchApi')).err_msg, 'noSuchApi:fail, function not exist');
    // A new wx.config starts a new session: agentConfig has to run again.
    const again = (await config()).token;
    assert.equal(
      (await bridge('invoke', { token: again, name: 'getCurExternalContact' })).err_msg,
      'getCurExternalContact:fail_no permission',
    );
  });

  test('the agent ticket ended (/__sim/tickets/expire) → agentConfig:invalid signature until re-signed', async () => {
    const { token } = await config();
    assert.equal((await agentConfig(token)).errMsg, 'agentConfig:ok');
    sim.expireTicket(CORP, 'agent_config', AGENT);
    assert.equal((await agentConfig(token)).errMsg, 'agentConfig:invalid signature');
    const fresh = (await agentTicket(sim, await tokenOf(sim))).ticket as string;
    assert.equal((await agentConfig(token, { signature: sign(fresh) })).errMsg, 'agentConfig:ok');
  });

  test('chooseImage works on a WeCom page; uploadImage answers a clear failure (no WeCom media store)', async () => {
    const { token } = await config();
    const chosen = await bridge('choose', { token, count: 1 });
    const localId = (chosen.localIds as string[])[0];
    assert.ok(localId);
    assert.deepEqual(await bridge('upload', { token, localId }), {
      errMsg: 'fail, the simulator does not store WeCom media',
    });
  });
});
