import type { WxkitConfig } from '../config.ts';
import type { Hint } from '../errors.ts';
import { maxmemoryPolicy, type RedisTopology } from '../stores/redis.ts';
import type { ServiceSettings } from './config.ts';
import { isLoopbackListen } from './sandbox.ts';

/** What the start-up checks look at: the service's settings, reduced to facts. */
export interface WarningInput {
  sandbox: boolean;
  /** The listen address (HOST or --host). */
  host: string;
  port: number;
  /** WXKIT_PUBLIC_URL as configured; undefined when it was not set. */
  publicUrl: string | undefined;
  /** Whether WXKIT_SESSION_SECRET is set. */
  sessionSecret: boolean;
  corsOrigins: readonly string[] | '*' | undefined;
  /** Number of WXKIT_API_KEYS entries (0: the token API is off). */
  apiKeys: number;
  trustProxy: number;
  /** False when WXKIT_RATE_LIMIT=off. */
  rateLimited: boolean;
  /** WXKIT_STORE as given; only compared with `memory`, never printed. */
  store: string;
  /** WXKIT_MEDIA_STORE as resolved (`file:.wxkit/media` by default); only its scheme is read, never printed. */
  mediaStore?: string | undefined;
  /** Saved media and the credentials are kept in the same Redis server. */
  mediaSharesCredentialRedis?: boolean | undefined;
  /** The credential Redis's `maxmemory-policy`, when it could be read. */
  credentialRedisPolicy?: string | undefined;
  workers: number;
  accounts: readonly { appId: string; jsDomains: readonly unknown[] }[];
}

/** One risky setting `wxkit serve` saw at start. `id` is stable (docs/security.md's checklist uses it). */
export interface StartupWarning extends Hint {
  id: string;
}

type Rule = (s: WarningInput) => StartupWarning | undefined;

const open = (s: WarningInput) => !isLoopbackListen(s.host);
const isHttps = (url: string | undefined) => url?.startsWith('https:') === true;

/**
 * No WXKIT_SESSION_SECRET in live mode: sessions are signed with a random key, so every restart logs
 * every user out and a second instance behind the load balancer rejects the first one's cookies.
 */
export function sessionSecretMissing(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox || s.sessionSecret) return undefined;
  return {
    id: 'session-secret',
    en: `WXKIT_SESSION_SECRET is not set: OAuth sessions are signed with a random key${isHttps(s.publicUrl) ? ` (behind ${s.publicUrl})` : ''}, end when the service restarts and are rejected by other instances; set the same long random value on every instance.`,
    zh: '未设置 WXKIT_SESSION_SECRET：OAuth 会话用随机密钥签名，服务重启即失效，其他实例也不认；请在每个实例上设置同一个足够长的随机值。',
  };
}

/**
 * WXKIT_CORS_ORIGINS=*: any web site can call /jssdk/* from its visitors' browsers, spending the
 * account's quota from their IPs (cookies are still never sent cross-site).
 */
export function corsAnyOrigin(s: WarningInput): StartupWarning | undefined {
  if (s.corsOrigins !== '*') return undefined;
  return {
    id: 'cors-any-origin',
    en: "WXKIT_CORS_ORIGINS=*: any web site can call the service from its visitors' browsers; list your pages' origins instead (or leave it unset: the JS-safe domains).",
    zh: 'WXKIT_CORS_ORIGINS=*：任何网站都能借其访客的浏览器调用本服务；请改为列出页面的源（或不设置，默认即 JS 接口安全域名）。',
  };
}

/**
 * The token API on a non-loopback address: /v1 hands out access tokens to whoever holds a key, and
 * /metrics tells anyone the accounts and their traffic; neither is meant for the internet.
 */
export function tokenApiOnOpenHost(s: WarningInput): StartupWarning | undefined {
  if (s.apiKeys === 0 || !open(s)) return undefined;
  return {
    id: 'token-api-open',
    en: `the token API (WXKIT_API_KEYS) is on and HOST=${s.host} is not loopback: keep /v1 and /metrics on an internal network (block them at the proxy).`,
    zh: `已启用令牌接口（WXKIT_API_KEYS）且 HOST=${s.host} 不是回环地址：请让 /v1 与 /metrics 只在内网可达（在代理上屏蔽）。`,
  };
}

/** /metrics on a non-loopback address without the token API: it still tells anyone the appIds and traffic. */
export function metricsOnOpenHost(s: WarningInput): StartupWarning | undefined {
  if (s.apiKeys > 0 || s.sandbox || !open(s)) return undefined;
  return {
    id: 'metrics-open',
    en: `HOST=${s.host} is not loopback: /metrics answers anyone who reaches it; keep it on an internal network (block it at the proxy).`,
    zh: `HOST=${s.host} 不是回环地址：/metrics 对任何能访问到的人开放；请让它只在内网可达（在代理上屏蔽）。`,
  };
}

/**
 * WXKIT_TRUST_PROXY on a loopback address: a proxy on this host forwards the internet to wxkit, so
 * /metrics (and /v1) are as reachable as the pages' routes unless the proxy blocks them. (On a
 * non-loopback address `metrics-open` / `token-api-open` say so already.)
 */
export function metricsThroughProxy(s: WarningInput): StartupWarning | undefined {
  if (s.trustProxy === 0 || s.sandbox || open(s)) return undefined;
  return {
    id: 'metrics-via-proxy',
    en: 'WXKIT_TRUST_PROXY is set: the proxy forwards /metrics too (anonymous callers get no appIds, but do see the traffic); block /metrics and /v1 at the proxy, and scrape from this host or with an API key.',
    zh: '已设置 WXKIT_TRUST_PROXY：代理同样会转发 /metrics（匿名访问者看不到 appId，但能看到流量）；请在代理上屏蔽 /metrics 与 /v1，并在本机或携带 API 密钥抓取指标。',
  };
}

/**
 * WXKIT_TRUST_PROXY on a non-loopback address: a client that reaches wxkit without the proxy writes its
 * own X-Forwarded-For and so picks its rate-limit bucket and the IP in the logs.
 */
export function trustProxyOnOpenHost(s: WarningInput): StartupWarning | undefined {
  if (s.trustProxy === 0 || !open(s)) return undefined;
  return {
    id: 'trust-proxy-open',
    en: `WXKIT_TRUST_PROXY is set and HOST=${s.host} is not loopback: a client that bypasses the proxy forges X-Forwarded-For; let only the proxy reach wxkit.`,
    zh: `已设置 WXKIT_TRUST_PROXY 且 HOST=${s.host} 不是回环地址：绕过代理直连的客户端可伪造 X-Forwarded-For；请只允许代理访问 wxkit。`,
  };
}

/**
 * An https public URL with no trusted proxy: every request seems to come from the TLS proxy, so one
 * client's burst rate-limits everyone (and logs show only the proxy).
 */
export function proxyNotTrusted(s: WarningInput): StartupWarning | undefined {
  if (!isHttps(s.publicUrl) || s.trustProxy > 0 || !s.rateLimited) return undefined;
  return {
    id: 'proxy-not-trusted',
    en: 'WXKIT_PUBLIC_URL is https but WXKIT_TRUST_PROXY is not set: behind the TLS proxy all clients share one rate limit; set WXKIT_TRUST_PROXY to the number of proxies.',
    zh: 'WXKIT_PUBLIC_URL 是 https 但未设置 WXKIT_TRUST_PROXY：在 TLS 代理之后所有客户端共用一个限流额度；请把 WXKIT_TRUST_PROXY 设为代理层数。',
  };
}

/** A plain-http public URL off loopback: OAuth redirects and session cookies cross the network unencrypted. */
export function plainHttpPublicUrl(s: WarningInput): StartupWarning | undefined {
  if (s.publicUrl === undefined || !s.publicUrl.startsWith('http:')) return undefined;
  if (isLoopbackListen(new URL(s.publicUrl).hostname)) return undefined;
  return {
    id: 'public-url-http',
    en: `WXKIT_PUBLIC_URL is ${s.publicUrl}: OAuth redirects and session cookies travel unencrypted; serve it over https://.`,
    zh: `WXKIT_PUBLIC_URL 为 ${s.publicUrl}：OAuth 跳转与会话 Cookie 以明文传输；请使用 https://。`,
  };
}

/**
 * Live on a non-loopback address without WXKIT_PUBLIC_URL: OAuth redirect_uri and media URLs point at
 * http://localhost, which no phone can reach.
 */
export function publicUrlMissing(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox || s.publicUrl !== undefined || !open(s)) return undefined;
  return {
    id: 'public-url-missing',
    en: `WXKIT_PUBLIC_URL is not set: OAuth redirect_uri and media URLs point at http://localhost:${s.port}; set it to the https:// address users open.`,
    zh: `未设置 WXKIT_PUBLIC_URL：OAuth 的 redirect_uri 与媒体地址指向 http://localhost:${s.port}；请设为用户访问的 https:// 地址。`,
  };
}

/**
 * An account with no JS-safe domain (neither WX_JS_DOMAINS nor WXKIT_PUBLIC_URL): the service starts
 * and then refuses every page ("Serve the page from (none)").
 */
export function noPageDomains(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox) return undefined;
  const bare = s.accounts.filter((a) => a.jsDomains.length === 0).map((a) => a.appId);
  if (bare.length === 0) return undefined;
  return {
    id: 'no-js-domains',
    en: `no JS-safe domain for ${bare.join(', ')}: every page will be refused; set WX_JS_DOMAINS (as in the Official Account settings) or WXKIT_PUBLIC_URL.`,
    zh: `${bare.join('、')} 没有 JS 接口安全域名：所有页面都会被拒绝；请设置 WX_JS_DOMAINS（与公众号后台一致）或 WXKIT_PUBLIC_URL。`,
  };
}

/** WXKIT_RATE_LIMIT=off on a non-loopback address: one client can spend the account's WeChat quota. */
export function rateLimitOffOnOpenHost(s: WarningInput): StartupWarning | undefined {
  if (s.rateLimited || !open(s)) return undefined;
  return {
    id: 'rate-limit-off',
    en: `WXKIT_RATE_LIMIT=off and HOST=${s.host} is not loopback: nothing stops one client from spending the account's quota.`,
    zh: `WXKIT_RATE_LIMIT=off 且 HOST=${s.host} 不是回环地址：无法阻止单个客户端耗尽公众号的接口额度。`,
  };
}

/** WXKIT_STORE=memory with --workers: each process fetches and keeps its own token and ticket. */
export function memoryStoreWorkers(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox || s.workers < 2 || s.store !== 'memory') return undefined;
  return {
    id: 'memory-store-workers',
    en: `WXKIT_STORE=memory with ${s.workers} workers: each process keeps its own tokens; use file: or redis:// to share them.`,
    zh: `WXKIT_STORE=memory 且有 ${s.workers} 个工作进程：每个进程各自获取令牌；请使用 file: 或 redis:// 共享。`,
  };
}

/**
 * A shared credential store (Redis) with a `file:` media store: the deployment spans machines, but saved
 * media stay on the disk of the instance that saved them, so another instance answers 404 for half of them.
 */
export function mediaStoreLocal(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox || !/^rediss?:|^redis$/i.test(s.store) || !s.mediaStore?.startsWith('file:'))
    return undefined;
  return {
    id: 'media-store-local',
    en: 'WXKIT_STORE is Redis (shared by instances) but saved media are kept on this machine (file:): behind a load balancer other instances answer 404 for them; set WXKIT_MEDIA_STORE to redis://… or s3://….',
    zh: 'WXKIT_STORE 为 Redis（多实例共享），但保存的媒体文件只在本机（file:）：在负载均衡之后，其他实例会对这些文件返回 404；请把 WXKIT_MEDIA_STORE 设为 redis://… 或 s3://…。',
  };
}

/**
 * Media and credentials in one Redis: media fill its memory, and a Redis that evicts (allkeys-lru) then
 * drops credential keys too; a Redis without persistence loses every saved file when it restarts.
 */
export function mediaRedisShared(s: WarningInput): StartupWarning | undefined {
  if (s.sandbox || !s.mediaSharesCredentialRedis) return undefined;
  return {
    id: 'media-redis-shared',
    en: 'saved media and the credentials share one Redis: media fill its memory, an evicting Redis (maxmemory-policy allkeys-lru) then drops credential keys, and a Redis without persistence loses the saved files when it restarts; give WXKIT_MEDIA_STORE a separate Redis with appendonly yes and maxmemory-policy noeviction (docs/service.md).',
    zh: '保存的媒体与凭据共用一个 Redis：媒体会占满内存，会淘汰键的 Redis（maxmemory-policy allkeys-lru）随之删除凭据键，未持久化的 Redis 重启后保存的文件全部丢失；请为 WXKIT_MEDIA_STORE 单独配置一个开启 appendonly yes、maxmemory-policy 为 noeviction 的 Redis（见 docs/service.md）。',
  };
}

/**
 * A credential Redis that evicts: every credential key has a TTL, so `volatile-*` policies evict them
 * as readily as `allkeys-*`; an evicted token is fetched again, spending the daily quota.
 */
export function credentialRedisEvicts(s: WarningInput): StartupWarning | undefined {
  const policy = s.credentialRedisPolicy;
  if (s.sandbox || policy === undefined || policy === 'noeviction') return undefined;
  return {
    id: 'credential-redis-evicts',
    en: `the credential Redis evicts keys when its memory is full (maxmemory-policy ${policy}): tokens, tickets and locks can vanish and be fetched again from WeChat; set maxmemory-policy noeviction, and keep saved media in another Redis.`,
    zh: `保存凭据的 Redis 在内存满时会淘汰键（maxmemory-policy ${policy}）：令牌、ticket 与锁可能消失并再次向微信获取；请设置 maxmemory-policy noeviction，并把保存的媒体放在另一个 Redis 中。`,
  };
}

/** The sandbox (asked for with --sandbox) on a non-loopback address: anyone reaching it gets sandbox signatures. */
export function sandboxOnOpenHost(s: WarningInput): StartupWarning | undefined {
  if (!s.sandbox || !open(s)) return undefined;
  return {
    id: 'sandbox-open',
    en: `the sandbox listens on HOST=${s.host}, not loopback: it is a simulator for trying wxkit, not for real users.`,
    zh: `沙箱监听在 HOST=${s.host}（非回环地址）：它只是用于试用 wxkit 的模拟器，不可面向真实用户。`,
  };
}

/** Every rule, in the order the warnings are printed (and docs/security.md's checklist lists them). */
export const RULES: readonly Rule[] = [
  sandboxOnOpenHost,
  noPageDomains,
  publicUrlMissing,
  plainHttpPublicUrl,
  sessionSecretMissing,
  corsAnyOrigin,
  tokenApiOnOpenHost,
  metricsOnOpenHost,
  metricsThroughProxy,
  trustProxyOnOpenHost,
  proxyNotTrusted,
  rateLimitOffOnOpenHost,
  memoryStoreWorkers,
  mediaStoreLocal,
  mediaRedisShared,
  credentialRedisEvicts,
];

/** The facts the rules read, from the loaded configuration and the service's settings. */
export function warningInput(
  config: WxkitConfig,
  settings: ServiceSettings,
  options: { sandbox: boolean; workers: number; credentialRedisPolicy?: string | undefined },
): WarningInput {
  return {
    sandbox: options.sandbox,
    host: settings.host,
    port: settings.port,
    publicUrl: settings.publicUrl,
    sessionSecret: settings.sessionSecret !== undefined,
    corsOrigins: settings.corsOrigins,
    apiKeys: settings.apiKeys.length,
    trustProxy: settings.trustProxy,
    rateLimited: settings.rateLimit !== false,
    store: config.store,
    mediaStore: settings.mediaStore,
    mediaSharesCredentialRedis: sharesRedis(config, settings.mediaStore),
    credentialRedisPolicy: options.credentialRedisPolicy,
    workers: options.workers,
    accounts: config.accounts,
  };
}

/** The Redis server(s) a store points at, as `host:port` (a URL) or the topology's nodes. */
function redisServers(spec: string, topology: RedisTopology | undefined): Set<string> {
  if (spec === 'redis') {
    const nodes = topology?.cluster ?? topology?.sentinels ?? [];
    const name = topology?.cluster ? 'cluster' : (topology?.name ?? 'mymaster');
    return new Set(nodes.map((n) => `${name}@${n.host.toLowerCase()}:${n.port}`));
  }
  if (!/^rediss?:\/\//i.test(spec)) return new Set();
  try {
    const u = new URL(spec);
    return new Set([`${u.hostname.toLowerCase()}:${u.port || '6379'}`]);
  } catch {
    return new Set();
  }
}

/** The media store and the credential store name the same Redis server (any database of it). */
function sharesRedis(config: WxkitConfig, mediaStore: string): boolean {
  const credentials = redisServers(config.store, config.redis);
  const media = redisServers(mediaStore.trim(), config.mediaRedis ?? config.redis);
  return [...media].some((server) => credentials.has(server));
}

/** The credential Redis's `maxmemory-policy` (read at start; `undefined` for other stores or when unreadable). */
export function credentialRedisPolicy(config: WxkitConfig, sandbox: boolean): Promise<string | undefined> {
  if (sandbox) return Promise.resolve(undefined);
  if (config.redis) return maxmemoryPolicy(config.redis);
  if (/^rediss?:\/\//i.test(config.store.trim())) return maxmemoryPolicy(config.store.trim());
  return Promise.resolve(undefined);
}

/** The warnings for these settings, in {@link RULES} order. */
export function startupWarnings(input: WarningInput): StartupWarning[] {
  return RULES.map((rule) => rule(input)).filter((w): w is StartupWarning => w !== undefined);
}

/** One line: `wxkit serve: warning (id): English / 中文` (`wxkit serve (sandbox): …` in sandbox mode). */
export function formatWarning(w: StartupWarning, options: { sandbox: boolean }): string {
  return `wxkit serve${options.sandbox ? ' (sandbox)' : ''}: warning (${w.id}): ${w.en} / ${w.zh}`;
}
