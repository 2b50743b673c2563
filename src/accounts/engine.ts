import { Breaker, worstOf } from '../credentials/breaker.ts';
import {
  type CredentialRecord,
  Custody,
  type CustodyTiming,
  DEFAULT_TIMING,
  StoreLink,
} from '../credentials/custody.ts';
import { TicketRechecker } from '../credentials/ticket-recheck.ts';
import { type Fetched, failureKind, isTimeout, networkError } from '../credentials/upstream.ts';
import { upstreamLimitOf } from '../credentials/upstream-limit.ts';
import type { KnownTicket } from '../diagnose.ts';
import { isLoopbackHost } from '../domains.ts';
import { actionFor, type ErrcodePlatform } from '../errcodes.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { Metrics } from '../metrics.ts';
import { linkedOAuthStore, type OAuthStore } from '../oauth/store.ts';
import { describeStoreSpec, openStore, parseStoreSpec, type StoreSpec } from '../stores/spec.ts';
import type { Store } from '../stores/types.ts';
import type {
  AccountStatus,
  BreakerStatus,
  CallOptions,
  CredentialStatus,
  CredentialValue,
  DownloadedMedia,
  TicketRecheck,
} from '../types.ts';
import { downloadMedia } from './media.ts';
import type { AccountOptions, WxkitLogger } from './options.ts';

/**
 * The machinery every kind of account shares. A kind (src/accounts/official.ts, wecom.ts) describes its
 * credentials — where each comes from, how it is fetched, whose errcodes it gets — and the engine keeps
 * them: custody per credential (memory copy, store lock, refresh ahead, negative cache and backoff
 * shared through the store), one circuit breaker per upstream host, the counted upstream call, the
 * token rule (compare-and-invalidate, then exactly one retry), `request()`, media download, ticket
 * re-checks, status and close.
 */

/** How one credential is obtained. */
export interface CredentialSource {
  /** Its name in store keys (`wxkit:<id>:<name>`) and in `status()`. */
  name: CredentialStatus['kind'];
  /** The origin it is fetched from (its circuit breaker guards the fetch). */
  upstream: string;
  /** Asks upstream once, through `up.call` (and `up.withToken` when it needs the access token). */
  fetch(up: Upstream): Promise<Fetched>;
  /** Its failures show as the account's `lastError` in `status()`. @default true */
  reported?: boolean | undefined;
}

/** A kind of account, described for the engine. */
export interface AccountKind<T extends string> {
  /** Namespaces store keys and metrics: an Official Account's appId, `wecom:<corpId>:<agentId>`. */
  id: string;
  /** Whose errcodes its upstream answers with (decides refresh / back off / fail). */
  platform: ErrcodePlatform;
  /** Who answers, in messages: `WeChat`, `WeCom`. */
  upstreamName: string;
  /** Where `request()` and media downloads go. */
  apiBase: string;
  /** The access token; `invalidated` also tells whoever issued it (a central wxkit). */
  token: CredentialSource & { invalidated?: ((value: string) => Promise<void>) | undefined };
  /** The tickets, by the type callers name (`jsapi`, `wx_card`, `agent_config`). */
  tickets: Record<T, CredentialSource>;
}

/** What a credential source asks upstream with. */
export interface Upstream {
  /**
   * One upstream exchange, counted in `wxkit_upstream_calls_total{endpoint, errcode}`. A timeout is not
   * retried and opens the host's breaker, as does a connection failure that survives its one quick
   * retry; an open breaker refuses at once; a transient errcode gets one quick retry.
   */
  call<R>(
    endpoint: string,
    base: string,
    makeRequest: () => Request,
    interpret: (res: Response, sentAt: number) => Promise<R>,
  ): Promise<R>;
  /** Runs `use` with the access token; on a token errcode drops that token (if still held) and runs once more. */
  withToken<R>(use: (token: string) => Promise<R>): Promise<R>;
}

export interface Engine<T extends string> extends Upstream {
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly timing: CustodyTiming;
  /** The account's store as OAuth uses it (in memory while the shared store is down). */
  readonly oauthStore: OAuthStore;
  readonly token: Custody;
  /** The custody of a ticket type; an unknown type is an `invalid_request`. */
  ticket(type: T | undefined): Custody;
  /** Throws once the account was closed. */
  ensureOpen(): void;
  accessTokenInfo(call?: CallOptions): Promise<CredentialValue>;
  ticketInfo(type: T | undefined, call?: CallOptions): Promise<CredentialValue>;
  invalidateAccessToken(value: string): Promise<boolean>;
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  downloadMedia(serverId: string, call?: CallOptions): Promise<DownloadedMedia>;
  recheckTicket(type: T, expected: string): Promise<TicketRecheck>;
  knownTickets(type: T | undefined, appId: string): Promise<KnownTicket[]>;
  status(): Promise<Omit<AccountStatus, 'appId'>>;
  breaker(): BreakerStatus;
  clearCache(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The account members that are the engine's own, unchanged: what `createWxkit` and `createWecom` both
 * spread into the account they return.
 */
export function engineMembers<T extends string>(engine: Engine<T>) {
  return {
    async accessToken(call?: CallOptions): Promise<string> {
      return (await engine.accessTokenInfo(call)).value;
    },
    accessTokenInfo: (call?: CallOptions) => engine.accessTokenInfo(call),
    async ticket(type?: T, call?: CallOptions): Promise<string> {
      return (await engine.ticketInfo(type, call)).value;
    },
    ticketInfo: (type?: T, call?: CallOptions) => engine.ticketInfo(type, call),
    invalidateAccessToken: (value: string) => engine.invalidateAccessToken(value),
    request: (path: string, init?: RequestInit & CallOptions) => engine.request(path, init),
    downloadMedia: (serverId: string, call?: CallOptions) => engine.downloadMedia(serverId, call),
    breaker: () => engine.breaker(),
    clearCache: () => engine.clearCache(),
    close: () => engine.close(),
  };
}

/**
 * What the many accounts of one owner (a platform's authorizers) share instead of holding one each:
 * the store link (one subscription to the store's announcements, one reachability state, one warning
 * per store) and one `appid` metrics label. Per account, ten thousand accounts made ten thousand
 * subscriptions (each keeping its closed account alive), series and "store unreachable" lines.
 * Circuit breakers stay per account (one slow answer must not refuse every account), without a gauge:
 * one series could not tell which of them is open.
 */
export interface EngineShared {
  link: StoreLink;
  /** Called when the store is reachable again; each open account adds its re-sync here. */
  readonly reconnected: Set<() => void>;
  /** The `appid` label of the accounts' metrics. */
  metricsId: string;
  /** Where the accounts' failures are reported, rate-limited per kind of failure. */
  warn(code: string, message: string): void;
}

/** How often one kind of failure is logged for all the accounts that share an {@link EngineShared}. */
const SHARED_WARN_INTERVAL_MS = 30_000;

/**
 * The shared part of many accounts on `store` (see {@link EngineShared}); `description` names the store
 * in warnings.
 */
export function createEngineShared(
  store: Store,
  o: { metricsId: string; logger?: WxkitLogger | undefined; storeProbeMs?: number | undefined },
): EngineShared {
  const reconnected = new Set<() => void>();
  const last = new Map<string, { at: number; suppressed: number }>();
  const warn = (code: string, message: string) => {
    if (!o.logger) return;
    const t = Date.now();
    const seen = last.get(code);
    if (seen && t - seen.at < SHARED_WARN_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const more = seen?.suppressed ? ` (${seen.suppressed} more like it since the last one)` : '';
    last.set(code, { at: t, suppressed: 0 });
    o.logger.warn(message + more);
  };
  const link = new StoreLink(
    () => Promise.resolve(store),
    o.storeProbeMs ?? DEFAULT_TIMING.storeProbeMs,
    (reachable) => {
      if (reachable) for (const resync of [...reconnected]) resync();
      warn(
        'store',
        reachable
          ? `wxkit ${o.metricsId}: store ${store.description} is reachable again; coordinating through it`
          : `wxkit ${o.metricsId}: store ${store.description} is unreachable; serving from memory and coordinating in-process`,
      );
    },
  );
  return { link, reconnected, metricsId: o.metricsId, warn };
}

/** A token younger than this is dropped on `request()` token errcodes at most once per this window. */
const TOKEN_DROP_INTERVAL_MS = 10_000;

/** At most one upstream re-check of a ticket per account and type in this window (SPEC §10). */
const TICKET_RECHECK_INTERVAL_MS = 60_000;

const UPSTREAM_HELP = 'Calls to WeChat (or the central wxkit) by endpoint and errcode (0 = success).';

export function createEngine<T extends string>(
  kind: AccountKind<T>,
  options: AccountOptions,
  shared?: EngineShared,
): Engine<T> {
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const metrics = options.metrics ?? new Metrics();
  const logger = options.logger;
  const timing: CustodyTiming = { ...DEFAULT_TIMING, ...options.timing };
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 8_000;
  const storeOption = options.store ?? 'memory';
  const spec: StoreSpec | undefined =
    typeof storeOption === 'string'
      ? parseStoreSpec(storeOption)
      : 'kind' in storeOption
        ? storeOption
        : undefined;
  const ownsStore = spec !== undefined;
  const storeDescription = spec ? describeStoreSpec(spec, options.cwd) : (storeOption as Store).description;
  const types = Object.keys(kind.tickets) as T[];
  let lastError: AccountStatus['lastError'];
  let closed = false;
  const metricsId = shared?.metricsId ?? kind.id;

  const resyncAll = () => {
    if (!closed) for (const c of all()) void c.resync();
  };
  shared?.reconnected.add(resyncAll);
  const link =
    shared?.link ??
    new StoreLink(
      () => (spec ? openStore(spec, { cwd: options.cwd }) : Promise.resolve(storeOption as Store)),
      timing.storeProbeMs,
      (reachable) => {
        if (closed) return;
        if (reachable) for (const c of all()) void c.resync();
        logger?.warn(
          reachable
            ? `wxkit: store ${storeDescription} is reachable again; coordinating through it`
            : `wxkit: store ${storeDescription} is unreachable; serving from memory and coordinating in-process`,
        );
      },
    );
  if (ownsStore) link.warm();
  const onError = (e: WxkitError | undefined) => {
    lastError = e && {
      code: e.code,
      ...(e.errcode === undefined ? {} : { errcode: e.errcode }),
      message: e.message,
    };
    if (!e) return;
    if (shared) shared.warn(e.code, `wxkit ${kind.id}: ${e.message}`);
    else logger?.warn(`wxkit ${kind.id}: ${e.message}`);
  };

  // One circuit breaker per upstream host this account calls; the token's first (shown when all are closed).
  const breakers = new Map<string, Breaker>();
  const breakerFor = (base: string): Breaker => {
    let b = breakers.get(base);
    if (!b) {
      b = new Breaker({
        appId: metricsId,
        upstream: base,
        now,
        metrics: shared ? undefined : metrics,
        openMs: timing.breakerOpenMs,
        capMs: timing.backoffCapMs,
        attemptMs: fetchTimeoutMs,
      });
      breakers.set(base, b);
    }
    return b;
  };
  breakerFor(kind.token.upstream);

  const limit = upstreamLimitOf(fetchImpl);
  const send = limit?.inner ?? fetchImpl;
  const call: Upstream['call'] = async (endpoint, base, makeRequest, interpret) => {
    const breaker = breakerFor(base);
    for (let attempt = 1; ; attempt++) {
      breaker.admit();
      let res: Response;
      // A turn among the process's open requests first: the deadline below starts once it is ours.
      await limit?.acquire();
      // Lifetimes count from when the request left: conservative, whatever the answer's latency.
      const sentAt = now();
      // One deadline for the headers and the body, handed to fetch itself (a signal carried on a
      // Request is lost on Node 20). An answer counts only once its body is in: headers followed by a
      // stalled body are a timeout, not a success.
      const signal = AbortSignal.timeout(fetchTimeoutMs);
      try {
        res = await readWhole(await send(makeRequest(), { signal }), signal);
      } catch (e) {
        metrics.inc('wxkit_upstream_calls_total', { endpoint, errcode: 'network' }, 1, UPSTREAM_HELP);
        const timedOut = signal.aborted || isTimeout(e);
        const err = networkError(base, timedOut && !isTimeout(e) ? signal.reason : e);
        if (attempt < 2 && !timedOut) {
          breaker.released();
          await sleep(150 * (0.5 + Math.random()));
          continue;
        }
        breaker.failed(err);
        throw err;
      } finally {
        limit?.release();
      }
      breaker.succeeded();
      try {
        const value = await interpret(res, sentAt);
        metrics.inc('wxkit_upstream_calls_total', { endpoint, errcode: 0 }, 1, UPSTREAM_HELP);
        return value;
      } catch (e) {
        const errcode = e instanceof WxkitError && e.errcode !== undefined ? e.errcode : `http_${res.status}`;
        metrics.inc('wxkit_upstream_calls_total', { endpoint, errcode }, 1, UPSTREAM_HELP);
        if (attempt < 2 && failureKind(e) === 'transient') {
          await sleep(150 * (0.5 + Math.random()));
          continue;
        }
        throw e;
      }
    }
  };

  const withToken: Upstream['withToken'] = async (use) => {
    const once = async () => {
      const t = (await token.get()).value;
      try {
        return await use(t);
      } catch (e) {
        if (failureKind(e) === 'token-invalid') await invalidateAccessToken(t);
        throw e;
      }
    };
    try {
      return await once();
    } catch (e) {
      if (failureKind(e) !== 'token-invalid') throw e;
      return once(); // exactly one retry with the fresh token
    }
  };
  const up: Upstream = { call, withToken };

  const custody = (source: CredentialSource, fetch: () => Promise<Fetched>) =>
    new Custody({
      appId: kind.id,
      metricsId,
      kind: source.name,
      link,
      now,
      metrics,
      timing,
      fetch,
      onError,
      breaker: breakerFor(source.upstream),
    });

  const token = custody(kind.token, () => kind.token.fetch(up));

  const invalidateAccessToken = async (value: string): Promise<boolean> => {
    if (typeof value !== 'string' || value === '') return false;
    await kind.token.invalidated?.(value);
    return token.invalidate(value);
  };

  // A ticket a re-check already got upstream, handed to the custody fetch that stores it.
  const handoff = new Map<string, Fetched>();
  const fetchTicket = (type: T) => async (): Promise<Fetched> => {
    const given = handoff.get(type);
    if (given) {
      handoff.delete(type);
      return given;
    }
    return kind.tickets[type].fetch(up);
  };
  const tickets = new Map<T, Custody>(
    types.map((type) => [type, custody(kind.tickets[type], fetchTicket(type))]),
  );
  const all = (): Custody[] => [token, ...tickets.values()];

  const ticket = (type: T | undefined): Custody => {
    const t = type ?? (types[0] as T);
    const c = typeof t === 'string' ? tickets.get(t) : undefined;
    if (!c) {
      throw new WxkitError(
        ErrorCodes.INVALID_REQUEST,
        `Unknown ticket type ${JSON.stringify(String(t)).slice(0, 40)}; use ${types.join(' or ')}`,
      );
    }
    return c;
  };

  const rechecker = new TicketRechecker({
    appId: kind.id,
    link,
    now,
    intervalMs: TICKET_RECHECK_INTERVAL_MS,
    fetch: (type) => fetchTicket(type as T)(),
    // Compare-and-replace: drop `expected` only if still held, then store the re-checked ticket through
    // custody's usual path (store lock, re-check of the store) without asking upstream again.
    replace: async (type, expected, fetched) => {
      handoff.set(type, fetched);
      try {
        await ticket(type as T).invalidate(expected);
        return (await ticket(type as T).get()).value;
      } finally {
        handoff.delete(type);
      }
    },
    adopt: (type, expected) => ticket(type as T).adoptShared(expected),
  });

  const ensureOpen = () => {
    if (closed) throw new WxkitError(ErrorCodes.CONFIG_ERROR, `wxkit for ${kind.id} was closed`);
  };

  /**
   * A token errcode on `request()`. A token held a while is dropped (compare-and-invalidate: many
   * callers refused with it drop it once). A token seconds old is dropped at most once per
   * {@link TOKEN_DROP_INTERVAL_MS}, here and — through a store lock — in every instance: WeChat does not
   * refuse a token it just issued unless something else is wrong, and a storm of 40001s (a media proxy
   * answering them, a reset AppSecret) otherwise dropped every fresh token again: one token fetch per
   * request, a day's classic quota in half an hour.
   */
  let lastYoungDropAt = Number.NEGATIVE_INFINITY;
  const dropRefusedToken = async (t: CredentialRecord): Promise<boolean> => {
    const at = now();
    // Its age as held now: stable_token hands the same value out again, so another caller's (or
    // instance's) drop and refetch makes it young again.
    const current = await token.peek();
    const fetchedAt = current?.value === t.value ? Math.max(current.fetchedAt, t.fetchedAt) : t.fetchedAt;
    if (at - fetchedAt < TOKEN_DROP_INTERVAL_MS) {
      // Not dropped again, but a copy the store has already moved past (another instance dropped it,
      // or a platform's re-authorization cleared it) is let go: that costs no fetch, and keeping it
      // answered callers with a 40001.
      if (at - lastYoungDropAt < TOKEN_DROP_INTERVAL_MS) return token.forgetIfReplaced(t.value);
      const lock = await link.run((s) =>
        s.tryLock(`wxkit:${kind.id}:access_token:invalidated`, TOKEN_DROP_INTERVAL_MS),
      );
      if (lock.ok && lock.value === undefined) return token.forgetIfReplaced(t.value);
      lastYoungDropAt = at;
    }
    await kind.token.invalidated?.(t.value);
    return token.invalidate(t.value, t.fetchedAt);
  };

  const request = async (path: string, init: RequestInit & CallOptions = {}): Promise<Response> => {
    ensureOpen();
    const url = apiUrl(kind.apiBase, path);
    const count = (errcode: number | string) =>
      metrics.inc('wxkit_upstream_calls_total', { endpoint: url.pathname, errcode }, 1, UPSTREAM_HELP);
    const send = async (t: string) => {
      url.searchParams.set('access_token', t);
      // Our deadline joins the caller's signal, and both go to fetch itself: it then also bounds the
      // body the caller reads (a signal carried on a Request is lost on Node 20).
      const deadline = AbortSignal.timeout(fetchTimeoutMs * 4);
      try {
        return await fetchImpl(url, {
          ...init,
          signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline,
        });
      } catch (e) {
        count('network');
        if (init.signal?.aborted)
          throw new WxkitError(ErrorCodes.ABORTED, 'The request was aborted', { cause: e });
        throw networkError(kind.apiBase, e);
      }
    };
    const t1 = await withSignal(token.get(), init.signal);
    let res = await send(t1.value);
    let errcode = await peekErrcode(res);
    count(errcode ?? 0);
    if (errcode !== undefined && actionFor(errcode, kind.platform) === 'refresh-token') {
      const dropped = await dropRefusedToken(t1);
      const t2 = await withSignal(token.get(), init.signal);
      // The same token again (a young one, not dropped): asking again would get the same answer.
      if (dropped || t2.value !== t1.value) {
        await res.body?.cancel();
        res = await send(t2.value);
        errcode = await peekErrcode(res);
        count(errcode ?? 0);
      }
    }
    return res;
  };

  return {
    metrics,
    now,
    timing,
    oauthStore: linkedOAuthStore((op) => link.run(op), { now }),
    token,
    ticket,
    ensureOpen,
    call,
    withToken,
    async accessTokenInfo(opts) {
      ensureOpen();
      const r = await withSignal(token.get(), opts?.signal);
      return { value: r.value, expiresAt: r.expiresAt };
    },
    async ticketInfo(type, opts) {
      ensureOpen();
      const r = await withSignal(ticket(type).get(), opts?.signal);
      return { value: r.value, expiresAt: r.expiresAt };
    },
    invalidateAccessToken,
    request,
    downloadMedia: (serverId, opts) =>
      downloadMedia(serverId, { request, platform: kind.platform, upstreamName: kind.upstreamName }, opts),
    async recheckTicket(type, expected) {
      ensureOpen();
      ticket(type);
      return rechecker.run(type, expected);
    },
    async knownTickets(type, appId) {
      const c = ticket(type);
      let rec = await c.peek();
      if (!rec || rec.expiresAt <= now()) {
        rec = await c.get().catch(() => rec);
      }
      const out: KnownTicket[] = [];
      const seen = new Set<string>();
      const add = (value: string | undefined, stale: boolean) => {
        if (!value || seen.has(value)) return;
        seen.add(value);
        out.push({ ticket: value, appId, stale });
      };
      if (rec && rec.expiresAt > now()) add(rec.value, false);
      add(rec?.previous, true);
      for (const t of c.history) add(t, true);
      return out;
    },
    async status() {
      const storeReachable = await link.probe();
      const t = now();
      const sources: [CredentialSource, Custody][] = [
        [kind.token, token],
        ...types.map((type) => [kind.tickets[type], ticket(type)] as [CredentialSource, Custody]),
      ];
      const credentials: CredentialStatus[] = [];
      let failing: WxkitError | undefined;
      for (const [source, c] of sources) {
        const rec = await c.peek();
        const cached = rec !== undefined && rec.expiresAt > t;
        credentials.push({
          kind: source.name,
          cached,
          ...(rec ? { fetchedAt: rec.fetchedAt, expiresAt: rec.expiresAt, source: rec.source } : {}),
        });
        if (source.reported !== false) failing ??= c.activeFailure();
      }
      return {
        store: link.opened()?.description ?? storeDescription,
        storeReachable,
        ...(lastError || failing
          ? {
              lastError: failing
                ? {
                    code: failing.code,
                    ...(failing.errcode === undefined ? {} : { errcode: failing.errcode }),
                    message: failing.message,
                  }
                : lastError,
            }
          : {}),
        credentials,
      };
    },
    breaker() {
      // The credentials' upstream first: it is the one shown when every breaker is closed.
      const main = breakerFor(kind.token.upstream).status();
      return worstOf([main, ...[...breakers.values()].map((b) => b.status())]) ?? main;
    },
    async clearCache() {
      ensureOpen();
      for (const c of all()) await c.clear();
    },
    async close() {
      if (closed) return;
      closed = true;
      // A fetch in flight holds the store lock: let it store its value and unlock (tickets first, they
      // may still ask for the token), else other processes wait out the lease.
      for (const c of [...tickets.values(), token]) await c.settle(timing.lockLeaseMs);
      for (const c of all()) c.detach();
      shared?.reconnected.delete(resyncAll);
      if (ownsStore) await link.close();
      else if (!shared) link.release();
    },
  };
}

/** True when `base` is a loopback URL (the simulator): pages on loopback hosts are then accepted. */
export function isLoopbackUrl(base: string): boolean {
  try {
    return isLoopbackHost(new URL(base).hostname);
  } catch {
    return false;
  }
}

/** `/cgi-bin/x?y` → apiBase + path. Absolute URLs are refused: the token must only go to the platform. */
function apiUrl(apiBase: string, path: string): URL {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new WxkitError(
      ErrorCodes.INVALID_REQUEST,
      'request() takes a path such as /cgi-bin/user/info?openid=…',
    );
  }
  return new URL(apiBase + path);
}

async function peekErrcode(res: Response): Promise<number | undefined> {
  if (!/json|text\/plain/i.test(res.headers.get('content-type') ?? '')) return undefined;
  try {
    const body = (await res.clone().json()) as { errcode?: unknown };
    return typeof body.errcode === 'number' && body.errcode !== 0 ? body.errcode : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The answer with its body read into memory before `signal` fires: a body that stalls rejects with the
 * signal's reason even under a `fetch` that does not tie the signal to the body.
 */
async function readWhole(res: Response, signal: AbortSignal): Promise<Response> {
  const body = await new Promise<ArrayBuffer>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      res.body?.cancel().catch(() => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    res.arrayBuffer().then(
      (b) => {
        signal.removeEventListener('abort', onAbort);
        resolve(b);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
  return new Response(res.status === 204 || res.status === 304 ? null : body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

/** Waits for `p`, or rejects with `aborted` as soon as `signal` fires. */
export function withSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(aborted(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function aborted(cause: unknown): WxkitError {
  return new WxkitError(ErrorCodes.ABORTED, 'The call was aborted', { cause });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
