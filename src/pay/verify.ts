import type { KeyObject } from 'node:crypto';
import { ErrorCodes } from '../errors.ts';
import { PayError, PayErrorReasons } from './errors.ts';
import { rsaVerify, signatureMessage } from './signing.ts';

/**
 * Verifying what WeChat Pay sends: every answer and every notification carries `Wechatpay-Timestamp`,
 * `Wechatpay-Nonce`, `Wechatpay-Serial` and `Wechatpay-Signature` over `TIMESTAMP\nNONCE\nBODY\n`, the
 * body being the raw bytes received. One named function per rule, each stating the attack it stops.
 */

/** WeChat Pay's window for timestamps, in seconds, both directions. */
export const PAY_TIMESTAMP_WINDOW_SECONDS = 300;

/** Headers as fetch (`Headers`) or node:http (`IncomingHttpHeaders`) give them. */
export type PayHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The four signature headers of a WeChat Pay answer or notification. */
export interface WechatpaySignatureHeaders {
  timestamp: string;
  nonce: string;
  serial: string;
  signature: string;
}

/** Finds the public key a `Wechatpay-Serial` names; `undefined` when none is known. */
export type PayKeyResolver = (serial: string) => KeyObject | undefined | Promise<KeyObject | undefined>;

/** Options of {@link verifyWechatpaySignature}. */
export interface VerifySignatureInput {
  headers: PayHeaders;
  /** The body exactly as received. */
  body: Uint8Array | string;
  resolveKey: PayKeyResolver;
  /** Epoch milliseconds. @default Date.now() */
  now?: number | undefined;
}

function header(headers: PayHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  for (const [k, v] of Object.entries(record)) {
    if (k.toLowerCase() !== name) continue;
    // A repeated signature header is ambiguous: which one was checked? Refuse both.
    if (Array.isArray(v)) return v.length === 1 ? (v[0] as string) : undefined;
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/**
 * Rule: a WeChat Pay answer or notification must be signed. Stops a proxy, a misconfigured
 * `apiBase`, or anyone who can reach the notify URL from passing a plain 2xx JSON off as WeChat's.
 */
export function requireSignatureHeaders(headers: PayHeaders): WechatpaySignatureHeaders {
  const timestamp = header(headers, 'wechatpay-timestamp');
  const nonce = header(headers, 'wechatpay-nonce');
  const serial = header(headers, 'wechatpay-serial');
  const signature = header(headers, 'wechatpay-signature');
  if (!timestamp || !nonce || !serial || !signature) {
    throw new PayError(
      PayErrorReasons.UNSIGNED,
      'the message has no complete Wechatpay-Timestamp/Nonce/Serial/Signature headers',
      { code: ErrorCodes.UNAUTHORIZED },
    );
  }
  return { timestamp, nonce, serial, signature };
}

/**
 * Rule: a `WECHATPAY/SIGNTEST/` signature is WeChat Pay's deliberate probe of the merchant's checks.
 * Accepting one means signatures are not really checked — exactly what a forger relies on.
 */
export function rejectSigntestProbe(signature: string): void {
  if (signature.startsWith('WECHATPAY/SIGNTEST/')) {
    throw new PayError(PayErrorReasons.SIGNTEST_PROBE, 'signature probe (WECHATPAY/SIGNTEST/) refused', {
      code: ErrorCodes.UNAUTHORIZED,
    });
  }
}

/**
 * Rule: the timestamp must be epoch seconds within 5 minutes of now, both directions. Stops the replay
 * of a captured, genuinely signed notification or answer later on. A millisecond timestamp is
 * named as such: it is the usual bug, and "stale" alone would send people to their NTP settings.
 */
export function rejectStaleTimestamp(timestamp: string, nowMs: number): void {
  if (!/^\d{1,16}$/.test(timestamp)) {
    throw new PayError(
      PayErrorReasons.TIMESTAMP_STALE,
      `timestamp "${timestamp.slice(0, 20)}" is not epoch seconds`,
      {
        code: ErrorCodes.UNAUTHORIZED,
      },
    );
  }
  const seconds = Number(timestamp);
  // Epoch seconds have 10 digits until the year 2286; 13 digits is Date.now().
  if (timestamp.length >= 12) {
    throw new PayError(
      PayErrorReasons.TIMESTAMP_MILLISECONDS,
      `timestamp ${timestamp} is in milliseconds; WeChat Pay timestamps are seconds`,
      { code: ErrorCodes.UNAUTHORIZED },
    );
  }
  const skew = seconds - Math.floor(nowMs / 1000);
  if (Math.abs(skew) > PAY_TIMESTAMP_WINDOW_SECONDS) {
    throw new PayError(
      PayErrorReasons.TIMESTAMP_STALE,
      `timestamp is ${Math.abs(skew)} s ${skew < 0 ? 'old' : 'in the future'}; WeChat Pay allows ${PAY_TIMESTAMP_WINDOW_SECONDS} s`,
      { code: ErrorCodes.UNAUTHORIZED, details: { skewSeconds: skew } },
    );
  }
}

/**
 * Rule: only a key wxkit already trusts may verify — never one the message brings or names freely.
 * Stops a forger who signs with their own key and sends its serial.
 */
export async function requireKnownSerial(serial: string, resolveKey: PayKeyResolver): Promise<KeyObject> {
  const key = await resolveKey(serial);
  if (!key) {
    throw new PayError(
      PayErrorReasons.UNKNOWN_SERIAL,
      `Wechatpay-Serial "${serial.slice(0, 64)}" names no known key`,
      {
        code: ErrorCodes.UNAUTHORIZED,
      },
    );
  }
  return key;
}

/**
 * Rule: the signature must hold over the raw bytes as received. Stops tampering (an amount or a
 * trade state changed) and the classic bug of verifying re-serialized JSON, which passes forged
 * bodies that parse alike and fails genuine ones whose whitespace or key order differ.
 */
export function requireValidSignature(
  key: KeyObject,
  h: WechatpaySignatureHeaders,
  body: Uint8Array | string,
): void {
  if (!rsaVerify(key, signatureMessage([h.timestamp, h.nonce, body]), h.signature)) {
    throw new PayError(PayErrorReasons.SIGNATURE_INVALID, 'the Wechatpay-Signature does not match the body', {
      code: ErrorCodes.UNAUTHORIZED,
    });
  }
}

/**
 * Verifies a WeChat Pay answer or notification; resolves with its signature headers, rejects with a
 * {@link PayError} naming the failed rule.
 *
 * @example
 * await verifyWechatpaySignature({ headers: res.headers, body: rawBytes, resolveKey: (s) => keys.get(s) });
 */
export async function verifyWechatpaySignature(
  input: VerifySignatureInput,
): Promise<WechatpaySignatureHeaders> {
  const h = requireSignatureHeaders(input.headers);
  rejectSigntestProbe(h.signature);
  rejectStaleTimestamp(h.timestamp, input.now ?? Date.now());
  const key = await requireKnownSerial(h.serial, input.resolveKey);
  requireValidSignature(key, h, input.body);
  return h;
}
