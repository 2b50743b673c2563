import { parseJsDomains } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { Metrics } from '../metrics.ts';
import type { Account } from '../types.ts';
import { isWecom } from './account-kind.ts';
import { clientKey, forwardedAddress, unmapped } from './client-address.ts';
import { type CorsPolicy, corsPolicy, preflight } from './cors.ts';
import { isoNow, jsonLines, type LogEntry, type LogSink, redact } from './log.ts';
import { parseJsonObject } from './params.ts';
import { RateLimiter, type RateLimitOptions } from './rate-limit.ts';
import { asWxkitError, errorReply, toResponse } from './reply.ts';
import {
  type HttpInput,
  type ResolvedHandlerOptions,
  type Route,
  type RouteContext,
  type RouteResult,
  UNMATCHED,
} from './route.ts';
import { Router } from './router.ts';
import { routeModules } from './routes/index.ts';
import { hashApiKeys } from './routes/tokens.ts';
import { type SettingNames, settingName } from './setting-names.ts';

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** A path prefix to strip before routing, e.g. `/api/wx` under Next.js. @default '' */
  basePath?: string;
  /** Sandbox mode: loopback pages (any port) pass the JS-safe-domain check and CORS. @default false */
  sandbox?: boolean;
  /**
   * How hints and warnings name a setting: by the option you pass (`jsDomains`, `sessionSecret`,
   * `apiKeys`…), or by the environment variable `wxkit serve` reads it from (`WX_JS_DOMAINS`,
   * `WXKIT_SESSION_SECRET`…), which is what `wxkit serve` passes. The handler itself reads no
   * environment variable: everything comes from these options.
   * @default 'options'
   */
  settingNames?: SettingNames;
  /**
   * Page origins allowed by CORS (`WXKIT_CORS_ORIGINS`), or `'*'`.
   * @default the http and https origins of the accounts' JS-safe domains and their subdomains
   */
  corsOrigins?: readonly string[] | '*';
  /** Bearer keys for `/v1/apps/:appId/…` (`WXKIT_API_KEYS`); the token API answers 404 without them. @default [] */
  apiKeys?: readonly string[];
  /**
   * Card ids (卡券) `/jssdk/card-sign` and `/jssdk/card-ext` sign for (`WXKIT_CARD_IDS`): one list for
   * every account, or a list per appId (`{ wx…: ['pFS7…'] }`); off when empty. @default []
   */
  cardIds?: readonly string[] | Readonly<Record<string, readonly string[]>>;
  /** Store (门店) ids pages may send as `shopId` to `/jssdk/card-sign` (`WXKIT_CARD_SHOP_IDS`). @default [] */
  cardShopIds?: readonly string[];
  /** Largest request body accepted, in bytes (413 past it). @default 16384 */
  maxBodyBytes?: number;
  /** Longest request target (path + query) accepted, in characters (414 past it). @default 8192 */
  maxUrlLength?: number;
  /**
   * Per-client token bucket (429 with Retry-After past it), or `false`. Clients are told apart by their
   * address, which a web `Request` does not carry: pass `{ clientIp }` as the handler's second argument
   * or set `trustProxy`; requests with no known address are not limited.
   * @default { perSecond: 50, burst: 100 }
   */
  rateLimit?: RateLimitOptions | false;
  /** Take the client address from `X-Forwarded-For`, this many proxies deep (`true` = 1). @default false */
  trustProxy?: boolean | number;
  /** Where structured log lines go. @default JSON lines on stdout */
  log?: LogSink | false;
  /** Log one line per request (method, route, status, ms). Errors are logged regardless. @default false */
  logRequests?: boolean;
  /** The service's public origin (OAuth redirect_uri, media URLs). */
  publicUrl?: string;
  /** Signs OAuth session cookies. */
  sessionSecret?: string;
  /** Where the browser helper IIFE is. @default dist/client.global.js of this package */
  clientScriptPath?: string;
  /** Extra routes, matched like the built-in ones. */
  routes?: readonly Route[];
  /** Registry for the service's own metrics. @default a new one */
  metrics?: Metrics;
  /** Clock in milliseconds (rate limiting). @default Date.now */
  now?: () => number;
  /** Options read by route modules (media, OAuth). */
  extra?: Record<string, unknown>;
}

/** What the handler needs of a third-party platform (`extra.platform`, from `createPlatform()`). */
interface PlatformAccounts {
  readonly jsDomains: readonly string[];
  accountFor(appId: string): Account;
}

/** Facts about the request that a web `Request` lacks; adapters and the Node server pass them. */
export interface RequestInfo {
  clientIp?: string | undefined;
}

/** Internal entry used by the Node server and adapters: no web Request/Response on the hot path. */
export const HANDLE_INPUT: unique symbol = Symbol.for('wxkit.handleInput');

/** A web-standard handler, `(Request) => Promise<Response>`. */
export interface WxkitHandler {
  /** `info` may be anything a host passes as second argument (Next.js' route context, Hono's env). */
  (request: Request, info?: RequestInfo | object): Promise<Response>;
  /** @internal */
  [HANDLE_INPUT]: (input: HttpInput) => Promise<RouteResult | typeof UNMATCHED>;
  /** The service's own metrics registry. */
  readonly metrics: Metrics;
}

const DEFAULT_RATE: RateLimitOptions = { perSecond: 50, burst: 100 };

/**
 * The wxkit service as one web-standard function: `/jssdk/config`, `/jssdk/diagnose`,
 * `/jssdk/client.js`, the token API, `/healthz`, `/readyz`, `/metrics`. Several accounts are
 * selected by `appId`; the first is the default. Mount it anywhere that speaks `Request`/`Response`
 * (Hono, Next.js route handlers, Bun, Deno) or through `wxkit/express`, `wxkit/koa`, `wxkit/fastify`.
 *
 * @example
 * import { createWxkit } from 'wxkit'
 * import { createHandler } from 'wxkit/http'
 * const handler = createHandler(createWxkit({ appId, secret, jsDomains: ['h5.example.com'] }))
 * export const GET = handler, POST = handler // Next.js app/api/[...wx]/route.ts with basePath '/api'
 */
export function createHandler(
  wxkit: Account | readonly Account[],
  options: HandlerOptions = {},
): WxkitHandler {
  const accounts: readonly Account[] = Array.isArray(wxkit) ? [...wxkit] : [wxkit as Account];
  // A third-party platform serves every appId that authorized it, beside (or instead of) fixed accounts.
  const platform = options.extra?.platform as PlatformAccounts | undefined;
  if (accounts.length === 0 && !platform)
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'createHandler needs at least one account.');
  // Official Accounts by appId; WeCom apps by corpId, several apps of one corp told apart by agentId.
  const byId = new Map<string, Account[]>();
  const keys = new Set<string>();
  for (const a of accounts) {
    const key = isWecom(a) ? `${a.appId}/${a.agentId}` : a.appId;
    if (keys.has(key) || (byId.has(a.appId) && !isWecom(a))) {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'createHandler got the same appId twice.');
    }
    keys.add(key);
    const list = byId.get(a.appId) ?? [];
    if (list.length > 0 && !isWecom(list[0] as Account)) {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'createHandler got the same appId twice.');
    }
    list.push(a);
    byId.set(a.appId, list);
  }
  const now = options.now ?? Date.now;
  const resolved: ResolvedHandlerOptions = {
    basePath: (options.basePath ?? '').replace(/\/+$/, ''),
    sandbox: options.sandbox ?? false,
    settingNames: options.settingNames ?? 'options',
    apiKeyHashes: hashApiKeys(options.apiKeys ?? []),
    ...cardLists(options.cardIds),
    cardShopIds: [...(options.cardShopIds ?? [])],
    maxBodyBytes: options.maxBodyBytes ?? 16 * 1024,
    maxUrlLength: options.maxUrlLength ?? 8 * 1024,
    publicUrl: options.publicUrl,
    sessionSecret: options.sessionSecret,
    clientScriptPath: options.clientScriptPath,
    now,
    extra: options.extra ?? {},
  };
  const router = new Router([...routeModules.flat(), ...(options.routes ?? [])]);
  const cors: CorsPolicy = corsPolicy(
    options.corsOrigins,
    [...accounts.flatMap((a) => a.jsDomains), ...(platform ? parseJsDomains(platform.jsDomains) : [])],
    // Loopback origins as in the sandbox when every account is on the simulator, never beside a real one.
    resolved.sandbox || (accounts.length > 0 && accounts.every((a) => a.allowLoopback === true)),
  );
  const limiter =
    options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? DEFAULT_RATE, now);
  const trustHops = options.trustProxy === true ? 1 : options.trustProxy || 0;
  const sink: LogSink | undefined = options.log === false ? undefined : (options.log ?? jsonLines());
  const logRequests = sink !== undefined && (options.logRequests ?? false);
  const metrics = options.metrics ?? new Metrics();
  const state = new Map<string, unknown>();
  const log = sink
    ? (entry: Record<string, unknown>) => {
        try {
          sink({ time: isoNow(), level: 'info', msg: '', ...entry } as LogEntry);
        } catch {
          // A broken log sink must not break requests.
        }
      }
    : () => {};

  function account(appId?: string, agentId?: string): Account {
    const first = accounts[0];
    if (!first) {
      if (!appId)
        throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'appId is required: name the authorized account.');
      return (platform as PlatformAccounts).accountFor(appId);
    }
    if ((appId === undefined || appId === '') && agentId === undefined) return first;
    const candidates = byId.get(appId || first.appId);
    const found =
      agentId === undefined ? candidates?.[0] : candidates?.find((a) => isWecom(a) && a.agentId === agentId);
    if (found) return found;
    if (candidates && agentId !== undefined) {
      log({ level: 'warn', msg: 'unknown agentId', appId: (appId || first.appId).slice(0, 64), agentId });
      throw new WxkitError(
        ErrorCodes.UNKNOWN_APP,
        `No WeCom app with agentId ${agentId} of ${JSON.stringify((appId || first.appId).slice(0, 64))} is configured here.`,
        {
          zh: `本服务没有配置 ${JSON.stringify((appId || first.appId).slice(0, 64))} 下 agentId 为 ${agentId} 的企业微信应用。`,
          hint: {
            en: 'Use the agentId of an app this service is configured for, or omit agentId to use the corp’s first app.',
            zh: '请使用本服务已配置的应用 agentId，或不传 agentId 以使用该企业的第一个应用。',
          },
        },
      );
    }
    appId = appId || first.appId;
    if (platform && agentId === undefined) return platform.accountFor(appId);
    // The configured appIds go to the log, not to an anonymous caller (they list every account served).
    log({ level: 'warn', msg: 'unknown appId', appId: appId.slice(0, 64), configured: [...byId.keys()] });
    throw new WxkitError(
      ErrorCodes.UNKNOWN_APP,
      `No account ${JSON.stringify(appId.slice(0, 64))} is configured here.`,
      {
        zh: `本服务没有配置账号 ${JSON.stringify(appId.slice(0, 64))}。`,
        hint: {
          en: 'Use an appId this service is configured for, or omit appId to use its default account.',
          zh: '请使用本服务已配置的 appId，或不传 appId 以使用默认账号。',
        },
      },
    );
  }

  const shared: Shared = { accounts, account, options: resolved, state, metrics, log, cors, trustHops };

  async function handleInput(input: HttpInput): Promise<RouteResult | typeof UNMATCHED> {
    const started = performance.now();
    let routeLabel = 'unmatched';
    let reply: RouteResult;
    let route: Route | undefined;
    let origin: string | undefined;
    let errorCode: string | undefined;
    let preflighted = false;
    try {
      if (input.target.length > resolved.maxUrlLength) {
        throw new WxkitError(
          ErrorCodes.PAYLOAD_TOO_LARGE,
          `The request URL is longer than ${resolved.maxUrlLength} characters.`,
          {
            zh: `请求 URL 超过 ${resolved.maxUrlLength} 个字符。`,
            status: 414,
          },
        );
      }
      const url = parseTarget(input.target);
      let pathname = url.pathname;
      if (resolved.basePath) {
        if (pathname !== resolved.basePath && !pathname.startsWith(`${resolved.basePath}/`)) {
          if (input.passThrough) return UNMATCHED;
          throw notFound(resolved.settingNames);
        }
        pathname = pathname.slice(resolved.basePath.length) || '/';
        url.pathname = pathname;
      }
      const method = input.method.toUpperCase();
      origin = input.header('origin');
      if (method === 'OPTIONS') {
        const atPath = router.routesAt(pathname);
        if (atPath.length === 0) {
          if (input.passThrough) return UNMATCHED;
          throw notFound(resolved.settingNames);
        }
        routeLabel = 'preflight';
        reply = preflight(atPath, origin, input.header('access-control-request-headers'), cors);
        preflighted = true;
      } else {
        const m = router.match(method, pathname);
        if (!m.route) {
          if (m.allow.length === 0 && input.passThrough) return UNMATCHED;
          if (m.allow.length === 0) throw notFound(resolved.settingNames);
          throw new WxkitError(ErrorCodes.INVALID_REQUEST, `${method} is not allowed on ${pathname}.`, {
            zh: `${pathname} 不支持 ${method} 方法。`,
            status: 405,
            details: { allow: m.allow.join(', ') },
          });
        }
        route = m.route;
        routeLabel = route.path;
        if (limiter && route.rateLimit !== false) {
          const ip = clientIp(input, trustHops);
          if (ip !== undefined) {
            const wait = limiter.take(clientKey(ip), route.rateLimitCost ?? 1);
            if (wait > 0) {
              throw new WxkitError(ErrorCodes.RATE_LIMITED, 'Too many requests from this client.', {
                retryAfter: wait,
                hint: {
                  en: 'Slow down and retry after Retry-After seconds.',
                  zh: '请求过于频繁，请在 Retry-After 秒后重试。',
                },
              });
            }
          }
        }
        const ctx = new Context(
          input,
          method,
          mountPrefix(input.mountPath) + resolved.basePath,
          url,
          m.params,
          shared,
        );
        reply = await route.handle(ctx);
      }
    } catch (e) {
      const err = asWxkitError(e);
      errorCode = err.code;
      if (err.code === ErrorCodes.INTERNAL) {
        const cause = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        log({ level: 'error', msg: 'internal error', route: routeLabel, error: redact(cause).slice(0, 500) });
      }
      reply = errorReply(err);
    }
    if (preflighted) {
      // preflight() decided the CORS headers for the path's routes.
    } else if (origin !== undefined && route?.cors !== false && cors.allows(origin)) {
      reply = withHeaders(
        reply,
        cors.credentials
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-credentials': 'true',
              vary: 'Origin',
            }
          : { 'access-control-allow-origin': origin, vary: 'Origin' },
      );
    } else if (route !== undefined && route.cors !== false) {
      // The answer depends on Origin even without one: a shared cache must not serve this copy
      // (no Access-Control-Allow-Origin) to a page's fetch() (client.js, media are cacheable).
      reply = withHeaders(reply, { vary: 'Origin' });
    }
    const status = reply.status;
    const seconds = (performance.now() - started) / 1000;
    metrics.inc(
      'wxkit_http_requests_total',
      { route: routeLabel, status },
      1,
      'HTTP requests by route and status.',
    );
    metrics.observe(
      'wxkit_http_request_duration_seconds',
      seconds,
      { route: routeLabel },
      'HTTP request latency.',
    );
    if (sink !== undefined && (logRequests || status >= 500)) {
      // The whole line in one literal (not `log()`'s spread of a second object): one per request.
      const entry: LogEntry = {
        time: isoNow(),
        level: status >= 500 ? 'error' : 'info',
        msg: 'request',
        method: input.method,
        route: routeLabel,
        status,
        ms: Math.round(seconds * 1e4) / 10,
      };
      if (errorCode) entry.code = errorCode;
      try {
        sink(entry);
      } catch {
        // A broken log sink must not break requests.
      }
    }
    return reply;
  }

  const handler = (async (request: Request, info?: RequestInfo | object): Promise<Response> => {
    const input = webInput(request, info);
    const reply = (await handleInput(input)) as RouteResult;
    return toResponse(reply, request.method === 'HEAD');
  }) as WxkitHandler;
  Object.defineProperty(handler, HANDLE_INPUT, { value: handleInput });
  Object.defineProperty(handler, 'metrics', { value: metrics, enumerable: true });
  return handler;
}

/** What every request's {@link Context} shares: made once per handler. */
type Shared = Pick<
  RouteContext,
  'accounts' | 'account' | 'options' | 'state' | 'metrics' | 'log' | 'cors'
> & {
  readonly trustHops: number;
};

/**
 * A request's {@link RouteContext}: a class, not an object literal with a getter and closures. V8 builds
 * a literal with a getter in its runtime (dictionary mode), and everything such a context referenced —
 * the request, its IncomingMessage — then survived minor GCs: each request was promoted to the old
 * generation and freed only by full GCs, which cost `wxkit serve` about a sixth of its throughput
 * (test/http/request-garbage.test.ts, bench/serve.ts).
 */
class Context implements RouteContext {
  readonly accounts: readonly Account[];
  readonly account: (appId?: string, agentId?: string) => Account;
  readonly options: ResolvedHandlerOptions;
  readonly state: Map<string, unknown>;
  readonly metrics: Metrics;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly cors: CorsPolicy;
  private readonly trustHops: number;

  constructor(
    readonly input: HttpInput,
    readonly method: string,
    readonly prefix: string,
    readonly url: URL,
    readonly params: Readonly<Record<string, string>>,
    shared: Shared,
  ) {
    this.accounts = shared.accounts;
    this.account = shared.account;
    this.options = shared.options;
    this.state = shared.state;
    this.metrics = shared.metrics;
    this.log = shared.log;
    this.cors = shared.cors;
    this.trustHops = shared.trustHops;
  }

  async json(): Promise<Record<string, unknown>> {
    return parseJsonObject(await readBody(this.input, this.options.maxBodyBytes));
  }

  body(): Promise<Uint8Array> {
    return readBody(this.input, this.options.maxBodyBytes);
  }

  get clientIp(): string | undefined {
    return clientIp(this.input, this.trustHops);
  }
}

function cardLists(given: HandlerOptions['cardIds']) {
  if (given === undefined || Array.isArray(given)) {
    return { cardIds: [...((given as readonly string[] | undefined) ?? [])], cardIdsByAccount: undefined };
  }
  const byAccount = given as Readonly<Record<string, readonly string[]>>;
  return { cardIds: [...new Set(Object.values(byAccount).flat())], cardIdsByAccount: byAccount };
}

/** A framework's mount path, as a prefix: `/wx` (never a trailing slash), or `''`. */
function mountPrefix(mountPath: string | undefined): string {
  if (!mountPath?.startsWith('/') || mountPath.startsWith('//')) return '';
  return mountPath.replace(/\/+$/, '');
}

function notFound(names: SettingNames): WxkitError {
  return new WxkitError(ErrorCodes.NOT_FOUND, 'No such endpoint.', {
    zh: '没有这个接口。',
    hint: {
      en: `Endpoints: /jssdk/config, /jssdk/agent-config (WeCom), /jssdk/diagnose, /jssdk/client.js, /jssdk/media, /oauth/login, /oauth/callback, /oauth/me, /oauth/logout, /v1/apps/:appId/… (with ${settingName('apiKeys', names)}), /healthz, /readyz, /metrics. The demo page at / exists in sandbox mode only.`,
      zh: `可用接口：/jssdk/config、/jssdk/agent-config（企业微信）、/jssdk/diagnose、/jssdk/client.js、/jssdk/media、/oauth/login、/oauth/callback、/oauth/me、/oauth/logout、/v1/apps/:appId/…（需配置 ${settingName('apiKeys', names)}）、/healthz、/readyz、/metrics。演示页 / 仅在沙箱模式下提供。`,
    },
  });
}

const BASE = 'http://wxkit.invalid';

function parseTarget(target: string): URL {
  try {
    // Origin-form targets are appended (not resolved) so `//evil.com/x` stays a path.
    return target.charCodeAt(0) === 47 ? new URL(BASE + target) : new URL(target);
  } catch {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The request URL is malformed.', {
      zh: '请求 URL 格式有误。',
    });
  }
}

function withHeaders(reply: RouteResult, headers: Record<string, string>): RouteResult {
  if (!(reply instanceof Response)) {
    Object.assign(reply.headers, headers);
    return reply;
  }
  try {
    for (const [k, v] of Object.entries(headers)) reply.headers.set(k, v);
    return reply;
  } catch {
    const copy = new Response(reply.body, reply);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}

/**
 * The client address, `hops` proxies deep into X-Forwarded-For when proxies are trusted.
 *
 * Stops spoofing: a header shorter than `hops` did not pass through every trusted proxy, so its
 * entries are the client's own words (`X-Forwarded-For: 6.6.6.6` sent straight to the first proxy).
 * Then, and for an entry that is not an IP address, the socket address is used. Ports and the
 * IPv4-mapped form are dropped ({@link forwardedAddress}).
 */
export function clientIp(input: HttpInput, hops: number): string | undefined {
  if (hops > 0) {
    const xff = input.header('x-forwarded-for');
    if (xff) {
      const list = xff.split(',').map((s) => s.trim());
      if (list.length >= hops) {
        const picked = forwardedAddress(list[list.length - hops] as string);
        if (picked !== undefined) return picked;
      }
    }
  }
  return input.clientIp === undefined ? undefined : unmapped(input.clientIp);
}

/** The body, size-limited: `payload_too_large` past `limit` (also by Content-Length), `invalid_request` when it breaks off. */
export async function readBody(input: HttpInput, limit: number): Promise<Uint8Array> {
  const length = input.header('content-length');
  if (length !== undefined && (!/^\d+$/.test(length) || Number(length) > limit)) {
    if (!/^\d+$/.test(length))
      throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'Content-Length is malformed.', {
        zh: 'Content-Length 格式有误。',
      });
    throw tooLarge(limit);
  }
  try {
    return await input.readBody(limit);
  } catch (e) {
    if (e instanceof WxkitError) throw e;
    // The client hung up or its body stream failed: bad input, not a bug in wxkit (no 500).
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The request body could not be read to its end.', {
      zh: '请求体未能完整读取。',
      cause: e,
    });
  }
}

export function tooLarge(limit: number): WxkitError {
  return new WxkitError(ErrorCodes.PAYLOAD_TOO_LARGE, `The request body is larger than ${limit} bytes.`, {
    zh: `请求体超过 ${limit} 字节。`,
    status: 413,
  });
}

/** The handler's view of a web `Request`. */
export function webInput(request: Request, info: RequestInfo | object | undefined): HttpInput {
  const given = (info as RequestInfo | undefined)?.clientIp;
  const clientIp = typeof given === 'string' ? given : undefined;
  return {
    method: request.method,
    target: request.url,
    header: (name) => request.headers.get(name) ?? undefined,
    clientIp,
    request,
    async readBody(limit) {
      if (!request.body) return new Uint8Array(0);
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel().catch(() => {});
          throw tooLarge(limit);
        }
        chunks.push(value);
      }
      return concat(chunks, size);
    },
  };
}

export function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
