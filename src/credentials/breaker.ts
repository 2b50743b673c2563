import { ErrorCodes, WxkitError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { BreakerState, BreakerStatus } from '../types.ts';

/**
 * A circuit breaker for one account's calls to one upstream host. A black-holed WeChat otherwise holds
 * every caller for a whole timeout, and each new attempt makes new callers wait again: after a timeout
 * (or a connection failure that survived its retry) the breaker opens and new attempts are refused at
 * once with a `Retry-After`; once that time has passed one attempt goes through as a probe (half-open)
 * while others are still refused; any HTTP answer closes it. Open periods double per failed probe.
 */
export interface BreakerOptions {
  appId: string;
  /** The upstream origin, e.g. `https://api.weixin.qq.com`. */
  upstream: string;
  now: () => number;
  /** Where its state is a gauge; none for accounts that share one `appid` label. */
  metrics?: Metrics | undefined;
  /** First open period. */
  openMs: number;
  /** Longest open period. */
  capMs: number;
  /** How long one attempt may take (the fetch timeout): the `Retry-After` while a probe is out. */
  attemptMs: number;
}

const GAUGE = 'wxkit_upstream_breaker_state';
const GAUGE_HELP = 'Circuit breaker per account and upstream host: 0 closed, 1 half-open, 2 open.';
const GAUGE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Errors that opened a breaker (a timeout, a connection failure): shared so other processes hold off too. */
const tripping = new WeakMap<object, { until: number; upstream: string }>();
/** Errors a breaker raised without asking upstream: they say nothing new about the upstream. */
const refusals = new WeakSet<object>();

/** For an error that opened a breaker (the upstream did not answer): until when, and which upstream. */
export function unreachableUntil(e: unknown): { until: number; upstream: string } | undefined {
  return typeof e === 'object' && e !== null ? tripping.get(e) : undefined;
}

/** True for a breaker's fast refusal (no upstream call was made). */
export function isRefusal(e: unknown): boolean {
  return typeof e === 'object' && e !== null && refusals.has(e);
}

export class Breaker {
  private current: BreakerState = 'closed';
  private since: number;
  private retryAt = 0;
  private trips = 0;
  private readonly labels: { appid: string; host: string };

  constructor(private readonly o: BreakerOptions) {
    this.since = o.now();
    this.labels = { appid: o.appId, host: hostOf(o.upstream) };
    o.metrics?.set(GAUGE, this.labels, 0, GAUGE_HELP);
  }

  /** Lets one attempt go (the probe, when half-open is due) or throws a fast `upstream_unavailable`. */
  admit(): void {
    if (this.current === 'closed') return;
    const now = this.o.now();
    if (this.current === 'open' && now >= this.retryAt) {
      this.enter('half-open', now);
      return;
    }
    throw this.refusal(now);
  }

  /**
   * What a caller with nothing to serve gets instead of queueing behind an attempt: a refusal while
   * open, or while a probe is out; `undefined` when closed or when a probe is due (that caller may be it).
   * With `behindOthers`, a due probe that someone else (another process holding the lock) is making
   * refuses too.
   */
  refuse(behindOthers = false): WxkitError | undefined {
    if (this.current === 'closed') return undefined;
    const now = this.o.now();
    if (this.current === 'open' && now >= this.retryAt && !behindOthers) return undefined;
    return this.refusal(now);
  }

  /** The upstream answered (with anything: an errcode is an answer). */
  succeeded(): void {
    this.trips = 0;
    if (this.current !== 'closed') this.enter('closed', this.o.now());
  }

  /** An attempt timed out or could not connect; marks `error` as one other processes should honour. */
  failed(error: WxkitError): void {
    const now = this.o.now();
    this.trips++;
    const period = Math.min(this.o.capMs, this.o.openMs * 2 ** Math.min(this.trips - 1, 20));
    this.retryAt = Math.max(this.retryAt, now + period);
    if (this.current !== 'open') this.enter('open', now);
    tripping.set(error, { until: this.retryAt, upstream: this.o.upstream });
  }

  /** An admitted attempt ended without a verdict (it will be retried): a probe is due again. */
  released(): void {
    if (this.current === 'half-open') {
      this.retryAt = this.o.now();
      this.enter('open', this.retryAt);
    }
  }

  /** Another process found the upstream unreachable until `until` (read from the store). */
  learn(until: number): void {
    const now = this.o.now();
    if (until <= now || (this.current !== 'closed' && this.retryAt >= until)) return;
    this.retryAt = until;
    this.trips = Math.max(this.trips, 1);
    if (this.current !== 'open') this.enter('open', now);
  }

  /** The upstream origin this breaker guards. */
  get upstream(): string {
    return this.o.upstream;
  }

  status(): BreakerStatus {
    return {
      upstream: this.o.upstream,
      state: this.current,
      since: this.since,
      ...(this.current === 'open' ? { retryAt: this.retryAt } : {}),
    };
  }

  private enter(state: BreakerState, now: number): void {
    this.current = state;
    this.since = now;
    this.o.metrics?.set(GAUGE, this.labels, GAUGE_VALUE[state], GAUGE_HELP);
  }

  private refusal(now: number): WxkitError {
    const host = this.labels.host;
    const probing = this.current === 'half-open' || now >= this.retryAt;
    const waitMs = probing ? this.o.attemptMs : this.retryAt - now;
    const e = new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      probing
        ? `${host} did not answer recently; one probe is under way, not queueing behind it`
        : `${host} did not answer recently; not asking again for ${Math.ceil(waitMs / 1000)} s`,
      {
        retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
        hint: {
          en: 'WeChat (or WX_API_BASE) timed out or refused connections; wxkit fails fast and probes it again shortly.',
          zh: '微信接口（或 WX_API_BASE）超时或拒绝连接；wxkit 暂时快速失败，并会稍后再次探测。',
        },
      },
    );
    refusals.add(e);
    return e;
  }
}

/** Picks the state to show for an account: the worst of its breakers. */
export function worstOf(statuses: readonly BreakerStatus[]): BreakerStatus | undefined {
  const rank = (s: BreakerStatus) => GAUGE_VALUE[s.state];
  let worst: BreakerStatus | undefined;
  for (const s of statuses) if (!worst || rank(s) > rank(worst)) worst = s;
  return worst;
}

function hostOf(upstream: string): string {
  try {
    return new URL(upstream).host;
  } catch {
    return 'upstream';
  }
}
