import { randomBytes } from 'node:crypto';
import {
  parseAuthorization,
  requestMessage,
  rsaSign,
  rsaVerify,
  signatureMessage,
} from '../../pay/signing.ts';
import type { SimContext } from '../http.ts';
import { PAY_LIMITS, type PayState, type SimMch, SimPayFailure } from './state.ts';

/**
 * The gateway's two halves of v3's signature scheme: requests are checked against the merchant's
 * registered key, serial and the 5-minute window; every answer (errors too) is signed with the
 * WeChat Pay key, `Wechatpay-Serial` naming it.
 */

/** Headers that sign `body` as WeChat Pay does, at the simulator's virtual time. */
export function wechatpayHeaders(
  pay: PayState,
  mch: SimMch,
  body: string,
  signature?: (real: string) => string,
): Record<string, string> {
  const timestamp = String(pay.sim.now());
  const nonce = randomBytes(16).toString('hex');
  const real = rsaSign(mch.keys.wechatPrivateKey, signatureMessage([timestamp, nonce, body]));
  return {
    'wechatpay-timestamp': timestamp,
    'wechatpay-nonce': nonce,
    'wechatpay-serial': pay.signingSerial(mch),
    'wechatpay-signature': signature ? signature(real) : real,
  };
}

/** A signed WeChat Pay answer; `undefined` body is an empty 204-style answer. */
export function payAnswer(pay: PayState, mch: SimMch | undefined, status: number, body?: unknown): Response {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = {
    'request-id': `08${randomBytes(16).toString('hex').toUpperCase()}`,
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    ...(mch ? wechatpayHeaders(pay, mch, text) : {}),
  };
  return new Response(status === 204 ? null : text, { status, headers });
}

/** A WeChat Pay error answer `{code, message}`. */
export function payFailure(pay: PayState, mch: SimMch | undefined, f: SimPayFailure): Response {
  return payAnswer(pay, mch, f.status, { code: f.code, message: f.message });
}

/**
 * Checks a v3 request's `Authorization`: the merchant exists, the serial is the merchant's, the
 * timestamp is epoch seconds within 5 minutes of the virtual clock, and the SHA256withRSA signature
 * holds over `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`.
 */
export function checkPayRequest(
  pay: PayState,
  req: Request,
  ctx: SimContext,
  body: string,
): SimMch | SimPayFailure {
  const auth = parseAuthorization(req.headers.get('authorization'));
  if (!auth)
    return new SimPayFailure(401, 'SIGN_ERROR', 'Authorization 缺失或格式错误（WECHATPAY2-SHA256-RSA2048）');
  const mch = pay.mch(auth.mchid);
  if (!mch) return new SimPayFailure(400, 'MCH_NOT_EXISTS', '商户号不存在');
  if (auth.serial_no.toUpperCase() !== mch.keys.merchantSerial) {
    return new SimPayFailure(401, 'SIGN_ERROR', '商户证书序列号有误（serial_no）');
  }
  if (!/^\d{1,16}$/.test(auth.timestamp)) return new SimPayFailure(401, 'SIGN_ERROR', 'timestamp 格式错误');
  if (auth.timestamp.length >= 12) {
    return new SimPayFailure(
      401,
      'SIGN_ERROR',
      'timestamp 应为秒级时间戳，收到的是毫秒（timestamp is in milliseconds）',
    );
  }
  if (Math.abs(Number(auth.timestamp) - pay.sim.now()) > PAY_LIMITS.window) {
    return new SimPayFailure(401, 'SIGN_ERROR', '请求时间与当前时间相差超过 5 分钟（check the clock）');
  }
  const message = requestMessage({
    method: req.method,
    pathAndQuery: `${ctx.url.pathname}${ctx.url.search}`,
    body,
    timestamp: auth.timestamp,
    nonce: auth.nonce_str,
  });
  if (!rsaVerify(mch.keys.merchantPublicKey, message, auth.signature)) {
    return new SimPayFailure(401, 'SIGN_ERROR', '错误的签名，验签失败');
  }
  return mch;
}
