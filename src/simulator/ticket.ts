import { json, type SimRoute, wechatError } from './http.ts';
import { SIM_LIMITS, type SimTicketType } from './state.ts';

/** `/cgi-bin/ticket/getticket?access_token=&type=jsapi|wx_card`: the same ticket while it is valid. */
const getticket: SimRoute = {
  path: '/cgi-bin/ticket/getticket',
  methods: ['GET'],
  handler: (_req, ctx) => {
    const { state } = ctx;
    const check = state.validateAccessToken(ctx.url.searchParams.get('access_token'));
    if ('errcode' in check) return wechatError(state, check.errcode);
    const type = ctx.url.searchParams.get('type');
    if (type !== 'jsapi' && type !== 'wx_card') return wechatError(state, 40097);
    const app = state.app(check.appId);
    if (!app) return wechatError(state, 40001);
    if (!state.takeDaily(app, '/cgi-bin/ticket/getticket', SIM_LIMITS.ticketDailyQuota)) {
      return wechatError(state, 45009);
    }
    const t = state.issueTicket(app, type satisfies SimTicketType);
    return json({ errcode: 0, errmsg: 'ok', ticket: t.value, expires_in: t.expiresIn });
  },
};

export const ticketRoutes: SimRoute[] = [getticket];
