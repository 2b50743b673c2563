import { asRecord, badRequest, json, parseJson, type SimRoute } from './http.ts';
import { SANDBOX_APP_ID, SIM_LIMITS, type SimFault, type SimState, type SimTicketType } from './state.ts';
import { wecomControlRoutes } from './wecom/control.ts';

/**
 * The control API (SPEC §7): `/__sim/stats`, `/__sim/reset`, `/__sim/clock`, `/__sim/faults`,
 * `/__sim/rotate`, `/__sim/tickets/expire`, `/__sim/platform`, `/__sim/apps`, and the WeCom ones
 * (`/__sim/corps`, `/__sim/wecom/user`, `/__sim/wecom/token/expire`). Answers cross-origin requests. Bad input gets
 * HTTP 400 `{"error":{"code":"invalid_request","message"}}`.
 */

/** Daily quotas a fault can spend at once (`{"exhaustQuota":"/cgi-bin/token"}`). */
const DAILY_QUOTAS: Record<string, number> = {
  '/cgi-bin/token': SIM_LIMITS.classicDailyQuota,
  '/cgi-bin/stable_token': SIM_LIMITS.stableDailyQuota,
  '/cgi-bin/ticket/getticket': SIM_LIMITS.ticketDailyQuota,
};

class BadInput extends Error {}

async function body(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === '') return {};
  const value = asRecord(parseJson(text));
  if (!value) throw new BadInput('body must be a JSON object');
  return value;
}

function faultsView(state: SimState) {
  return { faults: state.faults, ipWhitelist: state.ipWhitelist };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1;
}

/**
 * Applies one fault description. Throws {@link BadInput} for anything it does not understand, so a
 * typo never silently injects nothing.
 */
function applyFault(state: SimState, input: Record<string, unknown>): void {
  const known = new Set([
    'path',
    'errcode',
    'times',
    'latencyMs',
    'drop',
    'stallBody',
    'ipWhitelist',
    'exhaustQuota',
    'appId',
  ]);
  for (const k of Object.keys(input)) if (!known.has(k)) throw new BadInput(`unknown fault field "${k}"`);
  const { path, errcode, times, latencyMs, drop, stallBody, ipWhitelist, exhaustQuota, appId } = input;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new BadInput('path must start with /');
  }
  if (times !== undefined && !isCount(times)) throw new BadInput('times must be an integer ≥ 1');
  if (appId !== undefined && (typeof appId !== 'string' || !state.app(appId))) {
    throw new BadInput('appId is not a simulated account');
  }
  let did = false;
  if ('ipWhitelist' in input) {
    if (
      ipWhitelist !== null &&
      !(Array.isArray(ipWhitelist) && ipWhitelist.every((ip) => typeof ip === 'string'))
    ) {
      throw new BadInput('ipWhitelist must be an array of IP strings or null');
    }
    state.ipWhitelist = ipWhitelist === null ? null : [...(ipWhitelist as string[])];
    did = true;
  }
  if (exhaustQuota !== undefined) {
    const limit = typeof exhaustQuota === 'string' ? DAILY_QUOTAS[exhaustQuota] : undefined;
    if (limit === undefined) {
      throw new BadInput(`exhaustQuota must be one of ${Object.keys(DAILY_QUOTAS).join(', ')}`);
    }
    state.exhaustDaily(exhaustQuota as string, limit, appId as string | undefined);
    did = true;
  }
  const fault: SimFault = {};
  if (path !== undefined) fault.path = path as string;
  if (times !== undefined) fault.times = times as number;
  if (latencyMs !== undefined) {
    if (
      typeof latencyMs !== 'number' ||
      !Number.isFinite(latencyMs) ||
      latencyMs < 0 ||
      latencyMs > 120_000
    ) {
      throw new BadInput('latencyMs must be 0…120000');
    }
    fault.latencyMs = latencyMs;
  }
  if (drop !== undefined) {
    if (drop !== true) throw new BadInput('drop must be true');
    fault.drop = true;
  }
  if (errcode !== undefined) {
    if (typeof errcode !== 'number' || !Number.isInteger(errcode) || errcode === 0) {
      throw new BadInput('errcode must be a non-zero integer');
    }
    if (fault.drop) throw new BadInput('a fault either drops or answers an errcode, not both');
    fault.errcode = errcode;
  }
  if (stallBody !== undefined) {
    if (stallBody !== true) throw new BadInput('stallBody must be true');
    if (fault.drop || fault.errcode !== undefined) {
      throw new BadInput('a fault either drops, answers an errcode or stalls the body, not two of them');
    }
    fault.stallBody = true;
  }
  if (fault.latencyMs !== undefined || fault.drop || fault.errcode !== undefined || fault.stallBody) {
    state.faults.push(fault);
    did = true;
  }
  if (!did)
    throw new BadInput('no fault given (errcode, latencyMs, drop, stallBody, ipWhitelist or exhaustQuota)');
}

/** The control operations, shared by the HTTP API and `startSimulator()`'s methods. */
export function setFaults(state: SimState, input: unknown): void {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new BadInput('no fault given');
  for (const item of list) {
    const rec = asRecord(item);
    if (!rec) throw new BadInput('each fault must be a JSON object');
    applyFault(state, rec);
  }
}

/**
 * `{"appId","type":"jsapi"|"wx_card"}` → ends that ticket now (SPEC §10). `appId` defaults to the first
 * account, `type` to `jsapi`. For a WeCom corp (`appId` = corpId) `type` is `jsapi` (the corp ticket) or
 * `agent_config` (an app ticket; `agentId` picks the app, the corp's first by default). Answers
 * `{appId, type, expired}` (plus `agentId` for agent_config); `expired` is false when no valid ticket
 * was out (the next call issues a new one either way).
 */
export function expireTicket(
  state: SimState,
  input: Record<string, unknown>,
): { appId: string; type: SimTicketType | 'agent_config'; expired: boolean; agentId?: string } {
  for (const k of Object.keys(input))
    if (k !== 'appId' && k !== 'type' && k !== 'agentId') throw new BadInput(`unknown field "${k}"`);
  const { appId = state.apps.keys().next().value, type = 'jsapi', agentId } = input;
  const corp = typeof appId === 'string' ? state.wecom.corp(appId) : undefined;
  if (corp) {
    if (type === 'jsapi') {
      if (agentId !== undefined) throw new BadInput('agentId goes with type "agent_config" only');
      return { appId: corp.corpId, type, expired: state.wecom.expireTicket(corp, 'jsapi') };
    }
    if (type !== 'agent_config') throw new BadInput('type must be "jsapi" or "agent_config" for a corp');
    const agent =
      agentId === undefined ? corp.agents.values().next().value : state.wecom.agent(corp.corpId, agentId);
    if (!agent) throw new BadInput('agentId is not an app of this corp');
    return {
      appId: corp.corpId,
      type,
      agentId: agent.agentId,
      expired: state.wecom.expireTicket(corp, 'agent_config', agent),
    };
  }
  if (agentId !== undefined) throw new BadInput('agentId is for a WeCom corp');
  const app = typeof appId === 'string' ? state.app(appId) : undefined;
  if (!app) throw new BadInput('appId is not a simulated account');
  if (type !== 'jsapi' && type !== 'wx_card') throw new BadInput('type must be "jsapi" or "wx_card"');
  return { appId: app.appId, type, expired: state.expireTicket(app, type) };
}

export { BadInput as SimControlError };

function guard(fn: (req: Request, state: SimState) => Promise<Response> | Response) {
  return async (req: Request, ctx: { state: SimState }) => {
    try {
      return await fn(req, ctx.state);
    } catch (e) {
      if (e instanceof BadInput) return badRequest(e.message);
      throw e;
    }
  };
}

export const controlRoutes: SimRoute[] = [
  {
    path: '/__sim/stats',
    methods: ['GET'],
    cors: true,
    handler: (_req, { state }) => json({ calls: state.calls, now: state.now(), platform: state.platform }),
  },
  {
    path: '/__sim/reset',
    methods: ['POST'],
    cors: true,
    handler: (_req, { state }) => {
      state.resetCounts();
      return json({ calls: state.calls });
    },
  },
  {
    path: '/__sim/clock',
    methods: ['GET', 'POST'],
    cors: true,
    handler: guard(async (req, state) => {
      if (req.method === 'GET') return json({ now: state.now() });
      const { advance } = await body(req);
      if (typeof advance !== 'number' || !Number.isFinite(advance) || advance < 0) {
        throw new BadInput('advance must be a number of seconds ≥ 0');
      }
      return json({ now: state.advance(advance) });
    }),
  },
  {
    path: '/__sim/faults',
    methods: ['GET', 'POST', 'DELETE'],
    cors: true,
    handler: guard(async (req, state) => {
      if (req.method === 'DELETE') state.clearFaults();
      else if (req.method === 'POST') {
        const text = await req.text();
        const input = parseJson(text);
        if (input === undefined) throw new BadInput('body must be a JSON object or array');
        setFaults(state, input);
      }
      return json(faultsView(state));
    }),
  },
  {
    path: '/__sim/rotate',
    methods: ['POST'],
    cors: true,
    handler: guard(async (req, state) => {
      const { appId = state.apps.keys().next().value } = await body(req);
      const app = typeof appId === 'string' ? state.app(appId) : undefined;
      if (!app) throw new BadInput('appId is not a simulated account');
      const t = state.issueClassicToken(app);
      return json({ appId: app.appId, access_token: t.value, expires_in: t.expiresIn });
    }),
  },
  {
    path: '/__sim/tickets/expire',
    methods: ['POST'],
    cors: true,
    handler: guard(async (req, state) => {
      const input = await body(req);
      return json(expireTicket(state, input));
    }),
  },
  {
    path: '/__sim/platform',
    methods: ['GET', 'POST'],
    cors: true,
    handler: guard(async (req, state) => {
      if (req.method === 'POST') {
        const { platform } = await body(req);
        if (platform !== 'ios' && platform !== 'android')
          throw new BadInput('platform must be "ios" or "android"');
        state.platform = platform;
      }
      return json({ platform: state.platform });
    }),
  },
  ...wecomControlRoutes,
  {
    path: '/__sim/apps',
    methods: ['GET'],
    cors: true,
    handler: (_req, { state }) =>
      json({
        apps: [...state.apps.values()].map((a) => ({
          appId: a.appId,
          // Only the sandbox account's published secret is shown; secrets passed in are not echoed.
          ...(a.appId === SANDBOX_APP_ID ? { secret: a.secret } : {}),
          jsDomains: a.jsDomains,
          users: a.users.map((u) => ({ openid: u.openid, nickname: u.nickname })),
        })),
      }),
  },
];
