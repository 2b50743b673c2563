import { parseJsDomains } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { expireTicket, SimControlError, setFaults } from './control.ts';
import { simRoutes } from './routes.ts';
import { createDispatch, listen } from './server.ts';
import {
  SANDBOX_APP_ID,
  SANDBOX_SECRET,
  type SimAppConfig,
  type SimPlatform,
  SimState,
  type SimTicketType,
} from './state.ts';
import { parseCorps } from './wecom/config.ts';
import { expireWecomToken, setWecomUser, WecomControlError } from './wecom/control.ts';
import type { SimCorpConfig, SimWecomUser, WecomTicketType } from './wecom/state.ts';

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /**
   * The accounts it accepts: objects, or `'APPID:SECRET'` strings. Without any, one sandbox account
   * ({@link SANDBOX_APP_ID} / {@link SANDBOX_SECRET}) with JS-safe domains `localhost,127.0.0.1`.
   */
  apps?: ReadonlyArray<SimAppConfig | string>;
  /**
   * WeCom (企业微信) apps it accepts: objects `{corpId, agentId, secret, jsDomains?, users?}` or
   * `'CORPID:AGENTID:SECRET'` strings; several apps of one corp share its corpId. None by default.
   */
  corps?: ReadonlyArray<SimCorpConfig | string>;
  /** JS-safe domains of accounts that have none of their own. @default ['localhost', '127.0.0.1'] */
  jsDomains?: string[];
  /** The client platform the JS bridge imitates. @default 'android' */
  platform?: SimPlatform;
  /** Caller IPs allowed to fetch tokens; `null` turns the whitelist off. @default null */
  ipWhitelist?: string[] | null;
  /** Initial virtual time in epoch seconds. @default the real time */
  now?: number;
}

/** A fault for {@link Simulator.setFaults}; same fields as `POST /__sim/faults`. */
export interface SimulatorFault {
  path?: string;
  errcode?: number;
  times?: number;
  latencyMs?: number;
  drop?: true;
  /** Send the status, the headers and half of the body, then stall until the caller gives up. */
  stallBody?: true;
  ipWhitelist?: string[] | null;
  /** Spend today's quota of this endpoint (`/cgi-bin/token`, `/cgi-bin/stable_token`, `/cgi-bin/ticket/getticket`). */
  exhaustQuota?: string;
  appId?: string;
}

/** A running simulator. Its methods do what the `/__sim/*` control API does. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:9100`; use it as `WX_API_BASE` and `WX_OPEN_BASE`. */
  url: string;
  port: number;
  apps: Array<{ appId: string; secret: string; jsDomains: string[] }>;
  /** The WeCom apps, one entry per (corp, app). */
  corps: Array<{ corpId: string; agentId: string; secret: string; jsDomains: string[] }>;
  /** Calls per path since start or the last reset, like `GET /__sim/stats`. */
  stats(): { calls: Record<string, number> };
  /** Zeroes the call counts. */
  reset(): void;
  /** Moves the virtual clock; returns the new time (epoch seconds). */
  advance(seconds: number): number;
  /** The virtual time, epoch seconds. */
  now(): number;
  setPlatform(platform: SimPlatform): void;
  setFaults(faults: SimulatorFault | SimulatorFault[]): void;
  /** Removes faults and restores the IP whitelist given at start. */
  clearFaults(): void;
  /** Issues a new classic token as if another service called /cgi-bin/token; the old one dies 5 minutes later. */
  rotate(appId?: string): string;
  /**
   * Ends the current ticket now (`POST /__sim/tickets/expire`): pages signed with it fail
   * `config:invalid signature`, the next getticket issues a new one. False when none was valid.
   */
  expireTicket(appId?: string, type?: SimTicketType | WecomTicketType, agentId?: number | string): boolean;
  /**
   * Chooses who WeCom OAuth logs in for a corp (`POST /__sim/wecom/user`): `{userid}` (a member),
   * `{openid}` (a non-member), or nothing for the first member again.
   */
  setWecomUser(corpId: string, user?: { userid: string } | { openid: string }): SimWecomUser | undefined;
  /** Ends a WeCom app's access_token now (`POST /__sim/wecom/token/expire`); false when none was valid. */
  expireWecomToken(corpId: string, agentId?: number | string): boolean;
  /** The in-memory state, for route modules and white-box tests. */
  state: SimState;
  close(): Promise<void>;
}

/** WeChat's own rule for JS-safe domains: host or host/path entries, at most 3 per account. */
function checkJsDomains(domains: readonly string[] | undefined, owner: string): void {
  if (domains === undefined) return;
  parseJsDomains(domains);
  if (domains.length > 3) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `${owner} has ${domains.length} JS-safe domains; WeChat allows 3`,
    );
  }
}

function parseApps(options: SimulatorOptions): SimAppConfig[] {
  checkJsDomains(options.jsDomains, 'jsDomains');
  const input = options.apps ?? [];
  if (input.length === 0) return [{ appId: SANDBOX_APP_ID, secret: SANDBOX_SECRET }];
  const apps: SimAppConfig[] = [];
  for (const entry of input) {
    let app: SimAppConfig;
    if (typeof entry === 'string') {
      const i = entry.indexOf(':');
      if (i <= 0 || i === entry.length - 1) {
        throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'an app must be given as APPID:SECRET');
      }
      app = { appId: entry.slice(0, i), secret: entry.slice(i + 1) };
    } else app = entry;
    if (!/^[\w-]{1,64}$/.test(app.appId) || app.secret === '') {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, `invalid simulated app "${app.appId}"`);
    }
    checkJsDomains(app.jsDomains, `app "${app.appId}"`);
    if (apps.some((a) => a.appId === app.appId)) {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, `app "${app.appId}" is given twice`);
    }
    apps.push(app);
  }
  return apps;
}

/** Runs a control operation from code: bad input is a TypeError, as for the other methods. */
function control<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SimControlError || e instanceof WecomControlError) throw new TypeError(e.message);
    throw e;
  }
}

/**
 * Starts the WeChat simulator: `/cgi-bin/*` token, ticket and media APIs with WeChat's rules on a
 * virtual clock, the OAuth pages, the JS bridge, and the `/__sim/*` control API; with `corps`, also
 * WeCom's gettoken, corp and app tickets, OAuth and `wx.agentConfig` (docs/simulator.md#wecom-企业微信).
 *
 * @example
 * const sim = await startSimulator({ apps: ['wxabc:secret'] });
 * const res = await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxabc&secret=secret`);
 * sim.advance(7200); // the token has now expired
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const apps = parseApps(options);
  const corps = parseCorps(options.corps, new Set(apps.map((a) => a.appId)));
  const state = new SimState({
    apps,
    corps,
    ...(options.jsDomains ? { jsDomains: options.jsDomains } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
    ...(options.ipWhitelist !== undefined ? { ipWhitelist: options.ipWhitelist } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  const http = await listen(
    state,
    (base, closing) => createDispatch(state, simRoutes, base, closing),
    options.host ?? '127.0.0.1',
    options.port ?? 0,
  );
  return {
    url: http.url,
    port: http.port,
    apps: [...state.apps.values()].map((a) => ({ appId: a.appId, secret: a.secret, jsDomains: a.jsDomains })),
    corps: [...state.wecom.corps.values()].flatMap((c) =>
      [...c.agents.values()].map((a) => ({
        corpId: c.corpId,
        agentId: a.agentId,
        secret: a.secret,
        jsDomains: a.jsDomains,
      })),
    ),
    stats: () => ({ calls: { ...state.calls } }),
    reset: () => state.resetCounts(),
    advance: (seconds) => state.advance(seconds),
    now: () => state.now(),
    setPlatform: (platform) => {
      if (platform !== 'ios' && platform !== 'android')
        throw new TypeError('platform must be ios or android');
      state.platform = platform;
    },
    setFaults: (faults) => {
      try {
        setFaults(state, faults);
      } catch (e) {
        if (e instanceof SimControlError) throw new TypeError(e.message);
        throw e;
      }
    },
    clearFaults: () => state.clearFaults(),
    rotate: (appId) => {
      const app = state.app(appId ?? apps[0]?.appId ?? '');
      if (!app) throw new TypeError(`unknown appId ${appId}`);
      return state.issueClassicToken(app).value;
    },
    expireTicket: (appId, type, agentId) =>
      control(
        () =>
          expireTicket(state, {
            ...(appId === undefined ? {} : { appId }),
            ...(type ? { type } : {}),
            ...(agentId === undefined ? {} : { agentId }),
          }).expired,
      ),
    setWecomUser: (corpId, user) => control(() => setWecomUser(state, { corpId, ...user })),
    expireWecomToken: (corpId, agentId) =>
      control(
        () => expireWecomToken(state, { corpId, ...(agentId === undefined ? {} : { agentId }) }).expired,
      ),
    state,
    close: () => http.close(),
  };
}

export type { SimContext, SimHandler, SimRoute } from './http.ts';
export { errmsgFor, json, wechatError } from './http.ts';
export type {
  SimApp,
  SimAppConfig,
  SimFault,
  SimMedia,
  SimPlatform,
  SimTicketType,
  SimUser,
  TokenCheck,
} from './state.ts';
export { SANDBOX_APP_ID, SANDBOX_SECRET, SIM_LIMITS, SimState } from './state.ts';
export type {
  SimAgent,
  SimCorp,
  SimCorpConfig,
  SimWecomUser,
  WecomTicketType,
  WecomTokenCheck,
} from './wecom/state.ts';
export { WECOM_LIMITS, WecomState } from './wecom/state.ts';
