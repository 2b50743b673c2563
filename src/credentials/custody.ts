import type { ErrcodePlatform } from '../errcodes.ts';
import { ErrorCodes, type Hint, WxkitError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../stores/types.ts';
import { type Breaker, isRefusal, unreachableUntil } from './breaker.ts';
import { type Fetched, failureKind } from './upstream.ts';

/**
 * What is kept in the store for one credential (JSON). Its times are in the writer's clock; a reader
 * moves them into its own by the key's remaining TTL (see {@link localRecord}).
 */
export interface CredentialRecord {
  value: string;
  /** ms since the epoch, wxkit's clock. */
  expiresAt: number;
  fetchedAt: number;
  source: string;
  /** Set when the upstream handed back the value we already had: asking again before it expires is useless. */
  sameUntil?: number;
  /** The value this one replaced (for diagnosing signatures made with a stale ticket). */
  previous?: string;
}

/** A remembered failure (negative cache / backoff), shared through the store. */
interface FailureRecord {
  code: string;
  message: string;
  /** The Chinese message and the hint: a remembered failure says what the first one said. */
  zh?: string;
  hint?: Hint;
  errcode?: number;
  errmsg?: string;
  /** Whose errcode (absent: WeChat's). */
  platform?: ErrcodePlatform;
  status: number;
  /** Do not ask upstream again before this time (ms, the writer's clock: only for the writer itself). */
  until: number;
  /** How long that was when written (ms): what other processes go by, whatever their clocks say. */
  waitMs?: number;
  failures: number;
  /** Set when the upstream (this origin) did not answer: other processes open their breaker until `until`. */
  unreachable?: string;
}

/** Tunables, all in milliseconds. */
export interface CustodyTiming {
  /** Refresh in the background once this little lifetime is left. */
  refreshAheadMs: number;
  /** A credential with less lifetime than this is not handed out (a fresh fetch is made). */
  expirySkewMs: number;
  /**
   * Lease of the store lock held while fetching. The holder renews it every third of the lease while it
   * is alive, so a holder that crashed is noticed within one lease, however long the fetch takes.
   */
  lockLeaseMs: number;
  /**
   * A caller waiting for another process's fetch gives up after this long even though the holder is
   * alive. Not needed: a live holder lets go within `lockHoldMaxMs`, a dead one within one lease.
   */
  lockWaitMs: number;
  /** A holder stops renewing its lease after this long (a wedged fetch then frees the lock within one lease). */
  lockHoldMaxMs: number;
  /** First open period of the upstream circuit breaker (doubling per failed probe up to `backoffCapMs`). */
  breakerOpenMs: number;
  /** How often a process re-reads the store behind its memory copy (to notice another process's refresh). */
  recheckMs: number;
  /** Config errors and quota (45009) are remembered this long. */
  negativeCacheMs: number;
  /** Transient failures back off from this… */
  backoffBaseMs: number;
  /** …doubling up to this. */
  backoffCapMs: number;
  /** While the store is unreachable, probe it at most this often (real time). */
  storeProbeMs: number;
  /**
   * Re-read the store this often when it cannot tell processes of a change (no `subscribe`, as the
   * file store): a ticket healed by another process is then picked up within about this long.
   */
  pollMs: number;
  /** No credential lives longer (WeChat's and WeCom's 7200 s): an expiry read or fetched is capped there. */
  maxLifetimeMs: number;
}

export const DEFAULT_TIMING: CustodyTiming = {
  // stable_token rotates when 300 s are left; below that both modes get a genuinely new value.
  refreshAheadMs: 290_000,
  expirySkewMs: 30_000,
  // Short, and renewed: a crashed holder is noticed in 3 s (the survivors then fetch token and ticket).
  lockLeaseMs: 3_000,
  lockWaitMs: Number.POSITIVE_INFINITY,
  lockHoldMaxMs: 60_000,
  breakerOpenMs: 5_000,
  recheckMs: 30_000,
  negativeCacheMs: 30_000,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  storeProbeMs: 1_000,
  pollMs: 1_000,
  maxLifetimeMs: 7_200_000,
};

/** Shared by the credentials of one account: the store (and whether it answers), clock, metrics. */
export class StoreLink {
  reachable = true;
  /** Set by {@link StoreLink.close}: a call still in flight then must not fall back to fetching upstream. */
  closed = false;
  /** True once the store tells this process of changes (pub/sub): periodic re-reads can then be rare. */
  pushes = false;
  private store: Store | undefined;
  private readonly watchers = new Map<string, () => void>();
  private unsubscribe: (() => void) | undefined;
  private opening: Promise<Store> | undefined;
  private nextProbe = 0;
  private openError: unknown;

  constructor(
    private readonly open: () => Promise<Store>,
    private readonly probeMs: number,
    private readonly onChange: (reachable: boolean, error?: unknown) => void,
  ) {}

  /** The store, or `undefined` while it is unreachable (then callers coordinate in-process only). */
  async get(): Promise<Store | undefined> {
    if (this.openError) throw this.openError;
    if (!this.store) {
      this.opening ??= this.open().then(
        (s) => {
          this.store = s;
          this.listen(s);
          return s;
        },
        (e) => {
          if (e instanceof WxkitError && e.code === ErrorCodes.CONFIG_ERROR) this.openError = e;
          this.opening = undefined;
          throw e;
        },
      );
      try {
        await this.opening;
      } catch (e) {
        if (this.openError) throw e;
        this.fail(e);
        return undefined;
      }
    }
    if (this.reachable) return this.store;
    if (Date.now() < this.nextProbe) return undefined;
    this.nextProbe = Date.now() + this.probeMs;
    try {
      await this.store?.ping();
      this.reachable = true;
      this.onChange(true);
      return this.store;
    } catch {
      return undefined;
    }
  }

  /** Runs a store operation; a failure marks the store unreachable and yields `undefined`. */
  async run<T>(op: (store: Store) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const store = await this.get();
    if (!store) return { ok: false };
    try {
      return { ok: true, value: await op(store) };
    } catch (e) {
      this.fail(e);
      return { ok: false };
    }
  }

  /** Pings the store now (status, readiness). */
  async probe(): Promise<boolean> {
    this.nextProbe = 0;
    const store = await this.get().catch(() => undefined);
    if (!store) return false;
    try {
      await store.ping();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** Starts opening the store now (loading ioredis and connecting take a moment); errors surface on use. */
  warm(): void {
    this.get().catch(() => {});
  }

  /** Calls `onChange` when a process sharing the store (this one too) announces that `key` changed. */
  watch(key: string, onChange: () => void): void {
    this.watchers.set(key, onChange);
  }

  /** Stops calling `onChange` for `key` (unless another watcher took the key over since). */
  unwatch(key: string, onChange: () => void): void {
    if (this.watchers.get(key) === onChange) this.watchers.delete(key);
  }

  /**
   * Ends this link's subscription without closing the store (someone else's object): an account
   * closed while the store lives on must not stay reachable from the store's listeners.
   */
  release(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Announces that `key` changed, to every process sharing the store (best effort, not awaited). */
  publish(key: string): void {
    const s = this.store;
    if (this.reachable && s?.publish) s.publish(key).catch(() => {});
  }

  /** Closes the store, also one still opening. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    const store = this.store ?? (await this.opening?.catch(() => undefined));
    await store?.close();
  }

  private listen(s: Store): void {
    s.subscribe?.((key) => this.watchers.get(key)?.()).then(
      (stop) => {
        if (this.closed) return stop();
        this.unsubscribe = stop;
        this.pushes = true;
      },
      () => {}, // no push: processes re-read every `pollMs` instead
    );
  }

  opened(): Store | undefined {
    return this.store;
  }

  private fail(e: unknown): void {
    this.nextProbe = Date.now() + this.probeMs;
    if (this.reachable) {
      this.reachable = false;
      this.onChange(false, e);
    }
  }
}

export interface CustodyDeps {
  appId: string;
  /** The `appid` label of its metrics. @default appId */
  metricsId?: string | undefined;
  /** `access_token`, `jsapi_ticket`, `wx_card_ticket`. */
  kind: string;
  link: StoreLink;
  now: () => number;
  metrics: Metrics;
  timing: CustodyTiming;
  /** Asks upstream once; throws a WxkitError on failure. */
  fetch: (previous: CredentialRecord | undefined) => Promise<Fetched>;
  /** The circuit breaker of the upstream `fetch` asks: callers with nothing to serve never queue behind a probe. */
  breaker?: Breaker | undefined;
  onError?: (e: WxkitError | undefined) => void;
}

/**
 * Custody of one credential of one account: memory copy, single-flight in the process, a lock in the
 * store across processes with a re-check after taking it, refresh-ahead in the background, a negative
 * cache and exponential backoff shared through the store.
 */
export class Custody {
  readonly key: string;
  /** This credential's metric labels (the cache-hit counter is on the signing hot path). */
  private readonly labels: { appid: string; credential: string };
  private mem: CredentialRecord | undefined;
  private memCheckedAt = 0;
  private failure: FailureRecord | undefined;
  /** The failure is also in the store (written or read there): it ends when its key does. */
  private failureShared = false;
  /** A change was announced while a re-read was out: read once more when it ends. */
  private noticed = false;
  private inflight: Promise<CredentialRecord> | undefined;
  private nextAheadAt = 0;
  private rechecking = false;
  /** Bumped whenever the memory copy changes, so a slow background read never overwrites a newer state. */
  private generation = 0;
  /** Values this process invalidated: never adopted again from the store (only from upstream). */
  private readonly dead: string[] = [];
  /** Earlier values seen by this process, newest first (for diagnosis). */
  readonly history: string[] = [];

  /** Callers waiting for another process's fetch: woken when the store announces the new value. */
  private waiters: Array<() => void> = [];
  private readonly onAnnounced = () => {
    this.recheck(true);
    for (const wake of this.waiters.splice(0)) wake();
  };

  constructor(private readonly d: CustodyDeps) {
    this.key = `wxkit:${d.appId}:${d.kind}`;
    this.labels = { appid: d.metricsId ?? d.appId, credential: d.kind };
    d.link.watch(this.key, this.onAnnounced);
  }

  /** Stops listening for changes announced through the store (the account is closed). */
  detach(): void {
    this.d.link.unwatch(this.key, this.onAnnounced);
  }

  /** The current credential; waits only when no usable one is held. */
  async get(): Promise<CredentialRecord> {
    const now = this.d.now();
    const m = this.mem;
    if (m && this.usable(m, now)) {
      this.d.metrics.inc('wxkit_cache_hits_total', this.labels, 1, HELP.hits);
      if (this.needsRefresh(m, now)) {
        if (now >= this.nextAheadAt && !this.inflight) {
          this.nextAheadAt = now + 5_000;
          this.flight(true).catch(() => {});
        }
      } else if (now - this.memCheckedAt >= this.recheckEvery()) {
        this.recheck(false);
      }
      return m;
    }
    // A flight is out while the upstream is failing (a probe): answer now rather than queue behind it.
    const refused = this.inflight && this.d.breaker?.refuse();
    if (refused) throw refused;
    const r = await this.flight(false);
    if (this.usable(r, this.d.now())) return r;
    // We joined a flight that started before the clock passed this value's end: one more, never a loop.
    return this.flight(false);
  }

  /** The cached record without fetching (memory, else store). */
  async peek(): Promise<CredentialRecord | undefined> {
    const r = await this.d.link.run((s) => readEntry(s, this.key));
    // The store's copy, else this process's (e.g. a Redis that restarted empty while we keep serving).
    return (r.ok ? this.local(r.value) : undefined) ?? this.mem;
  }

  /**
   * A page signed with `expected` failed, and another process re-checked the ticket moments ago (the
   * re-check is rate-limited): if the store now holds another ticket, hold it too, without asking
   * upstream. True when this process now holds another value than `expected`.
   */
  async adoptShared(expected: string): Promise<boolean> {
    const r = await this.d.link.run((s) => readEntry(s, this.key));
    const rec = r.ok ? this.local(r.value) : undefined;
    if (rec && rec.value !== expected && !this.dead.includes(rec.value) && this.usable(rec, this.d.now())) {
      if (!this.dead.includes(expected)) this.dead.unshift(expected);
      this.dead.length = Math.min(this.dead.length, 4);
      this.adopt(rec);
    }
    return this.mem !== undefined && this.mem.value !== expected;
  }

  /**
   * `value` was refused but is too young to drop (the engine's throttle): if the store no longer holds
   * it — another caller or instance dropped or replaced it, as an authorizer's re-authorization does —
   * this process forgets its copy too. The next `get()` takes the store's token or joins its one fetch,
   * so this costs no upstream call. True when this process no longer holds `value`.
   */
  async forgetIfReplaced(value: string): Promise<boolean> {
    if (this.mem?.value !== value) return true;
    const r = await this.d.link.run((s) => readEntry(s, this.key));
    if (!r.ok || this.local(r.value)?.value === value) return false;
    if (!this.dead.includes(value)) {
      this.dead.unshift(value);
      this.dead.length = Math.min(this.dead.length, 4);
    }
    this.remember(value);
    this.mem = undefined;
    this.generation++;
    return true;
  }

  /** The last failure, if it still blocks upstream calls. */
  activeFailure(): WxkitError | undefined {
    return this.failure && this.failure.until > this.d.now()
      ? toError(this.failure, this.d.now())
      : undefined;
  }

  /**
   * Compare-and-invalidate: drops `value` from memory and from the store only if it is still the
   * current one. True when the store (or, while it is down, memory) held it.
   */
  async invalidate(value: string, fetchedBy?: number): Promise<boolean> {
    let dropped = false;
    // With `fetchedBy`: the refused record, not just its value — stable_token hands the same value out
    // again, and a copy fetched after the refusal (1 s of clock tolerance) must not be dropped with it.
    const same = (r: CredentialRecord | undefined): r is CredentialRecord =>
      r?.value === value && (fetchedBy === undefined || r.fetchedAt <= fetchedBy + 1_000);
    if (fetchedBy !== undefined && this.mem?.value === value && !same(this.mem)) return false;
    if (!this.dead.includes(value)) {
      this.dead.unshift(value);
      this.dead.length = Math.min(this.dead.length, 4);
    }
    if (this.mem?.value === value) {
      this.remember(this.mem.value);
      this.mem = undefined;
      this.generation++;
      dropped = true;
    }
    const r = await this.d.link.run(async (s) => {
      const entry = await readEntry(s, this.key);
      if (!entry || !same(this.local(entry))) return false;
      return s.compareAndDelete(this.key, entry.raw);
    });
    return r.ok ? r.value : dropped;
  }

  /**
   * After the store comes back (Redis restarted empty): puts this process's valid copy into the store if
   * it holds none, under the lock, so processes converge on one value again.
   */
  async resync(): Promise<void> {
    const m = this.mem;
    if (!m || !this.usable(m, this.d.now())) return;
    const lockKey = `${this.key}:lock`;
    await this.d.link.run(async (s) => {
      const owner = await s.tryLock(lockKey, this.d.timing.lockLeaseMs);
      if (owner === undefined) return;
      try {
        if ((await s.get(this.key)) === undefined) {
          await s.set(this.key, JSON.stringify(m), Math.max(1_000, m.expiresAt - this.d.now()));
        }
      } finally {
        await s.unlock(lockKey, owner);
      }
    });
  }

  /** Resolves when no fetch is in flight (it may hold the store lock), or after `maxMs`. */
  async settle(maxMs: number): Promise<void> {
    if (!this.inflight) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.inflight.catch(() => {}),
      new Promise((r) => {
        timer = setTimeout(r, maxMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Drops whatever is cached (memory and store) and any remembered failure. */
  async clear(): Promise<void> {
    if (this.mem) this.remember(this.mem.value);
    this.mem = undefined;
    this.generation++;
    this.failure = undefined;
    this.failureShared = false;
    await this.d.link.run(async (s) => {
      await s.delete(this.key);
      await s.delete(`${this.key}:error`);
    });
  }

  private usable(r: CredentialRecord, now: number): boolean {
    const left = r.expiresAt - now;
    // A value upstream re-issued unchanged is used nearly to its end (asking again returns it again),
    // but never in its last seconds: clocks differ a little between us and WeChat.
    return left > this.d.timing.expirySkewMs || (r.sameUntil !== undefined && left > 2_000);
  }

  private needsRefresh(r: CredentialRecord, now: number): boolean {
    return r.sameUntil === undefined && r.expiresAt - now <= this.d.timing.refreshAheadMs;
  }

  private flight(ahead: boolean): Promise<CredentialRecord> {
    if (!this.inflight) {
      this.inflight = this.obtain(ahead).finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** How often the store is re-read behind the memory copy: rarely when it announces changes itself. */
  private recheckEvery(): number {
    const t = this.d.timing;
    return this.d.link.pushes ? t.recheckMs : Math.min(t.recheckMs, t.pollMs);
  }

  /**
   * Re-reads the store in the background and adopts a newer value found there. `announced`: another
   * process said it wrote this key (a healed or rotated ticket): its value is the current one even if
   * it ends sooner than ours.
   */
  private recheck(announced: boolean): void {
    if (this.rechecking) {
      if (announced) this.noticed = true;
      return;
    }
    this.rechecking = true;
    this.memCheckedAt = this.d.now();
    const generation = this.generation;
    this.d.link
      .run((s) => readEntry(s, this.key))
      .then((r) => {
        const rec = r.ok ? this.local(r.value) : undefined;
        if (
          rec &&
          generation === this.generation &&
          !this.inflight &&
          rec.value !== this.mem?.value &&
          !this.dead.includes(rec.value) &&
          (announced || rec.expiresAt >= (this.mem?.expiresAt ?? 0)) &&
          this.usable(rec, this.d.now())
        ) {
          this.adopt(rec);
        }
      })
      .finally(() => {
        this.rechecking = false;
        if (this.noticed) {
          this.noticed = false;
          this.recheck(true);
        }
      });
  }

  /** A stored record in this process's clock (see {@link localRecord}). */
  private local(entry: StoredEntry | undefined): CredentialRecord | undefined {
    return entry && localRecord(entry.raw, entry.ttlMs, this.d.now(), this.d.timing.maxLifetimeMs);
  }

  private async obtain(ahead: boolean): Promise<CredentialRecord> {
    const good = (r: CredentialRecord | undefined): r is CredentialRecord => {
      if (!r || this.dead.includes(r.value)) return false;
      const now = this.d.now();
      return ahead ? this.usable(r, now) && !this.needsRefresh(r, now) : this.usable(r, now);
    };
    const first = await this.readShared();
    if (first === 'unreachable') return this.fetchAndSave(false);
    if (good(first.rec)) return this.adopt(first.rec);
    this.throwIfFailing();

    const owner = await this.acquire(good);
    if (typeof owner !== 'string') return owner.rec ? this.adopt(owner.rec) : this.fetchAndSave(false);
    const stopBeating = this.heartbeat(`${this.key}:lock`, owner);
    try {
      const again = await this.readShared();
      if (again !== 'unreachable') {
        if (good(again.rec)) return this.adopt(again.rec);
        this.throwIfFailing();
      }
      return await this.fetchAndSave(again !== 'unreachable');
    } finally {
      stopBeating();
      await this.d.link.run((s) => s.unlock(`${this.key}:lock`, owner));
    }
  }

  /**
   * Renews the store lock every third of the lease while this process fetches (compare-and-extend), for
   * at most `lockHoldMaxMs`. Others keep waiting exactly as long as this process is alive and fetching.
   */
  private heartbeat(lockKey: string, owner: string): () => void {
    const { lockLeaseMs, lockHoldMaxMs } = this.d.timing;
    const stopAt = Date.now() + lockHoldMaxMs;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      timer = setTimeout(beat, Math.max(20, Math.floor(lockLeaseMs / 3)));
      timer.unref();
    };
    const beat = async () => {
      if (stopped || Date.now() >= stopAt) return;
      const r = await this.d.link.run(async (s) =>
        typeof s.renew === 'function' ? s.renew(lockKey, owner, lockLeaseMs) : false,
      );
      // Renewal refused: the lease ended during a stall and the lock may be someone else's now (the
      // fetch goes on; fetchAndSave keeps a newer value it finds). A store blip: keep trying.
      if (!stopped && (!r.ok || r.value)) next();
    };
    next();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** Reads the record and the failure record; `unreachable` when the store does not answer. */
  private async readShared(): Promise<{ rec: CredentialRecord | undefined } | 'unreachable'> {
    const r = await this.d.link.run(
      async (s) => [await readEntry(s, this.key), await readEntry(s, `${this.key}:error`)] as const,
    );
    if (!r.ok) {
      this.throwIfFailing();
      return 'unreachable';
    }
    const [entry, errEntry] = r.value;
    const now = this.d.now();
    const failure = errEntry && localFailure(errEntry.raw, errEntry.ttlMs, now);
    if (failure && failure.until > now) {
      this.failure = failure;
      this.failureShared = true;
      if (failure.unreachable && failure.unreachable === this.d.breaker?.upstream) {
        this.d.breaker.learn(failure.until);
      }
    } else if (!errEntry && this.failureShared) {
      // Its key is gone: the failure is over everywhere, whatever this process's clock says.
      this.failure = undefined;
      this.failureShared = false;
    }
    this.memCheckedAt = now;
    return { rec: this.local(entry) };
  }

  /** Takes the store lock; returns the owner, or a record another process stored while we waited. */
  private async acquire(
    good: (r: CredentialRecord | undefined) => r is CredentialRecord,
  ): Promise<string | { rec: CredentialRecord | undefined }> {
    const lockKey = `${this.key}:lock`;
    // No fixed limit by default: the lock stays held only while its holder is alive and renewing.
    const deadline = Date.now() + this.d.timing.lockWaitMs;
    let waited = false;
    for (let attempt = 0; ; attempt++) {
      const r = await this.d.link.run((s) => s.tryLock(lockKey, leaseFor(s, this.d.timing)));
      if (!r.ok) return { rec: undefined }; // store went away: coordinate in-process only
      if (r.value !== undefined) return r.value;
      if (!waited) {
        waited = true;
        this.d.metrics.inc('wxkit_lock_waits_total', this.labels, 1, HELP.waits);
      }
      // Our breaker is open, or its probe is due and someone else is making it: do not queue behind it.
      const refused = this.d.breaker?.refuse(true);
      if (refused) throw refused;
      if (Date.now() > deadline) {
        throw new WxkitError(
          ErrorCodes.UPSTREAM_UNAVAILABLE,
          `Another process has been fetching the ${this.d.kind} for too long`,
          { retryAfter: 1 },
        );
      }
      await this.pause(attempt);
      const seen = await this.readShared();
      if (seen === 'unreachable') return { rec: undefined };
      if (good(seen.rec)) return { rec: seen.rec };
      this.throwIfFailing();
    }
  }

  /**
   * Waits before looking at the lock again. When the store announces changes, the holder's result
   * wakes us and the polls only back it up (up to a third of the lease apart); without announcements,
   * at most 150 ms apart. Polling every 150 ms from every waiting account of every process was the
   * flood that, in a 20,000-call burst, queued the holders' lease renewals behind it until leases ran
   * out and a second process fetched the same token.
   */
  private pause(attempt: number): Promise<void> {
    const ms = this.d.link.pushes
      ? Math.min(100 * 2 ** Math.min(attempt, 10), Math.max(150, this.d.timing.lockLeaseMs / 3))
      : Math.min(15 * 1.5 ** Math.min(attempt, 6), 150);
    return new Promise((resolve) => {
      const woken = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          const at = this.waiters.indexOf(woken);
          if (at !== -1) this.waiters.splice(at, 1);
          resolve();
        },
        ms * (0.5 + Math.random()),
      );
      this.waiters.push(woken);
    });
  }

  private async fetchAndSave(shared: boolean): Promise<CredentialRecord> {
    // After close() the store fails like an outage would; fetching on our own then (a classic token
    // replacing everyone else's) is exactly what the store was coordinating away.
    if (this.d.link.closed) throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'This wxkit was closed');
    const now0 = this.d.now();
    const previous = this.mem;
    let fetched: Fetched;
    try {
      fetched = await this.d.fetch(previous);
    } catch (e) {
      const err =
        e instanceof WxkitError
          ? e
          : new WxkitError(ErrorCodes.INTERNAL, 'Obtaining a credential failed unexpectedly', { cause: e });
      if (isRefusal(err) || err.code === ErrorCodes.STORE_UNAVAILABLE) {
        // The breaker answered without asking upstream, or the store did not answer a read the fetch
        // needed (a refresh token, the verify ticket): nothing is known about the upstream, so nothing to
        // remember or back off from. Remembered, a store hiccup refused every call for the negative
        // cache's 30 s without one upstream call — and, for the component token, every account's.
        this.d.onError?.(err);
        throw err;
      }
      // Also a token error: `fetch` already retried once with a fresh token (or it is the token endpoint
      // itself refusing the AppSecret), so asking again at once would only burn quota.
      await this.rememberFailure(err, shared);
      this.d.onError?.(err);
      throw err;
    }
    const now = this.d.now();
    const rec: CredentialRecord = {
      value: fetched.value,
      // A remote wxkit answers its own clock's expiry: never more than a credential can live.
      expiresAt: Math.min(fetched.expiresAt, now0 + this.d.timing.maxLifetimeMs),
      fetchedAt: now0,
      source: fetched.source,
    };
    const old = previous ?? this.mem;
    if (old && old.value === fetched.value) {
      if (rec.expiresAt <= old.expiresAt + 1_000) rec.sameUntil = rec.expiresAt;
      if (old.previous !== undefined) rec.previous = old.previous;
    } else if (old) {
      rec.previous = old.value;
    }
    // Upstream handed it out again (stable mode returns the same token while valid): it is alive.
    const deadAt = this.dead.indexOf(rec.value);
    if (deadAt !== -1) this.dead.splice(deadAt, 1);
    this.d.metrics.inc('wxkit_refresh_total', this.labels, 1, HELP.refresh);
    this.failure = undefined;
    this.failureShared = false;
    this.d.onError?.(undefined);
    const ttl = Math.max(1_000, rec.expiresAt - now);
    const newer = await this.d.link.run(async (s) => {
      // Our lease may have ended during a slow fetch and another process fetched after us: its value is
      // the newer one (a classic token replaces ours), so keep it rather than writing ours over it.
      const theirs = this.local(await readEntry(s, this.key));
      if (
        theirs &&
        theirs.fetchedAt >= now0 &&
        theirs.value !== rec.value &&
        !this.dead.includes(theirs.value)
      ) {
        return theirs;
      }
      await s.set(this.key, JSON.stringify(rec), ttl);
      await s.delete(`${this.key}:error`);
      return undefined;
    });
    // Others re-read now rather than at their next periodic re-read (a healed ticket, a new token).
    if (newer.ok && !newer.value) this.d.link.publish(this.key);
    return this.adopt((newer.ok && newer.value) || rec);
  }

  private async rememberFailure(err: WxkitError, shared: boolean): Promise<void> {
    const now = this.d.now();
    const failures = (this.failure?.failures ?? 0) + 1;
    const kind = failureKind(err);
    const transient = kind === 'transient' || kind === 'token-invalid';
    const t = this.d.timing;
    // The upstream did not answer: hold off (here and, through the store, everywhere) as long as the
    // breaker that opened.
    const unreachable = unreachableUntil(err);
    const delay = unreachable
      ? Math.max(t.backoffBaseMs, unreachable.until - now)
      : transient
        ? Math.min(t.backoffCapMs, t.backoffBaseMs * 2 ** Math.min(failures - 1, 20))
        : kind === 'rate-limited'
          ? // An hourly limit (WeCom's tickets): every attempt counts against it, so wait minutes.
            Math.min(RATE_LIMIT_CAP_MS, t.negativeCacheMs * 2 ** Math.min(failures - 1, 20))
          : t.negativeCacheMs;
    const rec: FailureRecord = {
      code: err.code,
      message: err.message,
      zh: err.messageZh,
      hint: err.hint,
      status: err.status,
      until: now + delay,
      waitMs: delay,
      failures,
      ...(err.errcode === undefined ? {} : { errcode: err.errcode }),
      ...(err.errmsg === undefined ? {} : { errmsg: err.errmsg }),
      ...(err.platform === 'official' ? {} : { platform: err.platform }),
      ...(unreachable ? { unreachable: unreachable.upstream } : {}),
    };
    this.failure = rec;
    this.failureShared = false;
    Object.defineProperty(err, 'retryAfter', { value: Math.max(1, Math.ceil(delay / 1000)) });
    if (shared) {
      const r = await this.d.link.run((s) => s.set(`${this.key}:error`, JSON.stringify(rec), delay));
      this.failureShared = r.ok && this.failure === rec;
      // Processes waiting for this fetch learn the failure now rather than at their next poll.
      if (r.ok) this.d.link.publish(this.key);
    }
  }

  private throwIfFailing(): void {
    const e = this.activeFailure();
    if (e) throw e;
  }

  private adopt(rec: CredentialRecord): CredentialRecord {
    if (this.mem && this.mem.value !== rec.value) this.remember(this.mem.value);
    this.mem = rec;
    this.generation++;
    this.memCheckedAt = this.d.now();
    return rec;
  }

  private remember(value: string): void {
    if (this.history[0] === value) return;
    this.history.unshift(value);
    this.history.length = Math.min(this.history.length, 5);
  }
}

/** Longest wait after repeated hourly-limit refusals. */
const RATE_LIMIT_CAP_MS = 300_000;

const HELP = {
  hits: 'Credential requests served from the process memory copy.',
  waits: 'Times a process waited for another holder of the refresh lock.',
  refresh: 'Credentials obtained from upstream.',
};

function parseRecord(raw: string | undefined): CredentialRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw) as CredentialRecord;
    return typeof r.value === 'string' && typeof r.expiresAt === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** A stored value and, when the store tells, how long its key has left. */
interface StoredEntry {
  raw: string;
  ttlMs?: number | undefined;
}

async function readEntry(s: Store, key: string): Promise<StoredEntry | undefined> {
  if (typeof s.getEntry === 'function') {
    const e = await s.getEntry(key);
    return e && { raw: e.value, ttlMs: e.ttlMs };
  }
  const raw = await s.get(key);
  return raw === undefined ? undefined : { raw };
}

/**
 * A stored record with its times moved into the reader's clock. The writer's absolute times are in
 * its clock, which may be minutes off ours: the key's remaining TTL (counted by the store) says when
 * the credential ends at the latest, and the record's other times move with it. A writer's clock can
 * so only shorten what a reader believes, never lengthen it; without a TTL, the expiry is capped at
 * the longest a credential lives.
 */
export function localRecord(
  raw: string,
  ttlMs: number | undefined,
  now: number,
  maxLifetimeMs: number,
): CredentialRecord | undefined {
  const rec = parseRecord(raw);
  if (!rec) return undefined;
  const expiresAt = Math.min(rec.expiresAt, now + Math.min(ttlMs ?? maxLifetimeMs, maxLifetimeMs));
  const shift = expiresAt - rec.expiresAt;
  if (shift === 0) return rec;
  return {
    ...rec,
    expiresAt,
    fetchedAt: rec.fetchedAt + shift,
    ...(rec.sameUntil === undefined ? {} : { sameUntil: rec.sameUntil + shift }),
  };
}

/** A stored failure, its `until` in the reader's clock: no later than the key's TTL, or the duration written. */
function localFailure(raw: string, ttlMs: number | undefined, now: number): FailureRecord | undefined {
  const f = parseFailure(raw);
  if (!f) return undefined;
  const left = ttlMs ?? f.waitMs;
  return left === undefined ? f : { ...f, until: Math.min(f.until, now + left) };
}

function parseFailure(raw: string | undefined): FailureRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw) as FailureRecord;
    return typeof r.until === 'number' && typeof r.code === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

function toError(f: FailureRecord, now: number): WxkitError {
  const retryAfter = Math.max(1, Math.ceil((f.until - now) / 1000));
  return new WxkitError(f.code as WxkitError['code'], f.message, {
    status: f.status,
    retryAfter,
    ...(f.errcode === undefined ? {} : { errcode: f.errcode }),
    ...(f.errmsg === undefined ? {} : { errmsg: f.errmsg }),
    ...(f.platform === undefined ? {} : { platform: f.platform }),
    ...(typeof f.zh === 'string' ? { zh: f.zh } : {}),
    ...(typeof f.hint?.en === 'string' && typeof f.hint.zh === 'string' ? { hint: f.hint } : {}),
    details: { cachedFailure: true },
  });
}

/** A store without `renew` (one written before it existed) gets a lease long enough for a whole fetch. */
function leaseFor(s: Store, t: CustodyTiming): number {
  return typeof s.renew === 'function' ? t.lockLeaseMs : Math.max(t.lockLeaseMs, t.lockHoldMaxMs);
}
