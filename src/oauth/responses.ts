import { categoryOf, describeErrcode } from '../errcodes.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { OAuthToken, OAuthUserinfo } from './types.ts';

/**
 * Turns WeChat's answer to `/sns/oauth2/access_token` or `/sns/oauth2/refresh_token` into an
 * {@link OAuthToken}, or throws the matching {@link WxkitError}.
 *
 * @param now clock for `expiresAt`, in milliseconds. @default Date.now
 * @example
 * const token = await processTokenResponse(await codeExchangeRequest(ctx, { appId, secret, code }))
 */
export async function processTokenResponse(
  response: Response,
  now: () => number = Date.now,
): Promise<OAuthToken> {
  const body = await readWechatJson(response, 'oauth2/access_token');
  const accessToken = str(body.access_token);
  const refreshToken = str(body.refresh_token);
  const openid = str(body.openid);
  if (!accessToken || !refreshToken || !openid) {
    throw malformed('oauth2/access_token', 'access_token, refresh_token or openid is missing');
  }
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 7200;
  const unionid = str(body.unionid);
  return {
    accessToken,
    expiresIn,
    expiresAt: now() + expiresIn * 1000,
    refreshToken,
    openid,
    scope: str(body.scope) ?? '',
    ...(unionid ? { unionid } : {}),
    isSnapshotUser:
      body.is_snapshotuser === 1 || body.is_snapshotuser === '1' || body.is_snapshotuser === true,
  };
}

/** Turns WeChat's answer to `/sns/userinfo` into an {@link OAuthUserinfo}, or throws (48001: not a snsapi_userinfo token). */
export async function processUserinfoResponse(response: Response): Promise<OAuthUserinfo> {
  const body = await readWechatJson(response, 'userinfo');
  const openid = str(body.openid);
  if (!openid) throw malformed('userinfo', 'openid is missing');
  const unionid = str(body.unionid);
  return {
    openid,
    nickname: str(body.nickname) ?? '',
    sex: typeof body.sex === 'number' ? body.sex : 0,
    province: str(body.province) ?? '',
    city: str(body.city) ?? '',
    country: str(body.country) ?? '',
    headimgurl: str(body.headimgurl) ?? '',
    privilege: Array.isArray(body.privilege)
      ? body.privilege.filter((p): p is string => typeof p === 'string')
      : [],
    ...(unionid ? { unionid } : {}),
  };
}

const TOKEN_DEAD = new Set([40001, 40003, 40014, 42001]);

/** Turns WeChat's answer to `/sns/auth` into true (valid), false (invalid/expired for this openid), or throws. */
export async function processAuthCheckResponse(response: Response): Promise<boolean> {
  try {
    await readWechatJson(response, 'auth');
    return true;
  } catch (e) {
    if (e instanceof WxkitError && e.errcode !== undefined && TOKEN_DEAD.has(e.errcode)) return false;
    throw e;
  }
}

/**
 * Reads a WeChat JSON body. WeChat reports errors with HTTP 200 and `{errcode, errmsg}`; a non-2xx
 * status or a body that is not JSON means WeChat (or a proxy) is unwell.
 */
async function readWechatJson(response: Response, name: string): Promise<Record<string, unknown>> {
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `WeChat sns/${name} answered HTTP ${response.status}.`,
      {
        retryAfter: 1,
      },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch (cause) {
    throw new WxkitError(ErrorCodes.UPSTREAM_UNAVAILABLE, `WeChat sns/${name} did not answer JSON.`, {
      cause,
      retryAfter: 1,
    });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw malformed(name, 'not a JSON object');
  const record = body as Record<string, unknown>;
  const errcode = typeof record.errcode === 'number' ? record.errcode : Number(record.errcode ?? 0);
  if (Number.isFinite(errcode) && errcode !== 0) throw wechatError(name, errcode, str(record.errmsg) ?? '');
  return record;
}

/** The error for an errcode from an OAuth endpoint: user problems are 401, WeChat's are 502/503. */
export function wechatError(name: string, errcode: number, errmsg: string): WxkitError {
  const info = describeErrcode(errcode);
  const category = categoryOf(errcode);
  const what = info ? `${errcode} ${info.name}` : `errcode ${errcode}`;
  if (category === 'user-auth') {
    return new WxkitError(ErrorCodes.UNAUTHORIZED, `WeChat sns/${name} refused: ${what}.`, {
      errcode,
      errmsg,
    });
  }
  if (category === 'transient') {
    return new WxkitError(ErrorCodes.UPSTREAM_UNAVAILABLE, `WeChat sns/${name} is busy: ${what}.`, {
      errcode,
      errmsg,
      retryAfter: 1,
    });
  }
  return new WxkitError(ErrorCodes.WECHAT_ERROR, `WeChat sns/${name} failed: ${what}.`, { errcode, errmsg });
}

function malformed(name: string, why: string): WxkitError {
  return new WxkitError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    `WeChat sns/${name} answered an unexpected body (${why}).`,
  );
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
