import type { Metrics } from '../metrics.ts';
import type { Account } from '../types.ts';
import type { CorsPolicy } from './cors.ts';
import type { Reply } from './reply.ts';
import type { SettingNames } from './setting-names.ts';

/**
 * A request as the handler sees it, whether it came as a web `Request` or a Node `IncomingMessage`.
 * Routes read it through {@link RouteContext}.
 */
export interface HttpInput {
  method: string;
  /** Path and query as received (`/jssdk/config?url=…`), or an absolute URL. */
  target: string;
  /** A header value (lowercase name); several values joined with `, `. */
  header(name: string): string | undefined;
  /** The peer address (after trusted proxies), when known. */
  clientIp: string | undefined;
  /** Reads the whole body, failing with `payload_too_large` past `limit` bytes. */
  readBody(limit: number): Promise<Uint8Array>;
  /**
   * The path the framework mounted the handler under and already stripped from `target` (Express
   * `req.baseUrl`, a Fastify `prefix`, koa-mount's `ctx.mountPath`): part of every URL wxkit builds.
   */
  mountPath?: string | undefined;
  /** The original web Request, when the input came as one. */
  request?: Request | undefined;
  /** Middleware mounts: answer {@link UNMATCHED} instead of 404 when no route matches, so the app goes on. */
  passThrough?: boolean | undefined;
}

/** What the handler answers a pass-through input no route matches. */
export const UNMATCHED: unique symbol = Symbol.for('wxkit.unmatched');

/** The options after defaults, as routes see them. */
export interface ResolvedHandlerOptions {
  basePath: string;
  sandbox: boolean;
  /** How hints name settings: option names (library) or `wxkit serve`'s variables. */
  settingNames: SettingNames;
  apiKeyHashes: readonly Buffer[];
  /** Card ids the card routes sign for, of any account (empty: the card routes answer 404). */
  cardIds: readonly string[];
  /** Card ids per account (by appId) when they were given so; an account absent from it has none. */
  cardIdsByAccount: Readonly<Record<string, readonly string[]>> | undefined;
  /** Store (门店) ids `/jssdk/card-sign` may sign as `shopId`. */
  cardShopIds: readonly string[];
  maxBodyBytes: number;
  maxUrlLength: number;
  publicUrl: string | undefined;
  sessionSecret: string | undefined;
  clientScriptPath: string | undefined;
  now: () => number;
  /** Anything else the caller passed (route modules may read their own options here). */
  extra: Readonly<Record<string, unknown>>;
}

export interface RouteContext {
  readonly input: HttpInput;
  readonly method: string;
  /**
   * The path in front of wxkit's routes as the browser sees it: the framework's mount path plus
   * `basePath` (`''` at the root). Every URL wxkit hands out (OAuth redirect_uri, media URLs) starts with it.
   */
  readonly prefix: string;
  /** The parsed URL, with the handler's base path already removed from `pathname`. */
  readonly url: URL;
  /** `:name` segments of the route path, decoded. */
  readonly params: Readonly<Record<string, string>>;
  /**
   * Every configured account, Official Accounts and WeCom apps (`type: 'wecom'`); the first is the
   * default. Routes that need one kind narrow with `officialAccount()` / `wecomAccount()` (account-kind.ts).
   */
  readonly accounts: readonly Account[];
  /**
   * The account with this appId — an Official Account's appId or a WeCom corpId — and, for a corp
   * with several apps, this agentId (the corp's first app when undefined). The default account when
   * `appId` is undefined or ''. @throws unknown_app
   */
  account(appId?: string, agentId?: string): Account;
  /** The body as a JSON object (size-limited, UTF-8, no `__proto__`/`constructor` keys). @throws invalid_request */
  json(): Promise<Record<string, unknown>>;
  /** The raw body, size-limited. */
  body(): Promise<Uint8Array>;
  readonly options: ResolvedHandlerOptions;
  /** Per-handler state shared by route modules (a media cache, session keys…). */
  readonly state: Map<string, unknown>;
  /** The service's own metrics (request counts and latency live here too). */
  readonly metrics: Metrics;
  /** The page origins allowed to call from a browser; routes that spend quota check it on the request too. */
  readonly cors: CorsPolicy;
  /** The client address (after trusted proxies), when known. */
  readonly clientIp: string | undefined;
  /** Writes one structured log line (no-op when logging is off). Never pass secrets. */
  log(entry: Record<string, unknown>): void;
}

/** What a route answers: a plain {@link Reply} (cheapest) or any web `Response`. */
export type RouteResult = Reply | Response;

/**
 * One endpoint. `path` is literal segments and `:name` parameters (`/v1/apps/:appId/access_token`).
 */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  handle(ctx: RouteContext): RouteResult | Promise<RouteResult>;
  /** Send CORS headers for the allowed page origins. @default true */
  cors?: boolean;
  /** Count this route against the per-client rate limit. @default true */
  rateLimit?: boolean;
  /** Tokens one request takes from the client's bucket (expensive routes take more). @default 1 */
  rateLimitCost?: number;
}
