// Cards in Chromium (SPEC §9): the docs/cards.md page example signs through the service and the
// simulator's bridge accepts chooseCard and addCard; a cardSign made with the jsapi_ticket is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cardSignature } from '../../src/cards.ts';
import { openPage } from './page.ts';
import { APP_ID, setUpStack } from './stack.ts';

const CARD = 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc';
const example = readFileSync(new URL('../api/examples/cards-page.js', import.meta.url), 'utf8');
const env = setUpStack({ handlerOptions: { cardIds: [CARD] } });

const configure = `wxkit.configure({ sdkUrl: 'http://sim.example/jweixin.js', jsApiList: ['chooseCard', 'addCard'] })`;

test('the docs example: chooseCard with the service’s cardSign, addCard with its cardExt', async () => {
  const { context, page } = await openPage(env.browser, 'http://h5.example.com/cards');
  try {
    await page.evaluate(configure);
    const result = (await page.evaluate(`${example}\ncardsExample('')`)) as {
      cardList: string;
      added: { errMsg: string; cardList: Array<{ cardId: string; isSuccess: boolean }> };
    };
    const chosen = JSON.parse(result.cardList) as Array<{ card_id: string; encrypt_code: string }>;
    assert.equal(chosen.length, 1);
    assert.ok(chosen[0]?.encrypt_code);
    assert.equal(result.added.errMsg, 'addCard:ok');
    assert.deepEqual(
      result.added.cardList.map((c) => [c.cardId, c.isSuccess]),
      [[CARD, true]],
    );
  } finally {
    await context.close();
  }
});

test('a cardSign made with the jsapi_ticket (or as key=value pairs) is refused by the bridge', async () => {
  const { context, page } = await openPage(env.browser, 'http://h5.example.com/cards-wrong');
  try {
    await page.evaluate(configure);
    const jsapi = env.stack.sim.state.currentTicket(APP_ID, 'jsapi') as string;
    const card =
      env.stack.sim.state.currentTicket(APP_ID, 'wx_card') ?? (await env.stack.account.ticket('wx_card'));
    const timestamp = 1700000000;
    const nonceStr = 'n0nce';
    const wrongTicket = cardSignature([jsapi, APP_ID, String(timestamp), nonceStr, 'GROUPON']);
    const pairs = cardSignature([
      `api_ticket=${card}&app_id=${APP_ID}&card_type=GROUPON&nonce_str=${nonceStr}&times_tamp=${timestamp}`,
    ]);
    const right = cardSignature([card, APP_ID, String(timestamp), nonceStr, 'GROUPON']);
    // A string, not a function: the test's transpiler would add helpers the page does not have.
    const attempt = (cardSign: string) =>
      page.evaluate(`new Promise((resolve) => wx.chooseCard({
        timestamp: ${timestamp}, nonceStr: '${nonceStr}', cardSign: '${cardSign}', cardType: 'GROUPON', signType: 'SHA1',
        success: (r) => resolve(r.errMsg), fail: (r) => resolve(r.errMsg),
      }))`) as Promise<string>;
    assert.equal(await attempt(wrongTicket), 'chooseCard:fail, invalid signature');
    assert.equal(await attempt(pairs), 'chooseCard:fail, invalid signature');
    assert.equal(await attempt(right), 'chooseCard:ok');
  } finally {
    await context.close();
  }
});
