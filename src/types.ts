import type { KnownTicket } from './diagnose.ts';
import type { JsDomain } from './domains.ts';
import type { Metrics } from './metrics.ts';
import type { OAuthClient } from './oauth/types.ts';
import type { JssdkConfig } from './signature.ts';

/**
 * The contract between the credential layer (`createWxkit`) and everything that uses an
 * account: the HTTP service, the CLI, OAuth. One `Wxkit` is one Official Account; several accounts in
 * one process are several `createWxkit()` results, which may share one store.
 */

/** `jsapi` for wx.config, `wx_card` for card APIs. */
export type TicketType = 'jsapi' | 'wx_card';

/** `stable` (POST /cgi-bin/stable_token), `classic` (GET /cgi-bin/token), `remote` (another wxkit). */
export type TokenMode = 'stable' | 'classic' | 'remote';

/** A credential with its absolute expiry. */
export interface CredentialValue {
  value: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** Options every network-bound call accepts. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** Input of {@link Wxkit.jssdkConfig}. */
export interface JssdkConfigInput extends CallOptions {
  /** The page URL (location.href; the hash is dropped, a whole-encoded URL decoded once). */
  url: string;
  jsApiList?: readonly string[] | undefined;
  openTagList?: readonly string[] | undefined;
  debug?: boolean | undefined;
}

/** A media file downloaded from WeChat. */
export interface DownloadedMedia {
  bytes: Uint8Array;
  contentType: string;
  /** The file name WeChat suggested (Content-Disposition), if any. */
  filename?: string | undefined;
}

/** What is cached for one credential, for `wxkit token status` and /readyz. Never the value itself. */
export interface CredentialStatus {
  kind: 'access_token' | 'jsapi_ticket' | 'wx_card_ticket';
  cached: boolean;
  /** Milliseconds since the epoch. */
  fetchedAt?: number | undefined;
  expiresAt?: number | undefined;
  /** Where it came from: `stable_token`, `token`, `getticket`, `remote`. */
  source?: string | undefined;
}

export interface WxkitStatus {
  appId: string;
  tokenMode: TokenMode;
  /** The store in use, without credentials (`memory`, `file:/path`, `redis://host:port`). */
  store: string;
  /** False while the shared store is unreachable (serving from memory). */
  storeReachable: boolean;
  /** The last error obtaining a credential, if the latest attempt failed. */
  lastError?: { code: string; errcode?: number | undefined; message: string } | undefined;
  credentials: CredentialStatus[];
}

/** What {@link Wxkit.recheckTicket} did. */
export interface TicketRecheck {
  /** True when WeChat was asked. */
  rechecked: boolean;
  /** True when WeChat answered another ticket and wxkit now holds it. */
  refreshed: boolean;
  /** Why nothing was asked: re-checked recently (`rate_limited`), `remote` mode, or the call `failed`. */
  reason?: 'rate_limited' | 'remote' | 'failed' | undefined;
  /** With `rate_limited`: seconds until the next re-check is allowed. */
  retryAfter?: number | undefined;
  /** With `failed`: the error's code. */
  error?: string | undefined;
}

/** `closed` (calls go upstream), `open` (refused at once for a while), `half-open` (one probe is out). */
export type BreakerState = 'closed' | 'half-open' | 'open';

/** The circuit breaker in front of an account's upstream (WeChat, or the central wxkit in `remote` mode). */
export interface BreakerStatus {
  /** The upstream origin, e.g. `https://api.weixin.qq.com`. */
  upstream: string;
  state: BreakerState;
  /** When it entered this state (ms since the epoch, wxkit's clock). */
  since: number;
  /** While `open`: when the next probe may go (ms since the epoch, wxkit's clock). */
  retryAt?: number | undefined;
}

/** `closed` (calls go upstream), `open` (refused at once for a while), `half-open` (one probe is out). */
export type BreakerState = 'closed' | 'half-open' | 'open';

/** The circuit breaker in front of an account's upstream (WeChat, or the central wxkit in `remote` mode). */
export interface BreakerStatus {
  /** The upstream origin, e.g. `https://api.weixin.qq.com`. */
  upstream: string;
  state: BreakerState;
  /** When it entered this state (ms since the epoch, wxkit's clock). */
  since: number;
  /** While `open`: when the next probe may go (ms since the epoch, wxkit's clock). */
  retryAt?: number | undefined;
}

/** One Official Account, its credentials kept fresh and shared through a store. */
export interface Wxkit {
  readonly appId: string;
  readonly tokenMode: TokenMode;
  /** The account's JS-safe domains, parsed. */
  readonly jsDomains: readonly JsDomain[];
  /** Counters shared with the service's /metrics. */
  readonly metrics: Metrics;
  /** Base URLs in use. */
  readonly apiBase: string;
  readonly openBase: string;
  /** Web OAuth (网页授权): authorize URL, code exchange (once per code), refresh, userinfo, sns/auth. */
  readonly oauth: OAuthClient;

  accessToken(options?: CallOptions): Promise<string>;
  accessTokenInfo(options?: CallOptions): Promise<CredentialValue>;
  ticket(type?: TicketType, options?: CallOptions): Promise<string>;
  ticketInfo(type?: TicketType, options?: CallOptions): Promise<CredentialValue>;
  /** Compare-and-invalidate: drops the cached token only if it is still `value`. */
  invalidateAccessToken(value: string): Promise<boolean>;
  /** Signs a page URL; the result goes to wx.config as is. */
  jssdkConfig(input: JssdkConfigInput): Promise<JssdkConfig>;
  /** Calls a WeChat API with the token (added as access_token query parameter), retrying once on 40001/40014/42001. */
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  /** Downloads a temporary media file (`serverId` = media_id); a JSON error from WeChat throws. */
  downloadMedia(serverId: string, options?: CallOptions): Promise<DownloadedMedia>;
  /**
   * Asks WeChat whether `expected` (the ticket pages were signed with) is still its ticket, and holds
   * the ticket WeChat answers if it is another one (compare-and-replace). For pages that fail
   * `config:invalid signature` although signed correctly; at most once a minute per account and type,
   * across processes sharing the store. Optional for custom accounts.
   */
  recheckTicket?(type: TicketType, expected: string): Promise<TicketRecheck>;
  /** Tickets the signature may have been made with (current and recent), for diagnosis. */
  knownTickets(): Promise<KnownTicket[]>;
  /** What is cached and whether the store is reachable. */
  status(): Promise<WxkitStatus>;
  /**
   * The circuit breaker in front of the upstream the credentials come from (the worst one when the
   * account uses two hosts). Synchronous and free: made for `/readyz` and dashboards. Optional for
   * custom accounts.
   */
  breaker?(): BreakerStatus;
  /**
   * The circuit breaker in front of the upstream the credentials come from (the worst one when the
   * account uses two hosts). Synchronous and free: made for `/readyz` and dashboards. Optional for
   * custom accounts.
   */
  breaker?(): BreakerStatus;
  /** Stops timers and closes the store if wxkit opened it. */
  close(): Promise<void>;
}
