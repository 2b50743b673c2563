import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configureIn, openPage } from './page.ts';
import { APP_ID, setUpStack } from './stack.ts';

const SDK = 'http://sim.example/jweixin.js?platform=android';

/**
 * SPEC §10, issue 11 item 4: WeChat ends the ticket wxkit holds. The next page fails `wx.config`, the
 * browser helper reports it to `/jssdk/diagnose`, the service re-checks its ticket upstream, and the page
 * after it configures — with one extra getticket and no token fetch.
 */
describe('a wrong ticket heals itself', () => {
  const env = setUpStack();

  const configurePage = async (url: string) => {
    const { context, page } = await openPage(env.browser, url);
    try {
      return await configureIn(page, { sdkUrl: SDK, jsApiList: ['chooseImage'] });
    } finally {
      await context.close();
    }
  };

  test('expire the ticket: the next page fails and reports, the page after it succeeds', async () => {
    assert.deepEqual(await configurePage('http://h5.example.com/warm'), { ok: true });
    const held = await env.stack.account.ticket();
    env.stack.sim.reset();
    assert.equal(env.stack.sim.expireTicket(APP_ID, 'jsapi'), true);

    const failed = await configurePage('http://h5.example.com/shop/item?id=42');
    assert.equal(failed.ok, false);
    assert.equal(failed.errMsg, 'config:invalid signature');
    const diagnosis = failed.diagnosis as {
      code?: string;
      ticketRecheck?: { rechecked: boolean; refreshed: boolean };
    };
    assert.equal(diagnosis.code, 'stale_ticket', JSON.stringify(diagnosis));
    assert.deepEqual(diagnosis.ticketRecheck, { rechecked: true, refreshed: true });
    assert.match(failed.message ?? '', /configure again \(or reload the page\)/);

    assert.deepEqual(await configurePage('http://h5.example.com/shop/item?id=43'), { ok: true });
    const calls = env.stack.sim.stats().calls;
    assert.equal(calls['/cgi-bin/ticket/getticket'], 1, JSON.stringify(calls));
    assert.equal(calls['/cgi-bin/stable_token'] ?? 0, 0, 'no token fetch');
    assert.equal(calls['/cgi-bin/token'] ?? 0, 0, 'no token fetch');
    const now = await env.stack.account.ticket();
    assert.notEqual(now, held);
    assert.equal(now, env.stack.sim.state.currentTicket(APP_ID));
  });
});
