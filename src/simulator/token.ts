import {
  asRecord,
  checkIpWhitelist,
  json,
  parseJson,
  type SimContext,
  type SimRoute,
  wechatError,
} from './http.ts';
import { SIM_LIMITS, type SimApp } from './state.ts';

/**
 * `/cgi-bin/token` and `/cgi-bin/stable_token`. Checks run in this order: appid missing (41002),
 * unknown appid (40013), secret missing (41004), wrong secret (40125), grant_type (40002), caller IP
 * (40164), quota (45009 / 45011).
 */

type Credentials = { appid: unknown; secret: unknown; grant_type: unknown };

function checkCredentials(ctx: SimContext, input: Credentials): SimApp | Response {
  const { state } = ctx;
  if (typeof input.appid !== 'string' || input.appid === '') return wechatError(state, 41002);
  const app = state.app(input.appid);
  if (!app) return wechatError(state, 40013);
  if (typeof input.secret !== 'string' || input.secret === '') return wechatError(state, 41004);
  if (input.secret !== app.secret) return wechatError(state, 40125);
  if (input.grant_type !== 'client_credential') return wechatError(state, 40002);
  return checkIpWhitelist(ctx) ?? app;
}

const classic: SimRoute = {
  path: '/cgi-bin/token',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const q = ctx.url.searchParams;
    const app = checkCredentials(ctx, {
      appid: q.get('appid'),
      secret: q.get('secret'),
      grant_type: q.get('grant_type'),
    });
    if (app instanceof Response) return app;
    if (!ctx.state.takeDaily(app, '/cgi-bin/token', SIM_LIMITS.classicDailyQuota)) {
      return wechatError(ctx.state, 45009);
    }
    const t = ctx.state.issueClassicToken(app);
    return json({ access_token: t.value, expires_in: t.expiresIn });
  },
};

const stable: SimRoute = {
  path: '/cgi-bin/stable_token',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const { state } = ctx;
    const raw = await req.text();
    if (raw.trim() === '') return wechatError(state, 44002);
    const body = asRecord(parseJson(raw));
    if (!body) return wechatError(state, 47001);
    const app = checkCredentials(ctx, body as Credentials);
    if (app instanceof Response) return app;
    const force = body.force_refresh;
    if (force !== undefined && typeof force !== 'boolean') return wechatError(state, 40097);
    if (!state.takeMinute(app, '/cgi-bin/stable_token', SIM_LIMITS.stableMinuteQuota)) {
      return wechatError(state, 45011);
    }
    if (!state.takeDaily(app, '/cgi-bin/stable_token', SIM_LIMITS.stableDailyQuota)) {
      return wechatError(state, 45009);
    }
    let doForce = false;
    if (force === true) {
      // WeChat: 20 forced refreshes a day (then 45009); within 30 s of the last one it "does not
      // refresh" — the current token comes back unchanged.
      const r = state.takeForceRefresh(app);
      if (r === 'daily') return wechatError(state, 45009);
      doForce = r === 'ok';
    }
    const t = state.stableToken(app, doForce);
    return json({ access_token: t.value, expires_in: t.expiresIn });
  },
};

export const tokenRoutes: SimRoute[] = [classic, stable];
