import { createPushCrypto, PushError } from '../../push/index.ts';
import { asRecord, json, parseJson, type SimRoute } from '../http.ts';
import { platformEndpointOf } from '../platform/messages.ts';
import type { SimState } from '../state.ts';
import { deliver } from './deliver.ts';
import type { PushFields, PushFieldValue } from './message.ts';
import {
  originalIdOf,
  type PushEndpoint,
  type PushFormat,
  type PushMode,
  type PushRecord,
  PushState,
  pushStateOf,
  type SeenMessage,
} from './state.ts';
import { verifyUrl } from './verify-url.ts';

/**
 * The push part of the control API: `POST /__sim/push/config` registers (and verifies) a server URL,
 * `POST /__sim/push` sends a user message or event and answers what happened, `GET /__sim/push/log`
 * lists the pushes, their tries and what users saw, `DELETE /__sim/push/log` clears it. Bad input → HTTP
 * 400 `{"error":{"code":"invalid_request","message"}}`; a URL that fails WeChat's check →
 * `{"error":{"code":"push_verify_failed",…}}`.
 */

export class PushControlError extends Error {
  constructor(
    message: string,
    readonly code = 'invalid_request',
  ) {
    super(message);
  }
}

/** Input of `POST /__sim/push/config`. */
export interface PushConfigInput {
  /** An Official Account's appId, or a WeCom corpId. */
  appId: string;
  /** The WeCom app; the corp's first when omitted. */
  agentId?: string | number;
  /** The server URL, or several tried round-robin (one instance per try). */
  url: string | string[];
  /** The Token of 服务器配置: 3–32 letters and digits. */
  token: string;
  /** The 43-character EncodingAESKey; needed for `compat`, `safe` and WeCom. */
  encodingAESKey?: string;
  /** @default 'plain' ('safe' for WeCom, its only mode) */
  mode?: PushMode;
  /** Check the URL as WeChat does when the settings are saved. @default true */
  verify?: boolean;
}

/** Input of `POST /__sim/push`. */
export interface PushSendInput {
  appId: string;
  agentId?: string | number;
  /** The message or event: `MsgType` and its fields; `FromUserName` defaults to the account's first user. */
  message: Record<string, PushFieldValue>;
  /** @default the mode of the config */
  mode?: PushMode;
  /** @default 'xml' */
  format?: PushFormat;
  /** Time the answer travels back to WeChat, taken off the 5 s of each try (or one value per try). @default 0 */
  networkDelayMs?: number | number[];
}

const MODES = new Set(['plain', 'compat', 'safe']);
/** Events that open the 48-hour customer-service window, like any user message (WeChat's list). */
const WINDOW_EVENTS = new Set(['subscribe', 'SCAN', 'CLICK', 'VIEW', 'scancode_push', 'scancode_waitmsg']);

function only(input: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(input))
    if (!keys.includes(k)) throw new PushControlError(`unknown field "${k}"`);
}

interface Owner {
  kind: 'official' | 'wecom';
  appId: string;
  agentId?: string;
  toUserName: string;
  firstUser: string | undefined;
}

function ownerOf(state: SimState, appId: unknown, agentId: unknown): Owner {
  if (typeof appId !== 'string') throw new PushControlError('appId must be a simulated account or corp');
  const app = state.app(appId);
  if (app) {
    if (agentId !== undefined) throw new PushControlError('agentId is for a WeCom corp');
    return { kind: 'official', appId, toUserName: originalIdOf(appId), firstUser: app.users[0]?.openid };
  }
  const corp = state.wecom.corp(appId);
  if (!corp) throw new PushControlError('appId must be a simulated account or corp');
  const agent =
    agentId === undefined ? corp.agents.values().next().value : state.wecom.agent(corp.corpId, agentId);
  if (!agent) throw new PushControlError('agentId is not an app of this corp');
  const member = corp.users.find((u) => 'userid' in u);
  return {
    kind: 'wecom',
    appId,
    agentId: agent.agentId,
    toUserName: appId,
    firstUser: member && 'userid' in member ? member.userid : undefined,
  };
}

function checkUrl(u: unknown): string {
  if (typeof u !== 'string') throw new PushControlError('url must be an http(s) URL or a list of them');
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new PushControlError('url must be an http(s) URL or a list of them');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PushControlError('url must be an http(s) URL or a list of them');
  }
  return u;
}

/** Registers a server URL after WeChat's check; answers what the account now sends. */
export async function configurePush(state: SimState, input: Record<string, unknown>) {
  only(input, ['appId', 'agentId', 'url', 'token', 'encodingAESKey', 'mode', 'verify']);
  const owner = ownerOf(state, input.appId, input.agentId);
  const urls = (Array.isArray(input.url) ? input.url : [input.url]).map(checkUrl);
  if (urls.length === 0) throw new PushControlError('url must be an http(s) URL or a list of them');
  const { token, encodingAESKey, verify = true } = input;
  if (typeof token !== 'string' || !/^[A-Za-z0-9]{3,32}$/.test(token)) {
    throw new PushControlError('token must be 3–32 letters and digits (WeChat’s rule for the Token)');
  }
  const mode = input.mode ?? (owner.kind === 'wecom' ? 'safe' : 'plain');
  if (typeof mode !== 'string' || !MODES.has(mode))
    throw new PushControlError('mode must be plain, compat or safe');
  if (owner.kind === 'wecom' && mode !== 'safe')
    throw new PushControlError('a WeCom app pushes in safe mode only');
  if (encodingAESKey !== undefined || mode !== 'plain') {
    if (typeof encodingAESKey !== 'string') {
      throw new PushControlError(`mode ${mode} needs the 43-character encodingAESKey`);
    }
    try {
      createPushCrypto({ encodingAESKey, receiveId: owner.appId });
    } catch (e) {
      if (e instanceof PushError) throw new PushControlError('encodingAESKey must be 43 letters and digits');
      throw e;
    }
  }
  if (typeof verify !== 'boolean') throw new PushControlError('verify must be true or false');
  const endpoint: PushEndpoint = {
    kind: owner.kind,
    appId: owner.appId,
    ...(owner.agentId === undefined ? {} : { agentId: owner.agentId }),
    urls,
    token,
    encodingAESKey: encodingAESKey as string | undefined,
    mode: mode as PushMode,
    toUserName: owner.toUserName,
  };
  if (verify) {
    for (const url of urls) {
      const problem = await verifyUrl(endpoint, url, pushStateOf(state).clock(state));
      if (problem) {
        throw new PushControlError(
          `Token验证失败 (URL verification failed) for ${url}: ${problem}`,
          'push_verify_failed',
        );
      }
    }
  }
  pushStateOf(state).endpoints.set(PushState.key(owner.appId, owner.agentId), endpoint);
  return {
    appId: owner.appId,
    ...(owner.agentId === undefined ? {} : { agentId: owner.agentId }),
    toUserName: owner.toUserName,
    urls,
    mode,
    verified: verify,
  };
}

function checkFields(value: unknown, depth = 0): PushFieldValue {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  const rec = asRecord(value);
  if (!rec || depth > 4)
    throw new PushControlError('message fields must be strings, numbers or objects of them');
  const out: Record<string, PushFieldValue> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (!/^[A-Za-z_][\w.-]{0,63}$/.test(k))
      throw new PushControlError(`message field name ${JSON.stringify(k.slice(0, 40))} is not an XML name`);
    out[k] = checkFields(v, depth + 1);
  }
  return out;
}

/** Sends one message or event as WeChat would; resolves when WeChat is done with it (≤ 3 tries of 5 s). */
export async function sendPush(state: SimState, input: Record<string, unknown>): Promise<PushRecord> {
  only(input, ['appId', 'agentId', 'message', 'mode', 'format', 'networkDelayMs']);
  const owner = ownerOf(state, input.appId, input.agentId);
  const push = pushStateOf(state);
  // An account authorized to a third-party platform has its messages sent to the platform's URL.
  const endpoint =
    (owner.kind === 'official' ? platformEndpointOf(state, owner.appId) : undefined) ??
    push.endpoint(owner.appId, owner.agentId);
  if (!endpoint) {
    throw new PushControlError(
      'no server URL is configured for this account (POST /__sim/push/config first)',
    );
  }
  const mode = input.mode ?? endpoint.mode;
  if (typeof mode !== 'string' || !MODES.has(mode))
    throw new PushControlError('mode must be plain, compat or safe');
  if (mode !== 'plain' && endpoint.encodingAESKey === undefined) {
    throw new PushControlError(`mode ${mode} needs an encodingAESKey in the config`);
  }
  const format = input.format ?? 'xml';
  if (format !== 'xml' && format !== 'json') throw new PushControlError('format must be xml or json');
  if (endpoint.kind === 'wecom' && (mode !== 'safe' || format !== 'xml')) {
    throw new PushControlError('a WeCom app pushes safe-mode XML only');
  }
  const delay = input.networkDelayMs ?? 0;
  const delays = Array.isArray(delay) ? delay : [delay];
  if (
    delays.length > 3 ||
    !delays.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0 && d < 5_000)
  ) {
    throw new PushControlError(
      'networkDelayMs must be 0…4999, or a list of up to 3 such values (one per try)',
    );
  }
  const given = checkFields(input.message);
  if (typeof given !== 'object') throw new PushControlError('message must be an object with MsgType');
  const msgType = given.MsgType;
  if (typeof msgType !== 'string' || msgType === '')
    throw new PushControlError('message.MsgType is required');
  const from = given.FromUserName ?? owner.firstUser;
  if (typeof from !== 'string' || from === '') throw new PushControlError('message.FromUserName is required');
  // WeChat fills the envelope: the account as ToUserName, the time, a MsgId for messages (not events).
  const fields: PushFields = {
    ToUserName: owner.toUserName,
    FromUserName: from,
    CreateTime: given.CreateTime ?? push.clock(state),
    ...given,
  };
  fields.ToUserName = owner.toUserName;
  fields.FromUserName = from;
  if (msgType !== 'event' && fields.MsgId === undefined) fields.MsgId = push.msgId();
  if (owner.kind === 'wecom') fields.AgentID = owner.agentId ?? '';
  if (msgType !== 'event' || (typeof given.Event === 'string' && WINDOW_EVENTS.has(given.Event))) {
    push.active(owner.appId, from, state.now());
  }
  return deliver(state, {
    endpoint,
    fields,
    mode: mode as PushMode,
    format,
    networkDelayMs: Array.isArray(delay) ? (delays as number[]) : (delay as number),
  });
}

/** The log, optionally for one account and/or one user, newest last. */
export function pushLog(
  state: SimState,
  filter: { appId?: string | undefined; user?: string | undefined; limit?: number | undefined } = {},
): { pushes: PushRecord[]; seen: SeenMessage[] } {
  const push = pushStateOf(state);
  const limit = filter.limit ?? 1_000;
  const pushes = push.records.filter(
    (r) =>
      (filter.appId === undefined || r.appId === filter.appId) &&
      (filter.user === undefined || r.message.FromUserName === filter.user),
  );
  const seen = push.seen.filter(
    (s) =>
      (filter.appId === undefined || s.appId === filter.appId) &&
      (filter.user === undefined || s.user === filter.user),
  );
  return { pushes: pushes.slice(-limit), seen: seen.slice(-limit) };
}

async function body(req: Request): Promise<Record<string, unknown>> {
  const value = asRecord(parseJson(await req.text()));
  if (!value) throw new PushControlError('body must be a JSON object');
  return value;
}

function guard(fn: (req: Request, state: SimState, url: URL) => Promise<Response>) {
  return async (req: Request, ctx: { state: SimState; url: URL }) => {
    try {
      return await fn(req, ctx.state, ctx.url);
    } catch (e) {
      if (e instanceof PushControlError) return json({ error: { code: e.code, message: e.message } }, 400);
      throw e;
    }
  };
}

export const pushControlRoutes: SimRoute[] = [
  {
    path: '/__sim/push/config',
    methods: ['POST'],
    cors: true,
    handler: guard(async (req, state) => json(await configurePush(state, await body(req)))),
  },
  {
    path: '/__sim/push',
    methods: ['POST'],
    cors: true,
    handler: guard(async (req, state) => json(await sendPush(state, await body(req)))),
  },
  {
    path: '/__sim/push/log',
    methods: ['GET', 'DELETE'],
    cors: true,
    handler: guard(async (req, state, url) => {
      if (req.method === 'DELETE') {
        pushStateOf(state).clearLog();
        return json({ pushes: [], seen: [] });
      }
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? undefined : Number(limitText);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
        throw new PushControlError('limit must be an integer ≥ 1');
      }
      return json(
        pushLog(state, {
          appId: url.searchParams.get('appId') ?? undefined,
          user: url.searchParams.get('user') ?? undefined,
          limit,
        }),
      );
    }),
  },
];
