import { randomBytes } from 'node:crypto';
import { type SimCorpConfig, WecomState } from './wecom/state.ts';

/**
 * Everything the simulator knows, in memory, with a virtual clock. Synchronous and free of I/O so
 * the rules of WeChat's token/ticket/media APIs are unit-testable; the HTTP layer only translates.
 */

/** The client platform the JS bridge imitates: iOS checks the landing URL, Android the current URL. */
export type SimPlatform = 'ios' | 'android';

/** A WeChat user of the simulated Official Account (used by the OAuth pages). */
export interface SimUser {
  openid: string;
  nickname: string;
  /** 0 unknown, 1 male, 2 female (WeChat no longer fills it; kept for shape). */
  sex?: number;
  province?: string;
  city?: string;
  country?: string;
  headimgurl?: string;
  unionid?: string;
  /** `/sns/userinfo` privilege list (e.g. `chinaunicom`). */
  privilege?: string[];
  /** 1: a timeline-snapshot visitor (朋友圈快照页): virtual openid, snsapi_base rights only. */
  is_snapshotuser?: 0 | 1;
}

/** One simulated Official Account as configured. */
export interface SimAppConfig {
  appId: string;
  secret: string;
  /** JS-safe domains (`host` or `host/path`); defaults to the simulator's `jsDomains`. */
  jsDomains?: string[];
  /** Users who can log in through the consent page; two sample users when omitted. */
  users?: SimUser[];
}

/** A temporary media file (`media_id`) kept for 3 virtual days. */
export interface SimMedia {
  mediaId: string;
  /** `image`, `voice`, `video` or `thumb`. */
  type: string;
  bytes: Uint8Array;
  contentType: string;
  filename?: string;
  /** Virtual epoch seconds. */
  createdAt: number;
}

/** A fault injected through the control API. `times` counts down; `undefined` means until cleared. */
export interface SimFault {
  /** Only requests to this path; every non-control path when omitted. */
  path?: string;
  /** Answer with this errcode instead of running the endpoint. */
  errcode?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
  /** Delay the answer (real milliseconds). */
  latencyMs?: number;
  /** Send the status, the headers and half of the body, then nothing more until the caller gives up. */
  stallBody?: boolean;
  times?: number;
}

export type SimTicketType = 'jsapi' | 'wx_card';

interface ClassicToken {
  kind: 'classic';
  appId: string;
  issuedAt: number;
  expiresAt: number;
  /** When a newer classic token was issued; the token dies 5 minutes later. */
  replacedAt?: number;
}

interface StableToken {
  kind: 'stable';
  appId: string;
  issuedAt: number;
  expiresAt: number;
  /** force_refresh kills the previous stable token at once. */
  revoked?: boolean;
}

/** A token a third-party platform got for an account it serves (`api_query_auth` / `api_authorizer_token`). */
interface AuthorizerToken {
  kind: 'authorizer';
  appId: string;
  issuedAt: number;
  expiresAt: number;
  /** When a newer one was issued; this one dies {@link SIM_LIMITS.overlap} seconds later. */
  replacedAt?: number;
  /** Re-authorization or unauthorization kills it at once. */
  revoked?: boolean;
}

interface Ticket {
  value: string;
  issuedAt: number;
  expiresAt: number;
}

/** Mutable per-account data. */
export interface SimApp {
  readonly appId: string;
  readonly secret: string;
  readonly jsDomains: string[];
  readonly users: SimUser[];
  classicToken: string | undefined;
  stableToken: string | undefined;
  /** Authorizer tokens issued for this account through a third-party platform, newest last. */
  authorizerTokens?: string[];
  tickets: Map<SimTicketType, Ticket>;
  /** Calls counted against quotas, keyed by `path|day` or `path|m<minute>`. */
  quota: Map<string, number>;
  /** Virtual times of successful stable_token force_refresh calls. */
  forceRefreshes: number[];
  media: Map<string, SimMedia>;
}

/** WeChat's documented lifetimes and limits, in seconds and calls. */
export const SIM_LIMITS = {
  tokenLifetime: 7200,
  /** A replaced classic token, or a stable token in its last minutes, stays valid this long. */
  overlap: 300,
  ticketLifetime: 7200,
  classicDailyQuota: 2000,
  stableMinuteQuota: 10000,
  stableDailyQuota: 500000,
  forceRefreshDaily: 20,
  forceRefreshInterval: 30,
  ticketDailyQuota: 100000,
  mediaLifetime: 3 * 86400,
} as const;

/** The sandbox account used when no app is configured. Not a real WeChat account. */
export const SANDBOX_APP_ID = 'wx5andb0x00000001';
export const SANDBOX_SECRET = 'sandbox0secret0not0for0production';

const BEIJING_OFFSET = 8 * 3600;

function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function defaultUsers(appId: string): SimUser[] {
  const tag = appId.replace(/[^A-Za-z0-9]/g, '').slice(-8);
  return [
    {
      openid: `oSIM${tag}alice0000000000`,
      nickname: 'Alice 小爱',
      sex: 0,
      province: '广东',
      city: '深圳',
      country: '中国',
      headimgurl: '',
      unionid: `oUNI${tag}alice0000000000`,
    },
    {
      openid: `oSIM${tag}bob000000000000`,
      nickname: 'Bob 小波',
      sex: 0,
      province: '北京',
      city: '北京',
      country: '中国',
      headimgurl: '',
      unionid: `oUNI${tag}bob000000000000`,
    },
  ];
}

export interface SimStateOptions {
  apps: SimAppConfig[];
  /** WeCom apps (`CORPID:AGENTID:SECRET`); none by default. */
  corps?: SimCorpConfig[];
  /** JS-safe domains of apps that have none of their own. */
  jsDomains?: string[];
  platform?: SimPlatform;
  /** Allowed caller IPs for the token endpoints; `null` = no whitelist. */
  ipWhitelist?: string[] | null;
  /** Initial virtual time, epoch seconds. @default the real time */
  now?: number;
}

/** The result of checking an access_token: the account, or WeChat's errcode. */
export type TokenCheck =
  | { appId: string; kind: 'classic' | 'stable' | 'authorizer' }
  | { errcode: 40001 | 42001 | 41001 };

export class SimState {
  private clockMs: number;
  readonly apps = new Map<string, SimApp>();
  private readonly tokens = new Map<string, ClassicToken | StableToken | AuthorizerToken>();
  private readonly initial: SimStateOptions;
  platform: SimPlatform;
  ipWhitelist: string[] | null;
  faults: SimFault[] = [];
  /** Calls per path since start or the last {@link resetCounts}. */
  calls: Record<string, number> = {};
  /** The simulated WeCom corps, their apps, tokens and tickets. */
  readonly wecom: WecomState;

  constructor(options: SimStateOptions) {
    this.initial = options;
    this.clockMs = Math.floor((options.now ?? Date.now() / 1000) * 1000);
    this.platform = options.platform ?? 'android';
    this.ipWhitelist = options.ipWhitelist ?? null;
    const defaults = options.jsDomains ?? ['localhost', '127.0.0.1'];
    this.wecom = new WecomState(options.corps ?? [], () => this.now(), defaults);
    for (const cfg of options.apps) this.addApp(cfg);
  }

  /** Adds an account (a third-party platform's simulated authorizers are added this way). */
  addApp(cfg: SimAppConfig): SimApp {
    const defaults = this.initial.jsDomains ?? ['localhost', '127.0.0.1'];
    const app: SimApp = {
      appId: cfg.appId,
      secret: cfg.secret,
      jsDomains: [...(cfg.jsDomains ?? defaults)],
      users: cfg.users ? [...cfg.users] : defaultUsers(cfg.appId),
      classicToken: undefined,
      stableToken: undefined,
      tickets: new Map(),
      quota: new Map(),
      forceRefreshes: [],
      media: new Map(),
    };
    this.apps.set(cfg.appId, app);
    return app;
  }

  // ── clock ──────────────────────────────────────────────────────────────────────────────────────

  /** Virtual time, whole epoch seconds. */
  now(): number {
    return Math.floor(this.clockMs / 1000);
  }

  /** Virtual time in milliseconds (for Date headers and the like). */
  nowMs(): number {
    return this.clockMs;
  }

  /** Called after the clock moved (e.g. payment notifications falling due on virtual time). */
  readonly clockListeners = new Set<() => void>();

  /** Moves the virtual clock forward; returns the new time. Negative or non-finite values are refused. */
  advance(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('advance must be seconds ≥ 0');
    this.clockMs += Math.round(seconds * 1000);
    for (const listener of this.clockListeners) listener();
    return this.now();
  }

  /** WeChat's day, which starts at midnight Beijing time. */
  day(): number {
    return Math.floor((this.now() + BEIJING_OFFSET) / 86400);
  }

  // ── accounts ───────────────────────────────────────────────────────────────────────────────────

  app(appId: string): SimApp | undefined {
    return this.apps.get(appId);
  }

  jsDomainsOf(appId: string): string[] {
    return this.apps.get(appId)?.jsDomains ?? [];
  }

  /** A request id in WeChat's `rid` format: three groups of 8 hex digits. */
  rid(): string {
    const hex = randomBytes(12).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 16)}-${hex.slice(16, 24)}`;
  }

  // ── quotas ─────────────────────────────────────────────────────────────────────────────────────

  /** Counts one call against the daily quota of `path`; false (and not counted) when it is spent. */
  takeDaily(app: SimApp, path: string, limit: number): boolean {
    const key = `${path}|d${this.day()}`;
    const used = app.quota.get(key) ?? 0;
    if (used >= limit) return false;
    app.quota.set(key, used + 1);
    return true;
  }

  /** Counts one call against a per-minute quota. */
  takeMinute(app: SimApp, path: string, limit: number): boolean {
    const key = `${path}|m${Math.floor(this.now() / 60)}`;
    const used = app.quota.get(key) ?? 0;
    if (used >= limit) return false;
    app.quota.set(key, used + 1);
    return true;
  }

  /** Calls counted today against the daily quota of `path`. */
  usedDaily(app: SimApp, path: string): number {
    return app.quota.get(`${path}|d${this.day()}`) ?? 0;
  }

  /** Resets today's daily quotas of an account (`/cgi-bin/clear_quota`). */
  clearDaily(app: SimApp): void {
    const suffix = `|d${this.day()}`;
    for (const key of [...app.quota.keys()]) if (key.endsWith(suffix)) app.quota.delete(key);
  }

  /** Spends the rest of today's quota of `path` (for every app, or one), as a fault. */
  exhaustDaily(path: string, limit: number, appId?: string): void {
    for (const app of this.apps.values()) {
      if (appId === undefined || app.appId === appId) app.quota.set(`${path}|d${this.day()}`, limit);
    }
  }

  // ── access tokens ──────────────────────────────────────────────────────────────────────────────

  /** Issues a new classic token; the previous one dies {@link SIM_LIMITS.overlap} seconds from now. */
  issueClassicToken(app: SimApp): { value: string; expiresIn: number } {
    const now = this.now();
    const prev = app.classicToken === undefined ? undefined : this.tokens.get(app.classicToken);
    if (prev?.kind === 'classic' && prev.replacedAt === undefined) prev.replacedAt = now;
    const value = `${this.day() % 100}_${token(96)}`;
    this.tokens.set(value, {
      kind: 'classic',
      appId: app.appId,
      issuedAt: now,
      expiresAt: now + SIM_LIMITS.tokenLifetime,
    });
    app.classicToken = value;
    return { value, expiresIn: SIM_LIMITS.tokenLifetime };
  }

  /**
   * The stable token: the same value while it has more than 5 minutes left, a new one after that
   * (the old one lives out its lifetime), and a new one at once with `force` (the old one dies).
   */
  stableToken(app: SimApp, force: boolean): { value: string; expiresIn: number } {
    const now = this.now();
    const cur = app.stableToken === undefined ? undefined : this.tokens.get(app.stableToken);
    if (!force && cur?.kind === 'stable' && !cur.revoked && cur.expiresAt - now > SIM_LIMITS.overlap) {
      return { value: app.stableToken as string, expiresIn: cur.expiresAt - now };
    }
    if (force && cur?.kind === 'stable') cur.revoked = true;
    const value = `${this.day() % 100}_${token(96)}`;
    this.tokens.set(value, {
      kind: 'stable',
      appId: app.appId,
      issuedAt: now,
      expiresAt: now + SIM_LIMITS.tokenLifetime,
    });
    app.stableToken = value;
    return { value, expiresIn: SIM_LIMITS.tokenLifetime };
  }

  /**
   * A new authorizer access token for `app` (a third-party platform's `api_query_auth` or
   * `api_authorizer_token`): the previous one lives {@link SIM_LIMITS.overlap} seconds more.
   */
  issueAuthorizerToken(app: SimApp): { value: string; expiresIn: number } {
    const now = this.now();
    const list = app.authorizerTokens ?? [];
    for (const v of list) {
      const t = this.tokens.get(v);
      if (t?.kind === 'authorizer' && t.replacedAt === undefined) t.replacedAt = now;
    }
    const value = `${this.day() % 100}_${token(96)}`;
    this.tokens.set(value, {
      kind: 'authorizer',
      appId: app.appId,
      issuedAt: now,
      expiresAt: now + SIM_LIMITS.tokenLifetime,
    });
    // Tokens past their lifetime are of no use to anyone: keep the list (and the map) bounded.
    app.authorizerTokens = list.filter((v) => {
      const t = this.tokens.get(v);
      if (t && t.expiresAt > now) return true;
      this.tokens.delete(v);
      return false;
    });
    app.authorizerTokens.push(value);
    return { value, expiresIn: SIM_LIMITS.tokenLifetime };
  }

  /** Kills every authorizer token of `app` at once (re-authorization, unauthorization). */
  revokeAuthorizerTokens(app: SimApp): void {
    for (const v of app.authorizerTokens ?? []) {
      const t = this.tokens.get(v);
      if (t?.kind === 'authorizer') t.revoked = true;
    }
  }

  /**
   * Records a force_refresh if allowed: `daily` after 20 today, `too-soon` within 30 s of the last
   * one (WeChat then "does not refresh"), else `ok`.
   */
  takeForceRefresh(app: SimApp): 'ok' | 'daily' | 'too-soon' {
    const now = this.now();
    const today = app.forceRefreshes.filter((t) => Math.floor((t + BEIJING_OFFSET) / 86400) === this.day());
    const last = app.forceRefreshes.at(-1);
    if (today.length >= SIM_LIMITS.forceRefreshDaily) return 'daily';
    if (last !== undefined && now - last < SIM_LIMITS.forceRefreshInterval) return 'too-soon';
    app.forceRefreshes = [...today, now];
    return 'ok';
  }

  /**
   * Checks an access_token as WeChat's APIs do: classic (incl. a replaced one for 5 minutes) and
   * stable tokens pass; an expired one gives 42001; unknown, replaced or revoked ones 40001.
   */
  validateAccessToken(value: string | null | undefined): TokenCheck {
    if (value === undefined || value === null || value === '') return { errcode: 41001 };
    const t = this.tokens.get(value);
    if (!t) return { errcode: 40001 };
    const now = this.now();
    if (now >= t.expiresAt) return { errcode: 42001 };
    if (t.kind === 'classic' && t.replacedAt !== undefined && now >= t.replacedAt + SIM_LIMITS.overlap) {
      return { errcode: 40001 };
    }
    if (t.kind !== 'classic' && t.revoked) return { errcode: 40001 };
    if (t.kind === 'authorizer' && t.replacedAt !== undefined && now >= t.replacedAt + SIM_LIMITS.overlap) {
      return { errcode: 40001 };
    }
    return { appId: t.appId, kind: t.kind };
  }

  // ── tickets ────────────────────────────────────────────────────────────────────────────────────

  /** The ticket of `type`: the same one while valid, a new one after it expired. */
  issueTicket(app: SimApp, type: SimTicketType): { value: string; expiresIn: number } {
    const now = this.now();
    const cur = app.tickets.get(type);
    if (cur && now < cur.expiresAt) return { value: cur.value, expiresIn: cur.expiresAt - now };
    const value = token(64);
    app.tickets.set(type, { value, issuedAt: now, expiresAt: now + SIM_LIMITS.ticketLifetime });
    return { value, expiresIn: SIM_LIMITS.ticketLifetime };
  }

  /**
   * Ends the current ticket of `type` now, as WeChat does at the end of its life (or when it ends one
   * early): pages signed with it fail `config:invalid signature`, the next getticket issues a new one.
   * True when there was a valid ticket to end.
   */
  expireTicket(app: SimApp, type: SimTicketType): boolean {
    const cur = app.tickets.get(type);
    const now = this.now();
    if (!cur || now >= cur.expiresAt) return false;
    cur.expiresAt = now;
    return true;
  }

  /** The ticket WeChat would verify signatures with right now, if one was issued and is still valid. */
  currentTicket(appId: string, type: SimTicketType = 'jsapi'): string | undefined {
    const t = this.apps.get(appId)?.tickets.get(type);
    return t && this.now() < t.expiresAt ? t.value : undefined;
  }

  /** The corp jsapi_ticket a WeCom page's `wx.config` is verified with now, if one is valid. */
  currentCorpTicket(corpId: string): string | undefined {
    return this.wecom.currentCorpTicket(corpId);
  }

  /** The app (agent_config) ticket a WeCom page's `wx.agentConfig` is verified with now, if one is valid. */
  currentAgentTicket(corpId: string, agentId: number | string): string | undefined {
    return this.wecom.currentAgentTicket(corpId, agentId);
  }

  // ── media ──────────────────────────────────────────────────────────────────────────────────────

  /** Stores a temporary media file and returns its `media_id` (a JS-SDK `serverId`). */
  addMedia(
    appId: string,
    media: { bytes: Uint8Array; contentType: string; filename?: string; type?: string },
  ): string {
    const app = this.apps.get(appId);
    if (!app) throw new Error(`unknown appId ${appId}`);
    const now = this.now();
    for (const [id, m] of app.media) if (now >= m.createdAt + SIM_LIMITS.mediaLifetime) app.media.delete(id);
    const mediaId = token(48);
    const record: SimMedia = {
      mediaId,
      type: media.type ?? (media.contentType.startsWith('audio/') ? 'voice' : 'image'),
      bytes: media.bytes,
      contentType: media.contentType,
      createdAt: now,
    };
    if (media.filename !== undefined) record.filename = media.filename;
    app.media.set(mediaId, record);
    return mediaId;
  }

  /** A media file younger than 3 virtual days, else `undefined`. Expired files are dropped. */
  getMedia(appId: string, mediaId: string): SimMedia | undefined {
    const app = this.apps.get(appId);
    const m = app?.media.get(mediaId);
    if (!app || !m) return undefined;
    if (this.now() >= m.createdAt + SIM_LIMITS.mediaLifetime) {
      app.media.delete(mediaId);
      return undefined;
    }
    return m;
  }

  // ── control ────────────────────────────────────────────────────────────────────────────────────

  /** Counts a call to `path` for /__sim/stats. */
  count(path: string): void {
    this.calls[path] = (this.calls[path] ?? 0) + 1;
  }

  resetCounts(): void {
    this.calls = {};
  }

  /** Removes every fault and restores the IP whitelist given at start. */
  clearFaults(): void {
    this.faults = [];
    this.ipWhitelist = this.initial.ipWhitelist ?? null;
  }

  /**
   * The faults that apply to one request to `path`; counted-down faults are consumed.
   * Latency comes first, then a drop, an errcode or a stalled body (the first that matches).
   */
  takeFaults(path: string): {
    latencyMs: number;
    drop: boolean;
    errcode: number | undefined;
    stallBody?: true;
  } {
    let latencyMs = 0;
    let drop = false;
    let errcode: number | undefined;
    let stallBody = false;
    for (const f of this.faults) {
      if (f.path !== undefined && f.path !== path) continue;
      if (f.times !== undefined && f.times <= 0) continue;
      const acts = f.drop === true || f.errcode !== undefined || f.stallBody === true;
      if (acts && (drop || errcode !== undefined || stallBody)) continue;
      if (f.latencyMs !== undefined) latencyMs = Math.max(latencyMs, f.latencyMs);
      if (f.drop) drop = true;
      else if (f.errcode !== undefined) errcode = f.errcode;
      else if (f.stallBody) stallBody = true;
      if (f.times !== undefined) f.times -= 1;
    }
    this.faults = this.faults.filter((f) => f.times === undefined || f.times > 0);
    return { latencyMs, drop, errcode, ...(stallBody ? { stallBody: true as const } : {}) };
  }
}
