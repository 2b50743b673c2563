import type { SimContext, SimRoute } from '../http.ts';
import { oauthFail, redeemOAuthCode, renewOAuthToken } from '../oauth.ts';
import { platformOf } from './routes.ts';
import { PlatformRefusal } from './state.ts';

/**
 * Web OAuth on behalf of an authorized account (代公众号发起网页授权): the authorize page takes
 * `component_appid` (authorize-page.ts refuses with 10015 when the account has not authorized that
 * platform), and the code is exchanged without the account's secret, with the platform's
 * component_access_token: `GET /sns/oauth2/component/access_token` and `…/component/refresh_token`.
 * The code rules are the ordinary ones (single use, 5 minutes, bound to the appId) plus one: a code
 * from a platform's link is exchanged only by that platform. `/sns/userinfo` is the ordinary one.
 */

/** The platform named by `component_appid` and proven by `component_access_token`, or WeChat's refusal. */
function component(ctx: SimContext, appid: string): Response | undefined {
  const q = ctx.url.searchParams;
  const componentAppId = q.get('component_appid');
  if (!componentAppId) return oauthFail(ctx, 41002);
  const p = platformOf(ctx.state);
  const byToken = p.componentByToken(q.get('component_access_token'));
  if (byToken instanceof PlatformRefusal) return oauthFail(ctx, byToken.errcode);
  // Another platform's token, or a token that is not a component token at all: invalid credential.
  if (byToken.componentAppId !== componentAppId) return oauthFail(ctx, 40001);
  const auth = byToken.authorizations.get(appid);
  if (!ctx.state.app(appid)) return oauthFail(ctx, 40013);
  if (!auth || auth.revoked) return oauthFail(ctx, 61003);
  return undefined;
}

const accessToken: SimRoute = {
  path: '/sns/oauth2/component/access_token',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const q = ctx.url.searchParams;
    const appid = q.get('appid');
    if (!appid) return oauthFail(ctx, 41002);
    const refused = component(ctx, appid);
    if (refused) return refused;
    const code = q.get('code');
    if (!code) return oauthFail(ctx, 41008);
    if (q.get('grant_type') !== 'authorization_code') return oauthFail(ctx, 40002);
    return redeemOAuthCode(ctx, appid, code, q.get('component_appid') ?? undefined);
  },
};

const refresh: SimRoute = {
  path: '/sns/oauth2/component/refresh_token',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const q = ctx.url.searchParams;
    const appid = q.get('appid');
    if (!appid) return oauthFail(ctx, 41002);
    const refused = component(ctx, appid);
    if (refused) return refused;
    if (q.get('grant_type') !== 'refresh_token') return oauthFail(ctx, 40002);
    return renewOAuthToken(ctx, appid, q.get('refresh_token') ?? '', q.get('component_appid') ?? undefined);
  },
};

export const platformOAuthRoutes: SimRoute[] = [accessToken, refresh];
