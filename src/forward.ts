import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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
  let res: { status: number; body: string };
  try {
    res = await viaNodeHttp(url, headers, body, signal);
  } catch (cause) {
    throw new ForwardFailure(target, timeout.aborted ? 'timeout' : 'network', undefined, { cause });
  }
  if (res.status < 200 || res.status > 299) throw new ForwardFailure(target, 'status', res.status);
  return res;
}

// Every message or notification is one forward: node:http on kept-alive connections costs a third of
// the CPU of fetch (undici's Request/stream machinery), measured in bench/push.ts. Free sockets are
// unref'd by the agent, so they never keep a process alive.
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
};

function viaNodeHttp(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  retried = false,
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return Promise.reject(new TypeError(`unsupported protocol ${u.protocol}`));
  }
  const payload = Buffer.from(body, 'utf8');
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, {
      method: 'POST',
      agent: agents[u.protocol as 'http:' | 'https:'],
      headers: { ...headers, 'content-length': String(payload.length) },
      // Covers connect, headers and body: the response stream is destroyed with the request.
      signal,
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A kept-alive socket the receiver closed while idle: the request never reached it; once more
      // on a new connection (Node's documented pattern for request.reusedSocket).
      if (!retried && req.reusedSocket && e.code === 'ECONNRESET' && !signal.aborted) {
        viaNodeHttp(url, headers, body, signal, true).then(resolve, reject);
        return;
      }
      reject(e);
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () =>
        res.complete
          ? resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
          : reject(new Error('response ended early')),
      );
    });
    req.end(payload);
  });
}
