import { randomBytes } from 'node:crypto';

/**
 * The simulated WeCom (企业微信) corps: their apps (agents), access tokens, the corp jsapi_ticket and each
 * app's agent_config ticket, with WeCom's lifetimes and hourly ticket limits on the simulator's
 * virtual clock. Synchronous and free of I/O, like SimState; the routes in ./routes.ts translate.
 */

/** A person who can open a WeCom page: a corp member (`userid`) or a non-member (`openid`). */
export type SimWecomUser =
  | { userid: string; name?: string }
  | {
      openid: string;
      /** Set when the visitor is one of the corp's external contacts (客户). */
      external_userid?: string;
    };

/** One simulated WeCom app as configured: `CORPID:AGENTID:SECRET`. Several apps may share a corp. */
export interface SimCorpConfig {
  corpId: string;
  /** The app's agentid, an integer (e.g. `1000002`); a string of digits is accepted. */
  agentId: number | string;
  /** The app's secret (corpsecret): each app has its own, so its own access_token. */
  secret: string;
  /** The app's trusted domains (可信域名), `host` or `host/path`; defaults to the simulator's `jsDomains`. */
  jsDomains?: string[];
  /** Who can log in through WeCom OAuth: two members and one non-member when omitted. */
  users?: SimWecomUser[];
}

/** WeCom's documented lifetimes and limits (docs/wechat-facts.md), in seconds and calls. */
export const WECOM_LIMITS = {
  tokenLifetime: 7200,
  ticketLifetime: 7200,
  /** get_jsapi_ticket: per corp per hour. */
  corpTicketPerCorpHour: 400,
  /** get_jsapi_ticket: per app (the token's app) per hour. */
  corpTicketPerAppHour: 100,
  /** ticket/get?type=agent_config: per app per hour. */
  agentTicketPerAppHour: 100,
  /** A limit hit by the hour blocks the caller for 60 minutes. */
  hourlyBlock: 3600,
  /** OAuth codes: single use, 5 minutes. */
  code: 300,
  /** user_ticket (snsapi_privateinfo): 1800 s. */
  userTicket: 1800,
} as const;

export type WecomTicketType = 'jsapi' | 'agent_config';

interface Ticket {
  value: string;
  expiresAt: number;
}

/** A sliding one-hour window of calls, and the end of the block once it was exceeded. */
interface HourlyLimit {
  calls: number[];
  blockedUntil: number;
}

export interface SimAgent {
  readonly corpId: string;
  readonly agentId: string;
  readonly secret: string;
  readonly jsDomains: string[];
  token: { value: string; expiresAt: number } | undefined;
  agentTicket: Ticket | undefined;
  corpTicketLimit: HourlyLimit;
  agentTicketLimit: HourlyLimit;
}

export interface SimCorp {
  readonly corpId: string;
  readonly agents: Map<string, SimAgent>;
  readonly users: SimWecomUser[];
  corpTicket: Ticket | undefined;
  corpTicketLimit: HourlyLimit;
  /** The user the simulated WeCom client is logged in as (OAuth); the first member when unset. */
  currentUser: SimWecomUser | undefined;
}

/** The result of checking a WeCom access_token: its app, or WeCom's errcode. */
export type WecomTokenCheck = { agent: SimAgent; corp: SimCorp } | { errcode: 41001 | 40014 | 42001 };

function random(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** `1000002` and `'1000002'` are the same agentid; anything else is not an agentid. */
export function agentIdText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? String(value) : undefined;
  if (typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value)) return value;
  return undefined;
}

function defaultUsers(corpId: string): SimWecomUser[] {
  const tag = corpId.replace(/[^A-Za-z0-9]/g, '').slice(-8);
  return [
    { userid: 'zhangsan', name: '张三 Zhang San' },
    { userid: 'lisi', name: '李四 Li Si' },
    { openid: `oWW${tag}guest00000000`, external_userid: `wmSIM${tag}guest0000` },
  ];
}

/** The first corp member, the user WeCom OAuth logs in when nobody was chosen. */
export function firstMember(corp: SimCorp): SimWecomUser | undefined {
  return corp.users.find((u) => 'userid' in u) ?? corp.users[0];
}

export class WecomState {
  readonly corps = new Map<string, SimCorp>();
  private readonly tokens = new Map<string, SimAgent>();

  constructor(
    configs: readonly SimCorpConfig[],
    private readonly now: () => number,
    defaultDomains: readonly string[],
  ) {
    for (const cfg of configs) {
      const agentId = agentIdText(cfg.agentId);
      if (agentId === undefined) throw new TypeError(`invalid agentid for corp ${cfg.corpId}`);
      let corp = this.corps.get(cfg.corpId);
      if (!corp) {
        corp = {
          corpId: cfg.corpId,
          agents: new Map(),
          users: [],
          corpTicket: undefined,
          corpTicketLimit: { calls: [], blockedUntil: 0 },
          currentUser: undefined,
        };
        this.corps.set(cfg.corpId, corp);
      }
      if (cfg.users) corp.users.push(...cfg.users);
      corp.agents.set(agentId, {
        corpId: cfg.corpId,
        agentId,
        secret: cfg.secret,
        jsDomains: [...(cfg.jsDomains ?? defaultDomains)],
        token: undefined,
        agentTicket: undefined,
        corpTicketLimit: { calls: [], blockedUntil: 0 },
        agentTicketLimit: { calls: [], blockedUntil: 0 },
      });
    }
    // Users given with any app of a corp are the corp's; the sample users only when none were given.
    for (const corp of this.corps.values())
      if (corp.users.length === 0) corp.users.push(...defaultUsers(corp.corpId));
  }

  corp(corpId: string): SimCorp | undefined {
    return this.corps.get(corpId);
  }

  agent(corpId: string, agentId: unknown): SimAgent | undefined {
    const id = agentIdText(agentId);
    return id === undefined ? undefined : this.corps.get(corpId)?.agents.get(id);
  }

  /** The app whose secret this is, in a corp (each app has its own secret). */
  agentBySecret(corp: SimCorp, secret: string): SimAgent | undefined {
    for (const a of corp.agents.values()) if (a.secret === secret) return a;
    return undefined;
  }

  /** Trusted domains of every app of the corp (a `wx.config` page may sit on any of them). */
  corpDomains(corp: SimCorp): string[] {
    return [...new Set([...corp.agents.values()].flatMap((a) => a.jsDomains))];
  }

  // ── access tokens ────────────────────────────────────────────────────────────────────────────

  /** gettoken: the same token while it is valid ("有效期内重复获取返回相同结果"), a new one after. */
  token(agent: SimAgent): { value: string; expiresIn: number } {
    const now = this.now();
    if (agent.token && now < agent.token.expiresAt) {
      return { value: agent.token.value, expiresIn: agent.token.expiresAt - now };
    }
    const value = random(96);
    agent.token = { value, expiresAt: now + WECOM_LIMITS.tokenLifetime };
    this.tokens.set(value, agent);
    return { value, expiresIn: WECOM_LIMITS.tokenLifetime };
  }

  /** Ends an app's token now, as WeCom may "for operational reasons"; the next gettoken issues a new one. */
  expireToken(agent: SimAgent): boolean {
    const now = this.now();
    if (!agent.token || now >= agent.token.expiresAt) return false;
    agent.token.expiresAt = now;
    return true;
  }

  /** Missing 41001, unknown 40014, expired (or ended early) 42001. */
  validateToken(value: string | null | undefined): WecomTokenCheck {
    if (value === undefined || value === null || value === '') return { errcode: 41001 };
    const agent = this.tokens.get(value);
    if (!agent) return { errcode: 40014 };
    // Only the app's token of record is alive; an earlier one has expired before a new one was issued.
    if (agent.token?.value !== value || this.now() >= agent.token.expiresAt) return { errcode: 42001 };
    const corp = this.corps.get(agent.corpId);
    return corp ? { agent, corp } : { errcode: 40014 };
  }

  // ── tickets ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Checks hourly limits (a sliding hour) and counts the call against all of them, or against none
   * when one is exceeded. Going over blocks that caller for 60 minutes (WeCom: "按小时拦截则被屏蔽60分钟").
   */
  private take(limits: ReadonlyArray<[HourlyLimit, number]>): boolean {
    const now = this.now();
    for (const [limit, max] of limits) {
      if (now < limit.blockedUntil) return false;
      limit.calls = limit.calls.filter((t) => now - t < 3600);
      if (limit.calls.length >= max) {
        limit.blockedUntil = now + WECOM_LIMITS.hourlyBlock;
        return false;
      }
    }
    for (const [limit] of limits) limit.calls.push(now);
    return true;
  }

  /** get_jsapi_ticket's hourly limits: 400 per corp and 100 per app (the token's app). */
  takeCorpTicketCall(corp: SimCorp, agent: SimAgent): boolean {
    return this.take([
      [agent.corpTicketLimit, WECOM_LIMITS.corpTicketPerAppHour],
      [corp.corpTicketLimit, WECOM_LIMITS.corpTicketPerCorpHour],
    ]);
  }

  /** ticket/get?type=agent_config's hourly limit: 100 per app. */
  takeAgentTicketCall(agent: SimAgent): boolean {
    return this.take([[agent.agentTicketLimit, WECOM_LIMITS.agentTicketPerAppHour]]);
  }

  /** The corp jsapi_ticket: the same one while valid, a new one after it expired. */
  corpTicket(corp: SimCorp): { value: string; expiresIn: number } {
    corp.corpTicket = this.reuse(corp.corpTicket);
    return this.view(corp.corpTicket);
  }

  /** The app's agent_config ticket: the same one while valid, a new one after it expired. */
  agentTicket(agent: SimAgent): { value: string; expiresIn: number } {
    agent.agentTicket = this.reuse(agent.agentTicket);
    return this.view(agent.agentTicket);
  }

  private reuse(cur: Ticket | undefined): Ticket {
    const now = this.now();
    if (cur && now < cur.expiresAt) return cur;
    return { value: random(64), expiresAt: now + WECOM_LIMITS.ticketLifetime };
  }

  private view(t: Ticket): { value: string; expiresIn: number } {
    return { value: t.value, expiresIn: t.expiresAt - this.now() };
  }

  /** Ends a ticket now (`POST /__sim/tickets/expire`). True when a valid one was out. */
  expireTicket(corp: SimCorp, type: WecomTicketType, agent?: SimAgent): boolean {
    const t = type === 'jsapi' ? corp.corpTicket : agent?.agentTicket;
    const now = this.now();
    if (!t || now >= t.expiresAt) return false;
    t.expiresAt = now;
    return true;
  }

  /** The corp jsapi_ticket `wx.config` verifies against now, if one was issued and is valid. */
  currentCorpTicket(corpId: string): string | undefined {
    const t = this.corps.get(corpId)?.corpTicket;
    return t && this.now() < t.expiresAt ? t.value : undefined;
  }

  /** The app ticket `wx.agentConfig` verifies against now, if one was issued and is valid. */
  currentAgentTicket(corpId: string, agentId: number | string): string | undefined {
    const t = this.agent(corpId, agentId)?.agentTicket;
    return t && this.now() < t.expiresAt ? t.value : undefined;
  }
}
