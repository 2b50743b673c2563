import { isWxkitError } from '../errors.ts';
import { SANDBOX_APP_ID, startSimulator } from '../simulator/index.ts';
import { type CliIO, parseFlags, UsageError } from './io.ts';

export const simulatorUsage = `wxkit simulator [--host 127.0.0.1] [--port 9100] [--app APPID:SECRET]... [--corp CORPID:AGENTID:SECRET]... [--js-domain D]... [--platform ios|android] [--mch MCHID]...
  [--component APPID:SECRET:TOKEN:AESKEY]... [--component-events URL] [--component-messages URL] [--authorizers N]
  Runs the WeChat simulator (API, OAuth page, JS bridge, /__sim control API) until Ctrl-C.
  Without --app it accepts one sandbox account, printed at start. --corp adds a WeCom (企业微信) app.
  --mch adds a WeChat Pay merchant (API v3 gateway, cashier, notifications); its test keys are at /__sim/pay/keys.
  --component adds a third-party platform (第三方平台) whose verify tickets and authorization events go to
  --component-events, with N simulated accounts to authorize it (default 3); --component-messages is its
  消息与事件接收URL with $APPID$, which POST /__sim/platform/release-check (全网发布) pushes to.
  运行微信模拟器直到 Ctrl-C；不带 --app 时接受一个沙箱公众号；--corp 添加一个企业微信应用；
  --mch 添加一个微信支付商户（v3 接口、收银台、支付通知），测试密钥见 /__sim/pay/keys；
  --component 添加一个第三方平台，其 ticket 与授权事件推送到 --component-events，可授权的模拟公众号数量由 --authorizers 指定（默认 3）；
  --component-messages 是它的「消息与事件接收URL」（含 $APPID$），POST /__sim/platform/release-check（全网发布检测）向其推送。`;

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
    mch: { type: 'string', multiple: true },
    'js-domain': { type: 'string', multiple: true },
    platform: { type: 'string', default: 'android' },
    component: { type: 'string', multiple: true },
    'component-events': { type: 'string' },
    'component-messages': { type: 'string' },
    authorizers: { type: 'string' },
  });
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new UsageError('--port must be 0…65535', '--port 必须是 0…65535');
  }
  const platform = values.platform;
  if (platform !== 'ios' && platform !== 'android')
    throw new UsageError('--platform must be ios or android', '--platform 必须是 ios 或 android');
  for (const app of values.app ?? []) {
    const i = app.indexOf(':');
    if (i <= 0 || i === app.length - 1)
      throw new UsageError(
        `--app must be APPID:SECRET, got "${app.slice(0, i > 0 ? i : 20)}…"`,
        `--app 的格式是 APPID:SECRET，收到 "${app.slice(0, i > 0 ? i : 20)}…"`,
      );
  }
  for (const corp of values.corp ?? []) {
    const [corpId = '', agentId = '', ...secret] = corp.split(':');
    if (corpId === '' || !/^\d+$/.test(agentId) || secret.join(':') === '') {
      throw new UsageError(
        `--corp must be CORPID:AGENTID:SECRET (agentid a number), got "${corpId.slice(0, 20)}:…"`,
        `--corp 的格式是 CORPID:AGENTID:SECRET（agentid 为数字），收到 "${corpId.slice(0, 20)}:…"`,
      );
    }
  }
  const authorizers = values.authorizers;
  if (authorizers !== undefined && !/^\d{1,6}$/.test(authorizers)) {
    throw new UsageError(
      '--authorizers must be a number (1…100000)',
      '--authorizers 必须是 1 到 100000 的数字',
    );
  }
  const events = values['component-events'];
  if (events !== undefined && !/^https?:\/\//.test(events)) {
    throw new UsageError(
      '--component-events must be an http(s) URL',
      '--component-events 必须是 http(s) 地址',
    );
  }
  const messages = values['component-messages'];
  if (messages !== undefined && (!/^https?:\/\//.test(messages) || !messages.includes('$APPID$'))) {
    throw new UsageError(
      '--component-messages must be an http(s) URL containing $APPID$',
      '--component-messages 必须是包含 $APPID$ 的 http(s) 地址',
    );
  }
  const jsDomains = values['js-domain'];
  if (jsDomains?.some((d) => d.trim() === '' || /[\s,]/.test(d))) {
    throw new UsageError(
      '--js-domain takes one host or host/path per flag',
      '每个 --js-domain 只接受一个域名（host 或 host/path）',
    );
  }
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  try {
    sim = await startSimulator({
      host: values.host,
      port: Number(values.port),
      platform,
      ...(values.app ? { apps: values.app } : {}),
      ...(values.corp ? { corps: values.corp } : {}),
      ...(values.mch ? { mchs: values.mch } : {}),
      ...(values.component ? { components: values.component } : {}),
      ...(events ? { componentEvents: events } : {}),
      ...(messages ? { componentMessages: messages } : {}),
      ...(authorizers ? { authorizers: Number(authorizers) } : {}),
      ...(jsDomains ? { jsDomains } : {}),
    });
  } catch (e) {
    if (isWxkitError(e)) throw new UsageError(e.message, e.messageZh);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${values.port} on ${values.host} is already in use`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`cannot listen on ${values.host}`);
    throw e;
  }
  // Chinese first, then English, as everywhere the user reads; the English keeps its words (scripts grep them).
  io.out(`微信模拟器已启动 ${sim.url} / WeChat simulator listening on ${sim.url}`);
  io.out(`  WX_API_BASE=${sim.url} WX_OPEN_BASE=${sim.url}`);
  io.out(`  客户端平台 ${platform}，控制接口 ${sim.url}/__sim/stats`);
  io.out(`  platform ${platform}; control API ${sim.url}/__sim/stats`);
  io.out(
    `  message push: POST ${sim.url}/__sim/push/config, then POST ${sim.url}/__sim/push (log: /__sim/push/log)`,
  );
  io.out('  接受的账号（公众号 account、企业微信 wecom corp）及其 JS 接口安全域名 / accounts it accepts:');
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
  for (const mch of values.mch ?? []) {
    io.out(`  wechat pay merchant (微信支付商户) ${mch}  test keys ${sim.url}/__sim/pay/keys?mchId=${mch}`);
  }
  for (const c of sim.openPlatform.state.components.values()) {
    io.out(
      `  component (第三方平台) ${c.componentAppId}  ${c.candidates.length} accounts to authorize  events ${c.eventsUrl ?? '(none: set with POST /__sim/platform/components)'}  messages ${c.messagesUrl ?? '(none)'}`,
    );
    io.out(`    全网发布检测 / release check: POST ${sim.url}/__sim/platform/release-check`);
  }
  // Without a stop signal (embedded use) it runs until the process ends.
  const signal = io.stopSignal;
  await new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await sim.close();
  io.out('模拟器已停止 / simulator stopped');
  return 0;
}
