import { asRecord, badRequest, json, parseJson, type SimRoute } from '../http.ts';
import { completePayment, transaction } from './payment.ts';
import { type PaySim, payOf } from './registry.ts';
import type { SimMch, SimPayOutcome } from './state.ts';

/**
 * The pay control API: `GET /__sim/pay/keys` (what a merchant downloads from the merchant platform),
 * `POST /__sim/pay/outcome`, `POST /__sim/pay/directories`, `GET /__sim/pay/notifications`.
 */

/** The merchant named by `mchId`, or the first one. */
function pick(mchs: Map<string, SimMch>, mchId: unknown): SimMch | undefined {
  if (typeof mchId === 'string' && mchId !== '') return mchs.get(mchId);
  return mchs.values().next().value;
}

/** The keys a merchant holds, as PEM text, for `GET /__sim/pay/keys` and `sim.pay.keys()`. */
export function merchantKeys(mch: SimMch) {
  const k = mch.keys;
  return {
    mchId: mch.mchId,
    serialNo: k.merchantSerial,
    privateKey: k.merchantPrivateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    apiV3Key: k.apiV3Key,
    publicKey: k.wechatPublicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicKeyId: k.publicKeyId,
    keyMode: mch.keyMode,
    payDirectories: [...mch.payDirectories],
  };
}

const keys: SimRoute = {
  path: '/__sim/pay/keys',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const mch = pick(payOf(ctx.state)?.pay.mchs ?? new Map(), ctx.url.searchParams.get('mchId'));
    return mch
      ? json(merchantKeys(mch))
      : badRequest('no such merchant (start the simulator with --mch MCHID)', 404);
  },
};

const outcome: SimRoute = {
  path: '/__sim/pay/outcome',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const b = asRecord(parseJson(await req.text())) ?? {};
    const mch = pick(payOf(ctx.state)?.pay.mchs ?? new Map(), b.mchId);
    if (!mch) return badRequest('no such merchant', 404);
    if (b.outcome !== 'ok' && b.outcome !== 'cancel' && b.outcome !== 'fail')
      return badRequest('outcome must be ok, cancel or fail');
    mch.outcome = b.outcome as SimPayOutcome;
    return json({ mchId: mch.mchId, outcome: mch.outcome });
  },
};

const directories: SimRoute = {
  path: '/__sim/pay/directories',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const b = asRecord(parseJson(await req.text())) ?? {};
    const mch = pick(payOf(ctx.state)?.pay.mchs ?? new Map(), b.mchId);
    if (!mch) return badRequest('no such merchant', 404);
    const list = b.directories;
    if (
      !Array.isArray(list) ||
      list.length > 5 ||
      !list.every((d) => typeof d === 'string' && /^https?:\/\/[^?#]+\/$/.test(d))
    ) {
      return badRequest('directories: up to 5 http(s) URLs ending in "/"');
    }
    mch.payDirectories = [...(list as string[])];
    return json({ mchId: mch.mchId, directories: mch.payDirectories });
  },
};

/**
 * `POST /__sim/pay/pay {outTradeNo, mchId?}`: the payer pays an order without a browser, as the cashier
 * would with outcome `ok` (for service tests); the notification follows.
 */
const payNow: SimRoute = {
  path: '/__sim/pay/pay',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const b = asRecord(parseJson(await req.text())) ?? {};
    const sim = payOf(ctx.state);
    const result =
      sim && typeof b.outTradeNo === 'string' ? payOrder(sim, b.outTradeNo, b.mchId) : 'no such merchant';
    return typeof result === 'string' ? badRequest(result, 409) : json(result);
  },
};

/** Pays an unpaid order (the control API's and `sim.pay.payOrder()`'s common part); a reason when it cannot. */
export function payOrder(sim: PaySim, outTradeNo: string, mchId?: unknown): Record<string, unknown> | string {
  const mch = pick(sim.pay.mchs, mchId);
  const order = mch?.orders.get(outTradeNo);
  if (!mch || !order) return 'no such order';
  if (order.state !== 'NOTPAY') return `the order is ${order.state}`;
  completePayment(sim, mch, order);
  return transaction(order);
}

const notifications: SimRoute = {
  path: '/__sim/pay/notifications',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const log = payOf(ctx.state)?.notifier.log ?? [];
    return json({
      notifications: log.map(({ probeDue: _p, ...n }) => n),
    });
  },
};

export const payControlRoutes: SimRoute[] = [keys, outcome, directories, payNow, notifications];
