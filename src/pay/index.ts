/**
 * `wxkit/pay`: WeChat Pay API v3 for JSAPI payments. The client, the pure protocol
 * (request signing, paySign, verification, AES-256-GCM) and the typed errors.
 */
export { forwardSignature, verifyForwardSignature } from '../forward.ts';
export type { AeadResource } from './aead.ts';
export { decryptAead } from './aead.ts';
export type { PlatformCertificate } from './certificates.ts';
export { createPay, PAY_API_BASE, PayClient } from './client.ts';
export type { PayDiagnosis } from './diagnose.ts';
export { diagnosePayment } from './diagnose.ts';
export type { PayErrorOptions, PayErrorReason } from './errors.ts';
export { isPayError, PayError, PayErrorReasons } from './errors.ts';
export type { PayNotification } from './notification.ts';
export type { ChooseWXPayParams, PaySignInput } from './pay-sign.ts';
export { paySign, verifyPaySign } from './pay-sign.ts';
export type { AuthorizationFields, RequestToSign } from './signing.ts';
export { authorization, parseAuthorization, requestMessage, signatureMessage } from './signing.ts';
export type {
  JsapiOrderInput,
  PayCallOptions,
  PayOptions,
  PayRefund,
  PayTransaction,
  RefundInput,
} from './types.ts';
export type {
  PayHeaders,
  PayKeyResolver,
  VerifySignatureInput,
  WechatpaySignatureHeaders,
} from './verify.ts';
export { PAY_TIMESTAMP_WINDOW_SECONDS, verifyWechatpaySignature } from './verify.ts';
