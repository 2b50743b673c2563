import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCardExt, buildChooseCardSign, cardSignature } from '../../src/cards.ts';

// Expected values are sha1sum of the hand-sorted concatenation, e.g.
//   printf '%s' '1700000000GROUPONn0ncepCard1ticket-abcwx123' | sha1sum

describe('cardSignature: SHA1 over the values sorted as strings, empty values left out', () => {
  test('vector: chooseCard values', () => {
    const values = ['ticket-abc', 'wx123', '', '1700000000', 'n0nce', 'pCard1', 'GROUPON'];
    assert.equal(cardSignature(values), '213c59308e313a340d5ffeb9ebb9204ecc25dc51');
    // Order does not matter; empty, undefined and null are left out.
    assert.equal(cardSignature([...values].reverse()), '213c59308e313a340d5ffeb9ebb9204ecc25dc51');
    assert.equal(
      cardSignature(['ticket-abc', undefined, 'wx123', null, '1700000000', 'n0nce', 'pCard1', 'GROUPON']),
      '213c59308e313a340d5ffeb9ebb9204ecc25dc51',
    );
  });

  test('vector: a prefix sorts before the longer value (jonyqin < jonyqin_1434008071)', () => {
    const values = [
      'ojZ8YtyVyr30HheH3CM73y7h4jJE',
      '1404896688',
      'pjZ8Yt1XGILfi-FUsewpnnolGgZk',
      'jonyqin_1434008071',
      '',
      'jonyqin',
    ];
    assert.equal(cardSignature(values), '2b4d29b5f60fa4be37522ddfd9583c329446d3e3');
  });

  test('numbers are signed as their decimal strings', () => {
    assert.equal(cardSignature([1700000000, 'n0nce']), cardSignature(['1700000000', 'n0nce']));
  });
});

describe('chooseCardSign and cardExt', () => {
  test('chooseCard: api_ticket, app_id, location_id, times_tamp, nonce_str, card_id, card_type', () => {
    const r = buildChooseCardSign({
      apiTicket: 'ticket-abc',
      appId: 'wx123',
      cardId: 'pCard1',
      cardType: 'GROUPON',
      timestamp: 1700000000,
      nonceStr: 'n0nce',
    });
    assert.deepEqual(r, {
      timestamp: 1700000000,
      nonceStr: 'n0nce',
      signType: 'SHA1',
      cardSign: '213c59308e313a340d5ffeb9ebb9204ecc25dc51',
    });
    // The classic mistake, key=value pairs, gives another value.
    const pairs =
      'api_ticket=ticket-abc&app_id=wx123&card_id=pCard1&card_type=GROUPON&nonce_str=n0nce&times_tamp=1700000000';
    assert.notEqual(r.cardSign, cardSignature([pairs]));
    const fresh = buildChooseCardSign({ apiTicket: 't', appId: 'wx1' });
    assert.match(fresh.nonceStr, /^[A-Za-z0-9]{16}$/);
    assert.ok(Number.isInteger(fresh.timestamp));
  });

  test('cardExt: a JSON string whose signature covers api_ticket, timestamp, card_id, code, openid, nonce_str', () => {
    const ext = buildCardExt({
      apiTicket: 'ticket-abc',
      cardId: 'pCard1',
      timestamp: 1700000000,
      nonceStr: 'n0nce',
      outerStr: 'spring',
    });
    assert.deepEqual(JSON.parse(ext), {
      timestamp: '1700000000',
      nonce_str: 'n0nce',
      outer_str: 'spring',
      signature: 'fb3f3375f7f5b937c453da1bc76b9b8b9ee8034c',
    });
    const bound = JSON.parse(
      buildCardExt({
        apiTicket: 'ticket-abc',
        cardId: 'pCard1',
        code: 'c0de',
        openid: 'oUser',
        timestamp: 1,
        nonceStr: 'n',
      }),
    ) as Record<string, string>;
    assert.equal(bound.code, 'c0de');
    assert.equal(bound.openid, 'oUser');
    assert.equal(bound.signature, cardSignature(['ticket-abc', '1', 'pCard1', 'c0de', 'oUser', 'n']));
  });

  test('bad values are a clear invalid_request, never a crash', () => {
    assert.throws(() => buildCardExt({ apiTicket: 't', cardId: '' }), { code: 'invalid_request' });
    assert.throws(() => buildChooseCardSign({ apiTicket: 't', appId: 'a', cardId: 'has space' }), {
      code: 'invalid_request',
    });
    assert.throws(() => buildCardExt({ apiTicket: 't', cardId: 'x'.repeat(200) }), {
      code: 'invalid_request',
    });
  });
});
