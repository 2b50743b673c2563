import type { MediaStore } from '../media/types.ts';
import type { PlatformStatus } from '../platform/platform.ts';
import { TICKET_EXPIRED_CAUSE, type VerifyTicketHealth } from '../platform/verify-ticket.ts';
import type { Account, BreakerStatus } from '../types.ts';
import { isWecom } from './account-kind.ts';

/**
 * `/readyz` answers from the last probe instead of probing inline. A probe that asks a Redis which is
 * down (or hangs) takes seconds; a load balancer with a short health-check timeout would then see
 * timeouts instead of a clear 503. So: one probe at a time, bounded by `timeoutMs`, started when the
 * last result is older than `maxAgeMs`; the request waits at most `graceMs` for it (a healthy probe
 * takes a few milliseconds, so a healthy answer is fresh) and otherwise answers the last result. Only
 * the very first request, with no result yet, waits for its probe (at most `timeoutMs`).
 */
export interface ReadinessOptions {
  /** A probe gives up after this long; what did not answer counts as not ready. @default 1000 */
  timeoutMs: number;
  /** Re-probe when the last result is older than this. @default 2000 */
  maxAgeMs: number;
  /** How long a request waits for a probe it started before answering the previous result. @default 50 */
  graceMs: number;
}

export const DEFAULT_READINESS: ReadinessOptions = { timeoutMs: 1000, maxAgeMs: 2000, graceMs: 50 };

/** One account's readiness, with everything an operator may want (the route decides who sees what). */
export interface AccountReadiness {
  appId: string;
  /** A WeCom app's AgentId (its `appId` is the corpId). */
  agentId?: string;
  storeReachable: boolean;
  credentials: boolean;
  /** Why the credentials are not obtainable. */
  error?: { code: string; errcode?: number; errmsg?: string; message: string };
  /** The store in use (no credentials), when the store answered the status call. */
  store?: string;
  apiBase: string;
  tokenMode: string;
  breaker?: BreakerStatus;
}

/** The media store's readiness: whether a save can work now (a full disk, a dead Redis say no). */
export interface MediaReadiness {
  reachable: boolean;
  /** The store (no credentials). */
  store: string;
  /** Why it is not reachable. */
  error?: { code: string; message: string };
}

/**
 * A third-party platform's readiness. Only a verify ticket over 12 hours old makes it not ready: the
 * component token can then not be renewed. A missing ticket (a new deployment waits up to 10 minutes
 * for the first push) or a late one is a warning — a 503 then would make a load balancer keep away
 * the very push that heals it.
 */
export interface PlatformReadiness {
  componentAppId: string;
  ready: boolean;
  verifyTicket: { health: VerifyTicketHealth; ageSeconds?: number };
  componentToken: { cached: boolean };
  authorizers: number;
  revoked: number;
  /** What needs attention before it fails (both languages). */
  warning?: { en: string; zh: string };
  /** Why it is not ready. */
  error?: { code: string; message: string; zh?: string };
}

/** What the readiness probe needs of a platform (`createPlatform()`). */
export interface PlatformProbe {
  readonly componentAppId: string;
  status(): Promise<PlatformStatus>;
}

export interface ReadinessResult {
  /** When the probe finished (ms since the epoch, real time). */
  at: number;
  accounts: AccountReadiness[];
  /** Present when the handler has a media store to check. */
  media?: MediaReadiness;
  /** Present when the handler serves a third-party platform. */
  platform?: PlatformReadiness;
}

export interface ReadinessView {
  result: ReadinessResult;
  /** A probe is running while this answer was given. */
  probing: boolean;
}

const TIMED_OUT = Symbol('timed out');

export class ReadinessMonitor {
  private last: ReadinessResult | undefined;
  private probe: Promise<ReadinessResult> | undefined;
  /** Status calls still waiting for a store that hangs: never more than one per account (or media store). */
  private readonly stuck = new Set<Account | MediaStore | PlatformProbe>();

  constructor(
    private readonly accounts: readonly Account[],
    private readonly o: ReadinessOptions = DEFAULT_READINESS,
    /** The media store to check, when there is one (it may be opened later). */
    private readonly mediaStore: () => Promise<MediaStore> | undefined = () => undefined,
    /** The third-party platform, when the handler serves one. */
    private readonly platform: () => PlatformProbe | undefined = () => undefined,
  ) {}

  /** The freshest result available without waiting long; starts a probe when the last one is stale. */
  async read(): Promise<ReadinessView> {
    const last = this.last;
    const stale = last === undefined || Date.now() - last.at >= this.o.maxAgeMs;
    if (stale && this.probe === undefined) {
      const p = this.run().finally(() => {
        if (this.probe === p) this.probe = undefined;
      });
      this.probe = p;
    }
    const probe = this.probe;
    if (probe !== undefined) {
      const waitMs = last === undefined ? this.o.timeoutMs + this.o.graceMs : this.o.graceMs;
      const fresh = await within(probe, waitMs);
      if (fresh !== TIMED_OUT) return { result: fresh, probing: false };
    }
    // Only reachable with a previous result (the first probe always settles within its timeout).
    return {
      result: this.last ?? (await (probe as Promise<ReadinessResult>)),
      probing: this.probe !== undefined,
    };
  }

  private async run(): Promise<ReadinessResult> {
    const [accounts, media, platform] = await Promise.all([
      Promise.all(this.accounts.map((wx) => this.check(wx))),
      this.media(),
      this.checkPlatform(),
    ]);
    const result: ReadinessResult = {
      at: Date.now(),
      accounts,
      ...(media ? { media } : {}),
      ...(platform ? { platform } : {}),
    };
    this.last = result;
    return result;
  }

  /** The media store's `ping()` bounded by the timeout; a ping still hanging is not repeated. */
  private async media(): Promise<MediaReadiness | undefined> {
    const opening = this.mediaStore();
    if (opening === undefined) return undefined;
    const store = await within(opening, this.o.timeoutMs).catch(() => undefined);
    if (store === undefined || store === TIMED_OUT) {
      return {
        reachable: false,
        store: 'media',
        error: { code: 'store_unavailable', message: 'The media store could not be opened' },
      };
    }
    const out: MediaReadiness = { reachable: false, store: store.description };
    if (!store.ping) {
      out.reachable = true;
      return out;
    }
    if (this.stuck.has(store)) {
      out.error = { code: 'store_unavailable', message: 'The media store has not answered its last check' };
      return out;
    }
    this.stuck.add(store);
    const call = store.ping().then(
      () => undefined,
      (e: unknown) => e ?? new Error('unknown'),
    );
    void call.finally(() => this.stuck.delete(store));
    const r = await within(call, this.o.timeoutMs);
    if (r === undefined) out.reachable = true;
    else if (r === TIMED_OUT) {
      out.error = {
        code: 'store_unavailable',
        message: 'The media store did not answer within the readiness timeout',
      };
    } else {
      const d = describe(r);
      out.error = { code: d.code, message: d.message };
    }
    return out;
  }

  private async check(wx: Account): Promise<AccountReadiness> {
    const out: AccountReadiness = {
      appId: wx.appId,
      storeReachable: false,
      credentials: false,
      apiBase: wx.apiBase,
      tokenMode: 'tokenMode' in wx ? String(wx.tokenMode) : 'gettoken',
    };
    if (isWecom(wx)) out.agentId = wx.agentId;
    const [ticket, status] = await Promise.all([
      wx.ticketInfo('jsapi', { signal: AbortSignal.timeout(this.o.timeoutMs) }).then(
        () => undefined,
        (e: unknown) => e ?? new Error('unknown'),
      ),
      this.status(wx),
    ]);
    if (ticket === undefined) out.credentials = true;
    else out.error = describe(ticket);
    if (status !== undefined) {
      out.storeReachable = status.storeReachable;
      out.store = status.store;
    }
    const breaker = wx.breaker?.();
    if (breaker) out.breaker = breaker;
    return out;
  }

  /** The platform's status (store reads only, no upstream call) bounded by the timeout. */
  private async checkPlatform(): Promise<PlatformReadiness | undefined> {
    const p = this.platform();
    if (p === undefined) return undefined;
    const unreachable = (message: string): PlatformReadiness => ({
      componentAppId: p.componentAppId,
      ready: false,
      verifyTicket: { health: 'missing' },
      componentToken: { cached: false },
      authorizers: 0,
      revoked: 0,
      error: { code: 'store_unavailable', message },
    });
    if (this.stuck.has(p)) return unreachable('The platform’s store has not answered its last check');
    this.stuck.add(p);
    const call = p.status().then(
      (s) => s,
      () => undefined,
    );
    void call.finally(() => this.stuck.delete(p));
    const s = await within(call, this.o.timeoutMs);
    if (s === TIMED_OUT || s === undefined) return unreachable('The platform’s store did not answer');
    const t = s.verifyTicket;
    const expired = t.health === 'expired';
    return {
      componentAppId: s.componentAppId,
      ready: !expired,
      verifyTicket: {
        health: t.health,
        ...(t.ageMs === undefined ? {} : { ageSeconds: Math.floor(t.ageMs / 1000) }),
      },
      componentToken: { cached: s.componentToken.cached },
      authorizers: s.authorizers,
      revoked: s.revoked,
      ...(expired
        ? {
            error: {
              code: 'verify_ticket_expired',
              message: TICKET_EXPIRED_CAUSE.en,
              zh: TICKET_EXPIRED_CAUSE.zh,
            },
          }
        : s.warning
          ? { warning: s.warning }
          : {}),
    };
  }

  /** `wx.status()` bounded by the timeout; a call still hanging from an earlier probe is not repeated. */
  private async status(wx: Account): Promise<{ storeReachable: boolean; store: string } | undefined> {
    if (this.stuck.has(wx)) return undefined;
    this.stuck.add(wx);
    const call = wx.status().then(
      (s) => ({ storeReachable: s.storeReachable, store: s.store }),
      () => undefined,
    );
    void call.finally(() => this.stuck.delete(wx));
    const r = await within(call, this.o.timeoutMs);
    return r === TIMED_OUT ? undefined : r;
  }
}

function describe(e: unknown): NonNullable<AccountReadiness['error']> {
  const err = e as { code?: unknown; errcode?: unknown; errmsg?: unknown; message?: unknown };
  const out: NonNullable<AccountReadiness['error']> = {
    code: typeof err.code === 'string' ? err.code : 'internal',
    message: String(err.message ?? e),
  };
  if (out.code === 'aborted') {
    out.code = 'upstream_unavailable';
    out.message = 'The credentials were not obtained within the readiness timeout';
  }
  if (typeof err.errcode === 'number') out.errcode = err.errcode;
  if (typeof err.errmsg === 'string' && err.errmsg !== '') out.errmsg = err.errmsg;
  return out;
}

/** `p`'s value, or {@link TIMED_OUT} after `ms` (the timer never keeps the process alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
