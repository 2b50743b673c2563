// The third-party platform at scale, in library mode (no HTTP service): one simulated component with
// 10,000 authorized accounts, a real redis-server, and 4 forked processes each running createPlatform()
// on it. 20,000 concurrent cold jssdkConfig calls over 2,000 random accounts → upstream calls per
// account (target: 1 api_authorizer_token and 1 getticket per account touched, 1 component token in
// all), every signature checked against the simulator's ticket, RSS per process before and after
// touching all 10,000 accounts; then a FLUSHALL under load. Writes its section of docs/benchmarks.md.
// Run: npm run bench -- platform, or `node --import tsx bench/platform.ts [--quick]`.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform, type PlatformOptions } from '../src/platform/platform.ts';
import { saveVerifyTicket } from '../src/platform/verify-ticket.ts';
import { signJssdk } from '../src/signature.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { createRedisStore, type RedisTopology } from '../src/stores/redis.ts';
import { freePort, type RedisServer, startRedisServer, untilPrinted } from '../test/stores/redis-server.ts';
import type { Signed, WorkerReply } from './fixtures/platform-worker.ts';
import { writeBenchSection } from './report.ts';

const WORKER = new URL('./fixtures/platform-worker.ts', import.meta.url).pathname;
const QUICK = process.argv.includes('--quick');
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? (QUICK ? 2_000 : 10_000));
const HOT = Number(process.env.BENCH_HOT ?? (QUICK ? 400 : 2_000));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 4_000 : 20_000));
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 4);
const COMPONENT = 'wxc0mp0nentbench01';
const SECRET = 'bench-component-secret';
const TOKEN = 'benchcomponenttoken';
const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const PAGE = 'https://shop.example.com/item?id=42';
const P = '/cgi-bin/component/';
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
const LOAD_AT_START = loadAverage();

interface Worker {
  child: ChildProcess;
  ready: { rss: number; heapUsed: number };
  send(cmd: Record<string, unknown>): Promise<WorkerReply>;
}

async function startWorker(options: PlatformOptions): Promise<Worker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, WXKIT_BENCH_PLATFORM: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const pending = new Map<number, (r: WorkerReply) => void>();
  const [ready] = (await once(child, 'message')) as [{ rss: number; heapUsed: number }];
  child.on('message', (m: WorkerReply) => {
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  return {
    child,
    ready,
    send(cmd) {
      const id = ++nextId;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ ...cmd, id });
      });
    },
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const merge = (all: Array<Record<string, number>>) => {
  const out: Record<string, number> = {};
  for (const e of all) for (const [k, v] of Object.entries(e)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const showErrors = (e: Record<string, number>) =>
  Object.keys(e).length === 0
    ? 'none'
    : Object.entries(e)
        .map(([k, v]) => `${v} × ${k}`)
        .join(', ');

function pick<T>(from: readonly T[], n: number): T[] {
  const a = [...from];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, n);
}

interface RunResult {
  store: string;
  syncMs: number;
  syncReport: unknown;
  burstMs: number;
  touched: number;
  calls: { authorizerToken: number; getticket: number; componentToken: number };
  signed: number;
  verified: number;
  burstErrors: Record<string, number>;
  /** Warning lines logged by all the processes, in all. */
  warnings: number;
  rss: Array<{ ready: number; burst: number; all: number; heapReady: number; heapAll: number }>;
  touchAll: { ms: number; authorizerToken: number; getticket: number; errors: Record<string, number> };
  flush?: {
    ok: number;
    errors: Record<string, number>;
    listPages: number;
    componentToken: number;
    authorizerToken: number;
    indexAfter: number;
    explicitSync?: { pages: number; accounts: number; restored: number };
  };
}

async function run(
  sim: Simulator,
  redisAt: { url: string } | { topology: RedisTopology },
  flushAll: (() => void) | undefined,
  label: string,
): Promise<RunResult> {
  const calls = (path: string) => sim.stats().calls[path] ?? 0;
  const base: PlatformOptions = {
    componentAppId: COMPONENT,
    componentSecret: SECRET,
    token: TOKEN,
    encodingAESKey: AES_KEY,
    store: 'url' in redisAt ? redisAt.url : { kind: 'redis', topology: redisAt.topology },
    apiBase: sim.url,
    openBase: sim.url,
    jsDomains: ['shop.example.com'],
  };
  // The ticket WeChat pushed (as the events handler keeps it), then the store seeded by one sync.
  const admin = await createRedisStore(redisAt);
  sim.reset();
  const c = sim.openPlatform.state.get(COMPONENT)!;
  await saveVerifyTicket(admin, COMPONENT, {
    value: sim.openPlatform.state.issueVerifyTicket(c),
    createTime: sim.state.now(),
  });
  const seeder = createPlatform(base);
  let t0 = performance.now();
  const syncReport = await seeder.sync();
  const syncMs = performance.now() - t0;
  await seeder.close();
  await admin.close();
  console.log(`[platform ${label}] seeded: ${JSON.stringify(syncReport)} in ${syncMs.toFixed(0)} ms`);
  // No account has a token or ticket yet (cold); the counts run from before the sync, so the
  // component token figure covers the seeding process and the 4 workers together.

  const workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(base)));
  const all = c.candidates.slice(0, ACCOUNTS);
  const hot = pick(all, HOT);
  const draws = Array.from({ length: PROCESSES }, () =>
    Array.from({ length: REQUESTS / PROCESSES }, () => hot[Math.floor(Math.random() * hot.length)] as string),
  );
  const touched = new Set(draws.flat()).size;
  t0 = performance.now();
  const bursts = await Promise.all(
    workers.map((w, i) => w.send({ cmd: 'burst', appIds: draws[i], url: PAGE })),
  );
  const burstMs = performance.now() - t0;
  const signed = bursts.flatMap((b) => b.signed ?? []);
  const verified = signed.filter((s: Signed) => {
    const ticket = sim.state.currentTicket(s.appId);
    return (
      ticket !== undefined &&
      s.signature === signJssdk({ ticket, nonceStr: s.nonceStr, timestamp: s.timestamp, url: PAGE })
    );
  }).length;
  const result: RunResult = {
    store: label,
    syncMs,
    syncReport,
    burstMs,
    touched,
    calls: {
      authorizerToken: calls(`${P}api_authorizer_token`),
      getticket: calls('/cgi-bin/ticket/getticket'),
      componentToken: calls(`${P}api_component_token`),
    },
    signed: signed.length,
    verified,
    burstErrors: merge(bursts.map((b) => b.errors)),
    rss: [],
    warnings: 0,
    touchAll: { ms: 0, authorizerToken: 0, getticket: 0, errors: {} },
  };
  console.log(
    `[platform ${label}] burst: ${JSON.stringify({ ...result, rss: undefined, syncReport: undefined })}`,
  );

  // Every process touches every account (LRU of 1000 in memory): RSS must not grow with the accounts.
  sim.reset();
  t0 = performance.now();
  const touches = await Promise.all(
    workers.map((w) => w.send({ cmd: 'touch', appIds: pick(all, all.length), url: PAGE, concurrency: 100 })),
  );
  result.touchAll = {
    ms: performance.now() - t0,
    authorizerToken: calls(`${P}api_authorizer_token`),
    getticket: calls('/cgi-bin/ticket/getticket'),
    errors: merge(touches.map((t) => t.errors)),
  };
  result.rss = workers.map((w, i) => ({
    ready: w.ready.rss,
    burst: bursts[i]!.rss,
    all: touches[i]!.rss,
    heapReady: w.ready.heapUsed,
    heapAll: touches[i]!.heapUsed,
  }));
  console.log(
    `[platform ${label}] touch all: ${JSON.stringify(result.touchAll)} rss ${JSON.stringify(result.rss)}`,
  );

  if (flushAll) {
    // FLUSHALL while every process serves: the automatic sync (and one explicit) must restore the index.
    sim.reset();
    const loads = workers.map((w) => w.send({ cmd: 'load', appIds: hot, url: PAGE, concurrency: 20 }));
    await sleep(1500);
    flushAll();
    await sleep(5000);
    await Promise.all(workers.map((w) => w.send({ cmd: 'stop-load' })));
    const done = await Promise.all(loads);
    // The automatic sync may still run: wait for the index to be whole again (at most 60 s).
    const seeder2 = createPlatform(base);
    let indexAfter = 0;
    for (let i = 0; i < 120; i++) {
      indexAfter = (await seeder2.authorizers()).length;
      if (indexAfter >= ACCOUNTS) break;
      await sleep(500);
    }
    result.flush = {
      ok: done.reduce((n, d) => n + d.ok, 0),
      errors: merge(done.map((d) => d.errors)),
      listPages: calls(`${P}api_get_authorizer_list`),
      componentToken: calls(`${P}api_component_token`),
      authorizerToken: calls(`${P}api_authorizer_token`),
      indexAfter,
    };
    await seeder2.close();
    console.log(`[platform ${label}] flush: ${JSON.stringify(result.flush)}`);
  }
  const last = await Promise.all(workers.map((w) => w.send({ cmd: 'memory' })));
  result.warnings = last.reduce((n, m) => n + m.warnings, 0);
  for (const w of workers) w.child.disconnect();
  await Promise.all(workers.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : undefined)));
  return result;
}

async function main() {
  if (!existsSync('/usr/bin/redis-server')) {
    console.error('[platform] needs redis-server (apt-get install -y redis-server)');
    process.exit(1);
  }
  const sim = await startSimulator({
    components: [
      {
        componentAppId: COMPONENT,
        secret: SECRET,
        token: TOKEN,
        encodingAESKey: AES_KEY,
        authorizers: ACCOUNTS,
        jsDomains: ['shop.example.com'],
      },
    ],
  });
  const res = await fetch(`${sim.url}/__sim/platform/authorize`, {
    method: 'POST',
    body: JSON.stringify({ count: ACCOUNTS, events: false }),
  });
  console.log(`[platform] authorized ${((await res.json()) as { authorized: number }).authorized} accounts`);
  let redis: RedisServer | undefined;
  try {
    redis = await startRedisServer();
    const port = redis.port;
    const single = await run(
      sim,
      { url: redis.url },
      () => execFileSync('/usr/bin/redis-cli', ['-p', String(port), 'FLUSHALL']),
      'redis',
    );
    await redis.stop();
    const results = [single];
    if (!process.argv.includes('--no-cluster')) {
      const cluster = await startCluster();
      try {
        results.push(
          await run(
            sim,
            { topology: { cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } },
            undefined,
            'cluster (3 nodes)',
          ),
        );
      } finally {
        await cluster.stop();
      }
    }
    report(results);
  } finally {
    await redis?.stop();
    await sim.close();
  }
}

/** A 3-node Redis Cluster (no replicas) on free ports, in a temporary directory. */
async function startCluster(): Promise<{ ports: number[]; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-bench-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const procs = await Promise.all(
    ports.map(async (port) => {
      const proc = spawn(
        '/usr/bin/redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--save',
          '',
          '--appendonly',
          'no',
          '--protected-mode',
          'no',
          '--dir',
          dir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      await untilPrinted(proc, 'Ready to accept connections', 'redis-server (cluster)');
      return proc;
    }),
  );
  execFileSync(
    '/usr/bin/redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const info = execFileSync('/usr/bin/redis-cli', ['-p', String(ports[0]), 'cluster', 'info']).toString();
    if (info.includes('cluster_state:ok')) break;
    await sleep(100);
  }
  return {
    ports,
    async stop() {
      for (const p of procs) {
        if (p.exitCode === null && p.signalCode === null) {
          p.kill('SIGTERM');
          await once(p, 'exit');
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function report(results: RunResult[]) {
  const r = results[0]!;
  const rows = (zh: boolean) =>
    results.map(
      (x) =>
        `| ${x.store} | ${x.touched} | ${x.calls.authorizerToken} | ${x.calls.getticket} | ${x.calls.componentToken} | ${x.verified} / ${REQUESTS} | ${(x.burstMs / 1000).toFixed(1)} | ${showErrors(
          x.burstErrors,
        ).replace('none', zh ? '无' : 'none')} |`,
    );
  const rss = results.flatMap((x) =>
    x.rss.map(
      (m, i) =>
        `| ${x.store} #${i + 1} | ${mb(m.ready)} | ${mb(m.burst)} | ${mb(m.all)} | ${mb(m.heapReady)} → ${mb(m.heapAll)} |`,
    ),
  );
  const t = r.touchAll;
  const f = r.flush;
  const load = `${LOAD_AT_START} at the start, ${loadAverage()} at the end`;
  const en = `## Third-party platform: ${ACCOUNTS.toLocaleString('en')} accounts, ${PROCESSES} processes, ${results.length > 1 ? 'Redis and a 3-node Redis Cluster' : 'one Redis'} (\`bench/platform.ts\`)

Library mode (no HTTP service): the simulated open platform with one component and ${ACCOUNTS.toLocaleString('en')} authorized accounts, a real \`redis-server\`${results.length > 1 ? ' (then the same run on a fresh 3-node Redis Cluster, no replicas)' : ''}, and ${PROCESSES} forked Node processes each running \`createPlatform()\` on it. The store was seeded by one \`platform.sync()\` (${(r.syncReport as { pages: number }).pages} list pages, ${(r.syncMs / 1000).toFixed(1)} s); then ${REQUESTS.toLocaleString('en')} cold \`jssdkConfig\` calls at once (${REQUESTS / PROCESSES} per process) over ${HOT.toLocaleString('en')} random accounts. Upstream calls are the simulator's counts; the component token count includes the seeding process. Every signature was checked with \`signJssdk\` over the simulator's current ticket for that account. Load average of the shared 2-core machine: ${load}.

| store | accounts touched | api_authorizer_token | getticket | api_component_token | signatures verified | seconds | errors |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows(false).join('\n')}

Then (single Redis) each process signed a page for every one of the ${ACCOUNTS.toLocaleString('en')} accounts (100 at a time; ${(t.ms / 1000).toFixed(1)} s): ${t.authorizerToken} api_authorizer_token and ${t.getticket} getticket calls (${ACCOUNTS - r.touched} accounts were not touched by the burst; the target is one of each per account still without a token); errors: ${showErrors(t.errors)}. RSS per process (after a forced GC; at most 1,000 accounts are kept in memory):

| process | RSS ready | after the burst | after all ${ACCOUNTS.toLocaleString('en')} accounts | heap used, ready → after all |
| --- | --- | --- | --- | --- |
${rss.join('\n')}
${
  f
    ? `
FLUSHALL under load (single Redis; 20 callers per process over the ${HOT.toLocaleString('en')} hot accounts, the flush after 1.5 s, 5 s more of load): ${f.ok.toLocaleString('en')} calls answered, errors ${showErrors(f.errors)}; the automatic sync fetched ${f.listPages} list pages (${Math.ceil(ACCOUNTS / 500)} pages hold every account), ${f.componentToken} component tokens, ${f.authorizerToken} authorizer tokens; the index held ${f.indexAfter.toLocaleString('en')} accounts afterwards.
`
    : ''
}
The ${PROCESSES} processes logged ${r.warnings.toLocaleString('en')} warning lines in all (each account's engine reports the store unreachable / reachable again and each failed fetch on its own).

Reproduce: \`node --import tsx bench/platform.ts\` (\`--quick\`: 2,000 accounts, 4,000 calls over 400).`;
  const zh = `## 第三方平台：${ACCOUNTS.toLocaleString('en')} 个账号、${PROCESSES} 个进程、${results.length > 1 ? 'Redis 与 3 节点 Redis Cluster' : '一个 Redis'}（\`bench/platform.ts\`）

库模式（不经 HTTP 服务）：模拟开放平台上一个第三方平台、${ACCOUNTS.toLocaleString('en')} 个已授权账号，一个真实的 \`redis-server\`${results.length > 1 ? '（随后在全新的 3 节点 Redis Cluster 上重复同样的运行，无副本）' : ''}，以及 ${PROCESSES} 个
fork 出来的 Node 进程，各自在其上运行 \`createPlatform()\`。存储先由一次 \`platform.sync()\` 填充（${(r.syncReport as { pages: number }).pages} 页列表，${(r.syncMs / 1000).toFixed(1)} 秒）；
然后同时发起 ${REQUESTS.toLocaleString('en')} 个冷启动的 \`jssdkConfig\` 调用（每个进程 ${REQUESTS / PROCESSES} 个），随机分布在 ${HOT.toLocaleString('en')} 个账号上。上游调用次数
取自模拟器的计数；component token 的次数包含填充存储的那个进程。每个签名都用 \`signJssdk\` 和模拟器中该账号当前的 ticket
校验。这台共享的 2 核机器的负载（load average）：${load.replace(' at the start, ', '（开始时），').replace(' at the end', '（结束时）')}。

| 存储 | 涉及账号 | api_authorizer_token | getticket | api_component_token | 校验通过的签名 | 秒 | 错误 |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows(true).join('\n')}

之后（单个 Redis）每个进程为全部 ${ACCOUNTS.toLocaleString('en')} 个账号各签名一次（每次并发 100；${(t.ms / 1000).toFixed(1)} 秒）：共调用 api_authorizer_token ${t.authorizerToken} 次、getticket ${t.getticket} 次
（突发中未涉及的账号有 ${ACCOUNTS - r.touched} 个；目标是每个尚无 token 的账号各一次）；错误：${showErrors(t.errors).replace('none', '无')}。每个进程的 RSS（强制 GC 之后；内存中最多保留 1,000 个账号）：

| 进程 | 就绪时 RSS | 突发之后 | 全部 ${ACCOUNTS.toLocaleString('en')} 个账号之后 | 已用堆：就绪时 → 全部之后 |
| --- | --- | --- | --- | --- |
${rss.join('\n')}
${
  f
    ? `
负载中执行 FLUSHALL（单个 Redis；每个进程 20 个调用方，在 ${HOT.toLocaleString('en')} 个热点账号上循环；1.5 秒后清空，再持续 5 秒）：应答 ${f.ok.toLocaleString('en')} 次，
错误 ${showErrors(f.errors).replace('none', '无')}；自动同步拉取了 ${f.listPages} 页列表（全部账号共 ${Math.ceil(ACCOUNTS / 500)} 页）、${f.componentToken} 次 component token、${f.authorizerToken} 次
authorizer token；之后索引中有 ${f.indexAfter.toLocaleString('en')} 个账号。
`
    : ''
}
${PROCESSES} 个进程共记录了 ${r.warnings.toLocaleString('en')} 行警告日志（每个账号的引擎各自报告存储不可达、恢复可达以及每次获取失败）。

复现：\`node --import tsx bench/platform.ts\`（\`--quick\`：2,000 个账号，4,000 次调用分布在 400 个账号上）。`;
  writeBenchSection('platform', en);
  writeBenchSection('platform', zh, 'zh-CN');
}

await main();
