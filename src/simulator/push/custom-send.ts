import {
  asRecord,
  json,
  parseJson,
  type SimContext,
  type SimRoute,
  wechatError,
  wecomError,
} from '../http.ts';
import { PUSH_LIMITS, pushStateOf } from './state.ts';

/**
 * The customer-service message API an answer takes when it misses the 5-second window:
 * `POST /cgi-bin/message/custom/send` for an Official Account — only within 48 hours of the user's
 * last message (`45015` after) — and WeCom's `POST /cgi-bin/message/send` for an app. What gets
 * through is recorded as seen by the user, next to the passive replies, in `GET /__sim/push/log`.
 */

/** The message types custom/send takes, and where each keeps the part the user sees. */
const CUSTOM_TYPES: Record<string, (body: Record<string, unknown>) => string | undefined> = {
  text: (b) => str(asRecord(b.text)?.content),
  image: (b) => media(b.image),
  voice: (b) => media(b.voice),
  video: (b) => media(b.video),
  music: (b) => str(asRecord(b.music)?.title) ?? str(asRecord(b.music)?.musicurl),
  news: (b) => {
    const articles = asRecord(b.news)?.articles;
    return Array.isArray(articles) && articles.length === 1 ? str(asRecord(articles[0])?.title) : undefined;
  },
  mpnews: (b) => media(b.mpnews),
  mpnewsarticle: (b) => str(asRecord(b.mpnewsarticle)?.article_id),
  msgmenu: (b) => str(asRecord(b.msgmenu)?.head_content) ?? '',
  wxcard: (b) => str(asRecord(b.wxcard)?.card_id),
  miniprogrampage: (b) => str(asRecord(b.miniprogrampage)?.title),
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function media(v: unknown): string | undefined {
  const id = str(asRecord(v)?.media_id);
  return id === undefined ? undefined : `[media] ${id}`;
}

async function bodyOf(req: Request): Promise<Record<string, unknown> | 'empty' | 'malformed'> {
  const text = await req.text();
  if (text.trim() === '') return 'empty';
  return asRecord(parseJson(text)) ?? 'malformed';
}

async function customSend(req: Request, ctx: SimContext): Promise<Response> {
  const { state } = ctx;
  const check = state.validateAccessToken(ctx.url.searchParams.get('access_token'));
  if ('errcode' in check) return wechatError(state, check.errcode);
  const body = await bodyOf(req);
  if (body === 'empty') return wechatError(state, 44002);
  if (body === 'malformed') return wechatError(state, 47001);
  const push = pushStateOf(state);
  const touser = str(body.touser);
  const app = state.app(check.appId);
  const known =
    touser !== undefined &&
    (app?.users.some((u) => u.openid === touser) || push.lastActiveAt(check.appId, touser) !== undefined);
  if (!known || touser === undefined) return wechatError(state, 40003, 'invalid openid');
  const msgtype = str(body.msgtype);
  const read = msgtype === undefined ? undefined : CUSTOM_TYPES[msgtype];
  if (!read || msgtype === undefined) return wechatError(state, 40008, 'invalid message type');
  const content = read(body);
  if (content === undefined) {
    return wechatError(
      state,
      msgtype === 'text' ? 44004 : 47001,
      msgtype === 'text' ? 'empty content' : 'data format error',
    );
  }
  const last = push.lastActiveAt(check.appId, touser);
  if (last === undefined || state.now() - last > PUSH_LIMITS.customWindow) {
    return wechatError(state, 45015, 'response out of time limit or subscription is canceled');
  }
  push.see({ at: state.now(), appId: check.appId, user: touser, via: 'custom', msgType: msgtype, content });
  return json({ errcode: 0, errmsg: 'ok' });
}

/** WeCom's app message: no 48-hour window; `touser` is `userid|userid`, `agentid` must be the token's app. */
async function wecomSend(req: Request, ctx: SimContext): Promise<Response> {
  const { state, ip } = ctx;
  const check = state.wecom.validateToken(ctx.url.searchParams.get('access_token'));
  if ('errcode' in check) return wecomError(state, check.errcode, ip);
  const body = await bodyOf(req);
  if (body === 'empty') return wecomError(state, 44002, ip, 'empty post data');
  if (body === 'malformed') return wecomError(state, 40058, ip);
  const agentid = typeof body.agentid === 'number' ? String(body.agentid) : str(body.agentid);
  if (agentid !== check.agent.agentId) return wecomError(state, 40056, ip, 'invalid agentid');
  const msgtype = str(body.msgtype);
  const read = msgtype === undefined ? undefined : CUSTOM_TYPES[msgtype];
  if (!read || msgtype === undefined) return wecomError(state, 40008, ip, 'invalid message type');
  const content = read(body);
  if (content === undefined) return wecomError(state, 41016, ip, 'missing content');
  const wanted = (str(body.touser) ?? '').split('|').filter(Boolean);
  const members = new Set(check.corp.users.flatMap((u) => ('userid' in u ? [u.userid] : [])));
  const push = pushStateOf(state);
  const valid = wanted.filter((u) => members.has(u) || push.lastActiveAt(check.corp.corpId, u) !== undefined);
  const invalid = wanted.filter((u) => !valid.includes(u));
  if (valid.length === 0) return wecomError(state, 81013, ip, 'user & party & tag all invalid');
  for (const user of valid) {
    push.see({ at: state.now(), appId: check.corp.corpId, user, via: 'custom', msgType: msgtype, content });
  }
  return json({ errcode: 0, errmsg: 'ok', invaliduser: invalid.join('|'), msgid: push.msgId() });
}

export const customSendRoutes: SimRoute[] = [
  { path: '/cgi-bin/message/custom/send', methods: ['POST'], handler: customSend },
  { path: '/cgi-bin/message/send', methods: ['POST'], flavor: 'wecom', handler: wecomSend },
];
