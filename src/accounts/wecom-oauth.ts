import { ErrorCodes, WxkitError } from '../errors.ts';
import { checkRedirectUri, checkState } from '../oauth/authorize.ts';
import { exchangeOnce, type RefusedCodes, unusableCode } from '../oauth/exchange.ts';
import type { OAuthStore } from '../oauth/store.ts';
import type { CallOptions } from '../types.ts';
import type { Upstream } from './engine.ts';
import { readWecomJson, wecomErrcode, wecomError } from './wecom-response.ts';

/**
 * WeCom OAuth (企业微信网页授权登录): the authorize URL on `open.weixin.qq.com` with the corpId as
 * `appid` and the app's `agentid`, then `GET /cgi-bin/auth/getuserinfo?access_token=&code=` with the
 * app's token: a member's `userid` (and `user_ticket` for `snsapi_privateinfo`), or a non-member's
 * `openid` (and `external_userid` when they are an external contact). A code is single use, 5 minutes.
 */

/** `snsapi_base`: silent, the userid only. `snsapi_privateinfo`: the member consents; adds a `user_ticket`. */
export type WecomOAuthScope = 'snsapi_base' | 'snsapi_privateinfo';

/** Input of {@link WecomOAuthClient.authorizeUrl}. */
export interface WecomAuthorizeUrlInput {
  /** Absolute URL WeCom redirects back to with `code` and `state`; its host must be the app's trusted domain. */
  redirectUri: string;
  /** @default 'snsapi_base' */
  scope?: WecomOAuthScope | undefined;
  /** Up to 128 characters of [A-Za-z0-9]. @default '' */
  state?: string | undefined;
}

/** Who opened the page: a member of the corp (`userid`) or someone outside it (`openid`). */
export type WecomUser =
  | {
      /** The member's account in the corp. */
      userid: string;
      /** With `snsapi_privateinfo`: a ticket for `/cgi-bin/auth/getuserdetail` (30 minutes). */
      user_ticket?: string | undefined;
    }
  | {
      /** A non-member, identified for this corp. */
      openid: string;
      /** When the non-member is one of the corp's external contacts. */
      external_userid?: string | undefined;
    };

/**
 * WeCom OAuth for one app.
 *
 * @example
 * res.redirect(corp.oauth.authorizeUrl({ redirectUri: 'https://h5.example.com/cb', state }))
 * // …in the callback:
 * const user = await corp.oauth.getUserInfo(code) // { userid } or { openid }
 */
export interface WecomOAuthClient {
  readonly corpId: string;
  readonly agentId: string;
  /** Where code-exchange results are shared (the account's store). */
  readonly store: OAuthStore;
  /** `https://open.weixin.qq.com/connect/oauth2/authorize?appid=<corpId>&…&agentid=<agentId>#wechat_redirect`. */
  authorizeUrl(input: WecomAuthorizeUrlInput): string;
  /**
   * Exchanges a code for who the user is. Concurrent and repeated calls with the same code (a double
   * callback, a back button) share one upstream call and get the first result — in this process through
   * single-flight, across processes through the store.
   *
   * @throws {WxkitError} `unauthorized` for 40029 (invalid, used or expired code).
   */
  getUserInfo(code: string, options?: CallOptions): Promise<WecomUser>;
}

export interface WecomOAuthDeps {
  corpId: string;
  agentId: string;
  /** Namespaces stored exchange results (the account's id). */
  id: string;
  apiBase: string;
  openBase: string;
  store: OAuthStore;
  /** The account's counted upstream call and token rule. */
  upstream: Upstream;
}

const SCOPES: readonly WecomOAuthScope[] = ['snsapi_base', 'snsapi_privateinfo'];

export function createWecomOAuthClient(d: WecomOAuthDeps): WecomOAuthClient {
  const inflight = new Map<string, Promise<WecomUser>>();
  const refused: RefusedCodes = new Map();
  return {
    corpId: d.corpId,
    agentId: d.agentId,
    store: d.store,
    authorizeUrl(input) {
      return buildWecomAuthorizeUrl({ ...input, corpId: d.corpId, agentId: d.agentId, openBase: d.openBase });
    },
    getUserInfo(code) {
      const unusable = unusableCode(code);
      if (unusable) return Promise.reject(unusable);
      return exchangeOnce(
        code,
        () =>
          d.upstream.withToken((token) =>
            d.upstream.call(
              '/cgi-bin/auth/getuserinfo',
              d.apiBase,
              () => userInfoRequest(d.apiBase, token, code),
              (res) => processUserInfoResponse(res),
            ),
          ),
        { store: d.store, appId: d.id, inflight, refused },
      );
    },
  };
}

/** Builds WeCom's authorize URL (WeChat's parameter order, then `agentid`, then `#wechat_redirect`). */
export function buildWecomAuthorizeUrl(
  input: WecomAuthorizeUrlInput & { corpId: string; agentId: string; openBase: string },
): string {
  const scope = input.scope ?? 'snsapi_base';
  if (!SCOPES.includes(scope)) {
    throw invalid(
      `Unknown WeCom OAuth scope ${JSON.stringify(String(scope)).slice(0, 40)}; use snsapi_base or snsapi_privateinfo.`,
    );
  }
  checkRedirectUri(input.redirectUri);
  const state = checkState(input.state, 'WeCom');
  const query =
    `appid=${encodeURIComponent(input.corpId)}` +
    `&redirect_uri=${encodeURIComponent(input.redirectUri)}` +
    `&response_type=code&scope=${scope}&state=${state}` +
    `&agentid=${encodeURIComponent(input.agentId)}`;
  return `${input.openBase.replace(/\/+$/, '')}/connect/oauth2/authorize?${query}#wechat_redirect`;
}

/** `GET /cgi-bin/auth/getuserinfo?access_token=&code=`. */
export function userInfoRequest(apiBase: string, accessToken: string, code: string): Request {
  const url = new URL('/cgi-bin/auth/getuserinfo', apiBase);
  url.searchParams.set('access_token', accessToken);
  url.searchParams.set('code', code);
  return new Request(url);
}

/** Turns getuserinfo's answer into a {@link WecomUser}, or throws (40029: the code is invalid, used or expired). */
export async function processUserInfoResponse(res: Response): Promise<WecomUser> {
  const body = await readWecomJson(res, 'auth/getuserinfo');
  if (wecomErrcode(body) !== undefined) throw wecomError(body, 'auth/getuserinfo');
  // `UserId`/`OpenId`: the spelling of the older /cgi-bin/user/getuserinfo, still seen behind proxies.
  const userid = str(body.userid) ?? str(body.UserId);
  if (userid) {
    const ticket = str(body.user_ticket);
    return { userid, ...(ticket ? { user_ticket: ticket } : {}) };
  }
  const openid = str(body.openid) ?? str(body.OpenId);
  if (openid) {
    const external = str(body.external_userid);
    return { openid, ...(external ? { external_userid: external } : {}) };
  }
  throw new WxkitError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    'WeCom auth/getuserinfo answered neither a userid nor an openid',
    { retryAfter: 1 },
  );
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function invalid(message: string, cause?: unknown): WxkitError {
  return new WxkitError(ErrorCodes.INVALID_REQUEST, message, cause === undefined ? {} : { cause });
}
