import { createHash } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { describeForwardUrl, ForwardFailure, forwardJson } from '../../forward.ts';
import type { OAuthStore } from '../../oauth/store.ts';
import { type PayClient, requireFen, requireOutTradeNo } from '../../pay/client.ts';
import { diagnosePayment, pageDirectory } from '../../pay/diagnose.ts';
import { PayError, PayErrorReasons } from '../../pay/errors.ts';
import type { PayNotification } from '../../pay/notification.ts';
import { invalidRequest, readAppId, readString } from '../params.ts';
import { json, type Reply, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';
import { sessionUser, storeOf } from './oauth.ts';
import { authorize } from './tokens.ts';

/**
 * JSAPI payment routes. A page never sets a price or an openid: the merchant's backend
 * creates orders (`POST /v1/pay/orders`, bearer key); `POST /pay/params` signs `chooseWXPay` only for
 * the logged-in user the order was made for; `POST /pay/notify` verifies WeChat Pay's notification over
 * its raw bytes, decrypts it, claims it in the shared store so one instance forwards it, and answers
 * 2xx only once every forward URL took it — never lost, never delivered twice for one state.
 *
 * Options (in `createHandler(…, { extra: { pay: {…} } })`, set by `wxkit serve` from `WXPAY_*`): see
 * {@link PayRouteOptions}. Without them the routes answer 404.
 */

/** `extra.pay` of the handler. */
export interface PayRouteOptions {
  /** The merchant client (`createPay()`). */
  client: PayClient;
  /** Where verified notifications go (`WXPAY_NOTIFY_FORWARD`). */
  forward: readonly string[];
  /** Signs forwarded bodies (`X-Wxkit-Signature`, `WXPAY_NOTIFY_FORWARD_SECRET`). */
  forwardSecret?: string | undefined;
  /** Deadline of one forward. @default 5000 */
  forwardTimeoutMs?: number | undefined;
  /** The notify_url orders carry. @default `<publicUrl><prefix>/pay/notify` */
  notifyUrl?: string | undefined;
}

/** What the service remembers of an order it created: who may pay it, for how much. */
interface OrderRecord {
  appId: string;
  openid: string;
  total: number;
  prepayId: string;
  /** Epoch ms when the prepay_id was obtained (it lives 2 hours). */
  prepaidAt: number;
}

const ORDER_TTL_MS = 7 * 86400_000;
/** WeChat Pay retries a notification for about 24 h; a delivered one is remembered well past that. */
const DELIVERED_TTL_MS = 3 * 86400_000;
const PREPAY_LIFETIME_MS = 2 * 3600_000;
const NO_STORE = { 'cache-control': 'no-store' };

function optionsOf(ctx: RouteContext): PayRouteOptions {
  const pay = ctx.options.extra.pay as PayRouteOptions | undefined;
  if (!pay) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'Payment is not configured on this service.', {
      hint: {
        en: 'Set WXPAY_MCH_ID, WXPAY_SERIAL_NO, WXPAY_PRIVATE_KEY, WXPAY_API_V3_KEY and WXPAY_NOTIFY_FORWARD (docs/pay.md).',
        zh: '请设置 WXPAY_MCH_ID、WXPAY_SERIAL_NO、WXPAY_PRIVATE_KEY、WXPAY_API_V3_KEY 与 WXPAY_NOTIFY_FORWARD（docs/zh-CN/pay.md）。',
      },
    });
  }
  return pay;
}

function orderKey(mchId: string, outTradeNo: string): string {
  return `wxkit:pay:order:${mchId}:${outTradeNo}`;
}

async function readOrder(
  store: OAuthStore,
  mchId: string,
  outTradeNo: string,
): Promise<OrderRecord | undefined> {
  const raw = await store.get(orderKey(mchId, outTradeNo));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as OrderRecord;
  } catch {
    return undefined;
  }
}

function notifyUrlOf(ctx: RouteContext, pay: PayRouteOptions): string {
  if (pay.notifyUrl) return pay.notifyUrl;
  const base = ctx.options.publicUrl ?? ctx.url.origin;
  return `${base.replace(/\/+$/, '')}${ctx.prefix}/pay/notify`;
}

/** What an order needs; the amount in fen. */
export interface PlaceOrderInput {
  outTradeNo?: unknown;
  description?: unknown;
  total?: unknown;
  openid?: unknown;
  appId?: unknown;
  attach?: unknown;
}

/**
 * Creates (or finds again) an order with WeChat Pay and records who may pay it. Used by
 * `POST /v1/pay/orders` and by the sandbox demo's own route.
 */
export async function placeOrder(ctx: RouteContext, input: PlaceOrderInput) {
  const pay = optionsOf(ctx);
  const outTradeNo = requireOutTradeNo(input.outTradeNo);
  const total = requireFen(input.total, 'total');
  const description = readString(input.description, 'description', 127);
  if (!description) throw invalidRequest('description is required (what is bought, ≤ 127 characters).');
  const openid = readString(input.openid, 'openid', 128);
  if (!openid) throw invalidRequest('openid is required: the payer, as /oauth/me reports them.');
  const appId = readAppId(input.appId) ?? ctx.account().appId;
  ctx.account(appId); // unknown_app for an appId this service does not serve
  const attach = readString(input.attach, 'attach', 128);
  const { prepayId } = await pay.client.jsapiOrder({
    appId,
    description,
    outTradeNo,
    notifyUrl: notifyUrlOf(ctx, pay),
    total,
    openid,
    ...(attach !== undefined ? { attach } : {}),
  });
  const record: OrderRecord = { appId, openid, total, prepayId, prepaidAt: ctx.options.now() };
  const store = storeOf(ctx);
  const previous = await readOrder(store, pay.client.mchId, outTradeNo);
  if (previous?.prepayId === prepayId) record.prepaidAt = previous.prepaidAt;
  await store.set(orderKey(pay.client.mchId, outTradeNo), JSON.stringify(record), ORDER_TTL_MS);
  return { outTradeNo, appId, openid, total, prepayId };
}

/** `POST /v1/pay/orders` (bearer key): the merchant's backend creates an order for one user. */
async function createOrder(ctx: RouteContext): Promise<Reply> {
  authorize(ctx);
  optionsOf(ctx);
  const b = await ctx.json();
  return json(201, await placeOrder(ctx, b), NO_STORE);
}

/**
 * Rule: a page gets `chooseWXPay` parameters only for an order made for the logged-in user (same
 * appId and openid). Stops one user from paying — or learning the terms of — another user's order by
 * guessing its out_trade_no; an unknown order and another user's order answer alike (404).
 */
function requireOrderOwner(
  record: OrderRecord | undefined,
  user: { appId: string; openid?: string | undefined },
): OrderRecord {
  if (!record || record.openid !== user.openid || record.appId !== user.appId) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'No such order for the logged-in user.', {
      hint: {
        en: 'Create the order from your backend (POST /v1/pay/orders) with the openid of the user who pays.',
        zh: '请由后端创建订单（POST /v1/pay/orders），openid 须为付款用户的 openid。',
      },
      details: { reason: 'order_not_found' },
    });
  }
  return record;
}

/** `POST /pay/params {outTradeNo}` (OAuth session): the `wx.chooseWXPay` object for the user's own order. */
async function params(ctx: RouteContext): Promise<Reply> {
  const pay = optionsOf(ctx);
  const user = await sessionUser(ctx);
  if (!user?.openid) {
    throw new WxkitError(ErrorCodes.UNAUTHORIZED, 'Log in before paying.', {
      hint: {
        en: 'Log in: GET /oauth/login?returnTo=/your/page.',
        zh: '请先登录：GET /oauth/login?returnTo=/你的页面。',
      },
      details: { reason: 'not_logged_in' },
    });
  }
  const b = await ctx.json();
  const outTradeNo = requireOutTradeNo(b.outTradeNo);
  const record = requireOrderOwner(await readOrder(storeOf(ctx), pay.client.mchId, outTradeNo), user);
  if (ctx.options.now() - record.prepaidAt > PREPAY_LIFETIME_MS - 60_000) {
    throw new PayError('order_expired', 'The order is more than 2 hours old; its prepay_id has expired.', {
      code: ErrorCodes.INVALID_REQUEST,
      status: 410,
      hint: {
        en: 'Create the order again from your backend (same out_trade_no).',
        zh: '请由后端重新下单（可用同一商户订单号）。',
      },
    });
  }
  const tx = await pay.client.queryOrder(outTradeNo);
  if (tx.trade_state === 'SUCCESS' || tx.trade_state === 'REFUND') {
    throw new PayError(PayErrorReasons.ORDERPAID, 'The order is already paid.', {
      code: ErrorCodes.INVALID_REQUEST,
      status: 409,
    });
  }
  if (tx.trade_state === 'CLOSED') {
    throw new PayError(PayErrorReasons.ORDER_CLOSED, 'The order is closed.', {
      code: ErrorCodes.INVALID_REQUEST,
      status: 409,
    });
  }
  return json(200, pay.client.payParams({ appId: record.appId, prepayId: record.prepayId }), NO_STORE);
}

/** The four signature headers, as received (verification reads the raw values). */
function signatureHeaders(ctx: RouteContext): Headers {
  const h = new Headers();
  for (const name of ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-serial', 'wechatpay-signature']) {
    const v = ctx.input.header(name);
    if (v !== undefined) h.set(name, v);
  }
  return h;
}

/** One transaction state (or one refund state) is delivered once: the de-duplication key. */
function deliveryKey(mchId: string, note: PayNotification): string {
  const r = note.resource;
  const id = note.eventType.startsWith('REFUND.')
    ? `refund:${String(r.out_refund_no)}:${String(r.refund_status)}`
    : `tx:${String(r.out_trade_no)}:${String(r.trade_state)}`;
  return `wxkit:pay:delivered:${mchId}:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

/**
 * Rule: a verified notification must be about an order this service made, for the merchant, appId
 * and amount it recorded. Stops a notification for some other order (another merchant's, an order
 * never made here) from reaching the merchant's fulfilment as if it were one of theirs.
 */
function requireKnownOrder(note: PayNotification, mchId: string, record: OrderRecord | undefined): void {
  const r = note.resource;
  const amount = (r.amount as { total?: unknown } | undefined)?.total;
  const ok =
    record !== undefined &&
    r.mchid === mchId &&
    (r.appid === undefined || r.appid === record.appId) &&
    (amount === undefined || amount === record.total);
  if (!ok) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'The notification is not about an order made here.', {
      details: { reason: 'unknown_order' },
    });
  }
}

function notAcknowledged(message: string, retryAfter: number): WxkitError {
  return new WxkitError(ErrorCodes.UPSTREAM_UNAVAILABLE, message, {
    retryAfter,
    hint: {
      en: 'WeChat Pay retries the notification on its schedule.',
      zh: '微信支付会按其重试间隔再次通知。',
    },
  });
}

/** `POST /pay/notify`: WeChat Pay's notification → verified, decrypted, forwarded once. */
async function notify(ctx: RouteContext): Promise<Reply> {
  const pay = optionsOf(ctx);
  const raw = await ctx.body();
  const note = await pay.client.verifyNotification(signatureHeaders(ctx), raw);
  const store = storeOf(ctx);
  const outTradeNo = note.resource.out_trade_no;
  const record =
    typeof outTradeNo === 'string' ? await readOrder(store, pay.client.mchId, outTradeNo) : undefined;
  requireKnownOrder(note, pay.client.mchId, record);
  if (pay.forward.length === 0) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'WXPAY_NOTIFY_FORWARD is not set: the notification has nowhere to go.',
    );
  }
  const key = deliveryKey(pay.client.mchId, note);
  const done = (i: number) => `${key}:${i}`;
  const allDone = async () =>
    (await Promise.all(pay.forward.map((_, i) => store.get(done(i))))).every(Boolean);
  if (await allDone()) return send(204, null, 'text/plain');
  const timeoutMs = pay.forwardTimeoutMs ?? 5_000;
  const owner = await store.tryLock(`${key}:claim`, timeoutMs * pay.forward.length + 5_000);
  if (owner === undefined) {
    // Another instance is forwarding this very state: wait briefly for its outcome, else let WeChat retry.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (await allDone()) return send(204, null, 'text/plain');
    }
    throw notAcknowledged('Another instance is delivering this notification.', 15);
  }
  try {
    const body = JSON.stringify({
      id: note.id,
      eventType: note.eventType,
      createTime: note.createTime,
      summary: note.summary,
      resource: note.resource,
    });
    for (const [i, url] of pay.forward.entries()) {
      if (await store.get(done(i))) continue;
      try {
        await forwardJson(url, body, {
          secret: pay.forwardSecret,
          timeoutMs,
          headers: { 'x-wxkit-idempotency-key': key.slice(key.lastIndexOf(':') + 1) },
        });
      } catch (e) {
        if (!(e instanceof ForwardFailure)) throw e;
        ctx.log({
          level: 'warn',
          msg: `payment notification not forwarded: ${e.message}`,
          target: describeForwardUrl(url),
        });
        throw notAcknowledged('The forward URL did not take the notification.', 15);
      }
      await store.set(done(i), '1', DELIVERED_TTL_MS);
    }
  } finally {
    await store.unlock(`${key}:claim`, owner);
  }
  ctx.log({ level: 'info', msg: 'payment notification forwarded', event: note.eventType });
  return send(204, null, 'text/plain');
}

/** `POST /pay/diagnose {errMsg, url}`: what a failed `chooseWXPay` means (the browser helper asks). */
async function diagnose(ctx: RouteContext): Promise<Reply> {
  const b = await ctx.json();
  const errMsg = readString(b.errMsg, 'errMsg', 2000) ?? '';
  const url = readString(b.url, 'url', 4096) ?? '';
  return json(200, diagnosePayment(errMsg, pageDirectory(url)), NO_STORE);
}

export const routes: readonly Route[] = [
  { method: 'POST', path: '/v1/pay/orders', handle: createOrder, cors: false },
  { method: 'POST', path: '/pay/params', handle: params, cors: false },
  { method: 'POST', path: '/pay/notify', handle: notify, cors: false, rateLimit: false },
  { method: 'POST', path: '/pay/diagnose', handle: diagnose },
];
