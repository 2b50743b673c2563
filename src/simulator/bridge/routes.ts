import { randomBytes } from 'node:crypto';
import { cardSignature } from '../../cards.ts';
import { asRecord, json, parseJson, type SimContext, type SimRoute } from '../http.ts';
import type { SimPlatform, SimState } from '../state.ts';
import type { SimAgent } from '../wecom/state.ts';
import { invokeAgentApi, verifyAgentConfig } from '../wecom/verify.ts';
import { testImage } from './png.ts';
import { bridgeScript } from './script.ts';
import { verifyBridgeConfig } from './verify.ts';

/**
 * The JS bridge's side in the simulator: `/jweixin.js` and the endpoints its `wx.*` functions call.
 * A successful `wx.config` gets a bridge token; `chooseImage`/`getLocalImgData`/`uploadImage` need
 * it, so a page can only use what a verified configuration allows, as in WeChat.
 */

interface LocalImage {
  appId: string;
  bytes: Buffer;
}

/** A page's verified `wx.config` (and, on a WeCom page, its verified `wx.agentConfig`). */
interface BridgeSession {
  appId: string;
  agent?: SimAgent;
  /** The jsApiList of the successful `wx.agentConfig`. */
  agentApis: Set<string>;
}

interface BridgeData {
  /** Bridge token → the verified configuration. */
  sessions: Map<string, BridgeSession>;
  /** localId → image chosen by `chooseImage` (the "photo album" of the simulated phone). */
  images: Map<string, LocalImage>;
  seed: number;
}

const MAX_ENTRIES = 1000;
const bridges = new WeakMap<SimState, BridgeData>();

function bridgeOf(state: SimState): BridgeData {
  let data = bridges.get(state);
  if (!data) {
    data = { sessions: new Map(), images: new Map(), seed: randomBytes(2).readUInt16BE(0) };
    bridges.set(state, data);
  }
  return data;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as string);
}

function platformOf(value: unknown, state: SimState): SimPlatform {
  return value === 'ios' || value === 'android' ? value : state.platform;
}

async function body(req: Request): Promise<Record<string, unknown>> {
  return asRecord(parseJson(await req.text())) ?? {};
}

/** The appId of the verified configuration the request's token belongs to, else an error answer. */
function session(ctx: SimContext, b: Record<string, unknown>): string | Response {
  const appId = typeof b.token === 'string' ? bridgeOf(ctx.state).sessions.get(b.token)?.appId : undefined;
  return appId ?? json({ errMsg: 'permission denied' });
}

const script: SimRoute = {
  path: '/jweixin.js',
  methods: ['GET'],
  cors: true,
  handler: (_req, ctx) =>
    new Response(bridgeScript(platformOf(ctx.url.searchParams.get('platform'), ctx.state), ctx.baseUrl), {
      headers: {
        'content-type': 'text/javascript; charset=utf-8',
        // The platform is baked in and may be switched through /__sim/platform.
        'cache-control': 'no-store',
      },
    }),
};

const config: SimRoute = {
  path: '/__sim/bridge/config',
  methods: ['POST'],
  cors: true,
  handler: async (req, ctx) => {
    const b = await body(req);
    const result = verifyBridgeConfig(ctx.state, b);
    if (result.errMsg !== 'config:ok') return json(result);
    const token = randomBytes(18).toString('base64url');
    remember(bridgeOf(ctx.state).sessions, token, { appId: String(b.appId), agentApis: new Set<string>() });
    return json({ ...result, token });
  },
};

/**
 * A bridge call that needs the page's verified `wx.config`: the request's bridge token must belong to a
 * config session (else WeChat's `permission denied`); `answer` gets the session's appId.
 */
export function sessionRoute(
  path: string,
  answer: (appId: string, b: Record<string, unknown>, ctx: SimContext) => Response,
): SimRoute {
  return {
    path,
    methods: ['POST'],
    cors: true,
    handler: async (req, ctx) => {
      const b = await body(req);
      const appId = session(ctx, b);
      return appId instanceof Response ? appId : answer(appId, b, ctx);
    },
  };
}

const choose = sessionRoute('/__sim/bridge/choose', (appId, b, ctx) => {
  const count = Math.max(1, Math.min(9, Math.floor(Number(b.count)) || 9));
  const bridge = bridgeOf(ctx.state);
  const prefix = platformOf(b.platform, ctx.state) === 'ios' ? 'wxLocalResource://' : 'weixin://resourceid/';
  const localIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const localId = prefix + randomBytes(12).toString('hex');
    bridge.seed = (bridge.seed + 1) % 0x10000;
    remember(bridge.images, localId, { appId, bytes: testImage(bridge.seed) });
    localIds.push(localId);
  }
  return json({ localIds });
});

/**
 * A bridge call about one chosen image: the page's config session must be valid and the localId must
 * be one chosen for the same account, as in WeChat; otherwise WeChat's own failure.
 */
function imageRoute(
  path: string,
  answer: (img: LocalImage, appId: string, b: Record<string, unknown>, ctx: SimContext) => Response,
): SimRoute {
  return sessionRoute(path, (appId, b, ctx) => {
    const img = typeof b.localId === 'string' ? bridgeOf(ctx.state).images.get(b.localId) : undefined;
    if (!img || img.appId !== appId) return json({ errMsg: 'fail, invalid localId' });
    return answer(img, appId, b, ctx);
  });
}

const local = imageRoute('/__sim/bridge/local', (img, _appId, b, ctx) => {
  // iOS answers with a data: URL, Android with bare base64 — pages must handle both.
  const base64 = img.bytes.toString('base64');
  const ios = platformOf(b.platform, ctx.state) === 'ios';
  return json({ localData: ios ? `data:image/png;base64,${base64}` : base64 });
});

const upload = imageRoute('/__sim/bridge/upload', (img, appId, _b, ctx) => {
  // WeCom keeps media behind qyapi's own media API, which the simulator does not serve (yet).
  if (!ctx.state.app(appId)) return json({ errMsg: 'fail, the simulator does not store WeCom media' });
  const serverId = ctx.state.addMedia(appId, {
    bytes: new Uint8Array(img.bytes),
    contentType: 'image/png',
    type: 'image',
  });
  return json({ serverId });
});

/**
 * `wx.agentConfig` on a WeCom page: verified against the app's agent_config ticket (wecom/verify.ts).
 * Success adds the app and its jsApiList to the page's config session.
 */
const agentConfig: SimRoute = {
  path: '/__sim/bridge/agent-config',
  methods: ['POST'],
  cors: true,
  handler: async (req, ctx) => {
    const b = await body(req);
    const s = typeof b.token === 'string' ? bridgeOf(ctx.state).sessions.get(b.token) : undefined;
    const { agent, ...result } = verifyAgentConfig(ctx.state, { ...b, configuredAppId: s?.appId });
    if (s && agent) {
      s.agent = agent;
      s.agentApis = new Set(
        Array.isArray(b.jsApiList) ? b.jsApiList.filter((n): n is string => typeof n === 'string') : [],
      );
    }
    return json(result);
  },
};

/** `wx.invoke(name, args, cb)`: the agent-only APIs, allowed by a successful `wx.agentConfig`. */
const invoke: SimRoute = {
  path: '/__sim/bridge/invoke',
  methods: ['POST'],
  cors: true,
  handler: async (req, ctx) => {
    const b = await body(req);
    const s = typeof b.token === 'string' ? bridgeOf(ctx.state).sessions.get(b.token) : undefined;
    return json(invokeAgentApi(ctx.state, b.name, { agent: s?.agent, agentApis: s?.agentApis ?? new Set() }));
  },
};

/** A card signature the bridge checks: right for the account's current wx_card ticket, else WeChat's failure. */
function cardTicketOf(ctx: SimContext, appId: string): string | undefined {
  return ctx.state.app(appId) ? ctx.state.currentTicket(appId, 'wx_card') : undefined;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;

/**
 * `wx.chooseCard`: cardSign must be the value-sorted SHA1 over the wx_card ticket, appId, shopId,
 * timestamp, nonceStr, cardId and cardType (empty values left out); the answer is WeChat's cardList
 * JSON string.
 */
const chooseCard = sessionRoute('/__sim/bridge/card/choose', (appId, b, ctx) => {
  const ticket = cardTicketOf(ctx, appId);
  const expected = ticket
    ? cardSignature([
        ticket,
        appId,
        text(b.shopId),
        text(b.timestamp),
        text(b.nonceStr),
        text(b.cardId),
        text(b.cardType),
      ])
    : undefined;
  if (b.signType !== undefined && b.signType !== 'SHA1') return json({ errMsg: 'fail, invalid signType' });
  if (!expected || String(b.cardSign ?? '').toLowerCase() !== expected) {
    return json({ errMsg: 'fail, invalid signature' });
  }
  const cardId = text(b.cardId) ?? 'pSIMcard000000000000000000';
  const cardList = JSON.stringify([{ card_id: cardId, encrypt_code: randomBytes(12).toString('base64url') }]);
  return json({ cardList });
});

/**
 * `wx.addCard`: each cardExt's signature must be the value-sorted SHA1 over the wx_card ticket,
 * timestamp, cardId, code, openid and nonce_str.
 */
const addCard = sessionRoute('/__sim/bridge/card/add', (appId, b, ctx) => {
  const ticket = cardTicketOf(ctx, appId);
  const list = Array.isArray(b.cardList) ? b.cardList : [];
  if (!ticket || list.length === 0) return json({ errMsg: 'fail, invalid cardList' });
  const out: Array<{ cardId: string; cardExt: string; isSuccess: boolean }> = [];
  for (const item of list) {
    const card = asRecord(item) ?? {};
    const cardId = text(card.cardId);
    let ext: Record<string, unknown> | undefined;
    try {
      ext = asRecord(JSON.parse(String(card.cardExt ?? '')));
    } catch {
      ext = undefined;
    }
    if (!cardId || !ext) return json({ errMsg: 'fail, invalid cardExt' });
    const expected = cardSignature([
      ticket,
      text(ext.timestamp),
      cardId,
      text(ext.code),
      text(ext.openid),
      text(ext.nonce_str),
    ]);
    if (String(ext.signature ?? '').toLowerCase() !== expected)
      return json({ errMsg: 'fail, invalid signature' });
    out.push({ cardId, cardExt: String(card.cardExt), isSuccess: true });
  }
  return json({ cardList: out });
});

/** `/jweixin.js` (also at jweixin-1.6.0.js's own path) and the bridge endpoints. */
export const bridgeRoutes: SimRoute[] = [
  script,
  { ...script, path: '/open/js/jweixin-1.6.0.js' },
  config,
  choose,
  local,
  upload,
  agentConfig,
  invoke,
  chooseCard,
  addCard,
];
