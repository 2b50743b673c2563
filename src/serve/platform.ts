import { checkBaseUrl } from '../base-url.ts';
import type { WxkitConfig } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { LogSink } from '../http/log.ts';
import type { PushRelay, ResolvedPushAccount } from '../http/push-relay.ts';
import type { Metrics } from '../metrics.ts';
import type { PlatformMessageHandler } from '../platform/messages.ts';
import { createPlatform, type Platform } from '../platform/platform.ts';
import type { Store } from '../stores/types.ts';

/**
 * `wxkit serve` as a third-party platform: `WX_COMPONENT_APP_ID`, `WX_COMPONENT_SECRET`,
 * `WX_COMPONENT_TOKEN`, `WX_COMPONENT_AES_KEY` and `WX_COMPONENT_JS_DOMAINS`, on the same store and
 * WeChat base URLs as the accounts. Undefined when `WX_COMPONENT_APP_ID` is unset.
 */
export function platformFromEnv(
  env: NodeJS.ProcessEnv,
  config: WxkitConfig,
  context: { cwd: string; metrics: Metrics; log: LogSink },
): Platform | undefined {
  const componentAppId = env.WX_COMPONENT_APP_ID?.trim();
  if (!componentAppId) return undefined;
  const missing = ['WX_COMPONENT_SECRET', 'WX_COMPONENT_TOKEN', 'WX_COMPONENT_AES_KEY'].filter(
    (k) => !env[k]?.trim(),
  );
  if (missing.length > 0) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `WX_COMPONENT_APP_ID is set but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not`,
      {
        hint: {
          en: 'Copy them from 开放平台 → 第三方平台 → 开发资料 (AppSecret, 消息校验Token, 消息加解密Key).',
          zh: '请从「开放平台 → 第三方平台 → 开发资料」复制 AppSecret、消息校验Token 与消息加解密Key。',
        },
      },
    );
  }
  // Checked now, before anything is opened: a bad forward URL is a start-up error.
  platformForwardFromEnv(env);
  const logger = {
    warn: (message: string) => context.log({ time: new Date().toISOString(), level: 'warn', msg: message }),
  };
  return createPlatform({
    componentAppId,
    componentSecret: env.WX_COMPONENT_SECRET?.trim() as string,
    token: env.WX_COMPONENT_TOKEN?.trim() as string,
    encodingAESKey: env.WX_COMPONENT_AES_KEY?.trim() as string,
    store: config.redis ? { kind: 'redis', topology: config.redis } : config.store,
    cwd: context.cwd,
    apiBase: config.apiBase,
    openBase: config.openBase,
    jsDomains: env.WX_COMPONENT_JS_DOMAINS ?? '',
    metrics: context.metrics,
    logger,
  });
}

/**
 * At start: opens the platform's store and, when its account index is empty (a new store, or one that
 * lost its data), restores the refresh tokens from WeChat's list in the background.
 */
export async function startPlatform(platform: Platform, log: LogSink): Promise<void> {
  await platform.ready();
  if ((await platform.authorizers()).length > 0) return;
  platform.sync().then(
    (r) =>
      log({
        time: new Date().toISOString(),
        level: 'info',
        msg: 'platform accounts restored from api_get_authorizer_list',
        pages: r.pages,
        accounts: r.accounts,
        restored: r.restored,
      }),
    (e: unknown) =>
      log({
        time: new Date().toISOString(),
        level: 'warn',
        msg: `platform sync at start failed (it runs again when an account is missing): ${e instanceof Error ? e.message : String(e)}`,
      }),
  );
}

/** How the push relay and its outbox name a platform account: apart from directly configured ones. */
const KEY_PREFIX = 'component:';

export function platformPushKey(appId: string): string {
  return `${KEY_PREFIX}${appId}`;
}

/** `WX_COMPONENT_FORWARD`: the internal URLs messages of authorized accounts are forwarded to. */
export function platformForwardFromEnv(env: NodeJS.ProcessEnv): string[] {
  return (env.WX_COMPONENT_FORWARD ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)
    .map((u) => checkBaseUrl(u, 'WX_COMPONENT_FORWARD'));
}

/**
 * The platform's accounts as the push relay sees them: every authorized appId forwards to
 * `WX_COMPONENT_FORWARD` (signed with `WXKIT_PUSH_FORWARD_SECRET`, kept in the outbox, late replies
 * through custom/send with the authorizer token) exactly as /wechat/push does.
 */
export function platformPushAccounts(
  platform: Platform,
  env: NodeJS.ProcessEnv,
): { resolve(key: string): ResolvedPushAccount | undefined; forwarding: boolean } {
  const forward = platformForwardFromEnv(env);
  const config = {
    token: env.WX_COMPONENT_TOKEN?.trim() as string,
    encodingAESKey: env.WX_COMPONENT_AES_KEY?.trim() as string,
    forward,
  };
  const fields = { componentAppId: platform.componentAppId };
  return {
    forwarding: forward.length > 0,
    resolve(key) {
      if (!key.startsWith(KEY_PREFIX)) return undefined;
      return { config, account: platform.accountFor(key.slice(KEY_PREFIX.length)), fields };
    },
  };
}

/** The 消息与事件接收URL of `wxkit serve`: the library's handler, forwarding through the relay. */
export function platformMessagesFor(
  platform: Platform,
  push: { relay: PushRelay; store: Store; deadlineMs?: number | undefined },
  log: LogSink,
): PlatformMessageHandler {
  const handler = platform.messages({
    store: push.store,
    deadlineMs: push.deadlineMs,
    log,
    onMessage: async (message, ctx) =>
      (await push.relay.onMessage(ctx.account, message, platformPushKey(ctx.account.appId))) as undefined,
  });
  push.relay.track(handler);
  return handler;
}
