import type { PaySim } from './registry.ts';
import type { SimMch, SimOrder } from './state.ts';

/** A payment as WeChat Pay completes it: the order is paid, then the merchant is notified. */

/** The transaction object of query answers and TRANSACTION.SUCCESS notifications. */
export function transaction(order: SimOrder): Record<string, unknown> {
  const paid = order.state === 'SUCCESS' || order.state === 'REFUND';
  return {
    appid: order.appId,
    mchid: order.mchId,
    out_trade_no: order.outTradeNo,
    ...(paid
      ? { transaction_id: order.transactionId, bank_type: 'OTHERS', success_time: order.successTime }
      : {}),
    trade_type: 'JSAPI',
    trade_state: order.state,
    trade_state_desc: {
      NOTPAY: '未支付',
      SUCCESS: '支付成功',
      CLOSED: '已关闭',
      REFUND: '转入退款',
      PAYERROR: '支付失败',
    }[order.state],
    ...(order.attach !== undefined ? { attach: order.attach } : {}),
    payer: { openid: order.openid },
    amount: paid
      ? {
          total: order.total,
          payer_total: order.total,
          currency: order.currency,
          payer_currency: order.currency,
        }
      : { total: order.total, currency: order.currency },
  };
}

/** Marks `order` paid and sends TRANSACTION.SUCCESS to its notify_url. */
export function completePayment(sim: PaySim, mch: SimMch, order: SimOrder): void {
  sim.pay.pay(order);
  sim.notifier.send(mch, order.notifyUrl, {
    eventType: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    originalType: 'transaction',
    outTradeNo: order.outTradeNo,
    resource: transaction(order),
  });
}
