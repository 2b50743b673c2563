import { secondsUntilQuotaReset } from '../errcodes.ts';
import { ErrorCodes, isWxkitError, WxkitError } from '../errors.ts';
import { publicErrorBody } from './public-error.ts';

/**
 * What a route returns when it does not need a full web `Response`: plain data that the web handler
 * turns into a `Response` and the Node server writes straight to the socket, so the hot path
 * (`/jssdk/config`) allocates no Request/Response objects under `wxkit serve`.
 */
export interface Reply {
  status: number;
  /** Header names in lowercase. An array sends the header several times (Set-Cookie). */
  headers: Record<string, string | string[]>;
  body: string | Uint8Array | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON reply. */
export function json(status: number, value: unknown, headers?: Record<string, string | string[]>): Reply {
  return {
    status,
    headers: headers ? { 'content-type': JSON_TYPE, ...headers } : { 'content-type': JSON_TYPE },
    body: JSON.stringify(value),
  };
}

/** A reply with a body of the given type. */
export function send(
  status: number,
  body: string | Uint8Array | null,
  contentType: string,
  headers: Record<string, string | string[]> = {},
): Reply {
  return { status, headers: { 'content-type': contentType, ...headers }, body };
}

/** Turns anything thrown into a {@link WxkitError}; unknown errors become `internal` without details. */
export function asWxkitError(error: unknown): WxkitError {
  if (isWxkitError(error)) return error;
  return new WxkitError(ErrorCodes.INTERNAL, 'Internal error; the service logged the details.', {
    cause: error,
    hint: {
      en: 'This is a bug in wxkit; please report it with the log line.',
      zh: '这是 wxkit 的缺陷，请附上日志报告。',
    },
  });
}

/**
 * When a retry may succeed, in seconds, or `undefined` for "not by retrying" (docs/service.md, "Which
 * errors to retry"): 45009 at WeChat's quota reset (midnight Beijing time); WeChat refusing the account's
 * configuration never by itself (no Retry-After, though wxkit asks WeChat again at most every 30 s, so a
 * fixed IP whitelist heals without a restart); everything else as the error says, 5 s for a bare 503.
 */
export function retryAfterOf(error: WxkitError, nowMs: number = Date.now()): number | undefined {
  const category = error.category;
  if (category === 'quota') return secondsUntilQuotaReset(nowMs);
  if (category === 'config' && error.code === ErrorCodes.WECHAT_ERROR) return undefined;
  if (error.retryAfter !== undefined) return Math.max(1, Math.ceil(error.retryAfter));
  return error.status === 503 ? 5 : undefined;
}

/**
 * The one place errors become HTTP: SPEC §3's JSON body without the service's internals (see
 * {@link publicErrorBody}), the error's status, Retry-After.
 */
export function errorReply(error: WxkitError): Reply {
  const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'cache-control': 'no-store' };
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  if (error.status === 401) headers['www-authenticate'] = 'Bearer realm="wxkit"';
  // Stop reading an oversized upload instead of draining it.
  if (error.status === 413) headers.connection = 'close';
  const extra = error.details?.allow;
  if (error.status === 405 && typeof extra === 'string') headers.allow = extra;
  return { status: error.status, headers, body: JSON.stringify(publicErrorBody(error)) };
}

/** A web `Response` from a {@link Reply} (or the `Response` a route returned). */
export function toResponse(reply: Reply | Response, head = false): Response {
  if (reply instanceof Response) {
    if (!head) return reply;
    reply.body?.cancel().catch(() => {}); // never read: let its source stop
    return new Response(null, reply);
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(reply.headers)) {
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else headers.set(k, v);
  }
  const noBody = head || reply.status === 204 || reply.status === 304;
  return new Response(noBody ? null : (reply.body as BodyInit | null), { status: reply.status, headers });
}
