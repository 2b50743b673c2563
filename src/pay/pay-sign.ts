import type { KeyObject } from 'node:crypto';
import { rsaSign, rsaVerify, signatureMessage } from './signing.ts';

/** What the page passes to `wx.chooseWXPay` (note `timestamp`, lower case, as the JS-SDK names it). */
export interface ChooseWXPayParams {
  appId: string;
  timestamp: string;
  nonceStr: string;
  /** `prepay_id=…` */
  package: string;
  signType: 'RSA';
  paySign: string;
}

/** The values `paySign` covers, named as WeChat Pay's doc names them. */
export interface PaySignInput {
  appId: string;
  /** Epoch seconds as a string. */
  timeStamp: string;
  nonceStr: string;
  /** `prepay_id=…` */
  package: string;
}

/** The message `paySign` covers: `appId\ntimeStamp\nnonceStr\npackage\n`. */
export function paySignMessage(input: PaySignInput): Buffer {
  return signatureMessage([input.appId, input.timeStamp, input.nonceStr, input.package]);
}

/**
 * `paySign` for `wx.chooseWXPay` / `WeixinJSBridge.invoke('getBrandWCPayRequest')`: base64
 * SHA256withRSA by the merchant private key. Pure: the same input gives the same signature.
 *
 * @example
 * const sign = paySign({ appId, timeStamp: '1414561699', nonceStr, package: `prepay_id=${prepayId}` }, privateKey);
 */
export function paySign(input: PaySignInput, privateKey: KeyObject): string {
  return rsaSign(privateKey, paySignMessage(input));
}

/** True when `signature` is the merchant's paySign of `input` (the cashier's check). */
export function verifyPaySign(input: PaySignInput, signature: string, merchantPublicKey: KeyObject): boolean {
  return rsaVerify(merchantPublicKey, paySignMessage(input), signature);
}
