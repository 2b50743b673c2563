import { encryptAead } from '../../pay/aead.ts';
import { parseAuthorization } from '../../pay/signing.ts';
import type { SimContext, SimRoute } from '../http.ts';
import { asRecord, json, parseJson } from '../http.ts';
import { checkPayRequest, payAnswer, payFailure } from './http.ts';
import { transaction } from './payment.ts';
import { payOf } from './registry.ts';
import {
  type PayState,
  payTime,
  type SimMch,
  type SimOrder,
  SimPayFailure,
  type SimRefund,
} from './state.ts';

/**
 * WeChat Pay API v3 as the gateway serves it: JSAPI order, query, close, refund, refund query and the
 * platform certificates. Every request's signature is checked and every answer is signed.
 */

type PayHandler = (
  mch: SimMch,
  body: string,
  req: Request,
  ctx: SimContext,
  pay: PayState,
) => Response | SimPayFailure;

function v3(path: string, methods: string[], handler: PayHandler): SimRoute {
  return {
    path,
    methods,
    handler: async (req, ctx) => {
      const sim = payOf(ctx.state);
      if (!sim)
        return json({ code: 'RESOURCE_NOT_EXISTS', message: 'the simulator has no merchant (--mch)' }, 404);
      const body = await req.text();
      const mch = checkPayRequest(sim.pay, req, ctx, body);
      if (mch instanceof SimPayFailure) {
        // Signed with the merchant's WeChat Pay key when the caller named a real merchant, as WeChat does.
        const named = sim.pay.mch(parseAuthorization(req.headers.get('authorization'))?.mchid);
        return payFailure(sim.pay, named, mch);
      }
      const res = handler(mch, body, req, ctx, sim.pay);
      return res instanceof SimPayFailure ? payFailure(sim.pay, mch, res) : res;
    },
  };
}

const param = (message: string) => new SimPayFailure(400, 'PARAM_ERROR', message);

function str(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

const jsapi = v3('/v3/pay/transactions/jsapi', ['POST'], (mch, body, _req, _ctx, pay) => {
  const b = asRecord(parseJson(body));
  if (!b) return param('请求体不是 JSON 对象');
  const appId = str(b.appid, 32);
  if (!appId) return param('缺少参数 appid');
  if (b.mchid !== mch.mchId) return param('mchid 与 Authorization 中的商户号不一致');
  if (!pay.appBound(mch, appId))
    return new SimPayFailure(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  const description = str(b.description, 127);
  if (!description) return param('description 缺失或超过 127 个字符');
  const outTradeNo =
    typeof b.out_trade_no === 'string' && /^[A-Za-z0-9_\-|*]{6,32}$/.test(b.out_trade_no)
      ? b.out_trade_no
      : undefined;
  if (!outTradeNo) return param('out_trade_no 须为 6-32 位字母、数字、_-|*');
  const notifyUrl = str(b.notify_url, 255);
  if (!notifyUrl || !/^https?:\/\/[^?#]+$/.test(notifyUrl))
    return param('notify_url 须为不带参数的 http(s) URL');
  const amount = asRecord(b.amount);
  const total = amount?.total;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 1) {
    return param('amount.total 须为正整数（单位：分）');
  }
  const currency = amount?.currency ?? 'CNY';
  if (currency !== 'CNY') return param('amount.currency 只支持 CNY');
  const openid = str(asRecord(b.payer)?.openid, 128);
  if (!openid) return param('缺少参数 payer.openid');
  let expiresAt: number | undefined;
  if (b.time_expire !== undefined) {
    const t = typeof b.time_expire === 'string' ? Date.parse(b.time_expire) : Number.NaN;
    if (!Number.isFinite(t)) return param('time_expire 须为 RFC 3339 时间');
    expiresAt = Math.floor(t / 1000);
  }
  const attach = b.attach === undefined ? undefined : str(b.attach, 128);
  if (b.attach !== undefined && attach === undefined) return param('attach 超过 128 个字符');
  const fingerprint = JSON.stringify([
    appId,
    description,
    notifyUrl,
    total,
    currency,
    openid,
    attach ?? null,
    expiresAt ?? null,
  ]);
  const order = pay.order(mch, {
    appId,
    outTradeNo,
    description,
    notifyUrl,
    total,
    currency,
    openid,
    fingerprint,
    ...(attach !== undefined ? { attach } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  });
  return order instanceof SimPayFailure ? order : payAnswer(pay, mch, 200, { prepay_id: order.prepayId });
});

const byOutTradeNo = v3(
  '/v3/pay/transactions/out-trade-no/*',
  ['GET', 'POST'],
  (mch, body, req, ctx, pay) => {
    const rest = ctx.url.pathname.slice('/v3/pay/transactions/out-trade-no/'.length);
    const [encoded = '', action] = rest.split('/');
    const outTradeNo = decodeURIComponent(encoded);
    if (req.method === 'GET' && action === undefined) {
      if (ctx.url.searchParams.get('mchid') !== mch.mchId)
        return param('mchid 缺失或与 Authorization 不一致');
      const order = mch.orders.get(outTradeNo);
      return order
        ? payAnswer(pay, mch, 200, transaction(order))
        : new SimPayFailure(404, 'ORDER_NOT_EXIST', '订单不存在');
    }
    if (req.method === 'POST' && action === 'close') {
      if (asRecord(parseJson(body))?.mchid !== mch.mchId) return param('mchid 缺失或与 Authorization 不一致');
      return pay.close(mch, outTradeNo) ?? payAnswer(pay, mch, 204);
    }
    return new SimPayFailure(404, 'NOT_FOUND', '无此接口');
  },
);

function refundBody(refund: SimRefund, order: SimOrder): Record<string, unknown> {
  return {
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    ...(refund.successTime ? { success_time: refund.successTime } : {}),
    create_time: payTime(refund.createdAt),
    status: refund.status,
    amount: {
      total: order.total,
      refund: refund.amount,
      payer_total: order.total,
      payer_refund: refund.amount,
      currency: order.currency,
    },
  };
}

const refunds = v3('/v3/refund/domestic/refunds', ['POST'], (mch, body, _req, ctx, pay) => {
  const b = asRecord(parseJson(body));
  const outTradeNo = str(b?.out_trade_no, 32);
  const outRefundNo = str(b?.out_refund_no, 64);
  const amount = asRecord(b?.amount);
  const refund = amount?.refund;
  const total = amount?.total;
  if (!outTradeNo || !outRefundNo) return param('缺少参数 out_trade_no 或 out_refund_no');
  if (typeof refund !== 'number' || !Number.isSafeInteger(refund) || refund < 1)
    return param('amount.refund 须为正整数（分）');
  if (typeof total !== 'number' || !Number.isSafeInteger(total)) return param('amount.total 须为整数（分）');
  const reason = b?.reason === undefined ? undefined : str(b.reason, 80);
  const result = pay.refund(mch, {
    outTradeNo,
    outRefundNo,
    amount: refund,
    total,
    ...(reason ? { reason } : {}),
  });
  if (result instanceof SimPayFailure) return result;
  const answer = {
    ...refundBody(result.refund, result.order),
    status: result.created ? 'PROCESSING' : result.refund.status,
  };
  if (result.created) {
    const notifyUrl = str(b?.notify_url, 255) ?? result.order.notifyUrl;
    payOf(ctx.state)?.notifier.send(mch, notifyUrl, {
      eventType: 'REFUND.SUCCESS',
      summary: '退款成功',
      originalType: 'refund',
      outTradeNo,
      resource: {
        mchid: mch.mchId,
        out_trade_no: outTradeNo,
        transaction_id: result.order.transactionId,
        out_refund_no: outRefundNo,
        refund_id: result.refund.refundId,
        refund_status: 'SUCCESS',
        success_time: result.refund.successTime,
        user_received_account: '支付用户零钱',
        amount: { total: result.order.total, refund, payer_total: result.order.total, payer_refund: refund },
      },
    });
  }
  return payAnswer(pay, mch, 200, answer);
});

const refundQuery = v3('/v3/refund/domestic/refunds/*', ['GET'], (mch, _body, _req, ctx, pay) => {
  const outRefundNo = decodeURIComponent(ctx.url.pathname.slice('/v3/refund/domestic/refunds/'.length));
  const refund = mch.refunds.get(outRefundNo);
  const order = refund ? mch.orders.get(refund.outTradeNo) : undefined;
  return refund && order
    ? payAnswer(pay, mch, 200, refundBody(refund, order))
    : new SimPayFailure(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
});

const certificates = v3('/v3/certificates', ['GET'], (mch, _body, _req, _ctx, pay) => {
  const cert = mch.certificate;
  return payAnswer(pay, mch, 200, {
    data: [
      {
        serial_no: cert.serial,
        effective_time: payTime(pay.sim.now() - 86400),
        expire_time: payTime(pay.sim.now() - 86400 + 5 * 365 * 86400),
        encrypt_certificate: encryptAead(Buffer.from(mch.keys.apiV3Key, 'utf8'), cert.pem, 'certificate'),
      },
    ],
  });
});

export const payRoutes: SimRoute[] = [jsapi, byOutTradeNo, refunds, refundQuery, certificates];
