import { randomBytes } from 'node:crypto';
import type { SimApp, SimState } from '../state.ts';

/**
 * The simulated open platform (第三方平台): components, the verify tickets WeChat pushes them,
 * component tokens, pre-auth and authorization codes, and which simulated Official Accounts authorized
 * which component, with their refresh tokens. Synchronous and free of I/O like SimState; the pushes
 * (./pusher.ts) and the routes (./routes.ts) translate. Authorized accounts are ordinary SimApps, so
 * their tickets, media and JS bridge work as for any account.
 */

/** One third-party platform as configured: `APPID:SECRET:TOKEN:AESKEY`. */
export interface SimComponentConfig {
  componentAppId: string;
  secret: string;
  /** The message-verification token (消息校验Token). */
  token: string;
  /** The 43-character EncodingAESKey (消息加解密Key). */
  encodingAESKey: string;
  /** The 授权事件接收URL: tickets and authorization events are pushed here (none when unset). */
  eventsUrl?: string | undefined;
  /** The 消息与事件接收URL, `$APPID$` standing for the account (the release check pushes here). */
  messagesUrl?: string | undefined;
  /** The 公众号开发域名: the JS-safe domains of every account it serves. Default: the simulator's. */
  jsDomains?: string[] | undefined;
  /** Simulated accounts that can authorize it (the choice on the authorization page). @default 3 */
  authorizers?: number | undefined;
}

/** WeChat's documented lifetimes for the open platform (docs/wechat-facts.md), in seconds. */
export const PLATFORM_LIMITS = {
  /** component_verify_ticket: pushed every 10 minutes, valid 12 hours. */
  ticketInterval: 600,
  ticketLifetime: 12 * 3600,
  componentTokenLifetime: 7200,
  /** pre_auth_code: single use. */
  preAuthCodeLifetime: 1800,
  /** authorization_code handed to the callback. */
  authCodeLifetime: 3600,
  authorizerTokenLifetime: 7200,
  /** A newer component token leaves the previous one this long. */
  overlap: 300,
  /** api_get_authorizer_list: at most this many per page. */
  listPageMax: 500,
  componentTokenDailyQuota: 2000,
} as const;

interface Issued {
  expiresAt: number;
  replacedAt?: number;
}

/** An account's authorization of a component. */
export interface SimAuthorization {
  authorizerAppId: string;
  refreshToken: string;
  /** Virtual epoch seconds of the latest (re-)authorization. */
  authTime: number;
  /** Unauthorized (取消授权): api_authorizer_token answers 61003 until it authorizes again. */
  revoked: boolean;
  /** api_get_authorizer_list leaves its refresh_token out (a quirk of the real list). */
  listQuirk: boolean;
}

export interface SimComponent {
  readonly componentAppId: string;
  readonly secret: string;
  readonly token: string;
  readonly encodingAESKey: string;
  eventsUrl: string | undefined;
  /** The 消息与事件接收URL template (`$APPID$`). */
  messagesUrl: string | undefined;
  readonly jsDomains: string[];
  /** Tickets pushed, newest last (each valid 12 h from its push). */
  tickets: Array<{ value: string; issuedAt: number }>;
  /** Whether WeChat is pushing tickets (a test can stop it). */
  pushing: boolean;
  /** Virtual time of the last ticket push. */
  lastPushAt: number | undefined;
  componentTokens: Map<string, Issued>;
  currentComponentToken: string | undefined;
  preAuthCodes: Map<string, Issued & { used: boolean }>;
  authCodes: Map<string, Issued & { authorizerAppId: string; used: boolean }>;
  authorizations: Map<string, SimAuthorization>;
  /** Accounts that can authorize it, in the order the authorization page lists them. */
  candidates: string[];
  quota: Map<string, number>;
}

/** What a route or control call gets wrong: WeChat's errcode. */
export class PlatformRefusal {
  constructor(readonly errcode: number) {}
}

function random(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** An event WeChat pushes to a component's 授权事件接收URL (the fields of its XML, InfoType first). */
export type PlatformEvent = Record<string, string>;

export class PlatformState {
  readonly components = new Map<string, SimComponent>();
  /** Set by the pusher: receives each authorization event as it happens. */
  onEvent: ((c: SimComponent, event: PlatformEvent) => void) | undefined;

  constructor(
    private readonly sim: SimState,
    configs: readonly SimComponentConfig[],
  ) {
    for (const cfg of configs) this.add(cfg);
  }

  /** Adds a component and its candidate authorizers (SimApps named after it). */
  add(cfg: SimComponentConfig): SimComponent {
    const tag = cfg.componentAppId.replace(/[^A-Za-z0-9]/g, '').slice(-6);
    const component: SimComponent = {
      componentAppId: cfg.componentAppId,
      secret: cfg.secret,
      token: cfg.token,
      encodingAESKey: cfg.encodingAESKey,
      eventsUrl: cfg.eventsUrl,
      messagesUrl: cfg.messagesUrl,
      jsDomains: cfg.jsDomains ?? [],
      tickets: [],
      pushing: true,
      lastPushAt: undefined,
      componentTokens: new Map(),
      currentComponentToken: undefined,
      preAuthCodes: new Map(),
      authCodes: new Map(),
      authorizations: new Map(),
      candidates: [],
      quota: new Map(),
    };
    const n = cfg.authorizers ?? 3;
    for (let i = 1; i <= n; i++) {
      const appId = `wxa${tag}${String(i).padStart(9, '0')}`.slice(0, 18);
      const app =
        this.sim.app(appId) ??
        this.sim.addApp({
          appId,
          secret: random(16),
          ...(cfg.jsDomains ? { jsDomains: cfg.jsDomains } : {}),
        });
      component.candidates.push(app.appId);
    }
    this.components.set(cfg.componentAppId, component);
    return component;
  }

  get(componentAppId: unknown): SimComponent | undefined {
    return typeof componentAppId === 'string' ? this.components.get(componentAppId) : undefined;
  }

  // ── verify tickets ─────────────────────────────────────────────────────────────────────────────

  /** A new verify ticket, as WeChat pushes every 10 minutes. */
  issueVerifyTicket(c: SimComponent): string {
    const now = this.sim.now();
    const value = `ticket@@@${random(48)}`;
    c.tickets.push({ value, issuedAt: now });
    c.tickets = c.tickets.filter((t) => now - t.issuedAt < PLATFORM_LIMITS.ticketLifetime + 3600);
    c.lastPushAt = now;
    return value;
  }

  /** Whether a ticket push is due (first one, then every 10 virtual minutes while pushing). */
  pushDue(c: SimComponent): boolean {
    if (!c.pushing || !c.eventsUrl) return false;
    return c.lastPushAt === undefined || this.sim.now() - c.lastPushAt >= PLATFORM_LIMITS.ticketInterval;
  }

  /** 61006 for a ticket WeChat never issued, 61005 for one older than 12 hours, else undefined. */
  checkVerifyTicket(c: SimComponent, value: unknown): number | undefined {
    const t = typeof value === 'string' ? c.tickets.find((x) => x.value === value) : undefined;
    if (!t) return 61006;
    if (this.sim.now() - t.issuedAt >= PLATFORM_LIMITS.ticketLifetime) return 61005;
    return undefined;
  }

  // ── component token ────────────────────────────────────────────────────────────────────────────

  /** A new component token; the previous one lives 5 more minutes. 45009 past the daily quota. */
  issueComponentToken(c: SimComponent): { value: string; expiresIn: number } | PlatformRefusal {
    const key = `component_token|d${this.sim.day()}`;
    const used = c.quota.get(key) ?? 0;
    if (used >= PLATFORM_LIMITS.componentTokenDailyQuota) return new PlatformRefusal(45009);
    c.quota.set(key, used + 1);
    const now = this.sim.now();
    const prev = c.currentComponentToken ? c.componentTokens.get(c.currentComponentToken) : undefined;
    if (prev && prev.replacedAt === undefined) prev.replacedAt = now;
    for (const [v, t] of c.componentTokens) if (t.expiresAt <= now) c.componentTokens.delete(v);
    const value = `${this.sim.day() % 100}_${random(72)}`;
    c.componentTokens.set(value, { expiresAt: now + PLATFORM_LIMITS.componentTokenLifetime });
    c.currentComponentToken = value;
    return { value, expiresIn: PLATFORM_LIMITS.componentTokenLifetime };
  }

  /** The component a component_access_token belongs to, or WeChat's errcode (41001, 40001, 42001). */
  componentByToken(value: string | null): SimComponent | PlatformRefusal {
    if (!value) return new PlatformRefusal(41001);
    const now = this.sim.now();
    for (const c of this.components.values()) {
      const t = c.componentTokens.get(value);
      if (!t) continue;
      if (now >= t.expiresAt) return new PlatformRefusal(42001);
      if (t.replacedAt !== undefined && now >= t.replacedAt + PLATFORM_LIMITS.overlap) {
        return new PlatformRefusal(40001);
      }
      return c;
    }
    return new PlatformRefusal(40001);
  }

  // ── authorization ──────────────────────────────────────────────────────────────────────────────

  createPreAuthCode(c: SimComponent): { value: string; expiresIn: number } {
    const value = `preauthcode@@@${random(36)}`;
    c.preAuthCodes.set(value, {
      expiresAt: this.sim.now() + PLATFORM_LIMITS.preAuthCodeLifetime,
      used: false,
    });
    return { value, expiresIn: PLATFORM_LIMITS.preAuthCodeLifetime };
  }

  /** Uses a pre-auth code (the authorization page): 61007-like refusal when unknown, used or expired. */
  takePreAuthCode(c: SimComponent, value: string): PlatformRefusal | undefined {
    const code = c.preAuthCodes.get(value);
    if (!code || code.used || this.sim.now() >= code.expiresAt) return new PlatformRefusal(61007);
    code.used = true;
    return undefined;
  }

  /** Whether a pre-auth code can still be used (the page shows, the click uses it). */
  preAuthCodeUsable(c: SimComponent, value: string): boolean {
    const code = c.preAuthCodes.get(value);
    return code !== undefined && !code.used && this.sim.now() < code.expiresAt;
  }

  /**
   * The account authorizes (or re-authorizes) the component: a new refresh token (the old one is
   * dead: 61023), every current authorizer token killed (40001), and an authorization code for the
   * callback. Returns the code and whether it was an update.
   */
  authorize(c: SimComponent, authorizerAppId: string): { authCode: string; updated: boolean } {
    const app = this.sim.app(authorizerAppId);
    if (!app) throw new RangeError(`unknown account ${authorizerAppId}`);
    const prev = c.authorizations.get(authorizerAppId);
    const updated = prev !== undefined && !prev.revoked;
    this.sim.revokeAuthorizerTokens(app);
    c.authorizations.set(authorizerAppId, {
      authorizerAppId,
      refreshToken: `refreshtoken@@@${random(36)}`,
      authTime: this.sim.now(),
      revoked: false,
      listQuirk: prev?.listQuirk ?? false,
    });
    const authCode = `queryauthcode@@@${random(36)}`;
    const expiresAt = this.sim.now() + PLATFORM_LIMITS.authCodeLifetime;
    c.authCodes.set(authCode, { authorizerAppId, expiresAt, used: false });
    this.onEvent?.(c, {
      AppId: c.componentAppId,
      CreateTime: String(this.sim.now()),
      InfoType: updated ? 'updateauthorized' : 'authorized',
      AuthorizerAppid: authorizerAppId,
      AuthorizationCode: authCode,
      AuthorizationCodeExpiredTime: String(expiresAt),
    });
    return { authCode, updated };
  }

  /** The account takes its authorization back: tokens dead, api_authorizer_token answers 61003. */
  unauthorize(c: SimComponent, authorizerAppId: string): boolean {
    const a = c.authorizations.get(authorizerAppId);
    const app = this.sim.app(authorizerAppId);
    if (!a || a.revoked || !app) return false;
    a.revoked = true;
    this.sim.revokeAuthorizerTokens(app);
    this.onEvent?.(c, {
      AppId: c.componentAppId,
      CreateTime: String(this.sim.now()),
      InfoType: 'unauthorized',
      AuthorizerAppid: authorizerAppId,
    });
    return true;
  }

  /** `api_query_auth`: the code is single use (61009 used or unknown, 61010 expired). */
  queryAuth(
    c: SimComponent,
    authCode: string,
  ): { app: SimApp; auth: SimAuthorization; token: { value: string; expiresIn: number } } | PlatformRefusal {
    const code = c.authCodes.get(authCode);
    if (!code || code.used) return new PlatformRefusal(61009);
    if (this.sim.now() >= code.expiresAt) return new PlatformRefusal(61010);
    code.used = true;
    const auth = c.authorizations.get(code.authorizerAppId);
    const app = this.sim.app(code.authorizerAppId);
    if (!auth || auth.revoked || !app) return new PlatformRefusal(61003);
    return { app, auth, token: this.sim.issueAuthorizerToken(app) };
  }

  /**
   * `api_authorizer_token`: 61003 when the account is not (or no longer) authorized, 61023 for a
   * refresh token that is not the current one (replaced by a re-authorization, or made up).
   */
  refreshAuthorizerToken(
    c: SimComponent,
    authorizerAppId: unknown,
    refreshToken: unknown,
  ): { value: string; expiresIn: number; refreshToken: string } | PlatformRefusal {
    const auth = typeof authorizerAppId === 'string' ? c.authorizations.get(authorizerAppId) : undefined;
    const app = typeof authorizerAppId === 'string' ? this.sim.app(authorizerAppId) : undefined;
    if (!auth || auth.revoked || !app) return new PlatformRefusal(61003);
    if (refreshToken !== auth.refreshToken) return new PlatformRefusal(61023);
    return { ...this.sim.issueAuthorizerToken(app), refreshToken: auth.refreshToken };
  }

  /** Authorized accounts (not revoked), in authorization order. */
  authorized(c: SimComponent): SimAuthorization[] {
    return [...c.authorizations.values()].filter((a) => !a.revoked);
  }
}
