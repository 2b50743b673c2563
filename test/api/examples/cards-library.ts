// docs/cards.md "From your server", verbatim; run by test/api/doc-blocks.test.ts against the simulator.
import { createWxkit } from 'wxkit';

const wx = createWxkit({ appId: process.env.WX_APP_ID!, secret: process.env.WX_APP_SECRET, apiBase: process.env.WX_API_BASE });
const choose = await wx.chooseCardSign({ cardType: 'GROUPON' }); // { timestamp, nonceStr, signType, cardSign }
const cardExt = await wx.cardExt({ cardId: 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc', code: '1234567890' }); // a custom-code card

export { cardExt, choose, wx };
