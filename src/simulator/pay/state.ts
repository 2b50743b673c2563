import { randomBytes } from 'node:crypto';
import type { SimState } from '../state.ts';
import { selfSignedCertificate } from './certificate.ts';
import { makeSimPayKeys, type SimPayKeys } from './keys.ts';

/**
 * The simulated WeChat Pay merchants, their orders and refunds, on the simulator's virtual clock.
 * Synchronous and free of I/O; the routes translate HTTP, notify.ts delivers notifications.
 */

/** One simulated merchant as configured. */
export interface SimMchConfig {
  mchId: string;
  /** Appids bound to the merchant; every simulated Official Account when omitted. */
  appIds?: string[];
  /**
   * Pay directories (支付授权目录), e.g. `https://shop.example.com/pay/`. A top-level entry
   * (`https://host/`) admits every page of the host, a deeper one exactly its directory — WeChat's
   * rule. An entry without a port admits any port (local servers; WeChat itself allows 80/443 only).
   * @default ['http://localhost/', 'http://127.0.0.1/']
   */
  payDirectories?: string[];
  /**
   * How answers and notifications are signed: with the WeChat Pay public key's `PUB_KEY_ID_…` (every
   * merchant since late 2024) or, for an older merchant, as a platform certificate's serial.
   * @default 'public-key'
   */
  keyMode?: 'public-key' | 'certificate';
}

export type SimTradeState = 'NOTPAY' | 'SUCCESS' | 'CLOSED' | 'REFUND' | 'PAYERROR';

/** A JSAPI order. */
export interface SimOrder {
  mchId: string;
  appId: string;
  outTradeNo: string;
  description: string;
  notifyUrl: string;
  total: number;
  currency: string;
  openid: string;
  attach?: string;
  /** What must be equal for a repeated order to be "the same order" (WeChat's idempotency). */
  fingerprint: string;
  prepayId: string;
  /** Virtual epoch seconds; a prepay_id lives 2 hours. */
  prepayExpiresAt: number;
  /** Virtual epoch seconds after which the order cannot be paid (`time_expire`). */
  expiresAt?: number;
  state: SimTradeState;
  transactionId?: string;
  successTime?: string;
  refunded: number;
  createdAt: number;
}

export interface SimRefund {
  mchId: string;
  outTradeNo: string;
  outRefundNo: string;
  refundId: string;
  amount: number;
  reason?: string;
  status: 'PROCESSING' | 'SUCCESS';
  createdAt: number;
  successTime?: string;
}

/** What the cashier does with the next payments: `ok` pays, `cancel` the user closes it, `fail` it fails. */
export type SimPayOutcome = 'ok' | 'cancel' | 'fail';

/** A merchant's mutable data. */
export interface SimMch {
  readonly mchId: string;
  readonly keys: SimPayKeys;
  readonly appIds: string[] | undefined;
  readonly keyMode: 'public-key' | 'certificate';
  /** The platform certificate over the WeChat Pay key (served by `/v3/certificates`). */
  readonly certificate: { pem: string; serial: string };
  payDirectories: string[];
  orders: Map<string, SimOrder>;
  refunds: Map<string, SimRefund>;
  outcome: SimPayOutcome;
}

/** A WeChat Pay error: HTTP status and `{code, message}`. */
export class SimPayFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

/** The sandbox's simulated merchant (not a real mchid). */
export const SANDBOX_MCH_ID = '1230000109';

/** WeChat Pay's documented numbers. */
export const PAY_LIMITS = {
  /** A prepay_id is valid 2 hours. */
  prepayLifetime: 7200,
  /** Request timestamps must be within 5 minutes. */
  window: 300,
} as const;

/** `2026-12-07T20:00:00+08:00`: WeChat Pay's time format (Beijing time, RFC 3339). */
export function payTime(epochSeconds: number): string {
  const d = new Date((epochSeconds + 8 * 3600) * 1000);
  return `${d.toISOString().slice(0, 19)}+08:00`;
}

/** The pay-side data of one simulator. */
export class PayState {
  readonly mchs = new Map<string, SimMch>();

  constructor(
    readonly sim: SimState,
    configs: readonly SimMchConfig[],
  ) {
    for (const c of configs) {
      const keys = makeSimPayKeys();
      this.mchs.set(c.mchId, {
        mchId: c.mchId,
        keys,
        keyMode: c.keyMode ?? 'public-key',
        certificate: selfSignedCertificate(keys.wechatPublicKey, keys.wechatPrivateKey, sim.now() - 86400),
        appIds: c.appIds ? [...c.appIds] : undefined,
        payDirectories: [...(c.payDirectories ?? ['http://localhost/', 'http://127.0.0.1/'])],
        orders: new Map(),
        refunds: new Map(),
        outcome: 'ok',
      });
    }
  }

  /** The serial answers and notifications are signed under. */
  signingSerial(mch: SimMch): string {
    return mch.keyMode === 'certificate' ? mch.certificate.serial : mch.keys.publicKeyId;
  }

  mch(mchId: string | undefined | null): SimMch | undefined {
    return mchId ? this.mchs.get(mchId) : undefined;
  }

  /** True when the appid may take payments for the merchant. */
  appBound(mch: SimMch, appId: string): boolean {
    return mch.appIds ? mch.appIds.includes(appId) : this.sim.apps.has(appId);
  }

  /**
   * Creates the order, or returns the same one again: the same out_trade_no with the same parameters
   * is the same order (same prepay_id while it is valid), never a second charge.
   */
  order(
    mch: SimMch,
    input: Omit<SimOrder, 'mchId' | 'prepayId' | 'prepayExpiresAt' | 'state' | 'refunded' | 'createdAt'>,
  ): SimOrder | SimPayFailure {
    const now = this.sim.now();
    const existing = mch.orders.get(input.outTradeNo);
    if (existing) {
      if (existing.state === 'SUCCESS' || existing.state === 'REFUND') {
        return new SimPayFailure(403, 'ORDERPAID', '该订单已支付');
      }
      if (existing.state === 'CLOSED') return new SimPayFailure(400, 'ORDER_CLOSED', '订单已关闭');
      if (existing.fingerprint !== input.fingerprint) {
        return new SimPayFailure(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
      }
      if (existing.prepayExpiresAt <= now) {
        existing.prepayId = newPrepayId(now);
        existing.prepayExpiresAt = now + PAY_LIMITS.prepayLifetime;
      }
      return existing;
    }
    const order: SimOrder = {
      ...input,
      mchId: mch.mchId,
      prepayId: newPrepayId(now),
      prepayExpiresAt: now + PAY_LIMITS.prepayLifetime,
      state: 'NOTPAY',
      refunded: 0,
      createdAt: now,
    };
    mch.orders.set(order.outTradeNo, order);
    return order;
  }

  /** The order a prepay_id belongs to, with its merchant. */
  byPrepayId(prepayId: string): { mch: SimMch; order: SimOrder } | undefined {
    for (const mch of this.mchs.values()) {
      for (const order of mch.orders.values()) if (order.prepayId === prepayId) return { mch, order };
    }
    return undefined;
  }

  /** Marks the order paid. */
  pay(order: SimOrder): void {
    order.state = 'SUCCESS';
    order.transactionId = `42000${String(this.sim.now()).slice(-9)}${randomBytes(6).readUIntBE(0, 6).toString().padStart(14, '0')}`;
    order.successTime = payTime(this.sim.now());
  }

  close(mch: SimMch, outTradeNo: string): SimPayFailure | undefined {
    const order = mch.orders.get(outTradeNo);
    if (!order) return new SimPayFailure(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (order.state === 'SUCCESS' || order.state === 'REFUND')
      return new SimPayFailure(400, 'ORDERPAID', '订单已支付');
    order.state = 'CLOSED';
    return undefined;
  }

  /** A refund of a paid order; the same out_refund_no again returns the same refund. */
  refund(
    mch: SimMch,
    input: { outTradeNo: string; outRefundNo: string; amount: number; total: number; reason?: string },
  ): { refund: SimRefund; order: SimOrder; created: boolean } | SimPayFailure {
    const order = mch.orders.get(input.outTradeNo);
    if (!order) return new SimPayFailure(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    const existing = mch.refunds.get(input.outRefundNo);
    if (existing) {
      if (existing.outTradeNo !== input.outTradeNo || existing.amount !== input.amount) {
        return new SimPayFailure(400, 'INVALID_REQUEST', '退款单号已用于其他退款');
      }
      return { refund: existing, order, created: false };
    }
    if (order.state !== 'SUCCESS' && order.state !== 'REFUND') {
      return new SimPayFailure(400, 'INVALID_REQUEST', '订单未支付，不能退款');
    }
    if (input.total !== order.total) return new SimPayFailure(400, 'PARAM_ERROR', '订单金额与原订单不一致');
    if (order.refunded + input.amount > order.total)
      return new SimPayFailure(403, 'NOT_ENOUGH', '退款金额超过可退金额');
    const refund: SimRefund = {
      mchId: mch.mchId,
      outTradeNo: input.outTradeNo,
      outRefundNo: input.outRefundNo,
      refundId: `50000${randomBytes(6).readUIntBE(0, 6).toString().padStart(24, '0')}`,
      amount: input.amount,
      ...(input.reason ? { reason: input.reason } : {}),
      status: 'PROCESSING',
      createdAt: this.sim.now(),
    };
    mch.refunds.set(refund.outRefundNo, refund);
    order.refunded += input.amount;
    order.state = 'REFUND';
    // The simulated bank is instant: the refund has succeeded by the time anyone asks again.
    refund.status = 'SUCCESS';
    refund.successTime = payTime(this.sim.now());
    return { refund, order, created: true };
  }
}

function newPrepayId(now: number): string {
  const d = new Date((now + 8 * 3600) * 1000).toISOString().replace(/\D/g, '').slice(0, 14);
  return `wx${d}${randomBytes(10).toString('hex')}`.slice(0, 36);
}

/** The page URL's directory is under one of the merchant's pay directories (WeChat's rule, see {@link SimMchConfig}). */
export function inPayDirectory(directories: readonly string[], pageUrl: string): boolean {
  let page: URL;
  try {
    page = new URL(pageUrl);
  } catch {
    return false;
  }
  const dir = `${page.protocol}//${page.host}${page.pathname.slice(0, page.pathname.lastIndexOf('/') + 1)}`;
  return directories.some((entry) => {
    let d: URL;
    try {
      d = new URL(entry);
    } catch {
      return false;
    }
    const sameHost = d.port === '' ? d.hostname === page.hostname : d.host === page.host;
    if (d.protocol !== page.protocol || !sameHost) return false;
    if (d.pathname === '/') return true;
    return `${page.protocol}//${page.host}${d.pathname}` === dir;
  });
}
