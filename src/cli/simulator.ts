import { isWxkitError } from '../errors.ts';
import { SANDBOX_APP_ID, startSimulator } from '../simulator/index.ts';
import { type CliIO, parseFlags, UsageError } from './io.ts';

export const simulatorUsage = `wxkit simulator [--host 127.0.0.1] [--port 9100] [--app APPID:SECRET]... [--corp CORPID:AGENTID:SECRET]... [--js-domain D]... [--platform ios|android]
  Runs the WeChat simulator (API, OAuth page, JS bridge, /__sim control API) until Ctrl-C.
  Without --app it accepts one sandbox account, printed at start. --corp adds a WeCom (企业微信) app.
  运行微信模拟器直到 Ctrl-C；不带 --app 时接受一个沙箱公众号；--corp 添加一个企业微信应用。`;

/** Shows an account's secret only when it is the sandbox one; secrets passed in are not echoed. */
function describeSecret(appId: string, secret: string): string {
  return appId === SANDBOX_APP_ID ? `secret ${secret}` : `secret (as given, ${secret.length} chars)`;
}

export async function runSimulator(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9100' },
    app: { type: 'string', multiple: true },
    corp: { type: 'string', multiple: true },
    'js-domain': { type: 'string', multiple: true },
    platform: { type: 'string', default: 'android' },
  });
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new UsageError('--port must be 0…65535');
  }
  const platform = values.platform;
  if (platform !== 'ios' && platform !== 'android') throw new UsageError('--platform must be ios or android');
  for (const app of values.app ?? []) {
    const i = app.indexOf(':');
    if (i <= 0 || i === app.length - 1)
      throw new UsageError(`--app must be APPID:SECRET, got "${app.slice(0, i > 0 ? i : 20)}…"`);
  }
  for (const corp of values.corp ?? []) {
    const [corpId = '', agentId = '', ...secret] = corp.split(':');
    if (corpId === '' || !/^\d+$/.test(agentId) || secret.join(':') === '') {
      throw new UsageError(
        `--corp must be CORPID:AGENTID:SECRET (agentid a number), got "${corpId.slice(0, 20)}:…" / --corp 的格式是 CORPID:AGENTID:SECRET`,
      );
    }
  }
  const jsDomains = values['js-domain'];
  if (jsDomains?.some((d) => d.trim() === '' || /[\s,]/.test(d))) {
    throw new UsageError('--js-domain takes one host or host/path per flag');
  }
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator({
      host: values.host,
      port: Number(values.port),
      platform,
      ...(values.app ? { apps: values.app } : {}),
      ...(values.corp ? { corps: values.corp } : {}),
      ...(jsDomains ? { jsDomains } : {}),
    });
  } catch (e) {
    if (isWxkitError(e)) throw new UsageError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${values.port} on ${values.host} is already in use`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`cannot listen on ${values.host}`);
    throw e;
  }
  io.out(`WeChat simulator listening on ${sim.url}`);
  io.out(`  WX_API_BASE=${sim.url} WX_OPEN_BASE=${sim.url}`);
  io.out(`  platform ${platform}; control API ${sim.url}/__sim/stats`);
  io.out(
    `  message push: POST ${sim.url}/__sim/push/config, then POST ${sim.url}/__sim/push (log: /__sim/push/log)`,
  );
  for (const app of sim.apps) {
    io.out(
      `  account ${app.appId}  ${describeSecret(app.appId, app.secret)}  js domains ${app.jsDomains.join(',')}`,
    );
  }
  for (const corp of sim.corps) {
    io.out(
      `  wecom corp (企业微信) ${corp.corpId}  agentid ${corp.agentId}  secret (as given, ${corp.secret.length} chars)  trusted domains ${corp.jsDomains.join(',')}`,
    );
  }
  // Without a stop signal (embedded use) it runs until the process ends.
  const signal = io.stopSignal;
  await new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await sim.close();
  io.out('simulator stopped');
  return 0;
}
