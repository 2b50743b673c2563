import { type ErrorCode, ErrorCodes, type Hint, WxkitError, type WxkitErrorOptions } from '../errors.ts';

/**
 * Why a payment call or notification failed, as a stable string. WeChat Pay's own error codes
 * (`SIGN_ERROR`, `ORDERPAID`, `OUT_TRADE_NO_USED`, …) pass through unchanged; wxkit's own checks use
 * lower-case names. New reasons may be added; existing ones never change meaning.
 */
export const PayErrorReasons = {
  /** The signature over the raw bytes does not match (tampered, re-serialized, wrong key). */
  SIGNATURE_INVALID: 'signature_invalid',
  /** `Wechatpay-Signature` starts with `WECHATPAY/SIGNTEST/`: WeChat's deliberate probe. */
  SIGNTEST_PROBE: 'signtest_probe',
  /** `Wechatpay-Timestamp` is more than 5 minutes away from now (either direction). */
  TIMESTAMP_STALE: 'timestamp_stale',
  /** The timestamp is in milliseconds; WeChat Pay uses seconds. */
  TIMESTAMP_MILLISECONDS: 'timestamp_milliseconds',
  /** `Wechatpay-Serial` names no key wxkit has (neither the public key id nor a platform certificate). */
  UNKNOWN_SERIAL: 'unknown_serial',
  /** A 2xx answer or a notification without the `Wechatpay-*` signature headers. */
  UNSIGNED: 'unsigned',
  /** AES-256-GCM decryption failed (wrong APIv3 key, or the ciphertext was altered). */
  DECRYPT_FAILED: 'decrypt_failed',
  /** The merchant's own options are unusable (key not PEM, APIv3 key not 32 bytes…). */
  CONFIG: 'config',
  /** The amount is not a positive integer number of fen, or another input is malformed. */
  INVALID_INPUT: 'invalid_input',
  /** The answer is not the JSON WeChat Pay documents. */
  MALFORMED_RESPONSE: 'malformed_response',
  /** The network call failed or timed out. */
  NETWORK: 'network',
  /** WeChat Pay: the request signature failed (often the merchant's clock is off, or the key/serial is wrong). */
  SIGN_ERROR: 'SIGN_ERROR',
  /** WeChat Pay: the order is already paid. */
  ORDERPAID: 'ORDERPAID',
  /** WeChat Pay: this out_trade_no was used for an order with different parameters. */
  OUT_TRADE_NO_USED: 'OUT_TRADE_NO_USED',
  /** WeChat Pay: no such order. */
  ORDER_NOT_EXIST: 'ORDER_NOT_EXIST',
  /** WeChat Pay: the order is closed. */
  ORDER_CLOSED: 'ORDER_CLOSED',
} as const;

/** One of {@link PayErrorReasons}, or another WeChat Pay error code passed through. */
export type PayErrorReason = (typeof PayErrorReasons)[keyof typeof PayErrorReasons] | (string & {});

const REASON_HINT: Partial<Record<string, Hint>> = {
  signature_invalid: {
    en: 'Verify over the raw body bytes exactly as received (never re-serialized JSON), with the key the serial names.',
    zh: '请对收到的原始报文字节验签（不要重新序列化 JSON），并使用 Wechatpay-Serial 指定的公钥。',
  },
  signtest_probe: {
    en: 'WeChat Pay sent a deliberate signature probe (WECHATPAY/SIGNTEST/); rejecting it is correct.',
    zh: '这是微信支付的签名探测流量（WECHATPAY/SIGNTEST/），拒绝它是正确的。',
  },
  timestamp_stale: {
    en: "Check this server's clock (NTP); WeChat Pay allows 5 minutes either way.",
    zh: '请检查服务器时钟（NTP）；微信支付只允许前后 5 分钟的偏差。',
  },
  timestamp_milliseconds: {
    en: 'WeChat Pay timestamps are seconds: use Math.floor(Date.now() / 1000).',
    zh: '微信支付的时间戳单位是秒：请使用 Math.floor(Date.now() / 1000)。',
  },
  unknown_serial: {
    en: 'Configure the WeChat Pay public key and its PUB_KEY_ID (WXPAY_PUBLIC_KEY, WXPAY_PUBLIC_KEY_ID), or let wxkit fetch the platform certificates.',
    zh: '请配置微信支付公钥及其 PUB_KEY_ID（WXPAY_PUBLIC_KEY、WXPAY_PUBLIC_KEY_ID），或让 wxkit 下载平台证书。',
  },
  unsigned: {
    en: 'A WeChat Pay answer without Wechatpay-Signature is not from WeChat Pay; check WXPAY_API_BASE and any proxy.',
    zh: '没有 Wechatpay-Signature 的应答不是微信支付发出的；请检查 WXPAY_API_BASE 与代理。',
  },
  decrypt_failed: {
    en: 'Check the APIv3 key (WXPAY_API_V3_KEY, 32 characters) set in the merchant platform.',
    zh: '请检查商户平台设置的 APIv3 密钥（WXPAY_API_V3_KEY，32 个字符）。',
  },
  SIGN_ERROR: {
    en: "Check the server's clock (5-minute window), the merchant private key and its serial number (WXPAY_SERIAL_NO).",
    zh: '请检查服务器时钟（5 分钟窗口）、商户私钥及其证书序列号（WXPAY_SERIAL_NO）。',
  },
  ORDERPAID: { en: 'The order is already paid; do not pay it again.', zh: '订单已支付，请勿重复支付。' },
  OUT_TRADE_NO_USED: {
    en: 'This out_trade_no was used with different parameters; use a new out_trade_no for a new order.',
    zh: '该商户订单号已用于参数不同的订单；新订单请使用新的商户订单号。',
  },
};

/** Options for {@link PayError}. */
export interface PayErrorOptions extends WxkitErrorOptions {
  /** The WxkitError code it maps to. @default 'wechat_error' */
  code?: ErrorCode;
}

/**
 * The error wxkit/pay throws: a {@link WxkitError} whose `reason` names the cause in a stable string
 * (see {@link PayErrorReasons}); `details.reason` carries it into the HTTP error shape.
 *
 * @example
 * try { await pay.jsapiOrder(order) } catch (e) {
 *   if (e instanceof PayError && e.reason === 'ORDERPAID') return alreadyPaid()
 * }
 */
export class PayError extends WxkitError {
  readonly reason: PayErrorReason;

  constructor(reason: PayErrorReason, message: string, options: PayErrorOptions = {}) {
    const { code = ErrorCodes.WECHAT_ERROR, ...rest } = options;
    const hint = rest.hint ?? REASON_HINT[reason];
    super(code, message, {
      ...rest,
      ...(hint ? { hint } : {}),
      details: { ...rest.details, reason },
    });
    this.reason = reason;
  }
}

/** True when `value` is a {@link PayError} with `reason` (any reason when omitted). */
export function isPayError(value: unknown, reason?: PayErrorReason): value is PayError {
  return value instanceof PayError && (reason === undefined || value.reason === reason);
}
