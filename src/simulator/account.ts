import { asRecord, json, parseJson, type SimContext, type SimRoute, wechatError } from './http.ts';
import { SIM_LIMITS, type SimApp } from './state.ts';

/**
 * Account housekeeping APIs a token custodian uses: `/cgi-bin/clear_quota` (and `/v2`, with the
 * secret instead of a token), `/cgi-bin/openapi/quota/get`, and two cheap token-checking calls,
 * `/cgi-bin/get_api_domain_ip` and `/cgi-bin/getcallbackip` (handy to exercise "retry once on 40001").
 */

/** Daily limits by endpoint, as `/cgi-bin/openapi/quota/get` reports them. */
const DAILY_LIMITS: Record<string, number> = {
  '/cgi-bin/token': SIM_LIMITS.classicDailyQuota,
  '/cgi-bin/stable_token': SIM_LIMITS.stableDailyQuota,
  '/cgi-bin/ticket/getticket': SIM_LIMITS.ticketDailyQuota,
};

/** WeChat allows 10 quota resets per account per month. */
const CLEARS_PER_MONTH = 10;
const clears = new WeakMap<SimApp, Map<string, number>>();

function month(ctx: SimContext): string {
  const d = new Date((ctx.state.now() + 8 * 3600) * 1000);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}`;
}

function tokenApp(ctx: SimContext): SimApp | Response {
  const check = ctx.state.validateAccessToken(ctx.url.searchParams.get('access_token'));
  if ('errcode' in check) return wechatError(ctx.state, check.errcode);
  return ctx.state.app(check.appId) ?? wechatError(ctx.state, 40001);
}

/** The JSON object body; `undefined` when empty; WeChat's 47001 when malformed. */
async function bodyOf(
  req: Request,
  ctx: SimContext,
): Promise<Record<string, unknown> | Response | undefined> {
  const text = await req.text();
  if (text.trim() === '') return undefined;
  return asRecord(parseJson(text)) ?? wechatError(ctx.state, 47001);
}

function clear(ctx: SimContext, app: SimApp): Response {
  const used = clears.get(app) ?? new Map<string, number>();
  clears.set(app, used);
  const m = month(ctx);
  const n = used.get(m) ?? 0;
  if (n >= CLEARS_PER_MONTH) {
    return wechatError(ctx.state, 48006, 'forbid to clear quota because of reaching the limit');
  }
  used.set(m, n + 1);
  ctx.state.clearDaily(app);
  return json({ errcode: 0, errmsg: 'ok' });
}

export const accountRoutes: SimRoute[] = [
  {
    path: '/cgi-bin/clear_quota',
    methods: ['POST'],
    handler: async (req, ctx) => {
      const app = tokenApp(ctx);
      if (app instanceof Response) return app;
      const body = await bodyOf(req, ctx);
      if (body === undefined) return wechatError(ctx.state, 44002);
      if (body instanceof Response) return body;
      if (typeof body.appid !== 'string' || body.appid === '') return wechatError(ctx.state, 41002);
      if (body.appid !== app.appId) return wechatError(ctx.state, 40013);
      return clear(ctx, app);
    },
  },
  {
    path: '/cgi-bin/clear_quota/v2',
    methods: ['POST'],
    handler: async (req, ctx) => {
      const body = (await bodyOf(req, ctx)) ?? {};
      if (body instanceof Response) return body;
      const q = ctx.url.searchParams;
      const appid = q.get('appid') ?? body.appid;
      const secret = q.get('appsecret') ?? body.appsecret;
      if (typeof appid !== 'string' || appid === '') return wechatError(ctx.state, 41002);
      const app = ctx.state.app(appid);
      if (!app) return wechatError(ctx.state, 40013);
      if (typeof secret !== 'string' || secret === '') return wechatError(ctx.state, 41004);
      if (secret !== app.secret) return wechatError(ctx.state, 40125);
      return clear(ctx, app);
    },
  },
  {
    path: '/cgi-bin/openapi/quota/get',
    methods: ['POST'],
    handler: async (req, ctx) => {
      const app = tokenApp(ctx);
      if (app instanceof Response) return app;
      const body = await bodyOf(req, ctx);
      if (body === undefined) return wechatError(ctx.state, 44002);
      if (body instanceof Response) return body;
      const path = body.cgi_path;
      const limit = typeof path === 'string' ? DAILY_LIMITS[path] : undefined;
      if (limit === undefined || typeof path !== 'string') {
        return wechatError(ctx.state, 76021, 'cgi_path not found, please check');
      }
      const used = ctx.state.usedDaily(app, path);
      return json({
        errcode: 0,
        errmsg: 'ok',
        quota: { daily_limit: limit, used, remain: Math.max(0, limit - used) },
      });
    },
  },
  ...['/cgi-bin/get_api_domain_ip', '/cgi-bin/getcallbackip'].map(
    (path): SimRoute => ({
      path,
      methods: ['GET'],
      handler: (_req, ctx) => {
        const app = tokenApp(ctx);
        if (app instanceof Response) return app;
        return json({ ip_list: ['127.0.0.1'] });
      },
    }),
  ),
];
