import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { verifyBridgeConfig } from '../../src/simulator/bridge/verify.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { APP, APP2, postJson, stableToken, start, ticket } from './helpers.ts';

describe('POST /__sim/tickets/expire (SPEC §10)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start();
  });
  after(() => sim.close());

  test('ends the current ticket now: the next getticket issues a new one', async () => {
    const token = (await stableToken(sim)).access_token;
    const first = (await ticket(sim, token)).ticket as string;
    assert.equal((await ticket(sim, token)).ticket, first, 'the same ticket while valid');
    const res = await postJson(`${sim.url}/__sim/tickets/expire`, { appId: APP, type: 'jsapi' });
    assert.deepEqual(res, { appId: APP, type: 'jsapi', expired: true });
    assert.equal(sim.state.currentTicket(APP), undefined, 'no page verifies against it any more');
    const second = await ticket(sim, token);
    assert.notEqual(second.ticket, first);
    assert.equal(second.expires_in, 7200);
    assert.equal(sim.state.currentTicket(APP), second.ticket);
  });

  test('a page signed with the ended ticket fails wx.config with config:invalid signature', async () => {
    const token = (await stableToken(sim)).access_token;
    const held = (await ticket(sim, token)).ticket as string;
    const url = 'http://localhost/page';
    const signed = { appId: APP, nonceStr: 'n0nce', timestamp: '1700000000', url };
    const signature = signJssdk({ ticket: held, ...signed });
    // The check /jweixin.js runs for wx.config.
    assert.equal(verifyBridgeConfig(sim.state, { ...signed, signature }).errMsg, 'config:ok');
    sim.expireTicket(APP);
    assert.equal(verifyBridgeConfig(sim.state, { ...signed, signature }).errMsg, 'config:invalid signature');
    const fresh = (await ticket(sim, token)).ticket as string;
    assert.equal(verifyBridgeConfig(sim.state, { ...signed, signature }).errMsg, 'config:invalid signature');
    const resigned = signJssdk({ ticket: fresh, ...signed });
    assert.equal(verifyBridgeConfig(sim.state, { ...signed, signature: resigned }).errMsg, 'config:ok');
  });

  test('wx_card, the first account by default, nothing to end, bad input', async () => {
    const token = (await stableToken(sim)).access_token;
    await ticket(sim, token, 'wx_card');
    assert.equal(sim.expireTicket(APP, 'wx_card'), true);
    assert.equal(sim.expireTicket(APP, 'wx_card'), false, 'already ended');
    const dflt = await postJson(`${sim.url}/__sim/tickets/expire`, {});
    assert.equal(dflt.appId, APP);
    assert.equal(dflt.type, 'jsapi');
    assert.equal(sim.expireTicket(APP2), false, 'no ticket was issued for it');
    for (const body of [{ appId: 'wxnope' }, { type: 'agent' }, { appId: APP, extra: 1 }, [1]]) {
      const res = await fetch(`${sim.url}/__sim/tickets/expire`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_request');
    }
    assert.throws(() => sim.expireTicket('wxnope'), TypeError);
    assert.equal(sim.stats().calls['/__sim/tickets/expire'], undefined, 'control calls are not counted');
  });
});
