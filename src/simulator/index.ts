import { parseJsDomains } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { expireTicket, SimControlError, setFaults } from './control.ts';
import { merchantKeys, payOrder } from './pay/control.ts';
import type { SimNotification } from './pay/notify.ts';
import { attachPay } from './pay/registry.ts';
import type { SimMchConfig, SimPayOutcome } from './pay/state.ts';
import { type PlatformPusher, pusherOf } from './platform/pusher.ts';
import { platformOf } from './platform/routes.ts';
import type { PlatformState, SimComponentConfig } from './platform/state.ts';
import {
  configurePush,
  type PushConfigInput,
  PushControlError,
  type PushSendInput,
  pushLog,
  sendPush,
} from './push/control.ts';
import type { PushRecord, SeenMessage } from './push/state.ts';
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
  /**
   * Third-party platforms (第三方平台): objects, or `'APPID:SECRET:TOKEN:AESKEY'` strings. Each
   * gets verify-ticket pushes every 10 virtual minutes to its events URL, the component endpoints, an
   * authorization page offering `authorizers` simulated accounts, and authorization events.
   */
  components?: ReadonlyArray<SimComponentConfig | string>;
  /** The 授权事件接收URL of components given as strings (`--component-events URL`). */
  componentEvents?: string;
  /** The 消息与事件接收URL (with `$APPID$`) of components given as strings (`--component-messages URL`). */
  componentMessages?: string;
  /** Simulated accounts each component can be authorized by (`--authorizers N`). @default 3 */
  authorizers?: number;
  /**
   * WeChat Pay merchants: objects `{mchId, appIds?, payDirectories?, keyMode?}` or `'MCHID'`
   * strings. Each gets fresh test keys (`GET /__sim/pay/keys`). None by default.
   */
  mchs?: ReadonlyArray<SimMchConfig | string>;
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
  /**
   * Registers an account's server URL for message push (`POST /__sim/push/config`), after checking it
   * as WeChat does (the echostr GET). Rejects with a TypeError naming what failed.
   */
  configurePush(config: PushConfigInput): Promise<{ toUserName: string; urls: string[]; mode: string }>;
  /**
   * Pushes a user message or event (`POST /__sim/push`) with WeChat's 5 s deadline and 3 tries;
   * resolves with the tries, the verdict on the reply and what the user saw.
   */
  push(input: PushSendInput): Promise<PushRecord>;
  /** The pushes and what users saw (`GET /__sim/push/log`), newest last. */
  pushLog(filter?: { appId?: string; user?: string; limit?: number }): {
    pushes: PushRecord[];
    seen: SeenMessage[];
  };
  /** The third-party platforms: their state (tickets, authorizations) and the pusher of their events. */
  openPlatform: { state: PlatformState; pusher: PlatformPusher };
  /** The WeChat Pay gateway's control methods (present with `mchs`). */
  pay: SimulatorPay;
  /** The in-memory state, for route modules and white-box tests. */
  state: SimState;
  close(): Promise<void>;
}

/** The WeChat Pay side of a running simulator; same operations as `/__sim/pay/*`. */
export interface SimulatorPay {
  /** What the merchant holds: private key and serial, APIv3 key, WeChat Pay public key and its id. */
  keys(mchId?: string): ReturnType<typeof merchantKeys>;
  /** What the cashier does with the next payments. */
  setOutcome(outcome: SimPayOutcome, mchId?: string): void;
  /** Replaces a merchant's pay directories (支付授权目录). */
  setDirectories(directories: string[], mchId?: string): void;
  /** The payer pays the order now, as the cashier does with outcome `ok`; the notification follows. */
  payOrder(outTradeNo: string, mchId?: string): void;
  /** Every notification with its body and tries, headers included (a copy): enough to replay one. */
  notifications(): Array<Omit<SimNotification, 'probeDue'>>;
  /** Sends a SIGNTEST probe before every n-th notification (0: never). @default 3 */
  probeEvery(n: number): void;
  /** Resolves when every notification try in flight has its answer. */
  settle(): Promise<void>;
}

function parseMchs(input: ReadonlyArray<SimMchConfig | string> | undefined): SimMchConfig[] {
  const mchs: SimMchConfig[] = [];
  for (const entry of input ?? []) {
    const mch = typeof entry === 'string' ? { mchId: entry } : entry;
    if (!/^\d{6,32}$/.test(mch.mchId)) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `invalid simulated merchant "${String(mch.mchId).slice(0, 32)}" (a mchid is digits)`,
      );
    }
    if (mchs.some((m) => m.mchId === mch.mchId)) {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, `merchant "${mch.mchId}" is given twice`);
    }
    mchs.push(mch);
  }
  return mchs;
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

function parseComponents(options: SimulatorOptions): SimComponentConfig[] {
  const out: SimComponentConfig[] = [];
  const authorizers = options.authorizers;
  if (
    authorizers !== undefined &&
    (!Number.isInteger(authorizers) || authorizers < 1 || authorizers > 100_000)
  ) {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'authorizers must be an integer from 1 to 100000');
  }
  for (const entry of options.components ?? []) {
    let c: SimComponentConfig;
    if (typeof entry === 'string') {
      const [componentAppId, secret, token, encodingAESKey, ...rest] = entry.split(':');
      if (!componentAppId || !secret || !token || !encodingAESKey || rest.length > 0) {
        throw new WxkitError(
          ErrorCodes.CONFIG_ERROR,
          'a component must be given as APPID:SECRET:TOKEN:AESKEY',
        );
      }
      c = {
        componentAppId,
        secret,
        token,
        encodingAESKey,
        eventsUrl: options.componentEvents,
        messagesUrl: options.componentMessages,
      };
    } else c = { eventsUrl: options.componentEvents, messagesUrl: options.componentMessages, ...entry };
    if (!/^[\w-]{1,64}$/.test(c.componentAppId) || !/^[A-Za-z0-9]{43}$/.test(c.encodingAESKey)) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `invalid component "${c.componentAppId}": the EncodingAESKey is 43 letters and digits`,
      );
    }
    if (c.messagesUrl !== undefined && !c.messagesUrl.includes('$APPID$')) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `the messages URL of component "${c.componentAppId}" must contain $APPID$`,
      );
    }
    checkJsDomains(c.jsDomains, `component "${c.componentAppId}"`);
    if (authorizers !== undefined && c.authorizers === undefined) c.authorizers = authorizers;
    out.push(c);
  }
  return out;
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

async function pushControl<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PushControlError) throw new TypeError(e.message);
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
  const mchs = parseMchs(options.mchs);
  const state = new SimState({
    apps,
    corps,
    ...(options.jsDomains ? { jsDomains: options.jsDomains } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
    ...(options.ipWhitelist !== undefined ? { ipWhitelist: options.ipWhitelist } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  const openPlatform = platformOf(state, parseComponents(options));
  const pusher = pusherOf(state, openPlatform);
  const paySim = attachPay(state, mchs);
  const mchOf = (mchId?: string) => {
    const mch = mchId === undefined ? paySim.pay.mchs.values().next().value : paySim.pay.mch(mchId);
    if (!mch) throw new TypeError(`unknown merchant ${mchId ?? '(none configured: pass mchs)'}`);
    return mch;
  };
  const http = await listen(
    state,
    (base, closing) => createDispatch(state, simRoutes, base, closing),
    options.host ?? '127.0.0.1',
    options.port ?? 0,
  );
  pusher.start();
  return {
    url: http.url,
    port: http.port,
    // The accounts configured; a component's simulated authorizers are listed by openPlatform.
    apps: apps.flatMap((cfg) => {
      const a = state.app(cfg.appId);
      return a ? [{ appId: a.appId, secret: a.secret, jsDomains: a.jsDomains }] : [];
    }),
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
    configurePush: (config) => pushControl(() => configurePush(state, { ...config })),
    push: (input) => pushControl(() => sendPush(state, { ...input })),
    pushLog: (filter) => pushLog(state, filter),
    openPlatform: { state: openPlatform, pusher },
    pay: {
      keys: (mchId) => merchantKeys(mchOf(mchId)),
      setOutcome: (outcome, mchId) => {
        if (outcome !== 'ok' && outcome !== 'cancel' && outcome !== 'fail')
          throw new TypeError('outcome must be ok, cancel or fail');
        mchOf(mchId).outcome = outcome;
      },
      setDirectories: (directories, mchId) => {
        mchOf(mchId).payDirectories = [...directories];
      },
      payOrder: (outTradeNo, mchId) => {
        const result = payOrder(paySim, outTradeNo, mchId);
        if (typeof result === 'string') throw new TypeError(result);
      },
      notifications: () => paySim.notifier.log.map(({ probeDue: _p, ...n }) => structuredClone(n)),
      probeEvery: (n) => {
        paySim.notifier.probeEvery = Math.max(0, Math.floor(n));
      },
      settle: () => paySim.notifier.settle(),
    },
    state,
    close: async () => {
      pusher.stop();
      await http.close();
      await paySim.notifier.settle();
    },
  };
}

export type { SimContext, SimHandler, SimRoute } from './http.ts';
export { errmsgFor, json, wechatError } from './http.ts';
export type { NotifyAttempt, SimNotification } from './pay/notify.ts';
export { NOTIFY_RETRY_SCHEDULE } from './pay/notify.ts';
export type { SimMchConfig, SimPayOutcome } from './pay/state.ts';
export { SANDBOX_MCH_ID } from './pay/state.ts';
export type { PlatformPushRecord } from './platform/pusher.ts';
export { PlatformPusher } from './platform/pusher.ts';
export type { ReleaseCase, ReleaseReport } from './platform/release-check.ts';
export { RELEASE_TEST_ACCOUNTS, RELEASE_TEST_APP_ID } from './platform/release-check.ts';
export type { PlatformEvent, SimAuthorization, SimComponent, SimComponentConfig } from './platform/state.ts';
export { PLATFORM_LIMITS, PlatformState } from './platform/state.ts';
export type { PushConfigInput, PushSendInput } from './push/control.ts';
export type { PushFieldValue } from './push/message.ts';
export type { PushEndpoint, PushMode, PushRecord, PushTry, SeenMessage } from './push/state.ts';
export { originalIdOf, PUSH_LIMITS, SERVICE_UNAVAILABLE } from './push/state.ts';
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
