import {
  asRecord,
  checkIpWhitelist,
  json,
  parseJson,
  type SimContext,
  type SimRoute,
  wechatError,
} from '../http.ts';
import type { SimState } from '../state.ts';
import { PlatformRefusal, PlatformState, type SimComponent, type SimComponentConfig } from './state.ts';

/**
 * The open platform's component endpoints (`/cgi-bin/component/*`, SPEC §13) with WeChat's errcodes:
 * component token from a verify ticket (61005 expired, 61006 invalid, 61004 IP), pre-auth codes,
 * `api_query_auth` (single-use codes), `api_authorizer_token` (61023 stale refresh token, 61003 not
 * authorized), `api_get_authorizer_info` and `api_get_authorizer_list` (≤ 500 a page; the list leaves
 * out the refresh token of some accounts, as the real one sometimes does).
 */

const platforms = new WeakMap<SimState, PlatformState>();

/** The open platform of a simulator (created empty on first use). */
export function platformOf(state: SimState, configs: readonly SimComponentConfig[] = []): PlatformState {
  let p = platforms.get(state);
  if (!p) {
    p = new PlatformState(state, configs);
    platforms.set(state, p);
  }
  return p;
}

/** WeChat's errmsg texts for the open platform's errcodes. */
const ERRMSG: Record<number, string> = {
  61003: 'component is not authorized by this account',
  61004: 'access clientip is not registered',
  61005: 'component ticket is expired',
  61006: 'component ticket is invalid',
  61007: 'api is unauthorized to component',
  61009: 'code is invalid',
  61010: 'code is expired',
  61023: 'refresh_token is invalid',
  40097: 'invalid args',
};

function refuse(ctx: SimContext, errcode: number): Response {
  return wechatError(ctx.state, errcode, ERRMSG[errcode]);
}

async function readBody(req: Request, ctx: SimContext): Promise<Record<string, unknown> | Response> {
  const raw = await req.text();
  if (raw.trim() === '') return wechatError(ctx.state, 44002);
  return asRecord(parseJson(raw)) ?? wechatError(ctx.state, 47001);
}

/** The component named by `component_access_token` (query) and `component_appid` (body). */
async function authed(
  req: Request,
  ctx: SimContext,
): Promise<{ c: SimComponent; body: Record<string, unknown>; p: PlatformState } | Response> {
  const p = platformOf(ctx.state);
  const byToken = p.componentByToken(ctx.url.searchParams.get('component_access_token'));
  if (byToken instanceof PlatformRefusal) return wechatError(ctx.state, byToken.errcode);
  const body = await readBody(req, ctx);
  if (body instanceof Response) return body;
  if (body.component_appid !== byToken.componentAppId) return wechatError(ctx.state, 40013);
  return { c: byToken, body, p };
}

const componentToken: SimRoute = {
  path: '/cgi-bin/component/api_component_token',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const body = await readBody(req, ctx);
    if (body instanceof Response) return body;
    const p = platformOf(ctx.state);
    const c = p.get(body.component_appid);
    if (!c) return wechatError(ctx.state, 40013);
    if (body.component_appsecret !== c.secret) return wechatError(ctx.state, 40125);
    if (checkIpWhitelist(ctx)) return refuse(ctx, 61004);
    const ticketError = p.checkVerifyTicket(c, body.component_verify_ticket);
    if (ticketError !== undefined) return refuse(ctx, ticketError);
    const t = p.issueComponentToken(c);
    if (t instanceof PlatformRefusal) return wechatError(ctx.state, t.errcode);
    return json({ component_access_token: t.value, expires_in: t.expiresIn });
  },
};

const preAuthCode: SimRoute = {
  path: '/cgi-bin/component/api_create_preauthcode',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const a = await authed(req, ctx);
    if (a instanceof Response) return a;
    const code = a.p.createPreAuthCode(a.c);
    return json({ pre_auth_code: code.value, expires_in: code.expiresIn });
  },
};

const funcInfo = [1, 2, 3, 4, 6, 7, 11, 15].map((id) => ({ funcscope_category: { id } }));

const queryAuth: SimRoute = {
  path: '/cgi-bin/component/api_query_auth',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const a = await authed(req, ctx);
    if (a instanceof Response) return a;
    if (typeof a.body.authorization_code !== 'string') return refuse(ctx, 40097);
    const r = a.p.queryAuth(a.c, a.body.authorization_code);
    if (r instanceof PlatformRefusal) return refuse(ctx, r.errcode);
    return json({
      authorization_info: {
        authorizer_appid: r.app.appId,
        authorizer_access_token: r.token.value,
        expires_in: r.token.expiresIn,
        authorizer_refresh_token: r.auth.refreshToken,
        func_info: funcInfo,
      },
    });
  },
};

const authorizerToken: SimRoute = {
  path: '/cgi-bin/component/api_authorizer_token',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const a = await authed(req, ctx);
    if (a instanceof Response) return a;
    const r = a.p.refreshAuthorizerToken(a.c, a.body.authorizer_appid, a.body.authorizer_refresh_token);
    if (r instanceof PlatformRefusal) return refuse(ctx, r.errcode);
    return json({
      authorizer_access_token: r.value,
      expires_in: r.expiresIn,
      authorizer_refresh_token: r.refreshToken,
    });
  },
};

const authorizerInfo: SimRoute = {
  path: '/cgi-bin/component/api_get_authorizer_info',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const a = await authed(req, ctx);
    if (a instanceof Response) return a;
    const appId = a.body.authorizer_appid;
    const auth = typeof appId === 'string' ? a.c.authorizations.get(appId) : undefined;
    if (!auth || auth.revoked) return refuse(ctx, 61003);
    return json({
      authorizer_info: {
        nick_name: `模拟公众号 ${auth.authorizerAppId.slice(-4)}`,
        service_type_info: { id: 2 },
        verify_type_info: { id: 0 },
        user_name: `gh_${auth.authorizerAppId.slice(-12)}`,
        alias: '',
        qrcode_url: '',
        business_info: { open_store: 0, open_scan: 0, open_pay: 0, open_card: 0, open_shake: 0 },
      },
      authorization_info: {
        authorizer_appid: auth.authorizerAppId,
        authorizer_refresh_token: auth.refreshToken,
        func_info: funcInfo,
      },
    });
  },
};

const authorizerList: SimRoute = {
  path: '/cgi-bin/component/api_get_authorizer_list',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const a = await authed(req, ctx);
    if (a instanceof Response) return a;
    const { offset, count } = a.body;
    if (!Number.isInteger(offset) || !Number.isInteger(count)) return refuse(ctx, 40097);
    const from = offset as number;
    const n = count as number;
    if (from < 0 || n < 1 || n > 500) return refuse(ctx, 40097);
    const all = a.p.authorized(a.c);
    return json({
      total_count: all.length,
      list: all.slice(from, from + n).map((auth) => ({
        authorizer_appid: auth.authorizerAppId,
        // The real list sometimes leaves the refresh token out: a caller must fall back to get_authorizer_info.
        ...(auth.listQuirk ? {} : { refresh_token: auth.refreshToken }),
        auth_time: auth.authTime,
      })),
    });
  },
};

export const platformApiRoutes: SimRoute[] = [
  componentToken,
  preAuthCode,
  queryAuth,
  authorizerToken,
  authorizerInfo,
  authorizerList,
];
