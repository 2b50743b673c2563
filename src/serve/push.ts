import type { WxkitConfig } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { PushRelay, type ResolvedPushAccount } from '../http/push-relay.ts';
import type { PushServiceOptions } from '../http/routes/push.ts';
import type { PushAccountConfig } from '../push-config.ts';
import { SANDBOX_APP_ID } from '../simulator/state.ts';
import { openStore } from '../stores/spec.ts';
import type { Store } from '../stores/types.ts';
import type { Account } from '../types.ts';

/**
 * What `wxkit serve` needs for `/wechat/push`: each account's Token, EncodingAESKey and
 * forward URLs, keyed as the route looks them up, and one store for de-duplication shared with every
 * other instance (the same `WXKIT_STORE` as the credentials: Redis across machines).
 */

/** Default deadline of one forward (a handler that calls a language model may need long). */
export const DEFAULT_FORWARD_TIMEOUT_MS = 30_000;

/** The key of an account in {@link PushServiceOptions.accounts}: the appId, or `corpId#agentId`. */
export function pushAccountKey(appId: string, agentId?: string): string {
  return agentId === undefined ? appId : `${appId}#${agentId}`;
}

/** `WXKIT_PUSH_FORWARD_TIMEOUT`: seconds one forward may take. @throws config_error */
export function forwardTimeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env.WXKIT_PUSH_FORWARD_TIMEOUT?.trim();
  if (text === undefined || text === '') return DEFAULT_FORWARD_TIMEOUT_MS;
  if (!/^\d{1,4}(\.\d{1,3})?$/.test(text) || Number(text) <= 0) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'WXKIT_PUSH_FORWARD_TIMEOUT must be a number of seconds greater than 0',
    );
  }
  return Number(text) * 1000;
}

/** The push settings by account, or `undefined` when no account has push configured. */
export function pushAccounts(
  config: WxkitConfig,
  sandbox: boolean,
): Map<string, PushAccountConfig> | undefined {
  const accounts = new Map<string, PushAccountConfig>();
  if (sandbox) {
    if (config.push) accounts.set(SANDBOX_APP_ID, config.push);
  } else {
    for (const a of config.accounts) if (a.push) accounts.set(pushAccountKey(a.appId), a.push);
    for (const w of config.wecom) if (w.push) accounts.set(pushAccountKey(w.corpId, w.agentId), w.push);
  }
  return accounts.size === 0 ? undefined : accounts;
}

/** Opens the push service's store, relay and outbox sweeper; `undefined` when push is off. */
export async function openPushService(
  config: WxkitConfig,
  env: NodeJS.ProcessEnv,
  options: {
    sandbox: boolean;
    cwd: string;
    accounts: readonly Account[];
    log: (entry: Record<string, unknown>) => void;
    /** A third-party platform's accounts (../serve/platform.ts): forwarded like the others. */
    platform?: { resolve(key: string): ResolvedPushAccount | undefined; forwarding: boolean } | undefined;
  },
): Promise<{ options: PushServiceOptions; store: Store; close(): Promise<void> } | undefined> {
  const found = pushAccounts(config, options.sandbox);
  if (!found && !options.platform) return undefined;
  const configs = found ?? new Map<string, PushAccountConfig>();
  const forwardTimeoutMs = forwardTimeoutFromEnv(env);
  const spec = config.redis
    ? ({ kind: 'redis', topology: config.redis } as const)
    : options.sandbox
      ? env.WXKIT_STORE?.trim() || 'memory'
      : config.store;
  const store = await openStore(spec, { cwd: options.cwd });
  const relay = new PushRelay({
    configs,
    store,
    forwardSecret: config.pushForwardSecret,
    forwardTimeoutMs,
    resolve: options.platform?.resolve,
    log: (e) => options.log({ time: new Date().toISOString(), ...e }),
  });
  relay.register(options.accounts);
  if ([...configs.values()].some((c) => c.forward.length > 0) || options.platform?.forwarding) relay.start();
  return {
    store,
    options: { relay, store },
    async close() {
      await relay.stop();
      await store.close();
    },
  };
}
