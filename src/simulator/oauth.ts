import { randomBytes } from 'node:crypto';
import { authorizeRoutes } from './authorize-page.ts';
import { json, type SimContext, type SimRoute, wechatError } from './http.ts';
import type { SimState, SimUser } from './state.ts';

/**
 * Web OAuth as WeChat runs it: codes from the authorize page (single use, 5 minutes), the user's
 * access_token (2 hours) and refresh_token (30 days), `/sns/userinfo` (snsapi_userinfo only) and
 * `/sns/auth`. Timeline-snapshot visitors ("朋友圈快照页") get a virtual openid, `is_snapshotuser: 1`
 * and snsapi_base-like rights only.
 */

/** WeChat's documented OAuth lifetimes, in seconds. */
export const SIM_OAUTH_LIMITS = { code: 300, accessToken: 7200, refreshToken: 30 * 86400 } as const;

interface Grant {
  appId: string;
  /** Set when a third-party platform asked on the account's behalf (component OAuth). */
  componentAppId?: string | undefined;
  openid: string;
  scope: 'snsapi_base' | 'snsapi_userinfo';
  snapshot: boolean;
  unionid: string | undefined;
}

interface Code extends Grant {
  expiresAt: number;
  used: boolean;
}

interface Expiring extends Grant {
  expiresAt: number;
}

interface OAuthData {
  codes: Map<string, Code>;
  tokens: Map<string, Expiring>;
  refreshTokens: Map<string, Expiring>;
}

const data = new WeakMap<SimState, OAuthData>();

function oauthData(state: SimState): OAuthData {
  let d = data.get(state);
  if (!d) {
    d = { codes: new Map(), tokens: new Map(), refreshTokens: new Map() };
    data.set(state, d);
  }
  return d;
}

const ERRMSG: Record<number, string> = {
  40003: 'invalid openid',
  40029: 'invalid code',
  40030: 'invalid refresh_token',
  40163: 'code been used',
  41008: 'missing code',
  42002: 'refresh_token expired',
  48001: 'api unauthorized',
  61003: 'component is not authorized by this account',
};

/** WeChat's OAuth error body for `errcode`, with its errmsg. */
export function oauthFail(ctx: SimContext, errcode: number): Response {
  return ERRMSG[errcode] === undefined
    ? wechatError(ctx.state, errcode)
    : wechatError(ctx.state, errcode, ERRMSG[errcode]);
}
const fail = oauthFail;

/** True when the user stands for a timeline-snapshot visitor. */
export function isSnapshotUser(user: SimUser): boolean {
  return user.is_snapshotuser === 1;
}

/** The virtual openid a snapshot visitor gets (stable per account, never a real user's). */
export function snapshotOpenid(appId: string): string {
  return `oSNAPSHOT${appId.replace(/[^A-Za-z0-9]/g, '').slice(-8)}virtual00`;
}

/**
 * Issues a single-use code for a user who went through the authorize page. Snapshot visitors get the
 * virtual openid and `snsapi_base` whatever scope was asked.
 */
export function issueOAuthCode(
  state: SimState,
  input: {
    appId: string;
    user: SimUser | 'snapshot';
    scope: 'snsapi_base' | 'snsapi_userinfo';
    componentAppId?: string | undefined;
  },
): string {
  const snapshot = input.user === 'snapshot' || isSnapshotUser(input.user);
  const code = randomBytes(16).toString('hex');
  oauthData(state).codes.set(code, {
    appId: input.appId,
    componentAppId: input.componentAppId,
    openid: input.user === 'snapshot' ? snapshotOpenid(input.appId) : input.user.openid,
    scope: snapshot ? 'snsapi_base' : input.scope,
    snapshot,
    unionid: snapshot || input.user === 'snapshot' ? undefined : input.user.unionid,
    expiresAt: state.now() + SIM_OAUTH_LIMITS.code,
    used: false,
  });
  return code;
}

function tokenBody(state: SimState, grant: Grant, refreshToken: string): Record<string, unknown> {
  const accessToken = randomBytes(48).toString('base64url');
  oauthData(state).tokens.set(accessToken, {
    ...grant,
    expiresAt: state.now() + SIM_OAUTH_LIMITS.accessToken,
  });
  const body: Record<string, unknown> = {
    access_token: accessToken,
    expires_in: SIM_OAUTH_LIMITS.accessToken,
    refresh_token: refreshToken,
    openid: grant.openid,
    scope: grant.scope,
  };
  if (grant.snapshot) body.is_snapshotuser = 1;
  if (grant.unionid !== undefined && grant.scope === 'snsapi_userinfo') body.unionid = grant.unionid;
  return body;
}

/**
 * Redeems a code for the user's tokens: single use (40163), 5 minutes, bound to the account and to
 * whoever asked for it — a code from a platform's authorize link is exchanged only by that platform
 * (`componentAppId`), an account's own code only with its secret (40029 otherwise).
 */
export function redeemOAuthCode(
  ctx: SimContext,
  appid: string,
  codeValue: string,
  componentAppId: string | undefined,
): Response {
  const code = oauthData(ctx.state).codes.get(codeValue);
  if (
    !code ||
    code.appId !== appid ||
    code.componentAppId !== componentAppId ||
    ctx.state.now() >= code.expiresAt
  )
    return fail(ctx, 40029);
  if (code.used) return fail(ctx, 40163);
  code.used = true;
  const refreshToken = randomBytes(48).toString('base64url');
  const grant: Grant = {
    appId: code.appId,
    componentAppId: code.componentAppId,
    openid: code.openid,
    scope: code.scope,
    snapshot: code.snapshot,
    unionid: code.unionid,
  };
  oauthData(ctx.state).refreshTokens.set(refreshToken, {
    ...grant,
    expiresAt: ctx.state.now() + SIM_OAUTH_LIMITS.refreshToken,
  });
  return json(tokenBody(ctx.state, grant, refreshToken));
}

/** Renews a user's token with its refresh_token, for the account (or platform) it was issued to. */
export function renewOAuthToken(
  ctx: SimContext,
  appid: string,
  value: string,
  componentAppId: string | undefined,
): Response {
  const rt = oauthData(ctx.state).refreshTokens.get(value);
  if (!rt || rt.appId !== appid || rt.componentAppId !== componentAppId) return fail(ctx, 40030);
  if (ctx.state.now() >= rt.expiresAt) return fail(ctx, 42002);
  return json(tokenBody(ctx.state, rt, value));
}

const accessToken: SimRoute = {
  path: '/sns/oauth2/access_token',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const q = ctx.url.searchParams;
    const appid = q.get('appid');
    if (!appid) return fail(ctx, 41002);
    const app = ctx.state.app(appid);
    if (!app) return fail(ctx, 40013);
    const secret = q.get('secret');
    if (!secret) return fail(ctx, 41004);
    if (secret !== app.secret) return fail(ctx, 40125);
    const codeValue = q.get('code');
    if (!codeValue) return fail(ctx, 41008);
    if (q.get('grant_type') !== 'authorization_code') return fail(ctx, 40002);
    return redeemOAuthCode(ctx, appid, codeValue, undefined);
  },
};

const refresh: SimRoute = {
  path: '/sns/oauth2/refresh_token',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const q = ctx.url.searchParams;
    const appid = q.get('appid');
    if (!appid) return fail(ctx, 41002);
    if (!ctx.state.app(appid)) return fail(ctx, 40013);
    if (q.get('grant_type') !== 'refresh_token') return fail(ctx, 40002);
    return renewOAuthToken(ctx, appid, q.get('refresh_token') ?? '', undefined);
  },
};

/**
 * Checks a user's access_token for an openid: the grant, or WeChat's errcode. `/sns/auth` answers an
 * unknown token with 40003 (its documented failure), `/sns/userinfo` with 40001.
 */
function checkUserToken(ctx: SimContext, unknown: 40001 | 40003 = 40001): Expiring | Response {
  const q = ctx.url.searchParams;
  const value = q.get('access_token');
  if (!value) return fail(ctx, 41001);
  const t = oauthData(ctx.state).tokens.get(value);
  if (!t) return fail(ctx, unknown);
  if (ctx.state.now() >= t.expiresAt) return fail(ctx, 42001);
  if (q.get('openid') !== t.openid) return fail(ctx, 40003);
  return t;
}

const PLACES: Record<string, { zh_TW: string; en: string }> = {
  中国: { zh_TW: '中國', en: 'China' },
  广东: { zh_TW: '廣東', en: 'Guangdong' },
  深圳: { zh_TW: '深圳', en: 'Shenzhen' },
  北京: { zh_TW: '北京', en: 'Beijing' },
  上海: { zh_TW: '上海', en: 'Shanghai' },
  广州: { zh_TW: '廣州', en: 'Guangzhou' },
  浙江: { zh_TW: '浙江', en: 'Zhejiang' },
  杭州: { zh_TW: '杭州', en: 'Hangzhou' },
};

function place(value: string | undefined, lang: string): string {
  if (!value) return '';
  const t = PLACES[value];
  if (!t || lang === 'zh_CN') return value;
  return lang === 'en' ? t.en : t.zh_TW;
}

const userinfo: SimRoute = {
  path: '/sns/userinfo',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const t = checkUserToken(ctx);
    if (t instanceof Response) return t;
    if (t.scope !== 'snsapi_userinfo' || t.snapshot) return fail(ctx, 48001);
    const user = ctx.state.app(t.appId)?.users.find((u) => u.openid === t.openid);
    if (!user) return fail(ctx, 40003);
    const langParam = ctx.url.searchParams.get('lang') ?? 'zh_CN';
    const lang = ['zh_CN', 'zh_TW', 'en'].includes(langParam) ? langParam : 'zh_CN';
    const body: Record<string, unknown> = {
      openid: user.openid,
      nickname: user.nickname,
      sex: user.sex ?? 0,
      province: place(user.province, lang),
      city: place(user.city, lang),
      country: place(user.country, lang),
      headimgurl: user.headimgurl ?? '',
      privilege: user.privilege ?? [],
    };
    if (user.unionid !== undefined) body.unionid = user.unionid;
    return json(body);
  },
};

const auth: SimRoute = {
  path: '/sns/auth',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const t = checkUserToken(ctx, 40003);
    return t instanceof Response ? t : json({ errcode: 0, errmsg: 'ok' });
  },
};

/** The simulator's OAuth endpoints: the authorize/consent pages and `/sns/*`. */
export const oauthRoutes: SimRoute[] = [...authorizeRoutes, accessToken, refresh, userinfo, auth];
