import { type ErrorCode, ErrorCodes, type Hint, WxkitError } from '../errors.ts';

/**
 * Why a push (or a reply to one) was refused. Stable strings: new reasons may be added, existing ones
 * never change meaning.
 */
export const PushErrorReasons = {
  /** `signature` / `msg_signature` does not match the token, timestamp, nonce (and Encrypt). */
  BAD_SIGNATURE: 'bad_signature',
  /** A parameter the check needs (signature, timestamp, nonce, echostr, Encrypt) is missing. */
  MISSING_PARAMETER: 'missing_parameter',
  /** The push's timestamp is outside the replay window. */
  STALE_TIMESTAMP: 'stale_timestamp',
  /** The EncodingAESKey is not 43 characters of base64 (`A–Z a–z 0–9 + /`). */
  BAD_KEY: 'bad_key',
  /** The ciphertext is not base64. */
  BAD_BASE64: 'bad_base64',
  /** The ciphertext is empty or not a whole number of AES blocks (cut off on the way). */
  TRUNCATED: 'truncated',
  /** The PKCS#7 padding (1–32 bytes, all equal to their count) is wrong: another key, or damage. */
  BAD_PADDING: 'bad_padding',
  /** The length field inside the plaintext points past its end. */
  BAD_LENGTH: 'bad_length',
  /** The plaintext is not UTF-8. */
  BAD_UTF8: 'bad_utf8',
  /** The message was encrypted for another appId / corpId / component appId. */
  WRONG_RECEIVE_ID: 'wrong_receive_id',
  /** The body is not the XML wxkit accepts (malformed, a DOCTYPE, an unknown entity, too deep). */
  BAD_XML: 'bad_xml',
  /** The body is not a JSON object. */
  BAD_JSON: 'bad_json',
  /** A field the message or reply must have is missing or has the wrong type. */
  MISSING_FIELD: 'missing_field',
  /** A plaintext push reached a handler configured for encrypted pushes (downgrade). */
  PLAINTEXT_REFUSED: 'plaintext_refused',
  /** The reply cannot be rendered (an unknown type, a field of the wrong type). */
  BAD_REPLY: 'bad_reply',
} as const;

/** One of the {@link PushErrorReasons} values. */
export type PushErrorReason = (typeof PushErrorReasons)[keyof typeof PushErrorReasons];

const STATUS: Record<PushErrorReason, { code: ErrorCode; status: number }> = {
  bad_signature: { code: ErrorCodes.UNAUTHORIZED, status: 401 },
  missing_parameter: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  stale_timestamp: { code: ErrorCodes.UNAUTHORIZED, status: 401 },
  bad_key: { code: ErrorCodes.CONFIG_ERROR, status: 500 },
  bad_base64: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  truncated: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  bad_padding: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  bad_length: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  bad_utf8: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  wrong_receive_id: { code: ErrorCodes.FORBIDDEN, status: 403 },
  bad_xml: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  bad_json: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  missing_field: { code: ErrorCodes.INVALID_REQUEST, status: 400 },
  plaintext_refused: { code: ErrorCodes.FORBIDDEN, status: 403 },
  bad_reply: { code: ErrorCodes.INTERNAL, status: 500 },
};

const HINTS: Partial<Record<PushErrorReason, Hint>> = {
  bad_signature: {
    en: 'Use the Token configured in the WeChat admin console (服务器配置); in safe mode the message is signed by msg_signature.',
    zh: '请使用公众平台“服务器配置”中填写的 Token；安全模式下请校验 msg_signature。',
  },
  bad_key: {
    en: 'EncodingAESKey is the 43-character key from the admin console (服务器配置), copied whole.',
    zh: 'EncodingAESKey 是“服务器配置”中的 43 位密钥，请完整复制。',
  },
  wrong_receive_id: {
    en: 'The message was encrypted for another account: check the appId (corpId, component appId) the handler is configured with.',
    zh: '消息是加密给另一个账号的：请检查配置的 appId（企业微信为 corpId，第三方平台为 component appId）。',
  },
  bad_padding: {
    en: 'Decryption failed: the EncodingAESKey differs from the one in the admin console, or the message was damaged.',
    zh: '解密失败：EncodingAESKey 与后台配置不一致，或消息已损坏。',
  },
  plaintext_refused: {
    en: 'An EncodingAESKey is configured, so only encrypted pushes are accepted; set allowPlaintext if the account is in plaintext mode.',
    zh: '已配置 EncodingAESKey，只接受加密推送；若账号使用明文模式，请设置 allowPlaintext。',
  },
  stale_timestamp: {
    en: "The push's timestamp is too far from this server's clock: a replayed push, or the server clock is wrong.",
    zh: '推送的时间戳与服务器时间相差过大：可能是重放，或服务器时钟不准。',
  },
};

/**
 * A push, URL verification or reply that wxkit refuses, with the cause in `reason`. It is a
 * {@link WxkitError}: `code` is the general kind (`unauthorized`, `invalid_request`, `forbidden`…),
 * `status` the HTTP status it answers with, and `reason` names exactly what failed.
 *
 * @example
 * import { createPushCrypto, PushError } from 'wxkit/push'
 * try { crypto.decrypt(encrypt) } catch (e) {
 *   if (e instanceof PushError && e.reason === 'wrong_receive_id') console.error('another account’s message')
 * }
 */
export class PushError extends WxkitError {
  /** What failed, one of {@link PushErrorReasons}. */
  readonly reason: PushErrorReason;

  constructor(reason: PushErrorReason, message: string, options: { cause?: unknown; hint?: Hint } = {}) {
    const { code, status } = STATUS[reason];
    const hint = options.hint ?? HINTS[reason];
    super(code, message, {
      status,
      details: { reason },
      ...(hint ? { hint } : {}),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.reason = reason;
  }
}
