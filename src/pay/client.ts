import type { KeyObject } from 'node:crypto';
import { ErrorCodes } from '../errors.ts';
import { readCertificates } from './certificates.ts';
import { isPayError, PayError, PayErrorReasons } from './errors.ts';
import { PayKeyring } from './keyring.ts';
import { loadApiV3Key, loadPrivateKey, loadPublicKey } from './keys.ts';
import { openNotification, type PayNotification } from './notification.ts';
import { type ChooseWXPayParams, paySign } from './pay-sign.ts';
import { authorization, payNonce } from './signing.ts';
import type {
  JsapiOrderInput,
  PayCallOptions,
  PayOptions,
  PayRefund,
  PayTransaction,
  RefundInput,
} from './types.ts';
import { type PayHeaders, verifyWechatpaySignature } from './verify.ts';

/** WeChat Pay's API host. */
export const PAY_API_BASE = 'https://api.mch.weixin.qq.com';

/** Unknown serials trigger a certificate download at most this often (a flood of forged serials costs one call a minute). */
const CERT_REFRESH_INTERVAL_MS = 60_000;

const PAY_CLOCK_HINT = {
  en: "Synchronize this server's clock (NTP): WeChat Pay refuses requests more than 5 minutes off.",
  zh: '请同步服务器时钟（NTP）：微信支付拒绝与其时间相差超过 5 分钟的请求。',
};

/** What a WeChat Pay error code means for the caller: its HTTP status and wxkit code. */
function statusOf(reason: string, httpStatus: number): { code: PayError['code']; status: number } {
  if (['ORDERPAID', 'OUT_TRADE_NO_USED', 'ORDER_CLOSED', 'NOT_ENOUGH'].includes(reason)) {
    return { code: ErrorCodes.INVALID_REQUEST, status: 409 };
  }
  if (['ORDER_NOT_EXIST', 'RESOURCE_NOT_EXISTS'].includes(reason))
    return { code: ErrorCodes.NOT_FOUND, status: 404 };
  if (['PARAM_ERROR', 'INVALID_REQUEST'].includes(reason))
    return { code: ErrorCodes.INVALID_REQUEST, status: 400 };
  if (httpStatus >= 500 || ['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'BANKERROR'].includes(reason)) {
    return { code: ErrorCodes.UPSTREAM_UNAVAILABLE, status: 503 };
  }
  return { code: ErrorCodes.WECHAT_ERROR, status: 502 };
}

function invalid(message: string): PayError {
  return new PayError(PayErrorReasons.INVALID_INPUT, message, { code: ErrorCodes.INVALID_REQUEST });
}

/** Rule: amounts are integer fen. Stops 0.1 + 0.2 style float prices and `"1"`/`1e2` strings from becoming charges. */
export function requireFen(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalid(
      `${name} must be a positive integer number of fen (分), e.g. 1 for 0.01 CNY; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Rule: an out_trade_no is WeChat's charset and length, so it can sit in a path unescaped. */
export function requireOutTradeNo(value: unknown, name = 'outTradeNo'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_\-|*]{6,32}$/.test(value)) {
    throw invalid(`${name} must be 6–32 characters of A-Z a-z 0-9 _ - | *`);
  }
  return value;
}

/** A signed answer: status, parsed JSON (undefined for 204). */
interface PayAnswer {
  status: number;
  body: unknown;
}

/**
 * A WeChat Pay API v3 merchant client. Create it with {@link createPay}.
 */
export class PayClient {
  readonly mchId: string;
  private readonly serialNo: string;
  private readonly privateKey: KeyObject;
  private readonly apiV3Key: Buffer;
  private readonly apiBase: string;
  private readonly timeoutMs: number;
  private readonly doFetch: typeof fetch;
  private readonly now: () => number;
  private readonly keyring: PayKeyring;
  private certRefresh: Promise<void> | undefined;
  private lastCertRefresh = Number.NEGATIVE_INFINITY;

  constructor(options: PayOptions) {
    if (!/^\d{6,32}$/.test(options.mchId ?? '')) throw configError('mchId must be the merchant id (digits)');
    if (!/^[0-9A-Fa-f]{8,64}$/.test(options.serialNo ?? '')) {
      throw configError('serialNo must be the merchant API certificate serial (hex)');
    }
    if ((options.publicKey === undefined) !== (options.publicKeyId === undefined)) {
      throw configError('publicKey and publicKeyId go together (WXPAY_PUBLIC_KEY + WXPAY_PUBLIC_KEY_ID)');
    }
    if (options.publicKeyId !== undefined && !/^PUB_KEY_ID_\w+$/.test(options.publicKeyId)) {
      throw configError('publicKeyId must look like PUB_KEY_ID_0114232134912410000000000000');
    }
    this.mchId = options.mchId;
    this.serialNo = options.serialNo.toUpperCase();
    this.privateKey = loadPrivateKey(options.privateKey);
    this.apiV3Key = loadApiV3Key(options.apiV3Key);
    this.apiBase = (options.apiBase ?? PAY_API_BASE).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.doFetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    const publicKey =
      options.publicKey !== undefined && options.publicKeyId !== undefined
        ? { id: options.publicKeyId, key: loadPublicKey(options.publicKey) }
        : undefined;
    this.keyring = new PayKeyring(this.mchId, publicKey, options.store, this.now);
  }

  /**
   * Creates a JSAPI order (`POST /v3/pay/transactions/jsapi`). The same `outTradeNo` with the same
   * parameters returns the same prepay_id; different parameters fail `OUT_TRADE_NO_USED`, a paid
   * order `ORDERPAID`.
   *
   * @example
   * const { prepayId } = await pay.jsapiOrder({ appId, description: 'T-shirt', outTradeNo: 'ORDER20261207001',
   *   notifyUrl: 'https://shop.example.com/pay/notify', total: 1, openid });
   */
  async jsapiOrder(input: JsapiOrderInput): Promise<{ prepayId: string }> {
    const total = requireFen(input.total, 'total');
    const outTradeNo = requireOutTradeNo(input.outTradeNo);
    for (const [name, value, max] of [
      ['appId', input.appId, 32],
      ['description', input.description, 127],
      ['openid', input.openid, 128],
      ['notifyUrl', input.notifyUrl, 255],
    ] as const) {
      if (typeof value !== 'string' || value === '' || value.length > max)
        throw invalid(`${name} must be 1–${max} characters`);
    }
    if (!/^https?:\/\/[^?#]+$/.test(input.notifyUrl))
      throw invalid('notifyUrl must be an https URL without a query');
    if (input.attach !== undefined && (typeof input.attach !== 'string' || input.attach.length > 128)) {
      throw invalid('attach must be at most 128 characters');
    }
    const body = {
      appid: input.appId,
      mchid: this.mchId,
      description: input.description,
      out_trade_no: outTradeNo,
      notify_url: input.notifyUrl,
      amount: { total, currency: 'CNY' },
      payer: { openid: input.openid },
      ...(input.attach !== undefined ? { attach: input.attach } : {}),
      ...(input.timeExpire !== undefined ? { time_expire: rfc3339(input.timeExpire) } : {}),
    };
    const res = await this.call('POST', '/v3/pay/transactions/jsapi', body, input);
    const prepayId = (res.body as { prepay_id?: unknown } | undefined)?.prepay_id;
    if (typeof prepayId !== 'string' || prepayId === '') throw malformed('the answer has no prepay_id');
    return { prepayId };
  }

  /**
   * The object for `wx.chooseWXPay` (JS-SDK: `timestamp` lower case) for a prepay_id, signed now.
   *
   * @example
   * wx.chooseWXPay({ ...pay.payParams({ appId, prepayId }), success, fail, cancel })
   */
  payParams(input: { appId: string; prepayId: string }): ChooseWXPayParams {
    if (typeof input.appId !== 'string' || input.appId === '') throw invalid('appId is required');
    if (typeof input.prepayId !== 'string' || !/^[\w-]{1,64}$/.test(input.prepayId))
      throw invalid('prepayId is malformed');
    const timestamp = String(Math.floor(this.now() / 1000));
    const nonceStr = payNonce();
    const pkg = `prepay_id=${input.prepayId}`;
    return {
      appId: input.appId,
      timestamp,
      nonceStr,
      package: pkg,
      signType: 'RSA',
      paySign: paySign({ appId: input.appId, timeStamp: timestamp, nonceStr, package: pkg }, this.privateKey),
    };
  }

  /** The order's state (`GET /v3/pay/transactions/out-trade-no/{no}`). */
  async queryOrder(outTradeNo: string, options: PayCallOptions = {}): Promise<PayTransaction> {
    const no = requireOutTradeNo(outTradeNo);
    const res = await this.call(
      'GET',
      `/v3/pay/transactions/out-trade-no/${no}?mchid=${this.mchId}`,
      undefined,
      options,
    );
    const tx = res.body as PayTransaction | undefined;
    if (typeof tx?.trade_state !== 'string' || tx.out_trade_no !== no || tx.mchid !== this.mchId) {
      throw malformed('the answer is not this order');
    }
    return tx;
  }

  /** Closes an unpaid order (`POST …/{no}/close`); `ORDERPAID` when it was paid meanwhile. */
  async closeOrder(outTradeNo: string, options: PayCallOptions = {}): Promise<void> {
    const no = requireOutTradeNo(outTradeNo);
    await this.call('POST', `/v3/pay/transactions/out-trade-no/${no}/close`, { mchid: this.mchId }, options);
  }

  /** Refunds part or all of a paid order (`POST /v3/refund/domestic/refunds`). */
  async refund(input: RefundInput): Promise<PayRefund> {
    const outTradeNo = requireOutTradeNo(input.outTradeNo);
    if (typeof input.outRefundNo !== 'string' || !/^[A-Za-z0-9_\-|*@]{1,64}$/.test(input.outRefundNo)) {
      throw invalid('outRefundNo must be 1–64 characters of A-Z a-z 0-9 _ - | * @');
    }
    const refund = requireFen(input.refund, 'refund');
    const total = requireFen(input.total, 'total');
    if (refund > total) throw invalid('refund must not exceed total');
    const body = {
      out_trade_no: outTradeNo,
      out_refund_no: input.outRefundNo,
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.notifyUrl ? { notify_url: input.notifyUrl } : {}),
      amount: { refund, total, currency: 'CNY' },
    };
    const res = await this.call('POST', '/v3/refund/domestic/refunds', body, input);
    const r = res.body as PayRefund | undefined;
    if (typeof r?.refund_id !== 'string' || r.out_refund_no !== input.outRefundNo)
      throw malformed('the answer is not this refund');
    return r;
  }

  /**
   * Verifies a notification over its raw bytes and decrypts its resource. Rejects with a
   * {@link PayError} (`signature_invalid`, `timestamp_stale`, `unknown_serial`, `signtest_probe`,
   * `unsigned`, `decrypt_failed`): answer WeChat with a non-2xx status then.
   *
   * @example
   * const note = await pay.verifyNotification(req.headers, rawBody); // rawBody: the bytes as received
   * if (note.eventType === 'TRANSACTION.SUCCESS') markPaid(note.resource.out_trade_no);
   */
  async verifyNotification(headers: PayHeaders, rawBody: Uint8Array | string): Promise<PayNotification> {
    await verifyWechatpaySignature({
      headers,
      body: rawBody,
      resolveKey: (s) => this.resolveKey(s),
      now: this.now(),
    });
    return openNotification(rawBody, this.apiV3Key);
  }

  /** Downloads the platform certificates now (older merchants; not needed with a public key). */
  async refreshCertificates(options: PayCallOptions = {}): Promise<void> {
    this.certRefresh ??= this.downloadCertificates(options).finally(() => {
      this.certRefresh = undefined;
    });
    return this.certRefresh;
  }

  private async resolveKey(serial: string): Promise<KeyObject | undefined> {
    const known = await this.keyring.find(serial);
    if (known || !this.keyring.usesCertificates) return known;
    if (this.now() - this.lastCertRefresh < CERT_REFRESH_INTERVAL_MS) return undefined;
    await this.refreshCertificates();
    return this.keyring.find(serial);
  }

  private async downloadCertificates(options: PayCallOptions): Promise<void> {
    this.lastCertRefresh = this.now();
    const { res, bytes } = await this.send('GET', '/v3/certificates', '', options);
    if (res.status !== 200) throw this.failure(res.status, bytes);
    const certs = readCertificates(parseJson(bytes), this.apiV3Key);
    // The download is verified with a certificate it contains: those decrypted under the APIv3 key,
    // which only WeChat Pay and the merchant hold.
    await verifyWechatpaySignature({
      headers: res.headers,
      body: bytes,
      resolveKey: (s) => certs.find((c) => c.serial === s.toUpperCase())?.publicKey,
      now: this.now(),
    });
    await this.keyring.add(certs);
  }

  /** Signs, sends and verifies one call; non-2xx answers become {@link PayError}s with WeChat's code. */
  private async call(
    method: string,
    pathAndQuery: string,
    body: unknown,
    options: PayCallOptions,
  ): Promise<PayAnswer> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const { res, bytes } = await this.send(method, pathAndQuery, text, options);
    if (res.status < 200 || res.status > 299) {
      // An error answer moves no money, but a signed one is checked too: a forged ORDERPAID must not pass.
      const failure = this.failure(res.status, bytes);
      if (res.headers.get('wechatpay-signature')) {
        try {
          await this.verify(res.headers, bytes);
        } catch (e) {
          // WeChat's SIGN_ERROR, signed at WeChat's time, looks "stale" to a server whose clock is off:
          // report WeChat's answer with the skew — the cause the merchant has to fix.
          if (!isPayError(e, PayErrorReasons.TIMESTAMP_STALE)) throw e;
          const skew = -Number(e.details?.skewSeconds);
          throw new PayError(
            failure.reason,
            `${failure.message}; this server's clock is ${skew} s off WeChat Pay's`,
            {
              code: failure.code,
              status: failure.status,
              details: { httpStatus: res.status, skewSeconds: skew },
              hint: PAY_CLOCK_HINT,
              cause: e,
            },
          );
        }
      }
      throw failure;
    }
    await this.verify(res.headers, bytes);
    return { status: res.status, body: bytes.length === 0 ? undefined : parseJson(bytes) };
  }

  private async verify(headers: Headers, bytes: Buffer): Promise<void> {
    await verifyWechatpaySignature({
      headers,
      body: bytes,
      resolveKey: (s) => this.resolveKey(s),
      now: this.now(),
    });
  }

  private async send(
    method: string,
    pathAndQuery: string,
    text: string,
    options: PayCallOptions,
  ): Promise<{ res: Response; bytes: Buffer }> {
    const timestamp = Math.floor(this.now() / 1000);
    const auth = authorization(
      { mchId: this.mchId, serialNo: this.serialNo, privateKey: this.privateKey },
      { method, pathAndQuery, body: text, timestamp, nonce: payNonce() },
    );
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      // The signal goes to fetch itself (a signal carried on a Request is lost on Node 20).
      const res = await this.doFetch(`${this.apiBase}${pathAndQuery}`, {
        method,
        headers: {
          authorization: auth,
          accept: 'application/json',
          'user-agent': 'wxkit-pay',
          ...(text ? { 'content-type': 'application/json' } : {}),
        },
        ...(text ? { body: text } : {}),
        signal,
        redirect: 'error',
      });
      return { res, bytes: Buffer.from(await res.arrayBuffer()) };
    } catch (cause) {
      if (options.signal?.aborted)
        throw new PayError(PayErrorReasons.NETWORK, 'the call was aborted', {
          code: ErrorCodes.ABORTED,
          cause,
        });
      throw new PayError(
        PayErrorReasons.NETWORK,
        timeout.aborted
          ? `WeChat Pay did not answer within ${this.timeoutMs} ms`
          : 'WeChat Pay is unreachable',
        { code: ErrorCodes.UPSTREAM_UNAVAILABLE, cause, retryAfter: 1 },
      );
    }
  }

  private failure(status: number, bytes: Buffer): PayError {
    const parsed = parseJson(bytes) as { code?: unknown; message?: unknown } | undefined;
    const reason =
      typeof parsed?.code === 'string' && /^[A-Z_]{2,64}$/.test(parsed.code) ? parsed.code : `HTTP_${status}`;
    const message = typeof parsed?.message === 'string' ? parsed.message.slice(0, 300) : '';
    const mapped = statusOf(reason, status);
    return new PayError(reason, `WeChat Pay: ${reason}${message ? ` ${message}` : ''} (HTTP ${status})`, {
      ...mapped,
      details: { httpStatus: status },
    });
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function malformed(message: string): PayError {
  return new PayError(PayErrorReasons.MALFORMED_RESPONSE, message);
}

function configError(message: string): PayError {
  return new PayError(PayErrorReasons.CONFIG, message, { code: ErrorCodes.CONFIG_ERROR });
}

/** `2026-12-07T20:00:00+08:00` */
function rfc3339(d: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalid('timeExpire must be a valid Date');
  return `${new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}

/**
 * A WeChat Pay API v3 client for JSAPI payments, on `node:crypto` only: signed requests,
 * every answer and notification verified over its raw bytes, typed {@link PayError}s.
 *
 * @example
 * import { createPay } from 'wxkit/pay';
 * const pay = createPay({ mchId: '1900000109', serialNo, privateKey: readFileSync('apiclient_key.pem', 'utf8'),
 *   apiV3Key, publicKey: readFileSync('pub_key.pem', 'utf8'), publicKeyId: 'PUB_KEY_ID_0119…' });
 * const { prepayId } = await pay.jsapiOrder({ appId, description: 'Coffee', outTradeNo: 'A20261207001',
 *   notifyUrl: 'https://shop.example.com/pay/notify', total: 1, openid });
 * const params = pay.payParams({ appId, prepayId }); // → wx.chooseWXPay(params)
 */
export function createPay(options: PayOptions): PayClient {
  return new PayClient(options);
}
