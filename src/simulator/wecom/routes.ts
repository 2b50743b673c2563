import { ipForms, json, type SimContext, type SimRoute, wecomError } from '../http.ts';
import type { SimAgent, SimCorp } from './state.ts';

/**
 * WeCom's token and ticket APIs (qyapi.weixin.qq.com): `/cgi-bin/gettoken`, `/cgi-bin/get_jsapi_ticket`
 * (the corp ticket, signs `wx.config`) and `/cgi-bin/ticket/get?type=agent_config` (the app ticket,
 * signs `wx.agentConfig`). Errors come in WeCom's shape (`…, hint: [...], from ip: …`).
 */

/**
 * The corp's trusted IPs (企业可信IP) guard the APIs that use a token; gettoken itself is not refused
 * (a token is obtained, the next call fails 60020). The simulator's `ipWhitelist` stands for them.
 */
export function checkTrustedIp(ctx: SimContext): Response | undefined {
  const list = ctx.state.ipWhitelist;
  if (list === null) return undefined;
  const { v4, v6 } = ipForms(ctx.ip);
  if (list.includes(v4) || list.includes(v6) || list.includes(ctx.ip)) return undefined;
  return wecomError(ctx.state, 60020, ctx.ip);
}

/** The app and corp an access_token belongs to, or WeCom's error (41001, 40014, 42001, 60020). */
export function tokenOwner(ctx: SimContext): { agent: SimAgent; corp: SimCorp } | Response {
  const check = ctx.state.wecom.validateToken(ctx.url.searchParams.get('access_token'));
  if ('errcode' in check) return wecomError(ctx.state, check.errcode, ctx.ip);
  return checkTrustedIp(ctx) ?? check;
}

/**
 * `GET /cgi-bin/gettoken?corpid&corpsecret`. Order: corpid missing 41002, unknown corpid 40013,
 * corpsecret missing 41004, a secret of no app of the corp 40001 (WeCom's "invalid credential").
 * While a token is valid the same one comes back with the time it has left.
 */
const gettoken: SimRoute = {
  path: '/cgi-bin/gettoken',
  methods: ['GET'],
  flavor: 'wecom',
  handler: (_req, ctx) => {
    const { state } = ctx;
    const q = ctx.url.searchParams;
    const corpId = q.get('corpid');
    if (!corpId) return wecomError(state, 41002, ctx.ip);
    const corp = state.wecom.corp(corpId);
    if (!corp) return wecomError(state, 40013, ctx.ip);
    const secret = q.get('corpsecret');
    if (!secret) return wecomError(state, 41004, ctx.ip);
    const agent = state.wecom.agentBySecret(corp, secret);
    if (!agent) return wecomError(state, 40001, ctx.ip);
    const t = state.wecom.token(agent);
    return json({ errcode: 0, errmsg: 'ok', access_token: t.value, expires_in: t.expiresIn });
  },
};

/** `GET /cgi-bin/get_jsapi_ticket?access_token`: the corp ticket; 400 calls per corp and 100 per app an hour. */
const corpTicket: SimRoute = {
  path: '/cgi-bin/get_jsapi_ticket',
  methods: ['GET'],
  flavor: 'wecom',
  handler: (_req, ctx) => {
    const owner = tokenOwner(ctx);
    if (owner instanceof Response) return owner;
    const { wecom } = ctx.state;
    if (!wecom.takeCorpTicketCall(owner.corp, owner.agent)) return wecomError(ctx.state, 45009, ctx.ip);
    const t = wecom.corpTicket(owner.corp);
    return json({ errcode: 0, errmsg: 'ok', ticket: t.value, expires_in: t.expiresIn });
  },
};

/** `GET /cgi-bin/ticket/get?access_token&type=agent_config`: the token's app ticket; 100 calls per app an hour. */
const agentTicket: SimRoute = {
  path: '/cgi-bin/ticket/get',
  methods: ['GET'],
  flavor: 'wecom',
  handler: (_req, ctx) => {
    const owner = tokenOwner(ctx);
    if (owner instanceof Response) return owner;
    if (ctx.url.searchParams.get('type') !== 'agent_config') return wecomError(ctx.state, 40058, ctx.ip);
    const { wecom } = ctx.state;
    if (!wecom.takeAgentTicketCall(owner.agent)) return wecomError(ctx.state, 45009, ctx.ip);
    const t = wecom.agentTicket(owner.agent);
    return json({ errcode: 0, errmsg: 'ok', ticket: t.value, expires_in: t.expiresIn });
  },
};

export const wecomRoutes: SimRoute[] = [gettoken, corpTicket, agentTicket];
