import { bodyFormat, type PushFormat, readBody } from './body.ts';
import { PushError } from './errors.ts';
import type { PushMessage } from './message.ts';
import { writeXml, type XmlInputObject } from './xml.ts';

/** One article of a news reply. */
export interface NewsArticle {
  title: string;
  description?: string | undefined;
  /** Picture URL (large 360×200, small 200×200). */
  picUrl?: string | undefined;
  /** Where a tap leads. */
  url?: string | undefined;
}

/**
 * What `onMessage` may answer. Plain data (the service's forward URLs answer the same shape as JSON:
 * `{"reply":{"type":"text","content":"hi"}}`); build it with {@link reply}.
 */
export type PushReply =
  | { type: 'text'; content: string }
  | { type: 'image'; mediaId: string }
  | { type: 'voice'; mediaId: string }
  | {
      type: 'video';
      mediaId: string;
      title?: string | undefined;
      description?: string | undefined;
      /** Needed only when the reply goes out late, through custom/send. */
      thumbMediaId?: string | undefined;
    }
  | {
      type: 'music';
      title?: string | undefined;
      description?: string | undefined;
      musicUrl?: string | undefined;
      hqMusicUrl?: string | undefined;
      thumbMediaId: string;
    }
  | { type: 'news'; articles: readonly NewsArticle[] }
  | { type: 'transferCustomerService'; kfAccount?: string | undefined }
  | { type: 'success' };

/** The `type` values of {@link PushReply}. */
export type PushReplyType = PushReply['type'];

/**
 * Builders of the replies WeChat accepts to a push.
 *
 * @example
 * import { createPushHandler, reply } from 'wxkit/push'
 * createPushHandler({ account, token, onMessage(m) {
 *   if (m.type === 'text') return reply.text(`You said: ${m.Content}`)
 *   if (m.type === 'event.subscribe') return reply.news([{ title: 'Welcome', url: 'https://example.com' }])
 * } })
 */
export const reply = {
  /** A text reply (links as `<a href="…">`). */
  text: (content: string): PushReply => ({ type: 'text', content }),
  /** An image already uploaded as media (media_id). */
  image: (mediaId: string): PushReply => ({ type: 'image', mediaId }),
  /** A voice clip already uploaded as media. */
  voice: (mediaId: string): PushReply => ({ type: 'voice', mediaId }),
  /** A video already uploaded as media. */
  video: (video: {
    mediaId: string;
    title?: string;
    description?: string;
    thumbMediaId?: string;
  }): PushReply => ({
    type: 'video',
    ...video,
  }),
  /** Music with a thumbnail uploaded as media. */
  music: (music: {
    thumbMediaId: string;
    title?: string;
    description?: string;
    musicUrl?: string;
    hqMusicUrl?: string;
  }): PushReply => ({ type: 'music', ...music }),
  /** One article (WeChat allows one in answer to a user's message; up to 8 otherwise). */
  news: (articles: readonly NewsArticle[]): PushReply => ({ type: 'news', articles }),
  /** Hands the conversation to the customer-service staff (a given kf account, or any). */
  transferCustomerService: (kfAccount?: string): PushReply =>
    kfAccount === undefined
      ? { type: 'transferCustomerService' }
      : { type: 'transferCustomerService', kfAccount },
  /** No reply; WeChat does not retry. */
  success: (): PushReply => ({ type: 'success' }),
} as const;

const STRING_FIELDS: Readonly<Record<PushReplyType, readonly string[]>> = {
  text: ['content'],
  image: ['mediaId'],
  voice: ['mediaId'],
  video: ['mediaId'],
  music: ['thumbMediaId'],
  news: [],
  transferCustomerService: [],
  success: [],
};
const OPTIONAL_FIELDS: Readonly<Record<PushReplyType, readonly string[]>> = {
  text: [],
  image: [],
  voice: [],
  video: ['title', 'description', 'thumbMediaId'],
  music: ['title', 'description', 'musicUrl', 'hqMusicUrl'],
  news: [],
  transferCustomerService: ['kfAccount'],
  success: [],
};

/**
 * Checks a reply that came as data (from `onMessage` written in JavaScript, or a forward URL's JSON):
 * a known `type` with its fields as strings, news with 1–8 articles.
 *
 * @throws {PushError} `bad_reply`
 */
export function toReply(value: unknown): PushReply {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PushError('bad_reply', 'A reply is an object with a type (reply.text(…), reply.news(…)…).');
  }
  const v = value as Record<string, unknown>;
  const type = v.type as PushReplyType;
  if (typeof type !== 'string' || !Object.hasOwn(STRING_FIELDS, type)) {
    throw new PushError('bad_reply', `Unknown reply type ${JSON.stringify(String(v.type)).slice(0, 40)}.`);
  }
  const out: Record<string, unknown> = { type };
  for (const name of STRING_FIELDS[type]) {
    if (typeof v[name] !== 'string')
      throw new PushError('bad_reply', `A ${type} reply needs ${name} as a string.`);
    out[name] = v[name];
  }
  for (const name of OPTIONAL_FIELDS[type]) {
    if (v[name] === undefined) continue;
    if (typeof v[name] !== 'string')
      throw new PushError('bad_reply', `${name} of a ${type} reply must be a string.`);
    out[name] = v[name];
  }
  if (type === 'news') out.articles = articles(v.articles);
  return out as PushReply;
}

function articles(value: unknown): NewsArticle[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > 8) {
    throw new PushError('bad_reply', 'A news reply has 1 to 8 articles.');
  }
  return value.map((a: unknown) => {
    const x = (a ?? {}) as Record<string, unknown>;
    if (typeof x.title !== 'string') throw new PushError('bad_reply', 'Every article needs a title.');
    const out: NewsArticle = { title: x.title };
    for (const name of ['description', 'picUrl', 'url'] as const) {
      if (x[name] === undefined) continue;
      if (typeof x[name] !== 'string')
        throw new PushError('bad_reply', `An article's ${name} must be a string.`);
      out[name] = x[name];
    }
    return out;
  });
}

/** Options of {@link renderReply}. */
export interface RenderOptions {
  /** @default the message's format */
  format?: PushFormat | undefined;
  /** CreateTime of the reply, seconds since the epoch. @default now */
  createTime?: number | undefined;
}

/**
 * The passive reply to `message` as WeChat reads it (plaintext; safe mode encrypts it with
 * `sealReply`): addressed back to the user, from the account. `success` renders as `success`.
 *
 * @example
 * renderReply(reply.text('hi'), message)
 * // '<xml><ToUserName><![CDATA[o…]]></ToUserName><FromUserName><![CDATA[gh_…]]></FromUserName><CreateTime>…</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>'
 */
export function renderReply(given: PushReply, message: PushMessage, options: RenderOptions = {}): string {
  const r = toReply(given);
  if (r.type === 'success') return 'success';
  const format = options.format ?? message.format;
  const head = {
    ToUserName: message.FromUserName,
    FromUserName: message.ToUserName,
    CreateTime: options.createTime ?? Math.floor(Date.now() / 1000),
  };
  const fields = { ...head, ...replyFields(r, format) };
  return format === 'json' ? JSON.stringify(fields) : writeXml(fields as XmlInputObject);
}

function replyFields(
  r: Exclude<PushReply, { type: 'success' }>,
  format: PushFormat,
): Record<string, unknown> {
  switch (r.type) {
    case 'text':
      return { MsgType: 'text', Content: r.content };
    case 'image':
      return { MsgType: 'image', Image: { MediaId: r.mediaId } };
    case 'voice':
      return { MsgType: 'voice', Voice: { MediaId: r.mediaId } };
    case 'video':
      return { MsgType: 'video', Video: { MediaId: r.mediaId, Title: r.title, Description: r.description } };
    case 'music':
      return {
        MsgType: 'music',
        Music: {
          Title: r.title,
          Description: r.description,
          MusicUrl: r.musicUrl,
          HQMusicUrl: r.hqMusicUrl,
          ThumbMediaId: r.thumbMediaId,
        },
      };
    case 'news': {
      const items = r.articles.map((a) => ({
        Title: a.title,
        Description: a.description,
        PicUrl: a.picUrl,
        Url: a.url,
      }));
      // XML repeats <item> inside <Articles>; JSON has the list itself.
      return {
        MsgType: 'news',
        ArticleCount: items.length,
        Articles: format === 'json' ? items : { item: items },
      };
    }
    case 'transferCustomerService':
      return r.kfAccount === undefined
        ? { MsgType: 'transfer_customer_service' }
        : { MsgType: 'transfer_customer_service', TransInfo: { KfAccount: r.kfAccount } };
  }
}

/** A passive reply read back: who it is for, who it is from, what it says. */
export interface ParsedReply {
  ToUserName: string;
  FromUserName: string;
  CreateTime: number;
  reply: PushReply;
}

/**
 * Reads a plaintext passive reply the way WeChat does (what a simulator checks, and what
 * `wxkit doctor --push` shows): `success` or an empty body is {@link reply.success}; anything else must
 * be a reply of a known MsgType with its fields.
 *
 * @throws {PushError} `bad_xml` / `bad_json` / `bad_reply`
 */
export function parseReply(text: string): ParsedReply {
  if (text === '' || text === 'success') {
    return { ToUserName: '', FromUserName: '', CreateTime: 0, reply: { type: 'success' } };
  }
  const format = bodyFormat(text);
  const f = readBody(text, format) as Record<string, unknown>;
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const need = (v: unknown, name: string): string => {
    const s = str(v);
    if (s === undefined || s === '') throw new PushError('bad_reply', `The reply has no ${name}.`);
    return s;
  };
  const ToUserName = need(f.ToUserName, 'ToUserName');
  const FromUserName = need(f.FromUserName, 'FromUserName');
  const createTime = need(f.CreateTime, 'CreateTime');
  if (!/^\d{1,12}$/.test(createTime))
    throw new PushError('bad_reply', 'CreateTime is not a time in seconds.');
  const type = need(f.MsgType, 'MsgType');
  const opt = (v: unknown) => str(v);
  let r: Record<string, unknown>;
  switch (type) {
    case 'text':
      r = { type, content: str(f.Content) };
      break;
    case 'image':
      r = { type, mediaId: str(obj(f.Image).MediaId) };
      break;
    case 'voice':
      r = { type, mediaId: str(obj(f.Voice).MediaId) };
      break;
    case 'video': {
      const v = obj(f.Video);
      r = { type, mediaId: str(v.MediaId), title: opt(v.Title), description: opt(v.Description) };
      break;
    }
    case 'music': {
      const m = obj(f.Music);
      r = {
        type,
        thumbMediaId: str(m.ThumbMediaId),
        title: opt(m.Title),
        description: opt(m.Description),
        musicUrl: opt(m.MusicUrl),
        hqMusicUrl: opt(m.HQMusicUrl),
      };
      break;
    }
    case 'news': {
      const list = Array.isArray(f.Articles) ? f.Articles : obj(f.Articles).item;
      const items = (Array.isArray(list) ? list : list === undefined ? [] : [list]).map(obj);
      if (str(f.ArticleCount) !== String(items.length)) {
        throw new PushError('bad_reply', 'ArticleCount does not match the articles.');
      }
      r = {
        type,
        articles: items.map((a) => ({
          title: str(a.Title),
          description: opt(a.Description),
          picUrl: opt(a.PicUrl),
          url: opt(a.Url),
        })),
      };
      break;
    }
    case 'transfer_customer_service':
      r = { type: 'transferCustomerService', kfAccount: opt(obj(f.TransInfo).KfAccount) };
      break;
    default:
      throw new PushError('bad_reply', `Unknown reply MsgType ${JSON.stringify(type.slice(0, 40))}.`);
  }
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  if (r.type === 'news') {
    for (const a of r.articles as Record<string, unknown>[])
      for (const k of Object.keys(a)) if (a[k] === undefined) delete a[k];
  }
  return { ToUserName, FromUserName, CreateTime: Number(createTime), reply: toReply(r) };
}
