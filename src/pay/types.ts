import type { KeyObject } from 'node:crypto';
import type { Store } from '../stores/types.ts';

/** Options of `createPay()`. */
export interface PayOptions {
  /** The merchant id (商户号). */
  mchId: string;
  /** The serial number of the merchant API certificate (商户API证书序列号). */
  serialNo: string;
  /** The merchant private key (`apiclient_key.pem` text, or a KeyObject). */
  privateKey: string | KeyObject;
  /** The APIv3 key (32 characters), which decrypts notifications and platform certificates. */
  apiV3Key: string;
  /**
   * The WeChat Pay public key (`pub_key.pem`), the default for merchants since late 2024. Without it,
   * wxkit verifies with the platform certificates from `/v3/certificates` (older merchants).
   */
  publicKey?: string | KeyObject | undefined;
  /** The public key's id, `PUB_KEY_ID_…` (what `Wechatpay-Serial` names). Required with `publicKey`. */
  publicKeyId?: string | undefined;
  /** @default 'https://api.mch.weixin.qq.com' */
  apiBase?: string | undefined;
  /**
   * Where platform certificates are kept between processes (a Store, or a `WXKIT_STORE` string).
   * @default memory of this process
   */
  store?: Store | string | undefined;
  /** Deadline of every call to WeChat Pay, in milliseconds. @default 10000 */
  timeoutMs?: number | undefined;
  /** For tests and proxies. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** Clock in epoch milliseconds (tests pass the simulator's). @default Date.now */
  now?: (() => number) | undefined;
}

/** Options every network call accepts. */
export interface PayCallOptions {
  signal?: AbortSignal | undefined;
}

/** Input of `jsapiOrder()`. The amount is an integer number of fen (分): 0.01 CNY is `1`. */
export interface JsapiOrderInput extends PayCallOptions {
  /** The Official Account (or Mini Program) the payer's openid belongs to. */
  appId: string;
  /** What is bought (1–127 characters), shown to the payer. */
  description: string;
  /** Your order number: 6–32 of `A-Z a-z 0-9 _ - | *`, unique per merchant. */
  outTradeNo: string;
  /** Where WeChat Pay sends the payment notification (https, no query). */
  notifyUrl: string;
  /** The amount in fen (分), a positive integer. */
  total: number;
  /** The payer's openid for `appId`. */
  openid: string;
  /** Returned with the notification (≤ 128 characters). */
  attach?: string | undefined;
  /** After this the order cannot be paid. */
  timeExpire?: Date | undefined;
}

/** Input of `refund()`. Amounts in fen. */
export interface RefundInput extends PayCallOptions {
  outTradeNo: string;
  /** Your refund number; the same one again is the same refund, never a second one. */
  outRefundNo: string;
  /** The amount to refund, in fen. */
  refund: number;
  /** The order's total, in fen. */
  total: number;
  reason?: string | undefined;
  notifyUrl?: string | undefined;
}

/** A transaction as WeChat Pay returns it (field names as WeChat sends them). */
export interface PayTransaction {
  appid: string;
  mchid: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_type?: string;
  /** `SUCCESS`, `NOTPAY`, `CLOSED`, `REFUND`, `PAYERROR`, `USERPAYING`, `REVOKED`. */
  trade_state: string;
  trade_state_desc?: string;
  success_time?: string;
  attach?: string;
  payer?: { openid: string };
  amount?: { total: number; payer_total?: number; currency?: string; payer_currency?: string };
  [field: string]: unknown;
}

/** A refund as WeChat Pay returns it. */
export interface PayRefund {
  refund_id: string;
  out_refund_no: string;
  out_trade_no: string;
  transaction_id?: string;
  /** `PROCESSING`, `SUCCESS`, `CLOSED`, `ABNORMAL`. */
  status: string;
  amount: { total: number; refund: number; [field: string]: unknown };
  [field: string]: unknown;
}
