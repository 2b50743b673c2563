import { readPlatformJson } from '../credentials/upstream.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { Account } from '../types.ts';
import type { PushMessage } from './message.ts';
import type { PushReply } from './reply.ts';

/**
 * The customer-service message (`POST /cgi-bin/message/custom/send`) that carries a reply WeChat no
 * longer waits for; `undefined` for replies that have no such form (`success`, a transfer to customer
 * service).
 */
export function customSendBody(r: PushReply, toUser: string): Record<string, unknown> | undefined {
  const touser = toUser;
  switch (r.type) {
    case 'text':
      return { touser, msgtype: 'text', text: { content: r.content } };
    case 'image':
      return { touser, msgtype: 'image', image: { media_id: r.mediaId } };
    case 'voice':
      return { touser, msgtype: 'voice', voice: { media_id: r.mediaId } };
    case 'video':
      return {
        touser,
        msgtype: 'video',
        video: {
          media_id: r.mediaId,
          thumb_media_id: r.thumbMediaId,
          title: r.title,
          description: r.description,
        },
      };
    case 'music':
      return {
        touser,
        msgtype: 'music',
        music: {
          title: r.title,
          description: r.description,
          musicurl: r.musicUrl,
          hqmusicurl: r.hqMusicUrl,
          thumb_media_id: r.thumbMediaId,
        },
      };
    case 'news':
      return {
        touser,
        msgtype: 'news',
        news: {
          articles: r.articles.map((a) => ({
            title: a.title,
            description: a.description,
            url: a.url,
            picurl: a.picUrl,
          })),
        },
      };
    default:
      return undefined;
  }
}

/** The WeCom app message (`POST /cgi-bin/message/send`) for a late reply: WeCom has no music message, and its video no thumbnail. */
export function wecomSendBody(
  r: PushReply,
  toUser: string,
  agentId: string,
): Record<string, unknown> | undefined {
  const body = r.type === 'music' ? undefined : customSendBody(r, toUser);
  if (body === undefined) return undefined;
  if (r.type === 'video') body.video = { media_id: r.mediaId, title: r.title, description: r.description };
  return { ...body, agentid: Number(agentId) };
}

/**
 * Sends a late reply to the user with the account's token custody (`account.request` adds the token
 * and retries once on a dead one). False when the reply has no message form and nothing was sent.
 *
 * @throws {WxkitError} `wechat_error` with WeChat's errcode (45015: the user has not written for 48 hours)
 */
export async function deliverLate(
  account: Account,
  r: PushReply,
  message: PushMessage,
  signal?: AbortSignal,
): Promise<boolean> {
  const agentId = (account as { agentId?: unknown }).agentId;
  const wecom = account.type === 'wecom' && typeof agentId === 'string';
  const body = wecom
    ? wecomSendBody(r, message.FromUserName, agentId)
    : customSendBody(r, message.FromUserName);
  if (body === undefined) return false;
  const path = wecom ? '/cgi-bin/message/send' : '/cgi-bin/message/custom/send';
  const res = await account.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  const answer = await readPlatformJson(res, path, wecom ? 'WeCom' : 'WeChat');
  const errcode = typeof answer.errcode === 'number' ? answer.errcode : 0;
  if (errcode !== 0) {
    throw new WxkitError(ErrorCodes.WECHAT_ERROR, `${path} refused the late reply (errcode ${errcode}).`, {
      errcode,
      errmsg: typeof answer.errmsg === 'string' ? answer.errmsg.slice(0, 300) : '',
      platform: wecom ? 'wecom' : 'official',
      ...(errcode === 45015
        ? {
            hint: {
              en: 'WeChat lets an account message a user only within 48 hours of the user’s last message.',
              zh: '公众号只能在用户最后一次发消息后的 48 小时内给其发送客服消息。',
            },
          }
        : {}),
    });
  }
  return true;
}
