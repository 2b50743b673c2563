import { createHash } from 'node:crypto';
import type { SimState } from '../state.ts';

/**
 * The WeChat side of message push as data: the server URLs accounts registered (服务器配置),
 * every push and its tries, what each user saw in the chat, and when each user last wrote (the 48-hour
 * customer-service window). Kept beside the simulator's state, keyed by it, so the core state stays
 * free of push concerns.
 */

/** How messages travel: plaintext, compatible (plaintext and `<Encrypt>` together) or safe (encrypted). */
export type PushMode = 'plain' | 'compat' | 'safe';
/** The body format chosen in the account's settings (数据格式). */
export type PushFormat = 'xml' | 'json';

/** A registered server URL (one per Official Account, or per WeCom app). */
export interface PushEndpoint {
  kind: 'official' | 'wecom';
  /** The Official Account's appId, or the WeCom corpId. */
  appId: string;
  /** The WeCom app (agent), for `kind: 'wecom'`. */
  agentId?: string;
  /** One URL, or several tried round-robin (one instance per try, as behind a load balancer). */
  urls: string[];
  token: string;
  encodingAESKey: string | undefined;
  mode: PushMode;
  /** What the account's messages carry as ToUserName: the Official Account's original id, the corpId. */
  toUserName: string;
  /** Who messages are encrypted for: the component appId when a third-party platform receives them. @default appId */
  receiveId?: string | undefined;
}

/** One HTTP request WeChat made for a push. */
export interface PushTry {
  n: number;
  url: string;
  /** Virtual epoch seconds. */
  at: number;
  /** `answered` (any HTTP status), `timeout` (nothing within the deadline), `network` (connection failed). */
  outcome: 'answered' | 'timeout' | 'network';
  status?: number;
  /** Real milliseconds until the answer (or the deadline). */
  ms: number;
  /** The answer's body, cut at 2,000 characters. */
  body?: string;
}

/** What the user saw in the chat window. */
export interface SeenMessage {
  /** Virtual epoch seconds. */
  at: number;
  appId: string;
  /** The user's openid (WeCom: userid). */
  user: string;
  /** `reply` (the passive reply), `custom` (custom/send, message/send), `system` (WeChat's own notice). */
  via: 'reply' | 'custom' | 'system';
  msgType: string;
  /** Text content, or a short summary of other types (`[image] MEDIA_ID`). */
  content: string;
  /** The push it answered, for `reply` and `system`. */
  pushId?: number;
}

/** One push: the message, each try, the verdict on the reply and what the user saw. */
export interface PushRecord {
  id: number;
  appId: string;
  agentId?: string;
  mode: PushMode;
  format: PushFormat;
  /** The message as WeChat sent it (plaintext fields). */
  message: Record<string, string>;
  tries: PushTry[];
  /** `replied`, `no-reply` (`success` or empty), `failed` (no valid answer after the tries), `bad-reply`. */
  result: 'replied' | 'no-reply' | 'failed' | 'bad-reply';
  /** Why a reply was refused (bad signature, cannot decrypt, wrong XML…), for `bad-reply`. */
  problem?: string;
  /** The reply's fields, once verified and decrypted. */
  reply?: Record<string, unknown>;
  /** What the user saw because of this push: the reply, WeChat's notice, or nothing. */
  userSaw: SeenMessage | null;
}

/** WeChat's notice when a server answers late, wrongly, or not at all. */
export const SERVICE_UNAVAILABLE = '该公众号暂时无法提供服务，请稍后再试';

/** WeChat's numbers for message push (docs/wechat-facts.md). */
export const PUSH_LIMITS = {
  /** WeChat waits this long for each try. */
  deadlineMs: 5_000,
  /** Tries of one message, the first included. */
  tries: 3,
  /** custom/send reaches a user this long after the user's last message. */
  customWindow: 48 * 3600,
  /** Records kept by the log (older ones are dropped). */
  logSize: 20_000,
} as const;

/** An Official Account's original id (gh_…), stable for an appId. */
export function originalIdOf(appId: string): string {
  return `gh_${createHash('sha1').update(appId).digest('hex').slice(0, 12)}`;
}

export class PushState {
  readonly endpoints = new Map<string, PushEndpoint>();
  records: PushRecord[] = [];
  seen: SeenMessage[] = [];
  /** `appId|user` → virtual time of the user's last message (opens the 48-hour window). */
  private readonly lastActive = new Map<string, number>();
  /** Real time when this state was made: pushes carry the virtual clock plus the real time since. */
  private readonly realStart = Date.now();
  private nextId = 1;
  private nextMsgId = BigInt(Date.now()) * 1_000_000n;
  private turn = 0;

  /**
   * The time WeChat writes on a push (`timestamp`, `CreateTime`), epoch seconds: the virtual clock (with
   * its advances) plus the real time since the simulator started. Servers check it against their own
   * clock (a replay window of minutes), so it must keep moving while a simulator runs for hours; the
   * 48-hour window of custom/send stays on the virtual clock alone.
   */
  clock(state: SimState): number {
    return state.now() + Math.floor((Date.now() - this.realStart) / 1000);
  }

  static key(appId: string, agentId?: string): string {
    return agentId === undefined ? appId : `${appId}#${agentId}`;
  }

  endpoint(appId: string, agentId?: string): PushEndpoint | undefined {
    return this.endpoints.get(PushState.key(appId, agentId));
  }

  /** A new 64-bit MsgId, as WeChat's are. */
  msgId(): string {
    this.nextMsgId += 1n;
    return this.nextMsgId.toString();
  }

  /** The URL of the next try: round-robin over the endpoint's URLs. */
  nextUrl(endpoint: PushEndpoint): string {
    const url = endpoint.urls[this.turn % endpoint.urls.length] as string;
    this.turn += 1;
    return url;
  }

  open(record: Omit<PushRecord, 'id'>): PushRecord {
    const full = { id: this.nextId++, ...record };
    this.records.push(full);
    if (this.records.length > PUSH_LIMITS.logSize)
      this.records.splice(0, this.records.length - PUSH_LIMITS.logSize);
    return full;
  }

  see(message: SeenMessage): SeenMessage {
    this.seen.push(message);
    if (this.seen.length > PUSH_LIMITS.logSize) this.seen.splice(0, this.seen.length - PUSH_LIMITS.logSize);
    return message;
  }

  active(appId: string, user: string, at: number): void {
    this.lastActive.set(`${appId}|${user}`, at);
  }

  /** When the user last wrote to the account, or `undefined` if never. */
  lastActiveAt(appId: string, user: string): number | undefined {
    return this.lastActive.get(`${appId}|${user}`);
  }

  clearLog(): void {
    this.records = [];
    this.seen = [];
  }
}

const states = new WeakMap<SimState, PushState>();

/** The push state of a simulator. */
export function pushStateOf(state: SimState): PushState {
  let push = states.get(state);
  if (!push) {
    push = new PushState();
    states.set(state, push);
  }
  return push;
}
