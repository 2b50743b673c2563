import { randomBytes } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { createHandler, type WxkitHandler } from '../http/handler.ts';
import { jsonLines, type LogSink } from '../http/log.ts';
import { send } from '../http/reply.ts';
import type { Route } from '../http/route.ts';
import { Metrics } from '../metrics.ts';
import { SANDBOX_APP_ID, SANDBOX_SECRET, type Simulator, startSimulator } from '../simulator/index.ts';
import type { TokenMode, Wxkit } from '../types.ts';
import { createWxkit } from '../wxkit.ts';
import { readServiceSettings, type ServiceSettings } from './config.ts';
import { demoPage } from './demo/page.ts';
import { listen, type RunningServer } from './server.ts';

/** Environment variables a cluster primary hands its workers so they share one sandbox. */
export const SANDBOX_SIMULATOR_ENV = 'WXKIT_SANDBOX_SIMULATOR_URL';
export const SANDBOX_SESSION_ENV = 'WXKIT_SESSION_SECRET';

export interface ServiceOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  flags?: { host?: string | undefined; port?: string | undefined };
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
  accounts: readonly Wxkit[];
  settings: ServiceSettings;
  handler: WxkitHandler;
  /** True when the session secret was generated at start (OAuth sessions end with the process). */
  generatedSessionSecret: boolean;
  close(): Promise<void>;
}

/** True when no account is configured: `wxkit serve` then runs against an in-process simulator. */
export function isSandbox(env: NodeJS.ProcessEnv): boolean {
  return !env.WX_APP_ID?.trim();
}

function tokenModeOf(env: NodeJS.ProcessEnv): TokenMode {
  const mode = (env.WX_TOKEN_MODE ?? 'stable').trim();
  if (mode !== 'stable' && mode !== 'classic' && mode !== 'remote') {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `WX_TOKEN_MODE must be stable, classic or remote; got ${JSON.stringify(mode.slice(0, 20))}`,
    );
  }
  return mode;
}

function configuredAccounts(
  env: NodeJS.ProcessEnv,
  cwd: string,
  settings: ServiceSettings,
  metrics: Metrics,
  log: LogSink,
): Wxkit[] {
  const publicHost = settings.publicUrl ? new URL(settings.publicUrl).hostname : undefined;
  const jsDomains = env.WX_JS_DOMAINS?.trim() || publicHost || '';
  return [
    createWxkit({
      appId: (env.WX_APP_ID ?? '').trim(),
      secret: env.WX_APP_SECRET,
      tokenMode: tokenModeOf(env),
      apiBase: env.WX_API_BASE || undefined,
      openBase: env.WX_OPEN_BASE || undefined,
      store: env.WXKIT_STORE || 'file:.wxkit',
      cwd,
      jsDomains,
      remoteUrl: env.WXKIT_REMOTE_URL || undefined,
      remoteKey: env.WXKIT_REMOTE_KEY || undefined,
      metrics,
      logger: loggerFor(log),
    }),
  ];
}

function loggerFor(log: LogSink) {
  return {
    warn: (message: string) => log({ time: new Date().toISOString(), level: 'warn', msg: message }),
    info: (message: string) => log({ time: new Date().toISOString(), level: 'info', msg: message }),
  };
}

/**
 * Starts one `wxkit serve` process: reads the configuration, opens the accounts (or, without
 * `WX_APP_ID`, an in-process simulator and its sandbox account), mounts the handler and listens.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { env, cwd } = options;
  const settings = readServiceSettings(env, options.flags);
  const sink: LogSink = jsonLines(options.logLine);
  const metrics = new Metrics();
  const sandbox = isSandbox(env);
  const tokenMode = tokenModeOf(env); // every configuration error before anything is started
  let simulator: Simulator | undefined;
  let simulatorUrl: string | undefined;
  let accounts: Wxkit[];
  const extraRoutes: Route[] = [];
  if (sandbox) {
    simulatorUrl = env[SANDBOX_SIMULATOR_ENV];
    if (!simulatorUrl) {
      simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
      simulatorUrl = simulator.url;
    }
    const sim = simulatorUrl;
    let account: Wxkit;
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
        jsDomains: env.WX_JS_DOMAINS?.trim() || 'localhost,127.0.0.1',
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
  } else {
    accounts = configuredAccounts(env, cwd, settings, metrics, sink);
  }
  const generatedSessionSecret = settings.sessionSecret === undefined;
  const sessionSecret = settings.sessionSecret ?? randomBytes(32).toString('base64url');
  let handler: WxkitHandler | undefined;
  let server: RunningServer;
  try {
    server = await listen(() => handler as WxkitHandler, settings.host, settings.port);
  } catch (e) {
    await Promise.allSettled(accounts.map((a) => a.close()));
    await simulator?.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      code === 'EADDRINUSE'
        ? `${settings.host}:${settings.port} is already in use; set PORT to a free port`
        : `cannot listen on ${settings.host}:${settings.port} (${code ?? 'error'})`,
    );
  }
  const publicUrl = settings.publicUrl ?? `http://localhost:${server.port}`;
  handler = createHandler(accounts, {
    sandbox,
    apiKeys: settings.apiKeys,
    ...(settings.corsOrigins !== undefined ? { corsOrigins: settings.corsOrigins } : {}),
    ...(settings.rateLimit !== undefined ? { rateLimit: settings.rateLimit } : {}),
    trustProxy: settings.trustProxy,
    log: settings.log === 'off' ? false : sink,
    logRequests: settings.log === 'all',
    publicUrl,
    sessionSecret,
    routes: extraRoutes,
    metrics,
  });
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
    close() {
      closing ??= (async () => {
        await server.close();
        await Promise.allSettled(accounts.map((a) => a.close()));
        await simulator?.close();
      })();
      return closing;
    },
  };
}
