import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Handing a verified message on to the team's own services (push messages; payment
 * notifications). The body is POSTed as JSON with `X-Wxkit-Signature: sha256=<hex HMAC-SHA256 of
 * the exact body bytes>` so the receiver can tell it came from wxkit, and the call always has a
 * deadline: a forward URL that hangs must not hold WeChat's connection (or a worker) forever. A
 * delivery counts only when the receiver answered 2xx; anything else is a {@link ForwardFailure} the
 * caller turns into "not acknowledged" (WeChat then retries), never into a lost message.
 */

/** Header that carries the HMAC of the forwarded body. */
export const FORWARD_SIGNATURE_HEADER = 'x-wxkit-signature';

/** `sha256=<hex>`: HMAC-SHA256 of `body` under `secret`. */
export function forwardSignature(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks an `X-Wxkit-Signature` header on the receiving side, in constant time.
 *
 * @example
 * // in the team's own service, with the raw body as received
 * if (!verifyForwardSignature(process.env.WXKIT_PUSH_FORWARD_SECRET, rawBody, req.headers['x-wxkit-signature'])) {
 *   res.statusCode = 401; return res.end();
 * }
 */
export function verifyForwardSignature(
  secret: string,
  body: string | Uint8Array,
  header: string | null | undefined,
): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(forwardSignature(secret, body));
  const got = Buffer.from(header.trim());
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Options for {@link forwardJson}. */
export interface ForwardOptions {
  /** Signs the body (`X-Wxkit-Signature`); unsigned when absent. */
  secret?: string | undefined;
  /** The whole exchange (connect, headers and body) must finish within this. @default 5000 */
  timeoutMs?: number | undefined;
  /** Extra headers (e.g. an idempotency key). */
  headers?: Record<string, string> | undefined;
  /** Aborts the call early. */
  signal?: AbortSignal | undefined;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
}

/** What a forward URL answered (2xx only). */
export interface ForwardAnswer {
  status: number;
  /** The answer's body, read in full within the deadline. */
  body: string;
}

/** A forward that did not succeed: unreachable, timed out, or answered non-2xx. */
export class ForwardFailure extends Error {
  override readonly name = 'ForwardFailure';
  constructor(
    /** The URL without its query (which may hold a key). */
    readonly target: string,
    /** `timeout`, `network` or `status`. */
    readonly reason: 'timeout' | 'network' | 'status',
    /** The HTTP status, for `status`. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(
      reason === 'status'
        ? `forward to ${target} answered HTTP ${status}`
        : reason === 'timeout'
          ? `forward to ${target} timed out`
          : `forward to ${target} failed (network)`,
      options,
    );
  }
}

/** The URL as it may appear in logs: origin and path, no query or credentials. */
export function describeForwardUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs `body` (a JSON text) to `url`, signed when a secret is given, and reads the answer within
 * `timeoutMs`. Resolves only for a 2xx answer; rejects with a {@link ForwardFailure} otherwise. The
 * deadline covers the body too: a receiver that sends headers and then stalls is a timeout.
 */
export async function forwardJson(
  url: string,
  body: string,
  options: ForwardOptions = {},
): Promise<ForwardAnswer> {
  const target = describeForwardUrl(url);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 5_000);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    accept: 'application/json',
    ...options.headers,
  };
  if (options.secret) headers[FORWARD_SIGNATURE_HEADER] = forwardSignature(options.secret, body);
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  let text: string;
  try {
    // The signal goes to fetch itself (a signal carried on a Request is lost on Node 20).
    res = await doFetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
    text = await res.text();
  } catch (cause) {
    throw new ForwardFailure(target, timeout.aborted ? 'timeout' : 'network', undefined, { cause });
  }
  if (res.status < 200 || res.status > 299) throw new ForwardFailure(target, 'status', res.status);
  return { status: res.status, body: text };
}
