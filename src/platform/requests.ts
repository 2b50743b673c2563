import { type Fetched, isError, lifetimeMs, readPlatformJson, wechatError } from '../credentials/upstream.ts';

/**
 * The open platform's component API: request builders and the pure functions that read
 * WeChat's answers, tested by feeding them a `new Response(...)`. Every call but the component token's
 * carries `component_access_token` in the query and `component_appid` in the JSON body.
 */

const BASE = '/cgi-bin/component';

function post(apiBase: string, path: string, componentToken: string | undefined, body: unknown): Request {
  const url = new URL(`${BASE}/${path}`, apiBase);
  if (componentToken !== undefined) url.searchParams.set('component_access_token', componentToken);
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** `api_component_token`: the component token from the latest verify ticket. */
export function componentTokenRequest(
  apiBase: string,
  input: { componentAppId: string; componentSecret: string; verifyTicket: string },
): Request {
  return post(apiBase, 'api_component_token', undefined, {
    component_appid: input.componentAppId,
    component_appsecret: input.componentSecret,
    component_verify_ticket: input.verifyTicket,
  });
}

/** `api_create_preauthcode`. */
export function preAuthCodeRequest(apiBase: string, componentToken: string, componentAppId: string): Request {
  return post(apiBase, 'api_create_preauthcode', componentToken, { component_appid: componentAppId });
}

/** `api_query_auth`: the authorization code from the callback → the account's tokens. */
export function queryAuthRequest(
  apiBase: string,
  componentToken: string,
  componentAppId: string,
  authCode: string,
): Request {
  return post(apiBase, 'api_query_auth', componentToken, {
    component_appid: componentAppId,
    authorization_code: authCode,
  });
}

/** `api_authorizer_token`: a new access token for an account from its refresh token. */
export function authorizerTokenRequest(
  apiBase: string,
  componentToken: string,
  input: { componentAppId: string; authorizerAppId: string; refreshToken: string },
): Request {
  return post(apiBase, 'api_authorizer_token', componentToken, {
    component_appid: input.componentAppId,
    authorizer_appid: input.authorizerAppId,
    authorizer_refresh_token: input.refreshToken,
  });
}

/** `api_get_authorizer_info`: the account and its current refresh token. */
export function authorizerInfoRequest(
  apiBase: string,
  componentToken: string,
  componentAppId: string,
  authorizerAppId: string,
): Request {
  return post(apiBase, 'api_get_authorizer_info', componentToken, {
    component_appid: componentAppId,
    authorizer_appid: authorizerAppId,
  });
}

/** `api_get_authorizer_list`: one page (at most 500) of the authorized accounts. */
export function authorizerListRequest(
  apiBase: string,
  componentToken: string,
  componentAppId: string,
  offset: number,
  count: number,
): Request {
  return post(apiBase, 'api_get_authorizer_list', componentToken, {
    component_appid: componentAppId,
    offset,
    count,
  });
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** `{component_access_token, expires_in}` → a credential. */
export async function processComponentTokenResponse(res: Response, sentAt: number): Promise<Fetched> {
  const body = await readPlatformJson(res, 'component_access_token');
  if (!isError(body) && nonEmpty(body.component_access_token)) {
    return {
      value: body.component_access_token,
      expiresAt: sentAt + lifetimeMs(body.expires_in),
      source: 'api_component_token',
    };
  }
  throw wechatError(body, 'component token');
}

/** `{pre_auth_code, expires_in}`. */
export async function processPreAuthCodeResponse(
  res: Response,
  sentAt: number,
): Promise<{ preAuthCode: string; expiresAt: number }> {
  const body = await readPlatformJson(res, 'pre_auth_code');
  if (!isError(body) && nonEmpty(body.pre_auth_code)) {
    return { preAuthCode: body.pre_auth_code, expiresAt: sentAt + lifetimeMs(body.expires_in) };
  }
  throw wechatError(body, 'pre_auth_code');
}

/** What an authorization gives: the account, its first access token and its refresh token. */
export interface Authorization {
  authorizerAppId: string;
  accessToken: Fetched;
  refreshToken: string;
  /** The permission set ids granted (func_info). */
  funcInfo: number[];
}

/** `{authorization_info: {authorizer_appid, authorizer_access_token, expires_in, authorizer_refresh_token, func_info}}`. */
export async function processQueryAuthResponse(res: Response, sentAt: number): Promise<Authorization> {
  const body = await readPlatformJson(res, 'api_query_auth');
  const info = body.authorization_info as Record<string, unknown> | undefined;
  if (
    !isError(body) &&
    info &&
    nonEmpty(info.authorizer_appid) &&
    nonEmpty(info.authorizer_access_token) &&
    nonEmpty(info.authorizer_refresh_token)
  ) {
    return {
      authorizerAppId: info.authorizer_appid,
      accessToken: {
        value: info.authorizer_access_token,
        expiresAt: sentAt + lifetimeMs(info.expires_in),
        source: 'api_query_auth',
      },
      refreshToken: info.authorizer_refresh_token,
      funcInfo: funcInfoIds(info.func_info),
    };
  }
  throw wechatError(body, 'api_query_auth');
}

/** `{authorizer_access_token, expires_in, authorizer_refresh_token}`. */
export async function processAuthorizerTokenResponse(
  res: Response,
  sentAt: number,
): Promise<Fetched & { refreshToken: string | undefined }> {
  const body = await readPlatformJson(res, 'api_authorizer_token');
  if (!isError(body) && nonEmpty(body.authorizer_access_token)) {
    return {
      value: body.authorizer_access_token,
      expiresAt: sentAt + lifetimeMs(body.expires_in),
      source: 'api_authorizer_token',
      refreshToken: nonEmpty(body.authorizer_refresh_token) ? body.authorizer_refresh_token : undefined,
    };
  }
  throw wechatError(body, 'api_authorizer_token');
}

/** The refresh token `api_get_authorizer_info` reports, or `undefined` when the field is missing. */
export async function processAuthorizerInfoResponse(res: Response): Promise<string | undefined> {
  const body = await readPlatformJson(res, 'api_get_authorizer_info');
  if (isError(body)) throw wechatError(body, 'api_get_authorizer_info');
  const info = body.authorization_info as Record<string, unknown> | undefined;
  return nonEmpty(info?.authorizer_refresh_token) ? info.authorizer_refresh_token : undefined;
}

/** One page of `api_get_authorizer_list`: rows whose `refresh_token` may be missing. */
export async function processAuthorizerListResponse(
  res: Response,
): Promise<{ total: number; rows: Array<{ authorizerAppId: string; refreshToken: string | undefined }> }> {
  const body = await readPlatformJson(res, 'api_get_authorizer_list');
  if (isError(body)) throw wechatError(body, 'api_get_authorizer_list');
  const list = Array.isArray(body.list) ? (body.list as Record<string, unknown>[]) : [];
  return {
    total: typeof body.total_count === 'number' ? body.total_count : list.length,
    rows: list
      .filter((r) => nonEmpty(r?.authorizer_appid))
      .map((r) => ({
        authorizerAppId: r.authorizer_appid as string,
        refreshToken: nonEmpty(r.refresh_token) ? r.refresh_token : undefined,
      })),
  };
}

function funcInfoIds(v: unknown): number[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((f) => (f as { funcscope_category?: { id?: unknown } })?.funcscope_category?.id)
    .filter((id): id is number => typeof id === 'number');
}
