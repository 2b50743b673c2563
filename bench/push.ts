// Safe-mode message push through `wxkit serve` (/wechat/push: msg_signature, decryption, de-duplication in
// the store, the forward to the team's service, an encrypted reply) against a bare node:http endpoint doing
// the same decrypt + reply (bench/fixtures/push-bare.ts), side by side in one run. Every request is a
// distinct message (a new MsgId), as WeChat sends them. Writes its section of docs/benchmarks.md.
// Run: npm run bench push, or `npx tsup --silent && node --import tsx bench/push.ts [--quick]`.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPushCrypto,
  openReply,
  PushEndpoint,
  readXml,
  reply,
  sealPush,
  writeXml,
} from '../src/push/index.ts';
import { originalIdOf, startSimulator } from '../src/simulator/index.ts';
import { createWxkit } from '../src/wxkit.ts';
import { answerBare, bareKeys } from './fixtures/push-bare-logic.ts';
import {
  BENCH_ROOT,
  type CannonResult,
  cpuSeconds,
  median,
  type Server,
  spread,
  start,
  stop,
} from './processes.ts';
import { writeBenchSection } from './report.ts';

type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const ROOT = BENCH_ROOT;
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 8;
const SECONDS = QUICK ? 2 : 3;
const CONNECTIONS = 16;
const APP_ID = 'wxbe0c000000000002';
const SECRET = 'bench-secret';
const TOKEN = 'benchPushToken1';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const TSX = import.meta.resolve('tsx');
const CLI: string = (() => {
  const i = process.argv.indexOf('--cli');
  return (i !== -1 && process.argv[i + 1]) || `${ROOT}dist/cli.js`;
})();

const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: APP_ID });
let counter = 0;
const msgBase = 6_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n;

/** A new safe-mode push (distinct MsgId), as WeChat sends it: path with the query, and the body. */
function nextPush(path: string): { path: string; body: string } {
  const i = counter++;
  const ts = String(Math.floor(Date.now() / 1000));
  const message = writeXml({
    ToUserName: originalIdOf(APP_ID),
    FromUserName: `oBENCH${String(i % 1000).padStart(22, '0')}`,
    CreateTime: Number(ts),
    MsgType: 'text',
    Content: `hello ${i}`,
    MsgId: String(msgBase + BigInt(i)),
  });
  const sealed = sealPush(message, { crypto, token: TOKEN, toUserName: originalIdOf(APP_ID), timestamp: ts });
  const q = new URLSearchParams(sealed.query as unknown as Record<string, string>);
  return { path: `${path}?${q}`, body: sealed.body };
}

type Variant = 'bare' | 'logged' | 'quiet';
const VARIANTS: readonly Variant[] = ['bare', 'logged', 'quiet'];
type Run = CannonResult & { cpuUs: number; helperCpuUs: number };

async function run(
  server: Server,
  path: string,
  helper: ChildProcess | undefined,
  duration: number,
): Promise<Run> {
  const before = cpuSeconds(server.child.pid);
  const helperBefore = helper ? cpuSeconds(helper.pid) : 0;
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, ...nextPush(path) }),
      },
    ],
  });
  const cpu = cpuSeconds(server.child.pid) - before;
  const helperCpu = helper ? cpuSeconds(helper.pid) - helperBefore : 0;
  const n = Math.max(result.requests.total, 1);
  return { ...result, cpuUs: (cpu * 1e6) / n, helperCpuUs: (helperCpu * 1e6) / n };
}

/** One push through `server`, its reply opened and checked as WeChat does. */
async function check(server: Server, path: string): Promise<void> {
  const p = nextPush(path);
  const res = await fetch(server.url + p.path, { method: 'POST', body: p.body });
  const opened = openReply(await res.text(), { crypto, token: TOKEN });
  const fields = readXml(opened.message);
  if (fields.MsgType !== 'text' || fields.Content !== 'ok') throw new Error(`unexpected reply from ${path}`);
}

const sim = await startSimulator({ apps: [`${APP_ID}:${SECRET}`] });
const dir = mkdtempSync(join(tmpdir(), 'wxkit-bench-push-'));
const logFile = join(dir, 'wxkit.log');
const receiver = await start(['--import', TSX, `${ROOT}bench/fixtures/push-receiver.ts`], {});
const serveEnv = {
  PORT: '0',
  WX_APP_ID: APP_ID,
  WX_APP_SECRET: SECRET,
  WX_API_BASE: sim.url,
  WX_JS_DOMAINS: 'h5.example.com',
  WXKIT_STORE: 'memory',
  WXKIT_SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
  WX_PUSH_TOKEN: TOKEN,
  WX_PUSH_AES_KEY: AES_KEY,
  WX_PUSH_FORWARD: `${receiver.url}/hook`,
  WXKIT_PUSH_FORWARD_SECRET: 'bench-forward-secret-0123456789',
};
const servers: Record<Variant, Server> = {
  logged: await start([CLI, 'serve'], serveEnv, logFile),
  quiet: await start([CLI, 'serve'], { ...serveEnv, WXKIT_LOG: 'off' }),
  bare: await start(['--import', TSX, `${ROOT}bench/fixtures/push-bare.ts`], {
    TOKEN,
    AES_KEY,
    APP_ID,
  }),
};
const pathOf = (v: Variant) => (v === 'bare' ? '/' : '/wechat/push');
const rounds: ({ round: number } & Record<Variant, Run>)[] = [];
try {
  for (const v of VARIANTS) await check(servers[v], pathOf(v));
  for (const v of VARIANTS) await run(servers[v], pathOf(v), undefined, 2);
  for (let i = 1; i <= ROUNDS; i++) {
    const order = VARIANTS.map((_, k) => VARIANTS[(k + i) % VARIANTS.length] as Variant);
    const got: Partial<Record<Variant, Run>> = {};
    for (const v of order) {
      got[v] = await run(servers[v], pathOf(v), v === 'bare' ? undefined : receiver.child, SECONDS);
    }
    const r = { round: i, ...(got as Record<Variant, Run>) };
    rounds.push(r);
    console.log(
      `round ${i}: bare ${r.bare.requests.average} msg/s ${r.bare.cpuUs.toFixed(0)} µs | logged ${r.logged.requests.average} (${(r.logged.requests.average / r.bare.requests.average).toFixed(2)}×) ${r.logged.cpuUs.toFixed(0)} µs | off ${r.quiet.requests.average} (${(r.quiet.requests.average / r.bare.requests.average).toFixed(2)}×) ${r.quiet.cpuUs.toFixed(0)} µs`,
    );
    for (const v of VARIANTS) {
      if (r[v].non2xx || r[v].errors)
        throw new Error(`${v} answered ${r[v].non2xx} non-2xx, ${r[v].errors} errors`);
    }
  }
  for (const v of VARIANTS) await check(servers[v], pathOf(v));
} finally {
  for (const v of VARIANTS) await stop(servers[v].child);
  await stop(receiver.child);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The same pushes in one process, without sockets or the forward: the library's PushEndpoint (whose
 * onMessage answers at once) against the bare logic, alternating. Steadier than msg/s on a loaded machine.
 */
async function work() {
  const sim2 = await startSimulator({ apps: [`${APP_ID}:${SECRET}`] });
  const wx = createWxkit({ appId: APP_ID, secret: SECRET, apiBase: sim2.url, store: 'memory' });
  const endpoint = new PushEndpoint({
    account: wx,
    token: TOKEN,
    encodingAESKey: AES_KEY,
    log: false,
    onMessage: () => reply.text('ok'),
  });
  const keys = bareKeys(TOKEN, AES_KEY, APP_ID);
  const iterations = QUICK ? 4_000 : 20_000;
  const batch = () =>
    Array.from({ length: iterations / 4 }, () => {
      const p = nextPush('/');
      return { query: new URL(p.path, 'http://x').searchParams, body: p.body };
    });
  let wxMs = 0;
  let bareMs = 0;
  for (let round = 0; round < 4; round++) {
    const a = batch();
    let t0 = performance.now();
    for (const m of a) {
      const bytes = new TextEncoder().encode(m.body);
      const r = await endpoint.handle({ method: 'POST', query: m.query, readBody: async () => bytes });
      if (r.status !== 200) throw new Error(`PushEndpoint answered ${r.status}`);
    }
    wxMs += performance.now() - t0;
    const b = batch();
    t0 = performance.now();
    for (const m of b) if (answerBare(keys, m.query, m.body).status !== 200) throw new Error('bare refused');
    bareMs += performance.now() - t0;
  }
  await wx.close();
  await sim2.close();
  return { iterations, wxUs: (wxMs * 1000) / iterations, bareUs: (bareMs * 1000) / iterations };
}
const w = await work();
console.log(`in process: PushEndpoint ${w.wxUs.toFixed(1)} µs, bare ${w.bareUs.toFixed(1)} µs per message`);

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const rps = (v: Variant) => mean(rounds.map((r) => r[v].requests.average));
const p99 = (v: Variant) => mean(rounds.map((r) => r[v].latency.p99));
const ratio = (v: Variant) => spread(rounds.map((r) => r[v].requests.average / r.bare.requests.average));
const cpu = (v: Variant) => median(rounds.map((r) => r[v].cpuUs));
const helper = median(rounds.map((r) => r.quiet.helperCpuUs));
const fmt = (s: { median: number; min: number; max: number }) =>
  `**${s.median.toFixed(2)}×** (rounds ${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const fmtZh = (s: { median: number; min: number; max: number }) =>
  `**${s.median.toFixed(2)}×**（各轮 ${s.min.toFixed(2)}–${s.max.toFixed(2)}）`;
const table = (head: string[], mean: string) => `| ${head.join(' | ')} |
|---:|---:|---:|---:|---:|---:|---:|
${rounds.map((r) => `| ${r.round} | ${Math.round(r.bare.requests.average)} | ${Math.round(r.logged.requests.average)} | ${Math.round(r.quiet.requests.average)} | ${r.bare.latency.p99} | ${r.logged.latency.p99} | ${r.quiet.latency.p99} |`).join('\n')}
| **${mean}** | **${Math.round(rps('bare'))}** | **${Math.round(rps('logged'))}** | **${Math.round(rps('quiet'))}** | **${p99('bare').toFixed(1)}** | **${p99('logged').toFixed(1)}** | **${p99('quiet').toFixed(1)}** |`;
const date = new Date().toISOString().slice(0, 10);
const md = `
## Message push: \`wxkit serve\` vs a bare node:http endpoint (\`bench/push.ts\`)

${date}, Node ${process.version}, ${cpus().length} shared cores (other work running), autocannon ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds in a rotating order. Every request is a **distinct safe-mode push** (new MsgId, fresh timestamp), sealed as WeChat seals it. \`POST /wechat/push\` of two \`wxkit serve\` processes — \`msg_signature\`, decryption with the appId check, the replay window, de-duplication in the store (\`memory\`), the JSON forward (HMAC-signed) to a local service that answers \`{"reply":{"type":"text","content":"ok"}}\`, the encrypted and signed reply — one with the default request log (to a file), one with \`WXKIT_LOG=off\`; against a bare \`node:http\` endpoint (\`bench/fixtures/push-bare.ts\`) that checks \`msg_signature\`, decrypts, reads the fields and answers the same encrypted reply itself: no de-duplication, no replay window, no forward. The reply of each server was opened and checked before and after the rounds.

${table(['round', 'bare msg/s', 'wxkit (log on) msg/s', 'wxkit (log off) msg/s', 'bare p99 (ms)', 'log on p99 (ms)', 'log off p99 (ms)'], 'mean')}

Messages per second wxkit/bare, median of the per-round ratios: with the default log ${fmt(ratio('logged'))}, with \`WXKIT_LOG=off\` ${fmt(ratio('quiet'))}. Server CPU per message (median of the rounds): bare **${cpu('bare').toFixed(0)} µs**, wxkit **${cpu('logged').toFixed(0)} µs** (log on) / **${cpu('quiet').toFixed(0)} µs** (log off), plus **${helper.toFixed(0)} µs** in the forward receiver. wxkit's extra work per message is the forward (an HTTP round trip on loopback, signed), the store's claim and done record, and the checks the bare endpoint skips; the forward receiver and autocannon share the same two cores, so msg/s understates what wxkit does on a machine of its own.

Work per message in one process, without sockets and without the forward (${(w.iterations / 1000).toFixed(0)}k distinct pushes each, alternating in 4 rounds): the library's \`PushEndpoint\` (signature, decryption, replay window, the memory store's claim and done record, reply rendering, encryption) **${w.wxUs.toFixed(1)} µs**, the bare logic **${w.bareUs.toFixed(1)} µs** (${(w.wxUs / w.bareUs).toFixed(2)}×). The machine's load (other work on the same two cores) inflates every figure above; the ratios are the comparison.

Reproduce: \`npx tsup --silent && node --import tsx bench/push.ts\` (\`--quick\` for a short run).
`;
const mdZh = `
## 消息推送：\`wxkit serve\` 对比裸 node:http 端点（\`bench/push.ts\`）

${date}，Node ${process.version}，${cpus().length} 个共享核心（同时有其他任务在运行），autocannon ${CONNECTIONS} 个连接，每次 ${SECONDS} 秒，共 ${ROUNDS} 轮，顺序轮换。每个请求都是**不同的安全模式推送**（新的 MsgId、当前时间戳），按微信的方式加密签名。被测的是两个 \`wxkit serve\` 进程的 \`POST /wechat/push\`——校验 \`msg_signature\`、解密并检查 appId、重放窗口、在存储（\`memory\`）中去重、以 HMAC 签名的 JSON 转发给本地服务（回答 \`{"reply":{"type":"text","content":"ok"}}\`）、加密并签名的回复——一个使用默认请求日志（写入文件），一个 \`WXKIT_LOG=off\`；对照组是裸 \`node:http\` 端点（\`bench/fixtures/push-bare.ts\`），它校验 \`msg_signature\`、解密、读取字段并自己给出同样的加密回复：没有去重、没有重放窗口、没有转发。每个服务的回复在各轮前后都被解密检查过。

${table(['轮次', '裸端点 msg/s', 'wxkit（开日志）msg/s', 'wxkit（关日志）msg/s', '裸端点 p99 (ms)', '开日志 p99 (ms)', '关日志 p99 (ms)'], '平均')}

每秒消息数 wxkit/裸端点，各轮比值的中位数：默认日志 ${fmtZh(ratio('logged'))}，\`WXKIT_LOG=off\` ${fmtZh(ratio('quiet'))}。每条消息的服务进程 CPU（各轮中位数）：裸端点 **${cpu('bare').toFixed(0)} µs**，wxkit **${cpu('logged').toFixed(0)} µs**（开日志）/ **${cpu('quiet').toFixed(0)} µs**（关日志），另有转发接收方 **${helper.toFixed(0)} µs**。wxkit 每条消息多做的工作是转发（一次回环 HTTP 往返，带签名）、存储中的占用与完成记录，以及裸端点省略的各项检查；转发接收方和 autocannon 与它共用两个核心，因此 msg/s 低估了 wxkit 独占机器时的能力。

单进程内、不经过 socket 也不转发的每条消息工作量（各 ${(w.iterations / 1000).toFixed(0)}k 条不同推送，分 4 轮交替进行）：库的 \`PushEndpoint\`（签名、解密、重放窗口、内存存储中的占用与完成记录、回复渲染、加密）**${w.wxUs.toFixed(1)} µs**，裸逻辑 **${w.bareUs.toFixed(1)} µs**（${(w.wxUs / w.bareUs).toFixed(2)}×）。机器负载（同两个核心上的其他任务）会抬高以上所有数字；比值才是对比。

复现：\`npx tsup --silent && node --import tsx bench/push.ts\`（\`--quick\` 为短时运行）。
`;
console.log(md);
writeBenchSection('push', md);
writeBenchSection('push', mdZh, 'zh-CN');
