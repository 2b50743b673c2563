import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../../http/html.ts';
import { onDomains } from '../bridge/verify.ts';
import { json, type SimContext, type SimRoute, wecomError } from '../http.ts';
import type { SimState } from '../state.ts';
import { tokenOwner } from './routes.ts';
import { firstMember, type SimCorp, type SimWecomUser, WECOM_LIMITS } from './state.ts';

/**
 * WeCom web OAuth (网页授权): `open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&…&agentid=…`
 * redirects at once inside WeCom (no consent page) with a code for the logged-in user, and
 * `/cgi-bin/auth/getuserinfo?access_token&code` exchanges it once: `{userid}` for a member (plus
 * `user_ticket` with snsapi_privateinfo), `{openid, external_userid?}` for a non-member. Codes are
 * single use and live 5 minutes (40029 otherwise).
 */

const SCOPES = ['snsapi_base', 'snsapi_privateinfo'] as const;
type Scope = (typeof SCOPES)[number];

interface Code {
  corpId: string;
  user: SimWecomUser;
  scope: Scope;
  /** The redirect_uri's URL; getuserinfo checks it against the token's app (50001). */
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

const codes = new WeakMap<SimState, Map<string, Code>>();

function codesOf(state: SimState): Map<string, Code> {
  let map = codes.get(state);
  if (!map) {
    map = new Map();
    codes.set(state, map);
  }
  return map;
}

/** WeCom's error page for a bad authorize link, with its number. */
function errorPage(code: number, message: string): Response {
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>企业微信</title></head><body><h1>无法打开页面 / Cannot open the page</h1><p id="wx-error" data-errcode="${code}">${code} ${escapeHtml(message)}</p></body></html>`;
  return new Response(html, {
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  });
}

/**
 * A redirect_uri WeCom accepts for these trusted domains. As in the Official Account flow, a loopback
 * host (localhost, 127.x, [::1]) passes on any port so a laptop's own service can log in.
 */
function redirectAllowed(uri: string, domains: readonly string[]): boolean {
  const host = new URL(uri).hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host)) return true;
  return onDomains(uri, domains);
}

/** The user a code is issued for: `simuser=<userid|openid>` on the link (simulator only), else the chosen one. */
function userFor(corp: SimCorp, simuser: string | null): SimWecomUser | undefined {
  if (simuser !== null) {
    return corp.users.find((u) => ('userid' in u ? u.userid === simuser : u.openid === simuser));
  }
  return corp.currentUser ?? firstMember(corp);
}

/** True when a simulated corp is asked for (`appid` = corpId): the WeCom flow handles the link. */
export function isWecomAuthorize(ctx: SimContext): boolean {
  return ctx.state.wecom.corp(ctx.url.searchParams.get('appid') ?? '') !== undefined;
}

/**
 * The consent-free redirect. Checks, in order: redirect_uri (absolute http(s)), response_type=code,
 * scope (snsapi_base | snsapi_privateinfo, the latter needs agentid), agentid (an app of the corp when
 * given), the redirect host on the trusted domains (of that app, or of any app of the corp), state
 * ≤ 128 bytes, the simulated user.
 */
export function wecomAuthorize(ctx: SimContext): Response {
  const q = ctx.url.searchParams;
  const corp = ctx.state.wecom.corp(q.get('appid') ?? '');
  if (!corp) return errorPage(40013, 'invalid corpid');
  let redirectUri: URL;
  try {
    redirectUri = new URL(q.get('redirect_uri') ?? '');
  } catch {
    return errorPage(10011, 'redirect_uri 参数错误 / redirect_uri is not an absolute URL');
  }
  if (redirectUri.protocol !== 'http:' && redirectUri.protocol !== 'https:') {
    return errorPage(10011, 'redirect_uri 参数错误 / redirect_uri must be http(s)');
  }
  if (q.get('response_type') !== 'code') return errorPage(10010, 'response_type 参数错误 / must be code');
  const scope = q.get('scope') ?? '';
  if (!SCOPES.includes(scope as Scope)) {
    return errorPage(10005, `scope 参数错误 / scope must be snsapi_base or snsapi_privateinfo, got ${scope}`);
  }
  const agentParam = q.get('agentid');
  if (scope === 'snsapi_privateinfo' && !agentParam) {
    return errorPage(10016, 'snsapi_privateinfo 需要 agentid / snsapi_privateinfo needs agentid');
  }
  const agent = agentParam ? ctx.state.wecom.agent(corp.corpId, agentParam) : undefined;
  if (agentParam && !agent) return errorPage(40056, `invalid agentid ${agentParam}`);
  const domains = agent ? agent.jsDomains : ctx.state.wecom.corpDomains(corp);
  if (!redirectAllowed(redirectUri.href, domains)) {
    return errorPage(
      50001,
      `redirect_uri 需使用应用可信域名 / the redirect_uri host ${redirectUri.host} is not a trusted domain (${domains.join(', ')})`,
    );
  }
  const state = q.get('state') ?? '';
  if (Buffer.byteLength(state) > 128)
    return errorPage(10013, 'state 参数超过 128 字节 / state is over 128 bytes');
  const user = userFor(corp, q.get('simuser'));
  if (!user) return errorPage(40003, 'no such simulated user / 没有这个模拟用户');
  const code = randomBytes(16).toString('hex');
  codesOf(ctx.state).set(code, {
    corpId: corp.corpId,
    user,
    scope: scope as Scope,
    redirectUri: redirectUri.href,
    expiresAt: ctx.state.now() + WECOM_LIMITS.code,
    used: false,
  });
  redirectUri.searchParams.set('code', code);
  redirectUri.searchParams.set('state', state);
  return new Response(null, {
    status: 302,
    headers: { location: redirectUri.href, 'cache-control': 'no-store' },
  });
}

/** `GET /cgi-bin/auth/getuserinfo?access_token&code`. */
const getuserinfo: SimRoute = {
  path: '/cgi-bin/auth/getuserinfo',
  methods: ['GET'],
  flavor: 'wecom',
  handler: (_req, ctx) => {
    const owner = tokenOwner(ctx);
    if (owner instanceof Response) return owner;
    const value = ctx.url.searchParams.get('code');
    if (!value) return wecomError(ctx.state, 41008, ctx.ip);
    const code = codesOf(ctx.state).get(value);
    if (!code || code.used || code.corpId !== owner.corp.corpId || ctx.state.now() >= code.expiresAt) {
      return wecomError(ctx.state, 40029, ctx.ip);
    }
    // "跳转的域名须完全匹配access_token对应应用的可信域名,否则会返回50001错误"
    if (!redirectAllowed(code.redirectUri, owner.agent.jsDomains))
      return wecomError(ctx.state, 50001, ctx.ip);
    code.used = true;
    const { user } = code;
    if ('userid' in user) {
      const body: Record<string, unknown> = { errcode: 0, errmsg: 'ok', userid: user.userid };
      if (code.scope === 'snsapi_privateinfo') {
        body.user_ticket = randomBytes(32).toString('base64url');
        body.expires_in = WECOM_LIMITS.userTicket;
      }
      return json(body);
    }
    return json({
      errcode: 0,
      errmsg: 'ok',
      openid: user.openid,
      ...(user.external_userid ? { external_userid: user.external_userid } : {}),
    });
  },
};

export const wecomOAuthRoutes: SimRoute[] = [getuserinfo];
