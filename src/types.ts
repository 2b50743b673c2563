import type { WecomOAuthClient } from './accounts/wecom-oauth.ts';
import type { CardExtInput, ChooseCardSign, ChooseCardSignInput } from './cards.ts';
import type { KnownTicket } from './diagnose.ts';
import type { JsDomain } from './domains.ts';
import type { Metrics } from './metrics.ts';
import type { OAuthClient } from './oauth/types.ts';
import type { JssdkConfig } from './signature.ts';

/**
 * The contract between the credential layer (`createWxkit`) and everything that uses an account: the
 * HTTP service, the CLI, OAuth. An {@link Account} is what every kind offers; one {@link Wxkit} is one
 * Official Account (`createWxkit()`), one {@link Wecom} is one WeCom app (`createWecom()`); several
 * accounts of both kinds in one process may share one store.
 */

/** `jsapi` for wx.config, `wx_card` for card APIs. */
export type TicketType = 'jsapi' | 'wx_card';

/** `jsapi` (the corp's ticket) for wx.config, `agent_config` (the app's ticket) for wx.agentConfig. */
export type WecomTicketType = 'jsapi' | 'agent_config';

/** The kinds of account wxkit keeps credentials for. */
export type AccountType = 'official' | 'wecom';

/** `stable` (POST /cgi-bin/stable_token), `classic` (GET /cgi-bin/token), `remote` (another wxkit). */
export type TokenMode = 'stable' | 'classic' | 'remote';

/** Where an Official Account's token comes from: a {@link TokenMode}, or `component` (a third-party platform's authorization). */
export type TokenSource = TokenMode | 'component';

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
  kind: 'access_token' | 'jsapi_ticket' | 'wx_card_ticket' | 'agent_config_ticket' | 'component_access_token';
  cached: boolean;
  /** Milliseconds since the epoch. */
  fetchedAt?: number | undefined;
  expiresAt?: number | undefined;
  /** Where it came from: `stable_token`, `token`, `getticket`, `remote`, `gettoken`, `get_jsapi_ticket`, `ticket/get`. */
  source?: string | undefined;
}

/** What every account kind reports from `status()`. */
export interface AccountStatus {
  /** The id pages and routes use: the Official Account's appId, the WeCom corpId. */
  appId: string;
  /** The store in use, without credentials (`memory`, `file:/path`, `redis://host:port`). */
  store: string;
  /** False while the shared store is unreachable (serving from memory). */
  storeReachable: boolean;
  /** The last error obtaining a credential, if the latest attempt failed. */
  lastError?: { code: string; errcode?: number | undefined; message: string } | undefined;
  credentials: CredentialStatus[];
}

/** An Official Account's status. */
export interface WxkitStatus extends AccountStatus {
  tokenMode: TokenSource;
}

/** A WeCom app's status (`appId` is the corpId). */
export interface WecomStatus extends AccountStatus {
  type: 'wecom';
  corpId: string;
  agentId: string;
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

/**
 * What every kind of account offers (an Official Account, a WeCom app): credentials kept fresh and
 * shared through a store, page signing for `wx.config`, calls to the platform's API with the token.
 * The HTTP handler holds accounts of both kinds as `Account`; `type` tells them apart.
 */
export interface Account<T extends string = string> {
  /** `wecom` for a WeCom app; `official` (or absent, in accounts made by hand) for an Official Account. */
  readonly type?: AccountType | undefined;
  /** The id pages and routes select the account by: the Official Account's appId, the WeCom corpId. */
  readonly appId: string;
  /** The account's JS-safe (or, in WeCom, trusted) domains, parsed. */
  readonly jsDomains: readonly JsDomain[];
  /**
   * Pages on loopback hosts (any port) are signed regardless of `jsDomains`: true when the account
   * talks to the simulator (a loopback `apiBase`) unless its options said otherwise. The HTTP handler
   * follows it (domain check, CORS, the simulator's JS bridge in `client.js`).
   */
  readonly allowLoopback?: boolean | undefined;
  /** Counters shared with the service's /metrics. */
  readonly metrics: Metrics;
  /** Base URLs in use. */
  readonly apiBase: string;
  readonly openBase: string;

  accessToken(options?: CallOptions): Promise<string>;
  accessTokenInfo(options?: CallOptions): Promise<CredentialValue>;
  ticket(type?: T, options?: CallOptions): Promise<string>;
  ticketInfo(type?: T, options?: CallOptions): Promise<CredentialValue>;
  /** Compare-and-invalidate: drops the cached token only if it is still `value`. */
  invalidateAccessToken(value: string): Promise<boolean>;
  /** Signs a page URL with the `jsapi` ticket; the result goes to wx.config as is. */
  jssdkConfig(input: JssdkConfigInput): Promise<JssdkConfig>;
  /** Calls the platform's API with the token (added as access_token query parameter), retrying once when the platform says the token is invalid. */
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  /** Downloads a temporary media file (`serverId` = media_id); a JSON error from the platform throws. */
  downloadMedia(serverId: string, options?: CallOptions): Promise<DownloadedMedia>;
  /**
   * Asks the platform whether `expected` (the ticket pages were signed with) is still its ticket, and
   * holds the ticket it answers if it is another one (compare-and-replace). For pages that fail
   * `config:invalid signature` although signed correctly; at most once a minute per account and type,
   * across processes sharing the store. Optional for custom accounts.
   */
  recheckTicket?(type: T, expected: string): Promise<TicketRecheck>;
  /** Tickets of `type` (default `jsapi`) a signature may have been made with (current and recent), for diagnosis. */
  knownTickets(type?: T): Promise<KnownTicket[]>;
  /** What is cached and whether the store is reachable. */
  status(): Promise<AccountStatus>;
  /**
   * The circuit breaker in front of the upstream the credentials come from (the worst one when the
   * account uses two hosts). Synchronous and free: made for `/readyz` and dashboards. Optional for
   * custom accounts.
   */
  breaker?(): BreakerStatus;
  /** Stops timers and closes the store if wxkit opened it. */
  close(): Promise<void>;
}

/** One Official Account, its credentials kept fresh and shared through a store. */
export interface Wxkit extends Account<TicketType> {
  readonly type?: 'official' | undefined;
  readonly tokenMode: TokenSource;
  /** Web OAuth (网页授权): authorize URL, code exchange (once per code), refresh, userinfo, sns/auth. */
  readonly oauth: OAuthClient;
  /** Calls a WeChat API with the token (added as access_token query parameter), retrying once on 40001/40014/42001. */
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  /** What is cached and whether the store is reachable. */
  status(): Promise<WxkitStatus>;
  /**
   * `wx.chooseCard`'s signature, made with the `wx_card` ticket (not the jsapi_ticket).
   *
   * @example
   * const { timestamp, nonceStr, signType, cardSign } = await wx.chooseCardSign({ cardType: 'GROUPON' })
   */
  chooseCardSign(input?: ChooseCardSignInput & CallOptions): Promise<ChooseCardSign>;
  /**
   * `wx.addCard`'s `cardExt` JSON string, signed with the `wx_card` ticket.
   *
   * @example
   * const cardExt = await wx.cardExt({ cardId: 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc', code: '1234567890' })
   */
  cardExt(input: CardExtInput & CallOptions): Promise<string>;
}

/** Input of {@link Wecom.agentConfig}. */
export interface AgentConfigInput extends CallOptions {
  /** The page URL (location.href; the hash is dropped, a whole-encoded URL decoded once). */
  url: string;
  jsApiList?: readonly string[] | undefined;
}

/** What `wx.agentConfig` takes (besides its callbacks), signed with the app's `agent_config` ticket. */
export interface AgentConfig {
  corpid: string;
  /** The AgentId as a string: WeCom's clients compare it as one. */
  agentid: string;
  /** Integer seconds since the epoch, as signed. */
  timestamp: number;
  /** 16 characters of [A-Za-z0-9], as signed. */
  nonceStr: string;
  /** Lowercase hex sha1 of `jsapi_ticket=<agent ticket>&noncestr=…&timestamp=…&url=…`. */
  signature: string;
  jsApiList: string[];
}

/** A WeCom page's `wx.config` object: `appId` is the corpId and `beta` is true (needed for agentConfig APIs). */
export interface WecomJssdkConfig extends JssdkConfig {
  beta: true;
}

/** One WeCom (企业微信) app: corp token per app secret, the corp's jsapi ticket, the app's agent_config ticket. */
export interface Wecom extends Account<WecomTicketType> {
  readonly type: 'wecom';
  /** The corpId (also `appId`: what pages and routes select the account by). */
  readonly corpId: string;
  /** The app's AgentId. */
  readonly agentId: string;
  /** WeCom OAuth (网页授权登录): authorize URL with `agentid`, `getUserInfo(code)` exchanged once per code. */
  readonly oauth: WecomOAuthClient;
  /** Signs a page URL with the corp's jsapi_ticket: the object for `wx.config` (`appId` = corpId, `beta: true`). */
  jssdkConfig(input: JssdkConfigInput): Promise<WecomJssdkConfig>;
  /** Signs a page URL with the app's agent_config ticket: the object for `wx.agentConfig`. */
  agentConfig(input: AgentConfigInput): Promise<AgentConfig>;
  /** Calls a WeCom API with the corp token, retrying once on 40014/42001. */
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  /** What is cached and whether the store is reachable. */
  status(): Promise<WecomStatus>;
}
