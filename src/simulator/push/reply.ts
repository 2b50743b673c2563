import { createPushCrypto, PushError, pushSignature, readBody } from '../../push/index.ts';
import type { PushEndpoint, PushFormat, PushMode } from './state.ts';

/**
 * WeChat's verdict on a server's answer to a push: `success` or an empty body means "no
 * reply"; anything else must be a well-formed reply — encrypted and signed with its own timestamp and
 * nonce in safe mode, either way in compatible mode, plaintext in plaintext mode — addressed to the user
 * from the account, of a type WeChat knows, with the fields that type needs. A reply that is none of
 * these shows the user "该公众号暂时无法提供服务，请稍后再试".
 */

export type ReplyVerdict =
  | { kind: 'none' }
  | { kind: 'reply'; fields: Record<string, unknown>; msgType: string; content: string; visible: boolean }
  | { kind: 'bad'; problem: string };

/** The reply's fields in the account's format, or why they cannot be read. */
function readReplyFields(body: string, format: PushFormat): Record<string, unknown> | string {
  if (format === 'json' ? !body.startsWith('{') : !body.startsWith('<')) {
    return `the reply is not ${format === 'json' ? 'a JSON object' : 'XML'} (the account's format is ${format})`;
  }
  try {
    return readBody(body, format) as Record<string, unknown>;
  } catch (e) {
    return `the reply cannot be read (${e instanceof PushError ? e.reason : 'error'})`;
  }
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function child(v: unknown, name: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[name] : undefined;
}

/** The part of a reply the user sees, or a problem naming the missing field. */
function visiblePart(fields: Record<string, unknown>): { msgType: string; content: string } | string {
  const msgType = text(fields.MsgType) ?? '';
  const need = (v: unknown, field: string) => {
    const value = text(v);
    return value === undefined || value === '' ? `a ${msgType} reply needs ${field}` : value;
  };
  const media = (box: string) => {
    const id = need(child(fields[box], 'MediaId'), `${box}.MediaId`);
    return id.startsWith('a ') ? id : { msgType, content: `[${msgType}] ${id}` };
  };
  switch (msgType) {
    case 'text': {
      const content = text(fields.Content);
      return content === undefined || content === '' ? 'a text reply needs Content' : { msgType, content };
    }
    case 'image':
      return media('Image');
    case 'voice':
      return media('Voice');
    case 'video':
      return media('Video');
    case 'music': {
      const thumb = need(child(fields.Music, 'ThumbMediaId'), 'Music.ThumbMediaId');
      return thumb.startsWith('a ')
        ? thumb
        : { msgType, content: `[music] ${text(child(fields.Music, 'Title')) ?? ''}` };
    }
    case 'news': {
      const count = Number(text(fields.ArticleCount));
      const items = child(fields.Articles, 'item');
      const list = Array.isArray(items) ? items : items === undefined ? [] : [items];
      if (!Number.isInteger(count) || count < 1 || count > 8) return 'a news reply needs ArticleCount 1–8';
      if (list.length !== count) return `ArticleCount is ${count} but Articles holds ${list.length} item(s)`;
      return { msgType, content: `[news] ${list.map((i) => text(child(i, 'Title')) ?? '').join(' | ')}` };
    }
    case 'transfer_customer_service':
      return { msgType, content: '' };
    default:
      return `unknown MsgType ${JSON.stringify(msgType.slice(0, 40))}`;
  }
}

/**
 * Judges `body` as WeChat does for a push to `endpoint` in `mode`/`format`, sent from `user` to the
 * account (`toUserName`).
 */
export function judgeReply(
  body: string,
  endpoint: PushEndpoint,
  mode: PushMode,
  format: PushFormat,
  user: string,
): ReplyVerdict {
  const trimmed = body.trim();
  if (trimmed === '' || trimmed === 'success') return { kind: 'none' };
  const outer = readReplyFields(trimmed, format);
  if (typeof outer === 'string') return { kind: 'bad', problem: outer };
  let fields = outer;
  const encrypted = typeof outer.Encrypt === 'string';
  if (endpoint.kind === 'wecom' || mode === 'safe') {
    if (!encrypted) return { kind: 'bad', problem: 'safe mode: the reply must be encrypted (Encrypt)' };
  } else if (mode === 'plain' && encrypted) {
    return { kind: 'bad', problem: 'plaintext mode: the reply must not be encrypted' };
  }
  if (encrypted) {
    const encrypt = outer.Encrypt as string;
    const ts = text(outer.TimeStamp);
    const nonce = text(outer.Nonce);
    const sig = text(outer.MsgSignature);
    if (ts === undefined || nonce === undefined || sig === undefined) {
      return { kind: 'bad', problem: 'an encrypted reply needs MsgSignature, TimeStamp and Nonce' };
    }
    if (pushSignature(endpoint.token, ts, nonce, encrypt) !== sig.toLowerCase()) {
      return { kind: 'bad', problem: 'the reply MsgSignature does not match' };
    }
    let inner: string;
    try {
      inner = createPushCrypto({
        encodingAESKey: endpoint.encodingAESKey as string,
        receiveId: endpoint.receiveId ?? endpoint.appId,
      }).decrypt(encrypt).message;
    } catch (e) {
      return {
        kind: 'bad',
        problem: `the reply cannot be decrypted (${e instanceof PushError ? e.reason : 'error'})`,
      };
    }
    const decoded = readReplyFields(inner.trim(), format);
    if (typeof decoded === 'string') return { kind: 'bad', problem: `decrypted reply: ${decoded}` };
    fields = decoded;
  }
  if (text(fields.ToUserName) !== user) {
    return { kind: 'bad', problem: 'the reply ToUserName must be the user (the push FromUserName)' };
  }
  if (text(fields.FromUserName) !== endpoint.toUserName) {
    return { kind: 'bad', problem: 'the reply FromUserName must be the account (the push ToUserName)' };
  }
  if (!/^\d+$/.test(text(fields.CreateTime) ?? ''))
    return { kind: 'bad', problem: 'the reply needs CreateTime' };
  const seen = visiblePart(fields);
  if (typeof seen === 'string') return { kind: 'bad', problem: seen };
  return { kind: 'reply', fields, ...seen, visible: seen.msgType !== 'transfer_customer_service' };
}
