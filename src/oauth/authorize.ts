import { isLoopbackHost } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { type AuthorizeUrlInput, OAUTH_SCOPES } from './types.ts';

/** WeChat's authorize page. */
export const DEFAULT_OPEN_BASE = 'https://open.weixin.qq.com';

/**
 * The authorize page's base when none is configured: WeChat's, or — for an account on the simulator (a
 * loopback `apiBase`) — the simulator itself, which serves the consent page next to its API. Without
 * this, a library user pointed at the simulator was sent to the real open.weixin.qq.com.
 */
export function defaultOpenBase(apiBase: string | undefined): string {
  try {
    return apiBase !== undefined && isLoopbackHost(new URL(apiBase).hostname) ? apiBase : DEFAULT_OPEN_BASE;
  } catch {
    return DEFAULT_OPEN_BASE;
  }
}

const STATE_RE = /^[A-Za-z0-9]{0,128}$/;

/**
 * Builds WeChat's authorize URL. The parameter order and the `#wechat_redirect` suffix are what
 * WeChat's docs prescribe (some WeChat versions refuse other orders); `redirect_uri` is encoded once.
 *
 * @throws {WxkitError} `invalid_request` for a relative redirect URI, an unknown scope or a state
 *   WeChat would mangle (more than 128 characters, or not [A-Za-z0-9]).
 * @example
 * buildAuthorizeUrl({ appId: 'wx123', redirectUri: 'https://h5.example.com/cb', scope: 'snsapi_base', state: 'abc' })
 * // https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx123&redirect_uri=https%3A%2F%2Fh5.example.com%2Fcb&response_type=code&scope=snsapi_base&state=abc#wechat_redirect
 */
export function buildAuthorizeUrl(
  input: AuthorizeUrlInput & {
    appId: string;
    openBase?: string | undefined;
    /** A third-party platform asking on the account's behalf (代公众号发起网页授权). */
    componentAppId?: string | undefined;
  },
): string {
  const scope = input.scope ?? 'snsapi_base';
  if (!OAUTH_SCOPES.includes(scope)) {
    throw invalid(`Unknown OAuth scope ${JSON.stringify(scope)}; use snsapi_base or snsapi_userinfo.`);
  }
  checkRedirectUri(input.redirectUri);
  const state = checkState(input.state, 'WeChat');
  const base = (input.openBase ?? DEFAULT_OPEN_BASE).replace(/\/+$/, '');
  const query =
    `appid=${encodeURIComponent(input.appId)}` +
    `&redirect_uri=${encodeURIComponent(input.redirectUri)}` +
    `&response_type=code&scope=${scope}&state=${state}` +
    (input.componentAppId ? `&component_appid=${encodeURIComponent(input.componentAppId)}` : '') +
    (input.forcePopup ? '&forcePopup=true' : '');
  return `${base}/connect/oauth2/authorize?${query}#wechat_redirect`;
}

/** The redirect URI of an authorize URL (WeChat's and WeCom's): an absolute http(s) URL. */
export function checkRedirectUri(redirectUri: string): void {
  let redirect: URL;
  try {
    redirect = new URL(redirectUri);
  } catch (cause) {
    throw invalid('The OAuth redirect URI must be an absolute http(s) URL.', cause);
  }
  if (redirect.protocol !== 'http:' && redirect.protocol !== 'https:') {
    throw invalid('The OAuth redirect URI must be an absolute http(s) URL.');
  }
}

/** The `state` of an authorize URL: at most 128 characters of [A-Za-z0-9], which the platform passes back intact. */
export function checkState(state: string | undefined, platform: 'WeChat' | 'WeCom'): string {
  const value = state ?? '';
  if (!STATE_RE.test(value)) {
    throw invalid(
      `The OAuth state must be at most 128 characters of [A-Za-z0-9]; ${platform} mangles anything else.`,
    );
  }
  return value;
}

function invalid(message: string, cause?: unknown): WxkitError {
  return new WxkitError(ErrorCodes.INVALID_REQUEST, message, cause === undefined ? {} : { cause });
}
