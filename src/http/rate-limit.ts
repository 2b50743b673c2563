/** Token-bucket limits per client address. */
export interface RateLimitOptions {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Bucket size: requests a client may send at once. @default 2 × perSecond */
  burst?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_CLIENTS = 50_000;

/** A token bucket per key; no timers (buckets refill lazily from `now()`), bounded memory. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;

  constructor(
    options: RateLimitOptions,
    private readonly now: () => number,
  ) {
    this.rate = options.perSecond / 1000;
    this.burst = options.burst ?? Math.max(1, options.perSecond * 2);
  }

  /** 0 when allowed (`cost` tokens are taken), else seconds until enough are available. */
  take(key: string, cost = 1): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_CLIENTS) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
      b.at = now;
    }
    const need = Math.min(cost, this.burst);
    if (b.tokens >= need) {
      b.tokens -= need;
      return 0;
    }
    return Math.ceil((need - b.tokens) / this.rate / 1000);
  }

  /**
   * Takes `cost` tokens whatever the bucket holds (it may go into debt, down to `-burst`): for costs
   * known only after the fact, such as a request that turned out to be wasted.
   */
  charge(key: string, cost: number): void {
    this.take(key, 0);
    const b = this.buckets.get(key) as Bucket;
    b.tokens = Math.max(-this.burst, b.tokens - cost);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.rate >= this.burst) this.buckets.delete(k);
    }
    // Everyone is active: forget the oldest rather than grow without bound.
    if (this.buckets.size >= MAX_CLIENTS) {
      let n = this.buckets.size - MAX_CLIENTS / 2;
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
