import { ErrorCodes, WxkitError } from '../errors.ts';
import type { OAuthLang } from './types.ts';

/** What every OAuth request needs: where WeChat is and how to reach it. */
export interface OAuthRequestContext {
  /** @default 'https://api.weixin.qq.com' */
  apiBase?: string | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  signal?: AbortSignal | undefined;
  /** Gives up on WeChat after this many milliseconds. @default 8000 */
  timeoutMs?: number | undefined;
}

/** WeChat's API host. */
export const DEFAULT_API_BASE = 'https://api.weixin.qq.com';

/** `GET /sns/oauth2/access_token` — trades a code for the user's token. Returns the raw `Response`. */
export function codeExchangeRequest(
  ctx: OAuthRequestContext,
  input: { appId: string; secret: string; code: string },
): Promise<Response> {
  return get(ctx, '/sns/oauth2/access_token', {
    appid: input.appId,
    secret: input.secret,
    code: input.code,
    grant_type: 'authorization_code',
  });
}

/** `GET /sns/oauth2/refresh_token` — renews the user's token (the refresh_token lives 30 days). */
export function refreshTokenRequest(
  ctx: OAuthRequestContext,
  input: { appId: string; refreshToken: string },
): Promise<Response> {
  return get(ctx, '/sns/oauth2/refresh_token', {
    appid: input.appId,
    grant_type: 'refresh_token',
    refresh_token: input.refreshToken,
  });
}

/** `GET /sns/userinfo` — the user's profile (needs a snsapi_userinfo token). */
export function userinfoRequest(
  ctx: OAuthRequestContext,
  input: { accessToken: string; openid: string; lang?: OAuthLang | undefined },
): Promise<Response> {
  return get(ctx, '/sns/userinfo', {
    access_token: input.accessToken,
    openid: input.openid,
    lang: input.lang ?? 'zh_CN',
  });
}

/** `GET /sns/auth` — whether a user's token is still valid for an openid. */
export function authCheckRequest(
  ctx: OAuthRequestContext,
  input: { accessToken: string; openid: string },
): Promise<Response> {
  return get(ctx, '/sns/auth', { access_token: input.accessToken, openid: input.openid });
}

async function get(
  ctx: OAuthRequestContext,
  path: string,
  params: Record<string, string>,
): Promise<Response> {
  const url = `${(ctx.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, '')}${path}?${new URLSearchParams(params)}`;
  const doFetch = ctx.fetch ?? globalThis.fetch;
  // The deadline goes to fetch itself (with the caller's signal): it then also bounds the body read.
  const deadline = AbortSignal.timeout(ctx.timeoutMs ?? 8_000);
  try {
    return await doFetch(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline,
    });
  } catch (cause) {
    // The URL carries the secret or a token: it never goes into the message.
    if (ctx.signal?.aborted) {
      throw new WxkitError(ErrorCodes.ABORTED, `WeChat ${path} was aborted.`, { cause });
    }
    throw new WxkitError(ErrorCodes.UPSTREAM_UNAVAILABLE, `WeChat ${path} could not be reached.`, {
      cause: scrub(cause),
      retryAfter: 1,
      hint: {
        en: 'Check the network to WeChat (or WX_API_BASE).',
        zh: '请检查到微信服务器（或 WX_API_BASE）的网络。',
      },
    });
  }
}

// undici's errors may quote the request URL (which carries secrets); keep only the name and code.
function scrub(cause: unknown): unknown {
  if (!(cause instanceof Error)) return undefined;
  const inner = (cause as { cause?: { code?: unknown } }).cause;
  const code = typeof inner?.code === 'string' ? inner.code : undefined;
  return new Error(code ? `${cause.name}: ${code}` : cause.name);
}
