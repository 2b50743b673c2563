import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { RestartBudget, restartsFromEnv } from '../serve/restart-budget.ts';
import { decideSandbox } from '../serve/sandbox.ts';
import {
  SANDBOX_SIMULATOR_ENV,
  type ServeFlags,
  type Service,
  serviceSettings,
  startService,
} from '../serve/service.ts';
import {
  credentialRedisPolicy,
  formatWarning,
  type StartupWarning,
  startupWarnings,
  warningInput,
} from '../serve/warnings.ts';
import { SANDBOX_APP_ID, startSimulator } from '../simulator/index.ts';
import { type CliIO, parseFlags, UsageError } from './io.ts';
import { serveOutput } from './log-sink.ts';

export const serveUsage = `wxkit serve [--host 127.0.0.1] [--port 3000] [--workers N] [--sandbox]
  The signing service: /jssdk/config, /jssdk/diagnose, /jssdk/client.js, /jssdk/media, /oauth/*,
  the token API, /healthz, /readyz, /metrics. Configured by WX_APP_ID, WX_APP_SECRET, WX_JS_DOMAINS,
  WXKIT_STORE… (see docs/service.md). Without WX_APP_ID, on a loopback HOST with no WX_JS_DOMAINS,
  WXKIT_PUBLIC_URL, WXKIT_STORE, WXKIT_API_KEYS or WXKIT_CONFIG, it runs in sandbox mode against an
  in-process WeChat simulator and serves a demo page at /; otherwise it refuses to start unless
  --sandbox (WXKIT_SANDBOX=1) asks for the sandbox. --workers N runs N processes sharing the store,
  replacing a worker that exits (WXKIT_WORKER_RESTARTS per minute, default 10; beyond that it stops
  with exit code 1).
  Prints one warning line for each risky setting it sees (docs/security.md).
  提供签名服务。未设置 WX_APP_ID 时，仅在回环地址且未设置上述生产变量时以沙箱模式运行（内置微信模拟器，
  / 为演示页）；否则拒绝启动，除非用 --sandbox（WXKIT_SANDBOX=1）明确要求沙箱。--workers N 启动 N 个共享存储的
  进程，退出的工作进程会被替换（每分钟至多 WXKIT_WORKER_RESTARTS 次，默认 10；超出则以退出码 1 停止）。`;

function waitForStop(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function banner(
  io: CliIO,
  url: string,
  sandbox: boolean,
  simulatorUrl: string | undefined,
  describe: string,
): void {
  if (sandbox) {
    // Every start line says sandbox: a log excerpt must never be mistaken for a live service.
    io.out(
      `wxkit serve (sandbox): SANDBOX MODE — no WX_APP_ID is set, so wxkit runs against an in-process WeChat simulator (${simulatorUrl}, account ${SANDBOX_APP_ID}). / 沙箱模式：未设置 WX_APP_ID，wxkit 连接内置的微信模拟器。`,
    );
    io.out(`wxkit serve (sandbox): Open ${url}/ for the demo page. / 打开 ${url}/ 查看演示页。`);
    io.out(
      'wxkit serve (sandbox): To go live: set WX_APP_ID, WX_APP_SECRET and WX_JS_DOMAINS (and WXKIT_PUBLIC_URL, WXKIT_STORE), then run wxkit serve again. / 上线：设置 WX_APP_ID、WX_APP_SECRET 与 WX_JS_DOMAINS（以及 WXKIT_PUBLIC_URL、WXKIT_STORE）后重新运行 wxkit serve。',
    );
    io.out(`wxkit serve (sandbox) listening on ${url}`);
    return;
  }
  io.out(`wxkit serve: ${describe}`);
  io.out(`wxkit serve listening on ${url}`);
}

function warn(io: CliIO, warnings: readonly StartupWarning[], sandbox: boolean): void {
  for (const w of warnings) io.err(formatWarning(w, { sandbox }));
}

async function describeAccounts(service: Service): Promise<string> {
  const parts: string[] = [];
  for (const a of service.accounts) {
    const status = await a.status().catch(() => undefined);
    const domains = a.jsDomains.map((d) => d.host + d.path).join(',') || 'none';
    parts.push(
      `${a.type === 'wecom' ? `WeCom app ${a.appId}/${(a as { agentId?: string }).agentId}` : `account ${a.appId}`} (${'tokenMode' in a ? `${a.tokenMode} tokens` : 'gettoken'}, store ${status?.store ?? '?'}, JS-safe domains ${domains})`,
    );
  }
  return parts.join('; ');
}

async function runSingle(io: CliIO, flags: ServeFlags): Promise<number> {
  const output = serveOutput(io); // log lines batched off the event loop, flushed at the end
  const service = await startService({
    env: io.env,
    cwd: io.cwd,
    flags,
    logLine: output.logLine,
  });
  output.count(service.handler.metrics);
  if (cluster.isWorker) {
    cluster.worker?.send({ wxkit: 'listening', url: service.url });
  } else {
    banner(output.io, service.url, service.sandbox, service.simulatorUrl, await describeAccounts(service));
    warn(io, service.warnings, service.sandbox);
  }
  await waitForStop(io.stopSignal);
  await service.close();
  await output.end();
  // The IPC channel to the primary would keep a worker alive.
  if (cluster.isWorker) cluster.worker?.disconnect();
  return 0;
}

async function runPrimary(io: CliIO, workers: number, flags: ServeFlags): Promise<number> {
  const restarts = restartsFromEnv(io.env);
  if (restarts === undefined) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'WXKIT_WORKER_RESTARTS must be the number of worker restarts allowed per minute (0 to 1000)',
      {
        hint: {
          en: 'E.g. WXKIT_WORKER_RESTARTS=10 (the default); 0 stops the service at the first worker exit.',
          zh: '例如 WXKIT_WORKER_RESTARTS=10（默认值）；0 表示任一工作进程退出即停止服务。',
        },
      },
    );
  }
  const config = loadConfig(io.env, io.cwd); // config errors: one line, before forking
  const settings = serviceSettings(config, io.env, flags);
  const sandbox = decideSandbox(config, io.env, { host: settings.host, flag: flags.sandbox });
  const warnings = startupWarnings(
    warningInput(config, settings, {
      sandbox,
      workers,
      credentialRedisPolicy: await credentialRedisPolicy(config, sandbox),
    }),
  );
  const env: Record<string, string> = {};
  let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined;
  let tempStore: string | undefined;
  if (sandbox) {
    simulator = await startSimulator({ host: '127.0.0.1', port: 0 });
    env[SANDBOX_SIMULATOR_ENV] = simulator.url;
    // The primary decided; the shared temporary store below must not make the workers refuse.
    env.WXKIT_SANDBOX = '1';
    if (!io.env.WXKIT_STORE) {
      tempStore = mkdtempSync(join(tmpdir(), 'wxkit-sandbox-'));
      env.WXKIT_STORE = `file:${tempStore}`;
    }
  }
  const generatedSecret = !settings.sessionSecret;
  if (generatedSecret) env.WXKIT_SESSION_SECRET = randomBytes(32).toString('base64url');
  let stopping = false;
  let listeningUrl: string | undefined;
  const budget = new RestartBudget({ max: restarts });
  const pending = new Set<NodeJS.Timeout>();
  const exits: Promise<void>[] = [];
  let failure: ((code: number) => void) | undefined;
  const failed = new Promise<number>((resolve) => {
    failure = resolve;
  });
  const fork = () => {
    const worker: Worker = cluster.fork({ ...io.env, ...env });
    let listening = false;
    worker.on('message', (m: { wxkit?: string; url?: string }) => {
      if (m?.wxkit !== 'listening') return;
      listening = true;
      if (listeningUrl === undefined && m.url) {
        listeningUrl = m.url;
        banner(
          io,
          m.url,
          sandbox,
          simulator?.url,
          `${workers} workers, accounts ${[...config.accounts.map((a) => a.appId), ...config.wecom.map((w) => `${w.corpId}/${w.agentId} (WeCom)`)].join(', ')} (store ${config.storeDescription})`,
        );
        warn(io, warnings, sandbox);
      }
    });
    exits.push(
      new Promise((resolve) =>
        worker.on('exit', (code, signal) => {
          resolve();
          if (stopping) return;
          const how = signal ? `signal ${signal}` : `code ${code}`;
          if (!listening && listeningUrl === undefined) {
            // A worker that cannot start (bad config, port in use) stops the service: its own error
            // line says why. Once the service is up, a replacement that fails counts against the budget.
            io.err(
              `wxkit serve: worker ${worker.process.pid} exited before listening (${how}); stopping / 工作进程启动失败（${how}），服务停止`,
            );
            failure?.(code || 1);
            return;
          }
          const decision = budget.death();
          if (!decision.restart) {
            io.err(
              `wxkit serve: giving up: ${decision.deaths} worker exits within ${budget.windowMs / 1000} s (WXKIT_WORKER_RESTARTS=${budget.max} restarts allowed); stopping with exit code 1 / 放弃：${budget.windowMs / 1000} 秒内工作进程退出 ${decision.deaths} 次（WXKIT_WORKER_RESTARTS=${budget.max}），服务以退出码 1 停止`,
            );
            failure?.(1);
            return;
          }
          io.err(
            `wxkit serve: worker ${worker.process.pid} exited (${how}); starting another in ${decision.delayMs} ms / 工作进程 ${worker.process.pid} 退出（${how}），${decision.delayMs} 毫秒后重启`,
          );
          const timer = setTimeout(() => {
            pending.delete(timer);
            if (!stopping) fork();
          }, decision.delayMs);
          pending.add(timer);
        }),
      ),
    );
  };
  for (let i = 0; i < workers; i++) fork();
  const code = await Promise.race([waitForStop(io.stopSignal).then(() => 0), failed]);
  stopping = true;
  for (const t of pending) clearTimeout(t);
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  await Promise.all(exits);
  await simulator?.close();
  if (tempStore) rmSync(tempStore, { recursive: true, force: true });
  return code;
}

export async function runServe(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    workers: { type: 'string' },
    sandbox: { type: 'boolean' },
  });
  const workersText = values.workers ?? '1';
  if (!/^\d{1,2}$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > 64) {
    throw new UsageError('--workers must be a number from 1 to 64', '--workers 必须是 1 到 64 之间的数字');
  }
  if (values.port !== undefined && !/^\d{1,5}$/.test(values.port))
    throw new UsageError('--port must be a number', '--port 必须是数字');
  const flags: ServeFlags = { host: values.host, port: values.port, sandbox: values.sandbox };
  const workers = Number(workersText);
  if (workers > 1 && cluster.isPrimary) return runPrimary(io, workers, flags);
  try {
    return await runSingle(io, flags);
  } catch (e) {
    if (e instanceof WxkitError || e instanceof UsageError) throw e;
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `cannot start: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
}
