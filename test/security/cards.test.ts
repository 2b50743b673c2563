// Issue 18 item 1: card signature confusion on the anonymous card routes. WeChat signs cards with SHA1
// over values sorted and joined without a separator, under one wx_card ticket, so free text a page may
// send can be shifted into another signature's joined string. Each attack is performed over HTTP
// against a real service and the simulator's ticket; the property test tries generated requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CARD_TYPES, cardSignature } from '../../src/cards.ts';
import { createHandler } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { localAccount } from '../http/helpers.ts';
import { Browser, type Service } from '../oauth/stack.ts';

const APP = 'wxcardsec00000001';
const SECRET = 'card-security-secret';
const CARD = 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc';
const CUSTOM_CODE_CARD = 'pFS7FjgCustomCode0000000001';
const UNLISTED = 'pFS7FjgNotListed00000000001';
const SHOP = '289475623';

let sim: Simulator;
let wx: Wxkit;
let server: RunningServer;
let base: string;
let userCookie: string;
let userOpenid: string;

before(async () => {
  ({ sim, account: wx } = await localAccount(APP, SECRET));
  const handler = createHandler(wx, {
    log: false,
    rateLimit: false,
    cardIds: { [APP]: [CARD, CUSTOM_CODE_CARD] },
    cardShopIds: [SHOP],
    sessionSecret: 'card-security-session-secret-0123456789',
  });
  server = await listen(handler, '127.0.0.1', 0);
  base = `http://localhost:${server.port}`;
  const user = new Browser();
  const service = { url: base } as Service;
  await user.fetch((await user.toCallback(service)).href);
  userCookie = user.cookieHeader(base);
  userOpenid = ((await (await user.fetch(`${base}/oauth/me`)).json()) as { openid: string }).openid;
});
after(async () => {
  await server.close(100);
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

const ticket = () => sim.state.currentTicket(APP, 'wx_card') as string;
/** The string WeChat hashes: the values sorted as strings and joined, empty ones left out. */
const joined = (values: readonly (string | undefined)[]) =>
  values
    .filter((v): v is string => v !== undefined && v !== '')
    .sort()
    .join('');

interface ChooseCard {
  timestamp: number;
  nonceStr: string;
  cardSign: string;
  cardId?: string;
  cardType?: string;
  shopId?: string;
}

describe('the attacks of the review', () => {
  test('(a) an unlisted card id sent as cardType: refused, so no wx.chooseCard({cardId: unlisted}) signature', async () => {
    const res = await post('/jssdk/card-sign', { cardType: UNLISTED });
    if (res.status === 200) {
      const s = (await res.json()) as ChooseCard;
      const forged = cardSignature([ticket(), APP, String(s.timestamp), s.nonceStr, UNLISTED]);
      assert.notEqual(s.cardSign, forged, 'the signature is valid for chooseCard({cardId: unlisted})');
    }
    assert.equal(res.status, 400);
    const error = ((await res.json()) as { error: { code: string; details: { reason: string } } }).error;
    assert.deepEqual([error.code, error.details.reason], ['invalid_request', 'card_type_unknown']);
  });

  test('(b) a chosen code sent as shopId, repeated until the nonce sorts next to the appId: no cardExt forged', async () => {
    const CODE = '860372948143';
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const res = await post('/jssdk/card-sign', { cardId: CUSTOM_CODE_CARD, shopId: CODE });
      if (res.status !== 200) {
        assert.equal(res.status, 403);
        const error = (await res.json()) as { error: { details: { reason: string } } };
        assert.equal(error.error.details.reason, 'shop_not_allowed');
        refused++;
        break;
      }
      const s = (await res.json()) as ChooseCard;
      // The attacker's cardExt: {code: CODE, timestamp, nonce_str: appId + nonce, signature: cardSign}.
      const nonce = `${APP}${s.nonceStr}`;
      const cardExt = [ticket(), String(s.timestamp), CUSTOM_CODE_CARD, CODE, nonce];
      assert.notEqual(
        cardSignature(cardExt),
        s.cardSign,
        `attempt ${i}: a cardExt for code ${CODE} was forged`,
      );
    }
    assert.equal(refused, 1, 'the shop id was refused on the first request');
  });

  test('listed values still sign: every card type, the configured shop, a listed card', async () => {
    for (const cardType of CARD_TYPES) {
      const res = await post('/jssdk/card-sign', { cardId: CARD, cardType, shopId: SHOP });
      assert.equal(res.status, 200, cardType);
      const s = (await res.json()) as ChooseCard;
      assert.equal(
        s.cardSign,
        cardSignature([ticket(), APP, SHOP, String(s.timestamp), s.nonceStr, CARD, cardType]),
      );
    }
  });
});

/** What an anonymous caller may send: listed values, unlisted ones, and free text built to collide. */
function attackerValue(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(CARD, CUSTOM_CODE_CARD, UNLISTED, SHOP, ...CARD_TYPES),
    fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/),
    fc.stringMatching(/^[0-9]{8,16}$/), // codes
    fc.stringMatching(/^o[A-Za-z0-9_-]{27}$/), // openids
    fc.stringMatching(/^[0-9a-z]{4,12}$/).map((tail) => `${APP}${tail}`), // glued to the appId
    fc.stringMatching(/^[A-Z_]{4,16}$/), // look like card types
  );
}

/** Values only the service chooses or lists: nothing else may appear in a signed string. */
function serverSide(): string[] {
  return [ticket(), APP, CARD, CUSTOM_CODE_CARD, SHOP, userOpenid, ...CARD_TYPES];
}

/** The attacker's value is in the joined string only if a server-side value carries it already. */
function assertAbsent(value: string | undefined, signed: string): void {
  if (value === undefined || value.length < 8) return;
  if (serverSide().some((v) => v.includes(value) || value.includes(v))) return;
  assert.ok(
    !signed.includes(value),
    `${value} reached the signed string ${signed.replace(ticket(), '<ticket>')}`,
  );
}

describe('property: no value an anonymous caller controls reaches a card signature', () => {
  test('card-sign: what is signed is server-side values, the timestamp and the nonce only', async () => {
    await fc.assert(
      fc.asyncProperty(
        attackerValue(),
        attackerValue(),
        attackerValue(),
        async (cardId, cardType, shopId) => {
          const res = await post('/jssdk/card-sign', { cardId, cardType, shopId });
          if (res.status !== 200) {
            assert.ok(res.status === 400 || res.status === 403, `status ${res.status}`);
            return;
          }
          const s = (await res.json()) as ChooseCard;
          const values = [ticket(), APP, s.shopId, String(s.timestamp), s.nonceStr, s.cardId, s.cardType];
          // The answer names exactly what was signed...
          assert.equal(s.cardSign, cardSignature(values));
          // ...and every value the page chose is one of the lists.
          if (s.cardId !== undefined) assert.ok([CARD, CUSTOM_CODE_CARD].includes(s.cardId));
          if (s.cardType !== undefined) assert.ok(CARD_TYPES.includes(s.cardType));
          if (s.shopId !== undefined) assert.equal(s.shopId, SHOP);
          assert.match(s.nonceStr, /^[A-Za-z0-9]{16,32}$/);
          const signed = joined(values);
          for (const v of [cardId, cardType, shopId]) assertAbsent(v, signed);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('card-ext: only a listed card and the logged-in user’s own openid are signed', async () => {
    await fc.assert(
      fc.asyncProperty(
        attackerValue(),
        attackerValue(),
        attackerValue(),
        fc.boolean(),
        fc.boolean(),
        async (cardId, code, openid, bindOpenid, loggedIn) => {
          const body = { cardId, code, openid, bindOpenid, outerStr: code };
          const res = await post('/jssdk/card-ext', body, loggedIn ? userCookie : undefined);
          if (res.status !== 200) {
            assert.ok([400, 401, 403].includes(res.status), `status ${res.status}`);
            return;
          }
          const answer = (await res.json()) as { cardId: string; cardExt: string };
          const ext = JSON.parse(answer.cardExt) as Record<string, string>;
          const values = [ticket(), ext.timestamp, answer.cardId, ext.code, ext.openid, ext.nonce_str];
          assert.equal(ext.signature, cardSignature(values));
          assert.ok([CARD, CUSTOM_CODE_CARD].includes(answer.cardId));
          assert.equal(ext.code, undefined, 'a page never chooses the code');
          if (ext.openid !== undefined) assert.equal(ext.openid, userOpenid);
          const signed = joined(values);
          for (const v of [cardId, code, openid]) assertAbsent(v, signed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
