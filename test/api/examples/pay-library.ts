// docs/pay.md "The library: wxkit/pay", verbatim; run by test/pay/docs-example.test.ts against the simulator.
import { readFileSync } from 'node:fs';
import { createPay } from 'wxkit/pay';

const pay = createPay({
  mchId: process.env.WXPAY_MCH_ID!,
  serialNo: process.env.WXPAY_SERIAL_NO!,
  privateKey: readFileSync(process.env.WXPAY_PRIVATE_KEY!, 'utf8'), // apiclient_key.pem
  apiV3Key: process.env.WXPAY_API_V3_KEY!,
  publicKey: readFileSync(process.env.WXPAY_PUBLIC_KEY!, 'utf8'), // pub_key.pem
  publicKeyId: process.env.WXPAY_PUBLIC_KEY_ID!, // PUB_KEY_ID_…
  apiBase: process.env.WXPAY_API_BASE, // unset: https://api.mch.weixin.qq.com
});
const { prepayId } = await pay.jsapiOrder({
  appId: process.env.WX_APP_ID!,
  description: 'Coffee',
  outTradeNo: `A${Date.now()}`,
  notifyUrl: 'https://shop.example.com/pay/notify',
  total: 1, // fen: 0.01 CNY
  openid: process.env.PAYER_OPENID!,
});
const params = pay.payParams({ appId: process.env.WX_APP_ID!, prepayId }); // → wx.chooseWXPay(params)

async function onNotify(headers: Record<string, string | string[] | undefined>, rawBody: Buffer) {
  const note = await pay.verifyNotification(headers, rawBody); // throws PayError: forged, stale, a probe…
  if (note.eventType === 'TRANSACTION.SUCCESS') {
    // note.resource.out_trade_no is paid: fulfil it once (the same notification comes again)
  }
  return note;
}

export { onNotify, params, pay, prepayId };
