import { verifyPaySign } from '../../pay/pay-sign.ts';
import { sessionRoute } from '../bridge/routes.ts';
import { json } from '../http.ts';
import { completePayment } from './payment.ts';
import { payOf } from './registry.ts';
import { inPayDirectory } from './state.ts';

/**
 * The cashier behind the bridge's `wx.chooseWXPay` (收银台): WeChat's checks in its order — the page
 * under a pay directory, the parameters present, the prepay_id known and payable for the account the
 * page configured, paySign by the merchant's key — then the outcome the test chose
 * (`POST /__sim/pay/outcome`). A payment notifies the merchant.
 */
export const cashierRoute = sessionRoute('/__sim/bridge/pay', (appId, b, ctx) => {
  const sim = payOf(ctx.state);
  const fail = (why: string) => json({ errMsg: `fail, ${why}` });
  if (!sim) return fail('该公众号未开通微信支付 (simulator has no --mch)');
  const pageUrl = typeof b.url === 'string' ? (b.url.split('#')[0] ?? '') : '';
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  for (const name of ['timestamp', 'nonceStr', 'package', 'signType', 'paySign']) {
    if (text(b[name]) === '') return fail(`调用支付JSAPI缺少参数：${name}`);
  }
  const pkg = text(b.package);
  const found = pkg.startsWith('prepay_id=') ? sim.pay.byPrepayId(pkg.slice('prepay_id='.length)) : undefined;
  if (!found) return fail('prepay_id 无效 (unknown prepay_id)');
  const { mch, order } = found;
  if (!inPayDirectory(mch.payDirectories, pageUrl)) {
    const u = new URL(pageUrl);
    return fail(`当前页面的URL未注册：${u.origin}${u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1)}`);
  }
  if (order.appId !== appId)
    return fail(`appid和mch_id不匹配 (the order is for ${order.appId}, wx.config used ${appId})`);
  if (text(b.signType) !== 'RSA') return fail('签名类型错误，v3 支付须为 RSA');
  const now = ctx.state.now();
  if (order.state === 'SUCCESS' || order.state === 'REFUND') return fail('该订单已支付 (ORDERPAID)');
  if (order.state === 'CLOSED') return fail('订单已关闭 (ORDER_CLOSED)');
  if (order.prepayExpiresAt <= now || (order.expiresAt !== undefined && order.expiresAt <= now)) {
    return fail('订单已过期，请重新下单 (prepay_id expired)');
  }
  const signed = { appId, timeStamp: text(b.timestamp), nonceStr: text(b.nonceStr), package: pkg };
  if (!verifyPaySign(signed, text(b.paySign), mch.keys.merchantPublicKey)) return fail('支付验证签名失败');
  if (mch.outcome === 'cancel') return json({ errMsg: 'cancel' });
  if (mch.outcome === 'fail') return fail('支付失败 (the test set the outcome to fail)');
  completePayment(sim, mch, order);
  return json({ paid: true });
});
