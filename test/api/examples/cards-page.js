// docs/cards.md "From a page", verbatim inside a function; test/browser/cards.test.ts runs it in Chromium
// on a page whose wx.config listed chooseCard and addCard (endpoint: the wxkit service's origin).
async function cardsExample(endpoint) {
const post = (path, body) =>
  fetch(endpoint + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    .then((r) => r.json());

// Let the user pick one of their coupons (卡券列表)
const sign = await post('/jssdk/card-sign', { cardType: 'GROUPON' });
const { cardList } = await wxkit.call('chooseCard', { cardType: 'GROUPON', ...sign });

// Give the user a card (领取卡券)
const { cardId, cardExt } = await post('/jssdk/card-ext', { cardId: 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc' });
const added = await wxkit.call('addCard', { cardList: [{ cardId, cardExt }] });
  return { cardList, added };
}
