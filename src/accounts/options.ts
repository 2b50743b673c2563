import type { CustodyTiming } from '../credentials/custody.ts';
import type { Metrics } from '../metrics.ts';
import type { StoreSpec } from '../stores/spec.ts';
import type { Store } from '../stores/types.ts';

/** Where wxkit reports what it does (store outages, upstream failures). Never given a secret. */
export interface WxkitLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Options every kind of account takes (`createWxkit`, `createWecom`): custody, clock, transport. */
export interface AccountOptions {
  /**
   * Where credentials are shared: `memory`, `file:<dir>`, `redis://…`/`rediss://…`, or a {@link Store}
   * object (share one object between accounts; keys are namespaced per account; not closed by
   * `close()`), or a parsed {@link StoreSpec} (e.g. Redis Sentinel/Cluster from `wxkit.config.json`).
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
