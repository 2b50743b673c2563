import { createSign, createVerify, type KeyObject, randomBytes } from 'node:crypto';

/**
 * WeChat Pay v3's one signature scheme: SHA256withRSA (RSASSA-PKCS1-v1_5) over lines each ended by
 * `\n`. Requests sign `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`; answers and notifications sign
 * `TIMESTAMP\nNONCE\nBODY\n`; `paySign` signs `appId\ntimeStamp\nnonceStr\npackage\n`.
 */

/** The authorization scheme name of WeChat Pay API v3. */
export const AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';

/** Lines joined as WeChat Pay signs them: each followed by `\n`, bytes kept as they are. */
export function signatureMessage(lines: ReadonlyArray<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(Buffer.from(line), Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** base64 SHA256withRSA signature of `message`. */
export function rsaSign(privateKey: KeyObject, message: Uint8Array): string {
  return createSign('RSA-SHA256').update(message).sign(privateKey, 'base64');
}

/** True when `signature` (base64) is `publicKey`'s SHA256withRSA signature of `message`. */
export function rsaVerify(publicKey: KeyObject, message: Uint8Array, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(message).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

/** A nonce for requests and paySign: 32 upper-case hex characters (never a quote or comma). */
export function payNonce(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** What a request signature covers. */
export interface RequestToSign {
  /** `GET`, `POST`… */
  method: string;
  /** Path and query exactly as sent, e.g. `/v3/pay/transactions/out-trade-no/1217?mchid=1900000109`. */
  pathAndQuery: string;
  /** The exact body sent (`''` for GET). */
  body: string | Uint8Array;
  /** Epoch seconds (as sent: a string is signed verbatim). */
  timestamp: number | string;
  nonce: string;
}

/** The message a request signature covers: `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`. */
export function requestMessage(req: RequestToSign): Buffer {
  return signatureMessage([
    req.method.toUpperCase(),
    req.pathAndQuery,
    String(req.timestamp),
    req.nonce,
    req.body,
  ]);
}

/** The fields of an `Authorization: WECHATPAY2-SHA256-RSA2048 …` header. */
export interface AuthorizationFields {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

/**
 * The `Authorization` header of a WeChat Pay v3 request, signed with the merchant key.
 *
 * @example
 * const auth = authorization({ mchId, serialNo, privateKey }, {
 *   method: 'GET', pathAndQuery: '/v3/certificates', body: '', timestamp: Math.floor(Date.now() / 1000), nonce: payNonce(),
 * });
 */
export function authorization(
  merchant: { mchId: string; serialNo: string; privateKey: KeyObject },
  req: RequestToSign,
): string {
  const signature = rsaSign(merchant.privateKey, requestMessage(req));
  return `${AUTH_SCHEME} mchid="${merchant.mchId}",nonce_str="${req.nonce}",timestamp="${req.timestamp}",serial_no="${merchant.serialNo}",signature="${signature}"`;
}

/** Reads an `Authorization` header back into its fields; `undefined` when it is not WeChat Pay's shape. */
export function parseAuthorization(header: string | null | undefined): AuthorizationFields | undefined {
  if (!header?.startsWith(`${AUTH_SCHEME} `)) return undefined;
  const fields: Record<string, string> = {};
  const re = /\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/gy;
  const rest = header.slice(AUTH_SCHEME.length + 1);
  re.lastIndex = 0;
  let m: RegExpExecArray | null = re.exec(rest);
  let end = 0;
  while (m) {
    fields[m[1] as string] = m[2] as string;
    end = re.lastIndex;
    m = re.exec(rest);
  }
  if (end !== rest.length) return undefined;
  const { mchid, nonce_str, timestamp, serial_no, signature } = fields;
  if (!mchid || !nonce_str || !timestamp || !serial_no || !signature) return undefined;
  return { mchid, nonce_str, timestamp, serial_no, signature };
}
