import type { PushCrypto } from './crypto.ts';
import { PushError } from './errors.ts';
import { checkSignature, pushSignature } from './signature.ts';

/** Query parameters, as a `URLSearchParams` or a plain object. */
export type QueryLike = URLSearchParams | Readonly<Record<string, string | undefined>>;

/** One query parameter (the first, if repeated). */
export function queryParam(query: QueryLike, name: string): string | undefined {
  if (query instanceof URLSearchParams) return query.get(name) ?? undefined;
  const v = query[name];
  return typeof v === 'string' ? v : undefined;
}

function required(query: QueryLike, name: string): string {
  const v = queryParam(query, name);
  if (v === undefined || v === '') {
    throw new PushError('missing_parameter', `The query parameter ${name} is missing.`);
  }
  return v;
}

/**
 * Official Account URL verification (the GET WeChat sends when the server URL is saved): checks
 * `signature` over the token, `timestamp` and `nonce`, and returns `echostr`, the body to answer with.
 *
 * @throws {PushError} `missing_parameter`, `bad_signature`
 * @example
 * import { verifyUrl } from 'wxkit/push'
 * const echostr = verifyUrl(new URL(request.url).searchParams, { token: process.env.WX_PUSH_TOKEN! })
 * return new Response(echostr)
 */
export function verifyUrl(query: QueryLike, options: { token: string }): string {
  const timestamp = required(query, 'timestamp');
  const nonce = required(query, 'nonce');
  const echostr = required(query, 'echostr');
  checkSignature(pushSignature(options.token, timestamp, nonce), queryParam(query, 'signature'), 'signature');
  return echostr;
}

/**
 * WeCom URL verification: `msg_signature` covers the token, `timestamp`, `nonce` and the encrypted
 * `echostr`; the answer is the decrypted `echostr` (its receiveId checked: the corpId, or a suite's
 * suiteId).
 *
 * @throws {PushError} `missing_parameter`, `bad_signature`, or what decryption finds wrong
 * @example
 * import { createPushCrypto, verifyWecomUrl } from 'wxkit/push'
 * const crypto = createPushCrypto({ encodingAESKey, receiveId: corpId })
 * return new Response(verifyWecomUrl(new URL(request.url).searchParams, { token, crypto }))
 */
export function verifyWecomUrl(query: QueryLike, options: { token: string; crypto: PushCrypto }): string {
  const timestamp = required(query, 'timestamp');
  const nonce = required(query, 'nonce');
  const echostr = required(query, 'echostr');
  checkSignature(
    pushSignature(options.token, timestamp, nonce, echostr),
    queryParam(query, 'msg_signature'),
    'msg_signature',
  );
  return options.crypto.decrypt(echostr).message;
}
