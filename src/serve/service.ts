import { randomBytes } from 'node:crypto';
import { createWecom } from '../accounts/wecom.ts';
import { accountOptions, loadConfig, type WxkitConfig, wecomOptions } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { createHandler, HANDLE_INPUT, type WxkitHandler } from '../http/handler.ts';
import { jsonLines, type LogSink, redact } from '../http/log.ts';
import { send } from '../http/reply.ts';
import type { Route } from '../http/route.ts';
import { openMediaStore, parseMediaStoreSpec } from '../media/spec.ts';
import { startMediaSweeper } from '../media/sweeper.ts';
import type { MediaStore } from '../media/types.ts';
import { Metrics } from '../metrics.ts';
import {
  SANDBOX_APP_ID,
  SANDBOX_MCH_ID,
  SANDBOX_SECRET,
  type Simulator,
  startSimulator,
} from '../simulator/index.ts';
import type { Account } from '../types.ts';
import { createWxkit } from '../wxkit.ts';
import { checkApiKeys, readServiceSettings, type ServiceSettings } from './config.ts';
import { demoPage } from './demo/page.ts';
import { sandboxPay, sandboxPayRoutes } from './demo/pay.ts';
import { shareImageRoute } from './demo/share-image.ts';
import { payRouteOptions, readPaySettings } from './pay-config.ts';
import { platformFromEnv, platformMessagesFor, platformPushAccounts, startPlatform } from './platform.ts';
import { openPushService } from './push.ts';
import { decideSandbox } from './sandbox.ts';
import { listen, type RunningServer, readServerTimeouts } from './server.ts';
import { credentialRedisPolicy, type StartupWarning, startupWarnings, warningInput } from './warnings.ts';

/** Environment variables a cluster primary hands its workers so they share one sandbox. */
export const SANDBOX_SIMULATOR_ENV = 'WXKIT_SANDBOX_SIMULATOR_URL';
export const SANDBOX_SESSION_ENV = 'WXKIT_SESSION_SECRET';

/** `wxkit serve`'s flags, which win over the environment. */
export interface ServeFlags {
  host?: string | undefined;
  port?: string | undefined;
  /** `--sandbox`: run against the in-process simulator even when HOST or a production variable is set. */
  sandbox?: boolean | undefined;
}

export interface ServiceOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  flags?: ServeFlags;
  /** Where JSON log lines go. @default stdout */
  logLine?: (line: string) => void;
}

/** A running `wxkit serve` process (one worker). */
export interface Service {
  url: string;
  port: number;
  sandbox: boolean;
  /** The in-process simulator (sandbox mode, when this process started it). */
  simulatorUrl: string | undefined;
  /** Official Accounts and WeCom apps, in configuration order (Official Accounts first). */
  accounts: readonly Account[];
  settings: ServiceSettings;
  handler: WxkitHandler;
  /** True when the session secret was generated at start (OAuth sessions end with the process). */
  generatedSessionSecret: boolean;
  /** The risky settings seen at start (one process's view: `workers` is 1). */
  warnings: StartupWarning[];
  close(): Promise<void>;
}

function loggerFor(log: LogSink) {
  return {
    warn: (message: string) => log({ time: new Date().toISOString(), level: 'warn', msg: message }),
    info: (message: string) => log({ time: new Date().toISOString(), level: 'info', msg: message }),
  };
}

/**
 * The service's settings: loadConfig's (environment and wxkit.config.json) plus the service-only
 * variables, flags winning over both.
 */
export function serviceSettings(
  config: WxkitConfig,
  env: NodeJS.ProcessEnv,
  flags: ServeFlags = {},
): ServiceSettings {
  const own = readServiceSettings(env);
  checkApiKeys(config.apiKeys);
  if (flags.port !== undefined && (!/^\d{1,5}$/.test(flags.port) || Number(flags.port) > 65535)) {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, '--port must be a number from 0 to 65535');
  }
  // wxkit.config.json's mediaRedis is the media store unless WXKIT_MEDIA_STORE (or _DIR) names another.
  const mediaFromFile =
    config.mediaRedis !== undefined && !env.WXKIT_MEDIA_STORE?.trim() && !env.WXKIT_MEDIA_DIR?.trim();
  return {
    ...own,
    ...(mediaFromFile ? { mediaStore: 'redis' } : {}),
    host: flags.host ?? config.host,
    port: flags.port !== undefined ? Number(flags.port) : config.port,
    apiKeys: config.apiKeys,
    publicUrl: config.publicUrlDefaulted ? undefined : config.publicUrl,
    sessionSecret: config.sessionSecret,
  };
}

/**
 * Starts one `wxkit serve` process: reads the configuration, opens the accounts (or, without
 * `WX_APP_ID`, on loopback or with `--sandbox`, an in-process simulator and its sandbox account),
 * mounts the handler and listens.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { env, cwd } = options;
  // Every configuration error surfaces here, before anything is started.
  const config = loadConfig(env, cwd);
  const settings = serviceSettings(config, env, options.flags);
  const pay = payRouteOptions(readPaySettings(env, cwd));
  const timeouts = readServerTimeouts(env);
  const lines = jsonLines(options.logLine);
  // WXKIT_LOG: `all` every line, `errors` warnings and errors only, `off` nothing.
  const sink: LogSink = (entry) => {
    if (settings.log === 'all' || (settings.log === 'errors' && entry.level !== 'info')) lines(entry);
  };
  const metrics = new Metrics();
  // A third-party platform is an account configuration too: never the sandbox.
  const platform = platformFromEnv(env, config, { cwd, metrics, log: sink });
  const sandbox = platform
    ? false
    : decideSandbox(config, env, { host: settings.host, flag: options.flags?.sandbox });
  const tokenMode = config.tokenMode;
  let simulator: Simulator | undefined;
  let simulatorUrl: string | undefined;
  let accounts: Account[];
  // The sandbox forwards payment notifications to itself (the demo page shows them arriving).
  const sandboxForwardSecret = randomBytes(24).toString('base64url');
  const extraRoutes: Route[] = [];
  if (sandbox) {
    simulatorUrl = env[SANDBOX_SIMULATOR_ENV];
    if (!simulatorUrl) {
      simulator = await startSimulator({ host: '127.0.0.1', port: 0, mchs: [SANDBOX_MCH_ID] });
      simulatorUrl = simulator.url;
    }
    const sim = simulatorUrl;
    let account: Account;
    try {
      account = createWxkit({
        appId: SANDBOX_APP_ID,
        secret: SANDBOX_SECRET,
        tokenMode,
        apiBase: sim,
        openBase: sim,
        // A sandbox restart brings a new simulator whose tickets differ: never reuse a cached one.
        store: env.WXKIT_STORE || 'memory',
        cwd,
        jsDomains: config.jsDomains,
        allowLoopback: true,
        metrics,
        logger: loggerFor(sink),
      });
    } catch (e) {
      await simulator?.close();
      throw e;
    }
    accounts = [account];
    const page = demoPage({ simulatorUrl: sim, appId: SANDBOX_APP_ID });
    extraRoutes.push({
      method: 'GET',
      path: '/',
      cors: false,
      handle: () => send(200, page, 'text/html; charset=utf-8', { 'cache-control': 'no-store' }),
    });
    extraRoutes.push(shareImageRoute);
    extraRoutes.push(...sandboxPayRoutes(sandboxForwardSecret));
  } else {
    accounts = [];
    try {
      for (const a of config.accounts) {
        accounts.push(createWxkit({ ...accountOptions(config, a, cwd), metrics, logger: loggerFor(sink) }));
      }
      // WeCom apps side by side with the Official Accounts: selected by corpId (and agentId).
      for (const a of config.wecom) {
        accounts.push(createWecom({ ...wecomOptions(config, a, cwd), metrics, logger: loggerFor(sink) }));
      }
    } catch (e) {
      await Promise.allSettled(accounts.map((a) => a.close()));
      throw e;
    }
  }
  if (platform) {
    try {
      await startPlatform(platform, sink);
    } catch (e) {
      await Promise.allSettled([...accounts.map((a) => a.close()), platform.close()]);
      throw e;
    }
  }
  // Saved media: one store for every instance behind the load balancer (WXKIT_MEDIA_STORE), swept in
  // the background so files older than WXKIT_MEDIA_TTL leave even if nobody reads them again.
  const mediaSpec = parseMediaStoreSpec(settings.mediaStore);
  let mediaStore: MediaStore;
  try {
    mediaStore = await openMediaStore(mediaSpec, {
      ttlSeconds: settings.mediaTtl,
      cwd,
      env,
      redis: config.mediaRedis ?? config.redis,
    });
  } catch (e) {
    await Promise.allSettled(accounts.map((a) => a.close()));
    await simulator?.close();
    throw e;
  }
  // Message push (/wechat/push): its de-duplication store, shared by every instance like the credentials'.
  let push: Awaited<ReturnType<typeof openPushService>>;
  try {
    push = await openPushService(config, env, {
      sandbox,
      cwd,
      accounts,
      log: sink as (e: Record<string, unknown>) => void,
      ...(platform ? { platform: platformPushAccounts(platform, env) } : {}),
    });
  } catch (e) {
    await Promise.allSettled(accounts.map((a) => a.close()));
    await simulator?.close();
    await mediaStore.close();
    throw e;
  }
  sink({
    time: new Date().toISOString(),
    level: 'info',
    msg: 'media store',
    store: mediaStore.description,
    ttlSeconds: settings.mediaTtl,
  });
  const sweeper = startMediaSweeper(mediaStore, {
    onSweep: (r) =>
      sink({
        time: new Date().toISOString(),
        level: 'info',
        msg: 'media swept',
        removed: r.removed.length,
        aliases: r.aliases,
      }),
    onError: (e) =>
      sink({
        time: new Date().toISOString(),
        level: 'warn',
        msg: `media sweep failed: ${redact(e instanceof Error ? e.message : String(e))}`,
      }),
  });
  const generatedSessionSecret = settings.sessionSecret === undefined;
  const sessionSecret = settings.sessionSecret ?? randomBytes(32).toString('base64url');
  let handler: WxkitHandler | undefined;
  // The handler needs the bound port (OAuth, the sandbox's payment notify URL), so it is made after
  // listen(); a request that arrives in between (a worker's port is shared as soon as it listens)
  // waits for it instead of failing with a 500.
  let handlerMade: (h: WxkitHandler) => void = () => {};
  const made = new Promise<WxkitHandler>((resolve) => {
    handlerMade = resolve;
  });
  const pending = Object.assign((req: Request, info?: object) => made.then((h) => h(req, info)), {
    [HANDLE_INPUT]: (input: Parameters<WxkitHandler[typeof HANDLE_INPUT]>[0]) =>
      made.then((h) => h[HANDLE_INPUT](input)),
  }) as WxkitHandler;
  let server: RunningServer;
  try {
    server = await listen(() => handler ?? pending, settings.host, settings.port, timeouts);
  } catch (e) {
    await Promise.allSettled(accounts.map((a) => a.close()));
    await simulator?.close();
    await sweeper.stop();
    await mediaStore.close();
    await push?.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      code === 'EADDRINUSE'
        ? `${settings.host}:${settings.port} is already in use; set PORT to a free port`
        : `cannot listen on ${settings.host}:${settings.port} (${code ?? 'error'})`,
    );
  }
  const publicUrl = settings.publicUrl ?? `http://localhost:${server.port}`;
  const demoPay =
    sandbox && simulatorUrl && !pay
      ? await sandboxPay(simulatorUrl, `http://127.0.0.1:${server.port}`, sandboxForwardSecret)
      : undefined;
  handler = createHandler(accounts, {
    sandbox,
    settingNames: 'env',
    apiKeys: settings.apiKeys,
    cardIds: cardIdsOf(config),
    cardShopIds: config.cardShopIds,
    ...(settings.corsOrigins !== undefined ? { corsOrigins: settings.corsOrigins } : {}),
    ...(settings.rateLimit !== undefined ? { rateLimit: settings.rateLimit } : {}),
    trustProxy: settings.trustProxy,
    log: settings.log === 'off' ? false : sink,
    logRequests: settings.log === 'all',
    publicUrl,
    sessionSecret,
    routes: extraRoutes,
    metrics,
    extra: {
      mediaStore,
      mediaTtlSeconds: settings.mediaTtl,
      media: { redirectSeconds: mediaSpec.kind === 's3' ? mediaSpec.redirect : 0 },
      ...(sandbox && simulatorUrl ? { client: { sdkUrl: `${simulatorUrl}/jweixin.js` } } : {}),
      ...(push ? { push: push.options } : {}),
      ...(platform ? { platform } : {}),
      // The 消息与事件接收URL: forwarded like /wechat/push, the release check answered by the library.
      ...(platform && push
        ? { platformMessages: platformMessagesFor(platform, { ...push.options, store: push.store }, sink) }
        : {}),
      ...((pay ?? demoPay) ? { pay: pay ?? demoPay } : {}),
    },
  });
  handlerMade(handler);
  // Fetch the credentials now, so a wrong secret or a missing IP-whitelist entry shows at start and
  // the first page does not wait. Never blocks serving; failures are retried by the next request.
  for (const a of accounts) {
    a.ticket('jsapi').then(
      () => sink({ time: new Date().toISOString(), level: 'info', msg: 'credentials ready', appId: a.appId }),
      (e: unknown) => {
        const err = e as { code?: unknown; errcode?: unknown; message?: unknown };
        sink({
          time: new Date().toISOString(),
          level: 'warn',
          msg: `cannot obtain the credentials of ${a.appId} yet: ${redact(String(err.message ?? e))}`,
          appId: a.appId,
          ...(typeof err.code === 'string' ? { code: err.code } : {}),
          ...(typeof err.errcode === 'number' ? { errcode: err.errcode } : {}),
        });
      },
    );
  }
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    sandbox,
    simulatorUrl,
    accounts,
    settings,
    handler,
    generatedSessionSecret,
    warnings: startupWarnings(
      warningInput(config, settings, {
        sandbox,
        workers: 1,
        credentialRedisPolicy: await credentialRedisPolicy(config, sandbox),
      }),
    ),
    close() {
      closing ??= (async () => {
        await server.close();
        await sweeper.stop();
        await mediaStore.close();
        await push?.close();
        await Promise.allSettled(accounts.map((a) => a.close()));
        await platform?.close();
        await simulator?.close();
      })();
      return closing;
    },
  };
}

/** One list for every account, or per appId when a config-file account lists its own card ids. */
function cardIdsOf(config: WxkitConfig): readonly string[] | Record<string, readonly string[]> {
  if (!config.accounts.some((a) => a.cardIds !== undefined)) return config.cardIds;
  return Object.fromEntries(config.accounts.map((a) => [a.appId, a.cardIds ?? config.cardIds]));
}
