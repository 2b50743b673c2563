import type { CallOptions } from '../types.ts';
import type { OAuthStore } from './store.ts';

/**
 * `snsapi_base`: silent, gives the openid only. `snsapi_userinfo`: asks the user on a consent page and
 * unlocks `/sns/userinfo` (nickname, avatar…).
 */
export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

/** The OAuth scopes WeChat's web authorization accepts. */
export const OAUTH_SCOPES: readonly OAuthScope[] = ['snsapi_base', 'snsapi_userinfo'];

/** Languages `/sns/userinfo` translates country/province/city into. */
export type OAuthLang = 'zh_CN' | 'zh_TW' | 'en';

/** A user's web-authorization token, as `/sns/oauth2/access_token` and `/sns/oauth2/refresh_token` return it. */
export interface OAuthToken {
  /** The user's access_token (not the account's); a secret. */
  accessToken: string;
  /** Seconds, as WeChat said (7200). */
  expiresIn: number;
  /** Milliseconds since the epoch, from the client's clock at the time of the answer. */
  expiresAt: number;
  /** Valid 30 days; a secret. */
  refreshToken: string;
  openid: string;
  /** The scope(s) granted, as WeChat spells them (`snsapi_userinfo`, or a comma list). */
  scope: string;
  /** Present when the account is bound to an Open Platform account. */
  unionid?: string | undefined;
  /**
   * True when the user is looking at a "朋友圈快照页" (timeline snapshot page): the openid is virtual,
   * no user info is available and the user must open the real page to log in.
   */
  isSnapshotUser: boolean;
}

/** A user's profile, as `/sns/userinfo` returns it. */
export interface OAuthUserinfo {
  openid: string;
  nickname: string;
  /** 1 male, 2 female, 0 unknown (WeChat now always returns 0). */
  sex: number;
  province: string;
  city: string;
  country: string;
  /** Avatar URL; empty when the user has none. */
  headimgurl: string;
  privilege: string[];
  unionid?: string | undefined;
}

/** Input of {@link OAuthClient.authorizeUrl}. */
export interface AuthorizeUrlInput {
  /** Absolute URL WeChat redirects back to with `code` and `state`; its host must be the account's web-authorization domain. */
  redirectUri: string;
  /** @default 'snsapi_base' */
  scope?: OAuthScope | undefined;
  /** Up to 128 characters of [A-Za-z0-9] — WeChat truncates or refuses anything else. @default '' */
  state?: string | undefined;
  /** Adds `forcePopup=true` so the consent page shows even if the user consented before. @default false */
  forcePopup?: boolean | undefined;
}

/** Input of {@link OAuthClient.userinfo}. */
export interface UserinfoInput extends CallOptions {
  accessToken: string;
  openid: string;
  /** @default 'zh_CN' */
  lang?: OAuthLang | undefined;
}

/** Input of {@link OAuthClient.checkAccessToken}. */
export interface CheckAccessTokenInput extends CallOptions {
  accessToken: string;
  openid: string;
}

/**
 * Web authorization (网页授权) for one Official Account: the authorize URL, the code exchange (once per
 * code, even when the callback arrives twice), refresh, userinfo and the `/sns/auth` check.
 *
 * @example
 * const url = wx.oauth.authorizeUrl({ redirectUri: 'https://h5.example.com/cb', scope: 'snsapi_userinfo', state })
 * // …in the callback:
 * const token = await wx.oauth.exchangeCode(code)
 * const user = await wx.oauth.userinfo({ accessToken: token.accessToken, openid: token.openid })
 */
export interface OAuthClient {
  readonly appId: string;
  /** Where code-exchange results (and the service's login state and sessions) are shared. */
  readonly store: OAuthStore;
  /** `https://open.weixin.qq.com/connect/oauth2/authorize?…#wechat_redirect` (base from `openBase`). */
  authorizeUrl(input: AuthorizeUrlInput): string;
  /**
   * Exchanges a code for the user's token. Concurrent and repeated calls with the same code (a double
   * callback, a back button) share one upstream call and get the first result — in this process
   * through single-flight, across processes through the store.
   *
   * @throws {WxkitError} `unauthorized` for 40029 (invalid code), 40163 (code been used), 42003 (expired).
   */
  exchangeCode(code: string, options?: CallOptions): Promise<OAuthToken>;
  /** Refreshes a user's token with its refresh_token (30 days). @throws {WxkitError} `unauthorized` for 40030/42002. */
  refresh(refreshToken: string, options?: CallOptions): Promise<OAuthToken>;
  /** The user's profile; needs a `snsapi_userinfo` token. @throws {WxkitError} `unauthorized` for 48001 (scope). */
  userinfo(input: UserinfoInput): Promise<OAuthUserinfo>;
  /** `/sns/auth`: true while the token is valid for this openid, false for 40003/42001/40001/40014. */
  checkAccessToken(input: CheckAccessTokenInput): Promise<boolean>;
}
