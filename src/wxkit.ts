import { checkBaseUrl } from './base-url.ts';
import { Breaker, worstOf } from './credentials/breaker.ts';
import { Custody, type CustodyTiming, DEFAULT_TIMING, StoreLink } from './credentials/custody.ts';
import { TicketRechecker } from './credentials/ticket-recheck.ts';
import {
  classicTokenRequest,
  type Fetched,
  failureKind,
  isTimeout,
  networkError,
  processRemoteResponse,
  processTicketResponse,
  processTokenResponse,
  remoteCredentialRequest,
  remoteInvalidateRequest,
  stableTokenRequest,
  ticketRequest,
} from './credentials/upstream.ts';
import type { KnownTicket } from './diagnose.ts';
import { formatJsDomains, isLoopbackHost, type JsDomain, matchJsDomain, parseJsDomains } from './domains.ts';
import { actionFor, describeErrcode } from './errcodes.ts';
import { ErrorCodes, WxkitError } from './errors.ts';
import { Metrics } from './metrics.ts';
import { createOAuthClient } from './oauth/client.ts';
import { linkedOAuthStore } from './oauth/store.ts';
import { buildJssdkConfig, normalizeSignUrl } from './signature.ts';
import { describeStoreSpec, openStore, parseStoreSpec, type StoreSpec } from './stores/spec.ts';
import type { Store } from './stores/types.ts';
import type {
  BreakerStatus,
  CallOptions,
  CredentialStatus,
  CredentialValue,
  DownloadedMedia,
  TicketType,
  TokenMode,
  Wxkit,
  WxkitStatus,
} from './types.ts';

/** Where wxkit reports what it does (store outages, upstream failures). Never given a secret. */
export interface WxkitLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Options of {@link createWxkit}. */
export interface WxkitOptions {
  /** The Official Account's AppID. */
  appId: string;
  /** The AppSecret. Required unless `tokenMode` is `remote`. Only ever sent to `apiBase`. */
  secret?: string | undefined;
  /**
   * `stable` uses POST /cgi-bin/stable_token (never force_refresh on its own); `classic` uses
   * GET /cgi-bin/token (each call replaces the previous token); `remote` asks a central wxkit.
   * @default 'stable'
   */
  tokenMode?: TokenMode | undefined;
  /** @default 'https://api.weixin.qq.com' */
  apiBase?: string | undefined;
  /** @default 'https://open.weixin.qq.com' */
  openBase?: string | undefined;
  /**
   * Where credentials are shared: `memory`, `file:<dir>`, `redis://…`/`rediss://…`, or a {@link Store}
   * object (share one object between accounts; keys are namespaced by appId; not closed by `close()`),
   * or a parsed {@link StoreSpec} (e.g. Redis Sentinel/Cluster from `wxkit.config.json`).
   * @default 'memory'
   */
  store?: string | Store | StoreSpec | undefined;
  /** Base for a relative `file:` store. @default process.cwd() */
  cwd?: string | undefined;
  /** The account's JS-safe domains (host or host/path). When empty, `jssdkConfig` does not check domains. */
  jsDomains?: readonly string[] | string | undefined;
  /**
   * Accept pages on loopback hosts (any port) regardless of `jsDomains`.
   * @default true when `apiBase` is a loopback URL (the simulator), else false
   */
  allowLoopback?: boolean | undefined;
  /** The central wxkit (`remote` mode). */
  remoteUrl?: string | undefined;
  /** Its bearer key (`remote` mode). */
  remoteKey?: string | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** Clock in milliseconds; tests keep it in step with the simulator's virtual clock. @default Date.now */
  now?: (() => number) | undefined;
  /** @default silent */
  logger?: WxkitLogger | undefined;
  /** Share one registry between accounts and the service's /metrics. @default a new registry */
  metrics?: Metrics | undefined;
  /** Each upstream request gives up after this long. @default 8000 */
  fetchTimeoutMs?: number | undefined;
  /** Fine-tuning of refresh-ahead, locks and backoff, in milliseconds (see {@link CustodyTiming}). */
  timing?: Partial<CustodyTiming> | undefined;
}

/** What {@link createWxkit} returns: a {@link Wxkit} plus maintenance operations for the CLI. */
export interface WxkitInstance extends Wxkit {
  /**
   * Forgets the cached access_token and tickets (memory and store) and fetches a fresh token. With
   * `force` in `stable` mode it sends `force_refresh` (limited by WeChat to 20 a day) — only on request.
   */
  refresh(options?: { force?: boolean | undefined }): Promise<void>;
  /** Forgets the cached access_token and tickets (memory and store); the next call fetches. */
  clearCache(): Promise<void>;
  /**
   * The upstream circuit breaker: `{ upstream, state: 'closed' | 'half-open' | 'open', since, retryAt? }`.
   *
   * @example
   * if (wx.breaker().state === 'open') console.warn('WeChat is not answering; callers get a fast 503')
   */
  breaker(): BreakerStatus;
}

const DEFAULT_API_BASE = 'https://api.weixin.qq.com';
const DEFAULT_OPEN_BASE = 'https://open.weixin.qq.com';
const TOKEN_INVALID = new Set([40001, 40014, 42001]);

/**
 * One Official Account with its access_token and tickets kept fresh and shared through a store: one
 * upstream fetch at a time across every process sharing the store, refresh ahead of expiry,
 * compare-and-invalidate with exactly one retry, backoff and a negative cache so a refusing WeChat
 * sees a handful of calls.
 *
 * @example
 * import { createWxkit } from 'wxkit'
 * const wx = createWxkit({ appId: 'wx123', secret: process.env.WX_APP_SECRET, store: 'file:.wxkit', jsDomains: ['h5.example.com'] })
 * const config = await wx.jssdkConfig({ url: 'https://h5.example.com/page', jsApiList: ['chooseImage'] })
 */
export function createWxkit(options: WxkitOptions): WxkitInstance {
  const o = validate(options);
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const metrics = options.metrics ?? new Metrics();
  const logger = options.logger;
  const timing: CustodyTiming = { ...DEFAULT_TIMING, ...options.timing };
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 8_000;
  const jsDomains = parseJsDomains(options.jsDomains ?? []);
  const allowLoopback = options.allowLoopback ?? isLoopbackUrl(o.apiBase);
  const storeOption = options.store ?? 'memory';
  const spec: StoreSpec | undefined =
    typeof storeOption === 'string'
      ? parseStoreSpec(storeOption)
      : 'kind' in storeOption
        ? storeOption
        : undefined;
  const ownsStore = spec !== undefined;
  const storeDescription = spec ? describeStoreSpec(spec, options.cwd) : (storeOption as Store).description;
  let lastError: WxkitStatus['lastError'];
  let forceNext = false;
  let closed = false;

  const link = new StoreLink(
    () => (spec ? openStore(spec, { cwd: options.cwd }) : Promise.resolve(storeOption as Store)),
    timing.storeProbeMs,
    (reachable) => {
      if (closed) return;
      if (reachable) for (const c of [token, tickets.jsapi, tickets.wx_card]) void c.resync();
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
    if (e) logger?.warn(`wxkit ${o.appId}: ${e.message}`);
  };

  // One circuit breaker per upstream host this account calls (WeChat; the central wxkit in remote mode).
  const breakers = new Map<string, Breaker>();
  const breakerFor = (base: string): Breaker => {
    let b = breakers.get(base);
    if (!b) {
      b = new Breaker({
        appId: o.appId,
        upstream: base,
        now,
        metrics,
        openMs: timing.breakerOpenMs,
        capMs: timing.backoffCapMs,
        attemptMs: fetchTimeoutMs,
      });
      breakers.set(base, b);
    }
    return b;
  };
  const credentialBase = o.tokenMode === 'remote' ? o.remoteUrl : o.apiBase;
  breakerFor(credentialBase);

  /**
   * One upstream exchange, counted; network failures become `upstream_unavailable` without the URL. A
   * timeout is not retried (whoever waits on this call waits one timeout at most) and opens the host's
   * breaker, as does a connection failure that survives its one quick retry; an open breaker refuses
   * at once.
   */
  const call = async <T>(
    endpoint: string,
    base: string,
    makeRequest: () => Request,
    interpret: (res: Response, sentAt: number) => Promise<T>,
  ): Promise<T> => {
    const breaker = breakerFor(base);
    for (let attempt = 1; ; attempt++) {
      breaker.admit();
      let res: Response;
      // Lifetimes count from when the request left: conservative, whatever the answer's latency.
      const sentAt = now();
      try {
        res = await fetchImpl(makeRequest(), { signal: AbortSignal.timeout(fetchTimeoutMs) });
      } catch (e) {
        metrics.inc('wxkit_upstream_calls_total', { endpoint, errcode: 'network' }, 1, UPSTREAM_HELP);
        const err = networkError(base, e);
        if (attempt < 2 && !isTimeout(e)) {
          breaker.released();
          await sleep(150 * (0.5 + Math.random()));
          continue;
        }
        breaker.failed(err);
        throw err;
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

  const fetchToken = (): Promise<Fetched> => {
    const input = { apiBase: o.apiBase, appId: o.appId, secret: o.secret };
    if (o.tokenMode === 'remote') {
      return call(
        'remote',
        o.remoteUrl,
        () => remoteCredentialRequest(o.remoteUrl, o.remoteKey, o.appId, 'access_token'),
        (res) => processRemoteResponse(res),
      );
    }
    if (o.tokenMode === 'classic') {
      return call(
        '/cgi-bin/token',
        o.apiBase,
        () => classicTokenRequest(input),
        (res, sentAt) => processTokenResponse(res, sentAt, 'token'),
      );
    }
    const force = forceNext;
    forceNext = false;
    return call(
      '/cgi-bin/stable_token',
      o.apiBase,
      () => stableTokenRequest(input, force),
      (res, sentAt) => processTokenResponse(res, sentAt, 'stable_token'),
    );
  };

  const token = new Custody({
    appId: o.appId,
    kind: 'access_token',
    link,
    now,
    metrics,
    timing,
    fetch: fetchToken,
    onError,
    breaker: breakerFor(credentialBase),
  });

  const invalidateAccessToken = async (value: string): Promise<boolean> => {
    if (typeof value !== 'string' || value === '') return false;
    if (o.tokenMode === 'remote') {
      await fetchImpl(remoteInvalidateRequest(o.remoteUrl, o.remoteKey, o.appId, value), {
        signal: AbortSignal.timeout(fetchTimeoutMs),
      }).then(
        (res) => res.body?.cancel(),
        () => {},
      );
    }
    return token.invalidate(value);
  };

  // A ticket a re-check already got from WeChat, handed to the custody fetch that stores it.
  const handoff: Partial<Record<TicketType, Fetched>> = {};
  const fetchTicket = (type: TicketType) => async (): Promise<Fetched> => {
    const given = handoff[type];
    if (given) {
      delete handoff[type];
      return given;
    }
    if (type === 'jsapi' && o.tokenMode === 'remote') {
      return call(
        'remote',
        o.remoteUrl,
        () => remoteCredentialRequest(o.remoteUrl, o.remoteKey, o.appId, 'jsapi_ticket'),
        (res) => processRemoteResponse(res),
      );
    }
    const once = async () => {
      const t = (await token.get()).value;
      try {
        return await call(
          '/cgi-bin/ticket/getticket',
          o.apiBase,
          () => ticketRequest(o.apiBase, t, type),
          (res, sentAt) => processTicketResponse(res, sentAt),
        );
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

  const tickets: Record<TicketType, Custody> = {
    jsapi: new Custody({
      appId: o.appId,
      kind: 'jsapi_ticket',
      link,
      now,
      metrics,
      timing,
      fetch: fetchTicket('jsapi'),
      onError,
      breaker: breakerFor(credentialBase),
    }),
    wx_card: new Custody({
      appId: o.appId,
      kind: 'wx_card_ticket',
      link,
      now,
      metrics,
      timing,
      fetch: fetchTicket('wx_card'),
      onError,
      breaker: breakerFor(o.apiBase),
    }),
  };
  const rechecker = new TicketRechecker({
    appId: o.appId,
    link,
    now,
    intervalMs: TICKET_RECHECK_INTERVAL_MS,
    fetch: (type) => fetchTicket(type)(),
    // Compare-and-replace: drop `expected` only if still held, then store the re-checked ticket through
    // custody's usual path (store lock, re-check of the store) without asking WeChat again.
    replace: async (type, expected, fetched) => {
      handoff[type] = fetched;
      try {
        await tickets[type].invalidate(expected);
        return (await tickets[type].get()).value;
      } finally {
        delete handoff[type];
      }
    },
  });
  const ticketCustody = (type: TicketType | undefined): Custody => {
    const t = type ?? 'jsapi';
    if (t !== 'jsapi' && t !== 'wx_card') {
      throw new WxkitError(
        ErrorCodes.INVALID_REQUEST,
        `Unknown ticket type ${JSON.stringify(String(t)).slice(0, 40)}; use jsapi or wx_card`,
      );
    }
    return tickets[t];
  };

  const ensureOpen = () => {
    if (closed) throw new WxkitError(ErrorCodes.CONFIG_ERROR, `wxkit for ${o.appId} was closed`);
  };

  const request = async (path: string, init: RequestInit & CallOptions = {}): Promise<Response> => {
    ensureOpen();
    const url = apiUrl(o.apiBase, path);
    const send = async (t: string) => {
      url.searchParams.set('access_token', t);
      try {
        return await fetchImpl(url, {
          ...init,
          signal: init.signal ?? AbortSignal.timeout(fetchTimeoutMs * 4),
        });
      } catch (e) {
        metrics.inc(
          'wxkit_upstream_calls_total',
          { endpoint: url.pathname, errcode: 'network' },
          1,
          UPSTREAM_HELP,
        );
        if (init.signal?.aborted)
          throw new WxkitError(ErrorCodes.ABORTED, 'The request was aborted', { cause: e });
        throw networkError(o.apiBase, e);
      }
    };
    const t1 = await withSignal(token.get(), init.signal);
    let res = await send(t1.value);
    let errcode = await peekErrcode(res);
    metrics.inc(
      'wxkit_upstream_calls_total',
      { endpoint: url.pathname, errcode: errcode ?? 0 },
      1,
      UPSTREAM_HELP,
    );
    if (errcode !== undefined && TOKEN_INVALID.has(errcode)) {
      await invalidateAccessToken(t1.value);
      const t2 = await withSignal(token.get(), init.signal);
      await res.body?.cancel();
      res = await send(t2.value);
      errcode = await peekErrcode(res);
      metrics.inc(
        'wxkit_upstream_calls_total',
        { endpoint: url.pathname, errcode: errcode ?? 0 },
        1,
        UPSTREAM_HELP,
      );
    }
    return res;
  };

  const wx: WxkitInstance = {
    appId: o.appId,
    tokenMode: o.tokenMode,
    jsDomains,
    metrics,
    apiBase: o.apiBase,
    openBase: o.openBase,
    oauth: createOAuthClient({
      appId: o.appId,
      secret: o.secret,
      apiBase: o.apiBase,
      openBase: o.openBase,
      fetch: fetchImpl,
      now,
      metrics,
      // Shared through the account's store (so a code is exchanged once across instances); in memory while it is down.
      store: linkedOAuthStore((op) => link.run(op), { now }),
    }),

    async accessToken(call) {
      return (await wx.accessTokenInfo(call)).value;
    },
    async accessTokenInfo(call) {
      ensureOpen();
      const r = await withSignal(token.get(), call?.signal);
      return { value: r.value, expiresAt: r.expiresAt } satisfies CredentialValue;
    },
    async ticket(type, call) {
      return (await wx.ticketInfo(type, call)).value;
    },
    async ticketInfo(type, call) {
      ensureOpen();
      const r = await withSignal(ticketCustody(type).get(), call?.signal);
      return { value: r.value, expiresAt: r.expiresAt };
    },
    invalidateAccessToken,

    async recheckTicket(type, expected) {
      ensureOpen();
      ticketCustody(type);
      if (o.tokenMode === 'remote' && type === 'jsapi')
        return { rechecked: false, refreshed: false, reason: 'remote' };
      return rechecker.run(type, expected);
    },

    async jssdkConfig(input) {
      ensureOpen();
      const url = normalizeSignUrl(input?.url);
      if (jsDomains.length > 0) {
        const mismatch = matchJsDomain(url, jsDomains, { allowLoopback });
        if (mismatch) throw urlNotAllowed(url, mismatch, jsDomains);
      }
      const t = await withSignal(tickets.jsapi.get(), input.signal);
      return buildJssdkConfig({
        appId: o.appId,
        ticket: t.value,
        url,
        jsApiList: input.jsApiList,
        openTagList: input.openTagList,
        debug: input.debug,
        now,
      });
    },

    request,

    async downloadMedia(serverId, call) {
      if (typeof serverId !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(serverId)) {
        throw new WxkitError(
          ErrorCodes.INVALID_REQUEST,
          'serverId must be the media id from wx.uploadImage (letters, digits, _ or -)',
        );
      }
      const res = await request(`/cgi-bin/media/get?media_id=${encodeURIComponent(serverId)}`, {
        ...(call?.signal ? { signal: call.signal } : {}),
      });
      const type = res.headers.get('content-type') ?? 'application/octet-stream';
      if (isTextual(type) || !res.ok) {
        const text = await res.text();
        let body: { errcode?: unknown; errmsg?: unknown } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          // not JSON
        }
        if (typeof body.errcode === 'number' && body.errcode !== 0) {
          const errcode = body.errcode;
          const info = describeErrcode(errcode);
          const clientFault = info?.category === 'request' && actionFor(errcode) === 'fail';
          throw new WxkitError(
            ErrorCodes.WECHAT_ERROR,
            `WeChat refused media ${serverId}: ${errcode} ${info?.name ?? ''}`.trim(),
            {
              errcode,
              errmsg: typeof body.errmsg === 'string' ? body.errmsg.slice(0, 300) : '',
              ...(clientFault ? { status: 400 } : {}),
            },
          );
        }
        if (!res.ok) {
          throw new WxkitError(
            ErrorCodes.UPSTREAM_UNAVAILABLE,
            `WeChat answered media/get with HTTP ${res.status}`,
            {
              retryAfter: 1,
            },
          );
        }
        const bytes = new TextEncoder().encode(text);
        return { bytes, contentType: type, ...filenameOf(res) } satisfies DownloadedMedia;
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { bytes, contentType: type, ...filenameOf(res) } satisfies DownloadedMedia;
    },

    async knownTickets() {
      let rec = await tickets.jsapi.peek();
      if (!rec || rec.expiresAt <= now()) {
        rec = await tickets.jsapi.get().catch(() => rec);
      }
      const out: KnownTicket[] = [];
      const seen = new Set<string>();
      const add = (ticket: string | undefined, stale: boolean) => {
        if (!ticket || seen.has(ticket)) return;
        seen.add(ticket);
        out.push({ ticket, appId: o.appId, stale });
      };
      if (rec && rec.expiresAt > now()) add(rec.value, false);
      add(rec?.previous, true);
      for (const t of tickets.jsapi.history) add(t, true);
      return out;
    },

    async status() {
      const storeReachable = await link.probe();
      const t = now();
      const entries: [CredentialStatus['kind'], Custody][] = [
        ['access_token', token],
        ['jsapi_ticket', tickets.jsapi],
        ['wx_card_ticket', tickets.wx_card],
      ];
      const credentials: CredentialStatus[] = [];
      for (const [kind, c] of entries) {
        const rec = await c.peek();
        const cached = rec !== undefined && rec.expiresAt > t;
        credentials.push({
          kind,
          cached,
          ...(rec ? { fetchedAt: rec.fetchedAt, expiresAt: rec.expiresAt, source: rec.source } : {}),
        });
      }
      const failing = token.activeFailure() ?? tickets.jsapi.activeFailure();
      return {
        appId: o.appId,
        tokenMode: o.tokenMode,
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
      } satisfies WxkitStatus;
    },

    breaker() {
      // The credentials' upstream first: it is the one shown when every breaker is closed.
      const main = breakerFor(credentialBase).status();
      return worstOf([main, ...[...breakers.values()].map((b) => b.status())]) ?? main;
    },

    async clearCache() {
      ensureOpen();
      await token.clear();
      await tickets.jsapi.clear();
      await tickets.wx_card.clear();
    },

    async refresh(opts) {
      await wx.clearCache();
      forceNext = opts?.force === true && o.tokenMode === 'stable';
      try {
        await token.get();
      } finally {
        // Another process's fresh token may have been adopted without a fetch: never leave it armed.
        forceNext = false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      // A fetch in flight holds the store lock: let it store its value and unlock (tickets first, they
      // may still ask for the token), else other processes wait out the lease.
      for (const c of [tickets.jsapi, tickets.wx_card, token]) await c.settle(timing.lockLeaseMs);
      if (ownsStore) await link.close();
    },
  };
  return wx;
}

/** At most one upstream re-check of a ticket per account and type in this window (SPEC §10). */
const TICKET_RECHECK_INTERVAL_MS = 60_000;

const UPSTREAM_HELP = 'Calls to WeChat (or the central wxkit) by endpoint and errcode (0 = success).';

interface Validated {
  appId: string;
  secret: string;
  tokenMode: TokenMode;
  apiBase: string;
  openBase: string;
  remoteUrl: string;
  remoteKey: string;
}

function validate(options: WxkitOptions): Validated {
  const fail = (message: string, hint?: { en: string; zh: string }) =>
    new WxkitError(ErrorCodes.CONFIG_ERROR, message, hint ? { hint } : {});
  if (typeof options !== 'object' || options === null) throw fail('createWxkit needs an options object');
  const { appId } = options;
  if (typeof appId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(appId)) {
    throw fail('appId is missing or malformed (letters, digits, _ or -)', {
      en: 'Set WX_APP_ID to the AppID from 设置与开发 → 基本配置.',
      zh: '请将 WX_APP_ID 设为「设置与开发 → 基本配置」中的 AppID。',
    });
  }
  const tokenMode = options.tokenMode ?? 'stable';
  if (tokenMode !== 'stable' && tokenMode !== 'classic' && tokenMode !== 'remote') {
    throw fail(
      `tokenMode must be stable, classic or remote; got ${JSON.stringify(String(tokenMode)).slice(0, 30)}`,
    );
  }
  const apiBase = checkBaseUrl(options.apiBase ?? DEFAULT_API_BASE, 'apiBase (WX_API_BASE)');
  const openBase = checkBaseUrl(options.openBase ?? DEFAULT_OPEN_BASE, 'openBase (WX_OPEN_BASE)');
  const secret = options.secret ?? '';
  let remoteUrl = '';
  let remoteKey = '';
  if (tokenMode === 'remote') {
    remoteUrl = checkBaseUrl(options.remoteUrl ?? '', 'remoteUrl (WXKIT_REMOTE_URL)');
    remoteKey = options.remoteKey ?? '';
    if (remoteKey === '') throw fail('remote token mode needs remoteKey (WXKIT_REMOTE_KEY)');
  } else if (typeof secret !== 'string' || secret === '') {
    throw fail(`The AppSecret of ${appId} is missing`, {
      en: 'Set WX_APP_SECRET (or use tokenMode remote to get tokens from a central wxkit).',
      zh: '请设置 WX_APP_SECRET（或使用 remote 模式从中控 wxkit 获取 token）。',
    });
  }
  if (typeof options.store === 'string') parseStoreSpec(options.store);
  return { appId, secret, tokenMode, apiBase, openBase, remoteUrl, remoteKey };
}

function isLoopbackUrl(base: string): boolean {
  try {
    return isLoopbackHost(new URL(base).hostname);
  } catch {
    return false;
  }
}

/** `/cgi-bin/x?y` → apiBase + path. Absolute URLs are refused: the token must only go to WeChat. */
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
  if (!isTextual(res.headers.get('content-type') ?? '')) return undefined;
  try {
    const body = (await res.clone().json()) as { errcode?: unknown };
    return typeof body.errcode === 'number' && body.errcode !== 0 ? body.errcode : undefined;
  } catch {
    return undefined;
  }
}

function isTextual(contentType: string): boolean {
  return /json|text\/plain/i.test(contentType);
}

function filenameOf(res: Response): { filename?: string } {
  const cd = res.headers.get('content-disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return m?.[1] ? { filename: m[1] } : {};
}

function urlNotAllowed(url: string, mismatch: string, domains: readonly JsDomain[]): WxkitError {
  const u = new URL(url);
  const configured = formatJsDomains(domains);
  const message =
    mismatch === 'port'
      ? `The page ${u.host} uses port ${u.port}; WeChat's JS-safe domains only work on ports 80 and 443 (configured: ${configured})`
      : mismatch === 'path'
        ? `The page path ${u.pathname} is outside the JS-safe domain paths (configured: ${configured})`
        : `The page host ${u.hostname} is not one of the account's JS-safe domains (configured: ${configured})`;
  return new WxkitError(ErrorCodes.URL_NOT_ALLOWED, message, {
    hint: {
      en: 'Add the domain under 设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名 and to WX_JS_DOMAINS; serve the page on port 80/443.',
      zh: '请在「设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名」中添加该域名并写入 WX_JS_DOMAINS；页面须使用 80/443 端口。',
    },
    details: {
      host: u.hostname,
      port: u.port || undefined,
      jsDomains: domains.map((d) => d.host + d.path),
      reason: mismatch,
    },
  });
}

function withSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
