// Card signatures over HTTP (SPEC §9): /jssdk/card-sign and /jssdk/card-ext sign with the wx_card
// ticket the simulator issued, only for configured card ids, and bind a card to the logged-in user only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cardSignature } from '../../src/cards.ts';
import { createHandler } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { localAccount } from './helpers.ts';

const APP = 'wxcards0000000001';
const SECRET = 'cards-test-secret';
const CARD = 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc';

let sim: Simulator;
let wx: Wxkit;
let server: RunningServer;
let base: string;

before(async () => {
  ({ sim, account: wx } = await localAccount(APP, SECRET));
  const handler = createHandler(wx, {
    log: false,
    rateLimit: false,
    cardIds: [CARD],
    cardShopIds: ['1234'],
    sessionSecret: 'cards-test-session-secret-0123456789',
  });
  server = await listen(handler, '127.0.0.1', 0);
  base = `http://localhost:${server.port}`;
});
after(async () => {
  await server.close();
  await wx.close();
  await sim.close();
});

function post(path: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; details?: { reason?: string } } }).error;

/** A session cookie for the simulator's first user (snsapi_base login through the service). */
async function login(): Promise<{ cookie: string; openid: string }> {
  const jar = new Map<string, string>();
  const go = async (url: string) => {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] ?? '';
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    return res;
  };
  const start = await go(`${base}/oauth/login?returnTo=/`);
  const back = await go(start.headers.get('location') ?? '');
  await go(back.headers.get('location') ?? '');
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const me = (await (await fetch(`${base}/oauth/me`, { headers: { cookie } })).json()) as { openid: string };
  return { cookie, openid: me.openid };
}

describe('card signatures', () => {
  test('card-sign: wx.chooseCard values signed with the wx_card ticket, not the jsapi ticket', async () => {
    const res = await post('/jssdk/card-sign', { cardId: CARD, cardType: 'GROUPON', shopId: '1234' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, string | number>;
    assert.equal(body.signType, 'SHA1');
    assert.equal(body.cardId, CARD);
    assert.equal(body.shopId, '1234');
    const cardTicket = sim.state.currentTicket(APP, 'wx_card');
    assert.ok(cardTicket);
    const values = (ticket: string) => [
      ticket,
      APP,
      '1234',
      String(body.timestamp),
      String(body.nonceStr),
      CARD,
      'GROUPON',
    ];
    assert.equal(body.cardSign, cardSignature(values(cardTicket)));
    const jsapi = sim.state.currentTicket(APP, 'jsapi') ?? (await wx.ticket('jsapi'));
    assert.notEqual(body.cardSign, cardSignature(values(jsapi)), 'the jsapi ticket is the wrong key');
    // No card id: the user chooses among their cards of that type.
    const any = await post('/jssdk/card-sign', { cardType: 'GROUPON' });
    assert.equal(any.status, 200);
  });

  test('card-ext: a cardExt JSON string for a listed card; other cards are refused', async () => {
    const res = await post('/jssdk/card-ext', { cardId: CARD, outerStr: 'spring' });
    assert.equal(res.status, 200);
    const { cardId, cardExt } = (await res.json()) as { cardId: string; cardExt: string };
    assert.equal(cardId, CARD);
    const ext = JSON.parse(cardExt) as Record<string, string>;
    assert.equal(ext.outer_str, 'spring');
    const ticket = sim.state.currentTicket(APP, 'wx_card') as string;
    assert.equal(ext.signature, cardSignature([ticket, ext.timestamp, CARD, ext.nonce_str]));

    const other = await post('/jssdk/card-ext', { cardId: 'pOtherCard000000000000000000' });
    assert.equal(other.status, 403);
    assert.equal((await errorOf(other)).details?.reason, 'card_not_allowed');
    const sign = await post('/jssdk/card-sign', { cardId: 'pOtherCard000000000000000000' });
    assert.equal(sign.status, 403);
    const code = await post('/jssdk/card-ext', { cardId: CARD, code: '123456' });
    assert.equal(code.status, 400, 'a page never chooses the code');
    const missing = await post('/jssdk/card-ext', {});
    assert.equal(missing.status, 400);
  });

  test('a card bound to a user is signed for the logged-in user only', async () => {
    const anonymous = await post('/jssdk/card-ext', { cardId: CARD, bindOpenid: true });
    assert.equal(anonymous.status, 401);
    const named = await post('/jssdk/card-ext', { cardId: CARD, openid: 'oSomeoneElse' });
    assert.equal(named.status, 401);
    const { cookie, openid } = await login();
    assert.match(openid, /^oSIM/);
    const bound = await post('/jssdk/card-ext', { cardId: CARD, bindOpenid: true }, cookie);
    assert.equal(bound.status, 200);
    const ext = JSON.parse(((await bound.json()) as { cardExt: string }).cardExt) as Record<string, string>;
    assert.equal(ext.openid, openid);
    const ticket = sim.state.currentTicket(APP, 'wx_card') as string;
    assert.equal(ext.signature, cardSignature([ticket, ext.timestamp, CARD, openid, ext.nonce_str]));
    const mismatch = await post('/jssdk/card-ext', { cardId: CARD, openid: 'oSomeoneElse' }, cookie);
    assert.equal(mismatch.status, 403);
    assert.equal((await errorOf(mismatch)).details?.reason, 'openid_mismatch');
  });

  test('the library: wx.chooseCardSign() and wx.cardExt() sign with the wx_card ticket', async () => {
    const s = await wx.chooseCardSign({ cardId: CARD, cardType: 'GROUPON' });
    const ticket = sim.state.currentTicket(APP, 'wx_card') as string;
    assert.equal(s.cardSign, cardSignature([ticket, APP, String(s.timestamp), s.nonceStr, CARD, 'GROUPON']));
    const ext = JSON.parse(await wx.cardExt({ cardId: CARD, code: 'c0de123' })) as Record<string, string>;
    assert.equal(ext.code, 'c0de123');
    assert.equal(ext.signature, cardSignature([ticket, ext.timestamp, CARD, 'c0de123', ext.nonce_str]));
  });

  test('without card ids the card routes are off', async () => {
    const off = createHandler(wx, { log: false });
    const res = await off(
      new Request('http://svc.test/jssdk/card-sign', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    assert.equal(res.status, 404);
  });
});
