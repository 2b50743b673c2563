import { bodyFormat, field, type PushFields, type PushFormat, readBody } from './body.ts';
import { PushError } from './errors.ts';

/**
 * What every push carries. Field names are WeChat's own (PascalCase, as in its docs); `type` is wxkit's
 * discriminant: the `MsgType` for messages, `event.<Event>` for events, `other` for anything wxkit has
 * no type for. Every field as received, nested ones included, is in `raw`.
 */
export interface PushMessageBase {
  /** The account's original id (`gh_…`), or the corpId in WeCom. */
  ToUserName: string;
  /** The user's openid (WeCom: userid). */
  FromUserName: string;
  /** Seconds since the epoch. */
  CreateTime: number;
  MsgType: string;
  /** WeCom: the app that received it. */
  AgentID?: string | undefined;
  /** Every field as received: strings (XML) or JSON values, nested fields as objects, repeated ones as arrays. */
  raw: Readonly<Record<string, unknown>>;
  /** How the push was written. */
  format: PushFormat;
}

/** A user's message (not an event): it has a MsgId, 64 bits, kept as a string. */
interface UserMessage<T extends string> extends PushMessageBase {
  type: T;
  MsgType: T;
  /** 64-bit: a string, never a number (JSON bodies are read without rounding it). */
  MsgId: string;
}

/** A text message. */
export interface TextMessage extends UserMessage<'text'> {
  Content: string;
}
/** An image message. */
export interface ImageMessage extends UserMessage<'image'> {
  PicUrl: string;
  MediaId: string;
}
/** A voice message; `Recognition` when speech recognition is on. */
export interface VoiceMessage extends UserMessage<'voice'> {
  MediaId: string;
  Format: string;
  Recognition?: string | undefined;
}
/** A video message. */
export interface VideoMessage extends UserMessage<'video'> {
  MediaId: string;
  ThumbMediaId: string;
}
/** A short video message. */
export interface ShortVideoMessage extends UserMessage<'shortvideo'> {
  MediaId: string;
  ThumbMediaId: string;
}
/** A location the user sent. */
export interface LocationMessage extends UserMessage<'location'> {
  Location_X: number;
  Location_Y: number;
  Scale: number;
  Label: string;
}
/** A link the user sent. */
export interface LinkMessage extends UserMessage<'link'> {
  Title: string;
  Description: string;
  Url: string;
}

/** An event: `MsgType` is `event`. */
interface EventBase<E extends string> extends PushMessageBase {
  type: `event.${E}`;
  MsgType: 'event';
  Event: E;
  /** The menu key, scene (`qrscene_123`), URL… — empty when the event has none. */
  EventKey: string;
}

/** A user followed the account (`EventKey` `qrscene_…` and `Ticket` when through a parametric QR code). */
export interface SubscribeEvent extends EventBase<'subscribe'> {
  Ticket?: string | undefined;
}
/** A user unfollowed the account. */
export type UnsubscribeEvent = EventBase<'unsubscribe'>;
/** A follower scanned a parametric QR code (`EventKey` is the scene). */
export interface ScanEvent extends EventBase<'SCAN'> {
  Ticket?: string | undefined;
}
/** The user's location, reported on entering the chat when the account asks for it. */
export interface LocationEvent extends EventBase<'LOCATION'> {
  Latitude: number;
  Longitude: number;
  Precision: number;
}
/** A click on a menu button (`EventKey` is the button's key). */
export type ClickEvent = EventBase<'CLICK'>;
/** A menu link was opened (`EventKey` is the URL). */
export interface ViewEvent extends EventBase<'VIEW'> {
  MenuId?: string | undefined;
}
/** A template message was delivered, or not (`Status`: `success`, `failed:user block`, `failed: system failed`). */
export interface TemplateSendJobFinishEvent extends EventBase<'TEMPLATESENDJOBFINISH'> {
  MsgID: string;
  Status: string;
}
/** A mass message finished sending. */
export interface MassSendJobFinishEvent extends EventBase<'MASSSENDJOBFINISH'> {
  MsgID: string;
  Status: string;
}
/** Menu events that carry a scan result, photos or a chosen location (details in `raw`). */
export type MenuMediaEvent = EventBase<
  | 'scancode_push'
  | 'scancode_waitmsg'
  | 'pic_sysphoto'
  | 'pic_photo_or_album'
  | 'pic_weixin'
  | 'location_select'
>;
/** A menu button opened a Mini Program (`EventKey` is its page path). */
export type ViewMiniprogramEvent = EventBase<'view_miniprogram'>;

/** Any message or event wxkit has no type for (WeCom events, new WeChat events): read `raw`. */
export interface OtherPush extends PushMessageBase {
  type: 'other';
  Event?: string | undefined;
  MsgId?: string | undefined;
}

/** A push from WeChat, discriminated by `type`. */
export type PushMessage =
  | TextMessage
  | ImageMessage
  | VoiceMessage
  | VideoMessage
  | ShortVideoMessage
  | LocationMessage
  | LinkMessage
  | SubscribeEvent
  | UnsubscribeEvent
  | ScanEvent
  | LocationEvent
  | ClickEvent
  | ViewEvent
  | TemplateSendJobFinishEvent
  | MassSendJobFinishEvent
  | MenuMediaEvent
  | ViewMiniprogramEvent
  | OtherPush;

/** The `type` values of {@link PushMessage}. */
export type PushMessageType = PushMessage['type'];

type Spec = Readonly<Record<string, 'string' | 'number' | 'optional'>>;

const MESSAGES: Readonly<Record<string, Spec>> = {
  text: { Content: 'string' },
  image: { PicUrl: 'string', MediaId: 'string' },
  voice: { MediaId: 'string', Format: 'string', Recognition: 'optional' },
  video: { MediaId: 'string', ThumbMediaId: 'string' },
  shortvideo: { MediaId: 'string', ThumbMediaId: 'string' },
  location: { Location_X: 'number', Location_Y: 'number', Scale: 'number', Label: 'string' },
  link: { Title: 'string', Description: 'string', Url: 'string' },
};

const EVENTS: Readonly<Record<string, Spec>> = {
  subscribe: { Ticket: 'optional' },
  unsubscribe: {},
  SCAN: { Ticket: 'optional' },
  LOCATION: { Latitude: 'number', Longitude: 'number', Precision: 'number' },
  CLICK: {},
  VIEW: { MenuId: 'optional' },
  TEMPLATESENDJOBFINISH: { MsgID: 'string', Status: 'string' },
  MASSSENDJOBFINISH: { MsgID: 'string', Status: 'string' },
  scancode_push: {},
  scancode_waitmsg: {},
  pic_sysphoto: {},
  pic_photo_or_album: {},
  pic_weixin: {},
  location_select: {},
  view_miniprogram: {},
};

/**
 * A push body (decrypted already, in safe mode) as a {@link PushMessage}. Typed fields are read
 * leniently — a missing typed field is `''` (or `NaN` for a number) rather than an error, since WeChat
 * adds and drops fields over the years — but the four fields every push has are required.
 *
 * @throws {PushError} `bad_xml` / `bad_json`, or `missing_field` without ToUserName, FromUserName, CreateTime, MsgType
 * @example
 * import { parseMessage } from 'wxkit/push'
 * const m = parseMessage(xml)
 * if (m.type === 'text') console.log(m.FromUserName, m.Content)
 * else if (m.type === 'event.subscribe') console.log('new follower', m.FromUserName)
 */
export function parseMessage(text: string, format: PushFormat = bodyFormat(text)): PushMessage {
  return messageFrom(readBody(text, format), format);
}

/** A {@link PushMessage} from fields already read. */
export function messageFrom(fields: PushFields, format: PushFormat): PushMessage {
  const ToUserName = required(fields, 'ToUserName');
  const FromUserName = required(fields, 'FromUserName');
  const createTime = required(fields, 'CreateTime');
  const CreateTime = Number(createTime);
  if (!/^\d{1,12}$/.test(createTime))
    throw new PushError('missing_field', 'CreateTime is not a time in seconds.');
  const MsgType = required(fields, 'MsgType');
  const base: Record<string, unknown> = {
    ToUserName,
    FromUserName,
    CreateTime,
    MsgType,
    raw: fields,
    format,
  };
  const agent = field(fields, 'AgentID');
  if (agent !== undefined) base.AgentID = agent;
  if (MsgType === 'event') {
    const Event = field(fields, 'Event') ?? '';
    const spec = EVENTS[Event];
    const EventKey = field(fields, 'EventKey') ?? '';
    if (spec && Object.hasOwn(EVENTS, Event)) {
      return { ...base, type: `event.${Event}`, Event, EventKey, ...typed(fields, spec) } as PushMessage;
    }
    return { ...base, type: 'other', Event, ...(EventKey ? { EventKey } : {}) } as PushMessage;
  }
  const spec = MESSAGES[MsgType];
  const MsgId = field(fields, 'MsgId');
  if (spec && Object.hasOwn(MESSAGES, MsgType)) {
    return { ...base, type: MsgType, MsgId: MsgId ?? '', ...typed(fields, spec) } as PushMessage;
  }
  return { ...base, type: 'other', ...(MsgId === undefined ? {} : { MsgId }) } as PushMessage;
}

function typed(fields: PushFields, spec: Spec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(spec)) {
    const v = field(fields, name);
    if (kind === 'optional') {
      if (v !== undefined) out[name] = v;
    } else if (kind === 'number') out[name] = v === undefined || v === '' ? Number.NaN : Number(v);
    else out[name] = v ?? '';
  }
  return out;
}

function required(fields: PushFields, name: string): string {
  const v = field(fields, name);
  if (v === undefined || v === '') throw new PushError('missing_field', `The push has no ${name}.`);
  return v;
}
