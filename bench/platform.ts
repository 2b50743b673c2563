// The third-party platform at scale, in library mode (no HTTP service): one simulated component with
// 10,000 authorized accounts and 4 forked processes each running createPlatform() on one store — a real
// redis-server, then a 3-node Redis Cluster the bench starts itself. Per topology:
// 1. 20,000 concurrent cold jssdkConfig calls over 2,000 random accounts → upstream calls per account
//    (target: 1 api_authorizer_token and 1 getticket per account touched, 1 component token in all), every
//    signature checked against the simulator's ticket; RSS per process before and after every process
//    touched all 10,000 accounts (target: within 64 MB of the idle process).
// 2. FLUSHALL under load → callers' errors, list pages the automatic sync fetched, then every account
//    signs again.
// 3. A day of traffic on the simulator's virtual clock, Zipf-distributed over the 10,000 accounts →
//    api_authorizer_token calls per account (target ≤ 13), caller-visible errors (target 0).
// Writes its section of docs/benchmarks.md and docs/zh-CN/benchmarks.md.
// Run: `npx tsup --silent && node --import tsx bench/platform.ts [--quick] [--no-cluster]` (the processes run dist/).
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createPlatform, type PlatformOptions } from '../src/platform/platform.ts';
import { saveVerifyTicket } from '../src/platform/verify-ticket.ts';
import { signJssdk } from '../src/signature.ts';
import { type Simulator, startSimulator } from '../src/simulator/index.ts';
import { createRedisStore, type RedisTopology } from '../src/stores/redis.ts';
import type { IndexedStore } from '../src/stores/types.ts';
import { type RedisServer, startRedisCluster, startRedisServer } from '../test/stores/redis-server.ts';
import type { Signed, WorkerReply } from './fixtures/platform-worker.ts';
import { writeBenchSection } from './report.ts';

const WORKER = new URL('./fixtures/platform-worker.ts', import.meta.url).pathname;
const QUICK = process.argv.includes('--quick');
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? (QUICK ? 2_000 : 10_000));
const HOT = Number(process.env.BENCH_HOT ?? (QUICK ? 400 : 2_000));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 4_000 : 20_000));
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 4);
/** Calls over the simulated day, all processes together. */
const DAY_CALLS = Number(process.env.BENCH_DAY_CALLS ?? (QUICK ? 28_800 : 288_000));
/** Virtual seconds per step of the day. */
const DAY_STEP_S = Number(process.env.BENCH_DAY_STEP_S ?? 120);
const ZIPF = 1;
/** How long a process stays quiet before its memory is measured. */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 15_000);
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

async function startWorker(options: PlatformOptions, virtualNow?: number): Promise<Worker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: {
      ...process.env,
      WXKIT_BENCH_PLATFORM: JSON.stringify(options),
      ...(virtualNow === undefined ? {} : { WXKIT_BENCH_VIRTUAL_NOW: String(virtualNow) }),
    },
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
  flush: {
    ok: number;
    errors: Record<string, number>;
    listPages: number;
    infoCalls: number;
    componentToken: number;
    authorizerToken: number;
    indexAfter: number;
    /** Every account signed once more after the sync (one process). */
    again: { ok: number; errors: Record<string, number>; ms: number };
  };
  day: {
    ms: number;
    ok: number;
    errors: Record<string, number>;
    /** api_authorizer_token requests per account over the day: the most, and how many accounts. */
    maxPerAccount: number;
    accounts: number;
    over13: number;
    authorizerToken: number;
    getticket: number;
    componentToken: number;
    rss: number[];
  };
}

const until = async (what: () => Promise<boolean>, ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) if (await what()) return true;
  return false;
};

async function run(
  sim: Simulator,
  redisAt: { url: string } | { topology: RedisTopology },
  flushAll: () => void,
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
  const pushTicket = (store: IndexedStore) =>
    saveVerifyTicket(store, COMPONENT, {
      value: sim.openPlatform.state.issueVerifyTicket(c),
      createTime: sim.state.now(),
    });
  await pushTicket(admin);
  const seeder = createPlatform(base);
  let t0 = performance.now();
  const syncReport = await seeder.sync();
  const syncMs = performance.now() - t0;
  await seeder.close();
  console.log(`[platform ${label}] seeded: ${JSON.stringify(syncReport)} in ${syncMs.toFixed(0)} ms`);
  // No account has a token or ticket yet (cold); the counts run from before the sync, so the
  // component token figure covers the seeding process and the 4 workers together.

  let workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(base)));
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
  const burst = {
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
  };
  console.log(`[platform ${label}] burst: ${JSON.stringify(burst)}`);

  // Every process touches every account (LRU of 1000 in memory): RSS must not grow with the accounts.
  sim.reset();
  t0 = performance.now();
  const touches = await Promise.all(
    workers.map((w) =>
      w.send({ cmd: 'touch', appIds: pick(all, all.length), url: PAGE, concurrency: 100, idleMs: IDLE_MS }),
    ),
  );
  const touchAll = {
    ms: performance.now() - t0,
    authorizerToken: calls(`${P}api_authorizer_token`),
    getticket: calls('/cgi-bin/ticket/getticket'),
    errors: merge(touches.map((t) => t.errors)),
  };
  const rss = workers.map((w, i) => ({
    ready: w.ready.rss,
    burst: bursts[i]!.rss,
    all: touches[i]!.rss,
    heapReady: w.ready.heapUsed,
    heapAll: touches[i]!.heapUsed,
  }));
  console.log(`[platform ${label}] touch all: ${JSON.stringify(touchAll)} rss ${JSON.stringify(rss)}`);
  console.log(
    `[platform ${label}] memory after all: ${JSON.stringify(touches.map((t) => ({ rss: mb(t.rss), heapTotal: mb(t.heapTotal ?? 0), heapUsed: mb(t.heapUsed), external: mb(t.external ?? 0), lag: t.lagMaxMs })))}`,
  );

  // FLUSHALL while every process serves: the automatic sync must restore the index, and no caller
  // be told to authorize again.
  sim.reset();
  const loads = workers.map((w) => w.send({ cmd: 'load', appIds: hot, url: PAGE, concurrency: 20 }));
  await sleep(1500);
  flushAll();
  await sleep(5000);
  await Promise.all(workers.map((w) => w.send({ cmd: 'stop-load' })));
  const done = await Promise.all(loads);
  const restored = await until(async () => (await seederIndex(base)) >= ACCOUNTS, 60_000);
  const indexAfter = await seederIndex(base);
  const listPages = calls(`${P}api_get_authorizer_list`);
  // The flushed verify ticket comes back with WeChat's next push (every 10 minutes).
  await pushTicket(admin);
  t0 = performance.now();
  const again = await workers[0]!.send({ cmd: 'touch', appIds: all, url: PAGE, concurrency: 100 });
  const flush: RunResult['flush'] = {
    ok: done.reduce((n, d) => n + d.ok, 0),
    errors: merge(done.map((d) => d.errors)),
    listPages,
    infoCalls: calls(`${P}api_get_authorizer_info`),
    componentToken: calls(`${P}api_component_token`),
    authorizerToken: calls(`${P}api_authorizer_token`),
    indexAfter,
    again: { ok: again.ok, errors: again.errors, ms: performance.now() - t0 },
  };
  console.log(`[platform ${label}] flush: ${JSON.stringify(flush)} (index restored: ${restored})`);
  let last = await Promise.all(workers.map((w) => w.send({ cmd: 'memory' })));
  let warnings = last.reduce((n, m) => n + m.warnings, 0);
  await stopWorkers(workers);

  // A day on the virtual clock: fresh processes whose clock is the simulator's, moved DAY_STEP_S a step.
  sim.advance(Math.max(0, (Date.now() - sim.state.nowMs()) / 1000));
  sim.reset();
  workers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(base, sim.state.nowMs())));
  await Promise.all(workers.map((w) => w.send({ cmd: 'day-init', appIds: all, zipf: ZIPF, url: PAGE })));
  const steps = 86_400 / DAY_STEP_S;
  const perStep = Math.max(1, Math.round(DAY_CALLS / steps / PROCESSES));
  const dayErrors: Array<Record<string, number>> = [];
  let dayOk = 0;
  t0 = performance.now();
  for (let step = 0; step < steps; step++) {
    if (step > 0) sim.advance(DAY_STEP_S);
    // WeChat pushes a verify ticket every 10 minutes; the events handler keeps it so.
    if (Math.floor((step * DAY_STEP_S) / 600) !== Math.floor(((step - 1) * DAY_STEP_S) / 600))
      await pushTicket(admin);
    const replies = await Promise.all(
      workers.map((w) => w.send({ cmd: 'day-step', now: sim.state.nowMs(), calls: perStep })),
    );
    for (const r of replies) {
      dayOk += r.ok;
      if (Object.keys(r.errors).length > 0) dayErrors.push(r.errors);
    }
    if (step % 240 === 0) console.log(`[platform ${label}] day: hour ${(step * DAY_STEP_S) / 3600}`);
  }
  const dayMs = performance.now() - t0;
  const counted = await Promise.all(workers.map((w) => w.send({ cmd: 'token-counts' })));
  const perAccount = merge(counted.map((r) => r.counts ?? {}));
  const values = Object.values(perAccount);
  const day: RunResult['day'] = {
    ms: dayMs,
    ok: dayOk,
    errors: merge(dayErrors),
    maxPerAccount: Math.max(0, ...values),
    accounts: values.length,
    over13: values.filter((v) => v > 13).length,
    authorizerToken: calls(`${P}api_authorizer_token`),
    getticket: calls('/cgi-bin/ticket/getticket'),
    componentToken: calls(`${P}api_component_token`),
    rss: counted.map((r) => r.rss),
  };
  console.log(`[platform ${label}] day: ${JSON.stringify(day)}`);
  console.log(
    `[platform ${label}] memory after the day: ${JSON.stringify(counted.map((t) => ({ rss: mb(t.rss), heapTotal: mb(t.heapTotal ?? 0), heapUsed: mb(t.heapUsed), external: mb(t.external ?? 0) })))}`,
  );
  last = await Promise.all(workers.map((w) => w.send({ cmd: 'memory' })));
  warnings += last.reduce((n, m) => n + m.warnings, 0);
  await stopWorkers(workers);
  await admin.close();
  return {
    store: label,
    syncMs,
    syncReport,
    ...burst,
    warnings,
    rss,
    touchAll,
    flush,
    day,
  };
}

/** How many accounts the index holds (a fresh instance asks the store). */
async function seederIndex(base: PlatformOptions): Promise<number> {
  const p = createPlatform(base);
  try {
    return (await p.authorizers()).length;
  } catch {
    return 0;
  } finally {
    await p.close();
  }
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const w of workers) w.child.disconnect();
  await Promise.all(workers.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : undefined)));
}

async function main() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    console.error('[platform] the processes run the built package: npx tsup --silent first');
    process.exit(1);
  }
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
    const cli = (...args: string[]) =>
      execFileSync('/usr/bin/redis-cli', ['-p', String(redis?.port), ...args], { stdio: 'pipe' });
    const results = [await run(sim, { url: redis.url }, () => cli('FLUSHALL'), 'Redis')];
    await redis.stop();
    if (!process.argv.includes('--no-cluster')) {
      const cluster = await startRedisCluster(3);
      try {
        results.push(
          await run(
            sim,
            { topology: { cluster: cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } },
            () => cluster.flushAll(),
            'Redis Cluster (3 nodes)',
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

function report(results: RunResult[]) {
  const n = (x: number) => x.toLocaleString('en');
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const none = (e: Record<string, number>, zh: boolean) => showErrors(e).replace('none', zh ? '无' : 'none');
  const maxRss = (r: RunResult) => Math.max(...r.rss.map((m) => m.all - m.ready));
  const row = (name: string, f: (r: RunResult) => string) =>
    `| ${name} | ${results.map((r) => f(r)).join(' | ')} |`;
  const table = (zh: boolean) => {
    const t = zh
      ? {
          metric: '指标',
          touched: '突发涉及的账号',
          token: 'api_authorizer_token（突发）',
          ticket: 'getticket（突发）',
          comp: 'api_component_token（填充 + 突发）',
          verified: '校验通过的签名',
          burst: '突发用时（秒）',
          burstErr: '突发中的错误',
          touch: `每个进程为全部 ${n(ACCOUNTS)} 个账号签名（秒）`,
          touchErr: '其中的错误',
          rss: 'RSS：就绪时 → 全部账号之后（各进程）',
          rssGrowth: 'RSS 最大增长（目标 ≤ 64 MB）',
          heap: 'V8 已用堆：就绪时 → 全部账号之后（各进程）',
          flushOk: 'FLUSHALL 期间应答的调用',
          flushErr: 'FLUSHALL 期间的错误',
          pages: '自动同步拉取的列表页（全部账号共 ' + Math.ceil(ACCOUNTS / 500) + ' 页）',
          info: 'api_get_authorizer_info',
          index: '之后索引中的账号',
          again: '同步后全部账号再次签名：成功 / 错误',
          dayCalls: '一天内的调用（虚拟时钟）',
          dayErr: '调用方看到的错误（目标 0）',
          dayMax: '每个账号每天 api_authorizer_token 最多（目标 ≤ 13）',
          dayOver: '超过 13 次的账号',
          dayTotal: 'api_authorizer_token / getticket / component token 合计',
          dayTime: '这一天的用时（秒）',
          warnings: '所有进程的警告行数',
        }
      : {
          metric: 'metric',
          touched: 'accounts touched by the burst',
          token: 'api_authorizer_token (burst)',
          ticket: 'getticket (burst)',
          comp: 'api_component_token (seeding + burst)',
          verified: 'signatures verified',
          burst: 'burst, seconds',
          burstErr: 'errors in the burst',
          touch: `each process signs for all ${n(ACCOUNTS)} accounts, seconds`,
          touchErr: 'errors there',
          rss: 'RSS ready → after all accounts (per process)',
          rssGrowth: 'largest RSS growth (target ≤ 64 MB)',
          heap: 'V8 heap used ready → after all accounts (per process)',
          flushOk: 'calls answered around the FLUSHALL',
          flushErr: 'errors around the FLUSHALL',
          pages: `list pages the automatic sync fetched (${Math.ceil(ACCOUNTS / 500)} hold every account)`,
          info: 'api_get_authorizer_info calls',
          index: 'accounts in the index afterwards',
          again: 'every account signs again after the sync: ok / errors',
          dayCalls: 'calls over the day (virtual clock)',
          dayErr: 'caller-visible errors (target 0)',
          dayMax: 'api_authorizer_token per account per day, most (target ≤ 13)',
          dayOver: 'accounts over 13',
          dayTotal: 'api_authorizer_token / getticket / component token in all',
          dayTime: 'the day took, seconds',
          warnings: 'warning lines, all processes',
        };
    return [
      `| ${t.metric} | ${results.map((r) => r.store).join(' | ')} |`,
      `| --- | ${results.map(() => '---').join(' | ')} |`,
      row(t.touched, (r) => n(r.touched)),
      row(t.token, (r) => n(r.calls.authorizerToken)),
      row(t.ticket, (r) => n(r.calls.getticket)),
      row(t.comp, (r) => n(r.calls.componentToken)),
      row(t.verified, (r) => `${n(r.verified)} / ${n(REQUESTS)}`),
      row(t.burst, (r) => s(r.burstMs)),
      row(t.burstErr, (r) => none(r.burstErrors, zh)),
      row(t.touch, (r) => s(r.touchAll.ms)),
      row(t.touchErr, (r) => none(r.touchAll.errors, zh)),
      row(t.rss, (r) => r.rss.map((m) => `${mb(m.ready)} → ${mb(m.all)}`).join(', ')),
      row(t.rssGrowth, (r) => mb(maxRss(r))),
      row(t.heap, (r) => r.rss.map((m) => `${mb(m.heapReady)} → ${mb(m.heapAll)}`).join(', ')),
      row(t.flushOk, (r) => n(r.flush.ok)),
      row(t.flushErr, (r) => none(r.flush.errors, zh)),
      row(t.pages, (r) => n(r.flush.listPages)),
      row(t.info, (r) => n(r.flush.infoCalls)),
      row(t.index, (r) => n(r.flush.indexAfter)),
      row(t.again, (r) => `${n(r.flush.again.ok)} / ${none(r.flush.again.errors, zh)}`),
      row(t.dayCalls, (r) => n(r.day.ok)),
      row(t.dayErr, (r) => none(r.day.errors, zh)),
      row(t.dayMax, (r) => n(r.day.maxPerAccount)),
      row(t.dayOver, (r) => n(r.day.over13)),
      row(
        t.dayTotal,
        (r) => `${n(r.day.authorizerToken)} / ${n(r.day.getticket)} / ${n(r.day.componentToken)}`,
      ),
      row(t.dayTime, (r) => s(r.day.ms)),
      row(t.warnings, (r) => n(r.warnings)),
    ].join('\n');
  };
  const pages = (results[0]!.syncReport as { pages: number }).pages;
  const over = results.some((r) => maxRss(r) > 64 * 1024 * 1024);
  const load = `${LOAD_AT_START} at the start, ${loadAverage()} at the end`;
  const cmd = `npx tsup --silent && node --import tsx bench/platform.ts${QUICK ? ' --quick' : ''}`;
  const en = `## Third-party platform: ${n(ACCOUNTS)} accounts, ${PROCESSES} processes, ${results.map((r) => r.store).join(' and ')} (\`bench/platform.ts\`)

Library mode (no HTTP service): the simulated open platform with one component and ${n(ACCOUNTS)} authorized accounts, ${PROCESSES} forked Node processes each running \`createPlatform()\` of the built package (\`dist/\`) on one store — a real \`redis-server\`, then the same run on a fresh 3-node Redis Cluster (no replicas) that the benchmark starts itself. Per store: one \`platform.sync()\` seeds it (${n(pages)} list pages); ${n(REQUESTS)} cold \`jssdkConfig\` calls at once (${n(REQUESTS / PROCESSES)} per process) over ${n(HOT)} random accounts, every signature checked with \`signJssdk\` over the simulator's ticket for that account; every process then signs for every account (RSS measured after ${IDLE_MS / 1000} s quiet and a forced GC; at most 1,000 accounts are kept in memory per process); FLUSHALL under load (20 callers per process over the hot accounts, the flush after 1.5 s, 5 s more of load), then one process signs for every account again; then a day of traffic on the simulator's virtual clock: ${n(DAY_CALLS)} calls, ${DAY_STEP_S} virtual seconds a step, each to an account drawn Zipf-distributed (s = ${ZIPF}) over all ${n(ACCOUNTS)}, on ${PROCESSES} fresh processes, with a verify-ticket push every 10 minutes. Upstream calls are the simulator's counts (api_authorizer_token per account: counted by each process). Load average of the shared 2-core machine: ${load}.

${table(false)}

${
  over
    ? `RSS after touching every account is over the 64 MB target: the heap in use stays bounded (at most 1,000 accounts in memory), and what stays is the memory V8 and the allocator keep after the burst's peak (${n(REQUESTS / PROCESSES)} calls at once per process), not memory per account.

`
    : ''
}Reproduce: \`${cmd}\` (\`--quick\`: 2,000 accounts, 4,000 calls over 400, 28,800 calls in the day; \`--no-cluster\`: the single Redis only).`;
  const zh = `## 第三方平台：${n(ACCOUNTS)} 个账号、${PROCESSES} 个进程、${results.map((r) => r.store).join(' 与 ')}（\`bench/platform.ts\`）

库模式（不经 HTTP 服务）：模拟开放平台上一个第三方平台、${n(ACCOUNTS)} 个已授权账号，${PROCESSES} 个 fork 出来的 Node 进程各自在同一个存储上运行构建产物（\`dist/\`）中的 \`createPlatform()\`——先是一个真实的 \`redis-server\`，再在基准测试自己启动的全新 3 节点 Redis Cluster（无副本）上重复同样的运行。每种存储：先由一次 \`platform.sync()\` 填充（${n(pages)} 页列表）；同时发起 ${n(REQUESTS)} 个冷启动的 \`jssdkConfig\` 调用（每个进程 ${n(REQUESTS / PROCESSES)} 个），随机分布在 ${n(HOT)} 个账号上，每个签名都用 \`signJssdk\` 和模拟器中该账号的 ticket 校验；随后每个进程为每个账号签名一次（RSS 在静置 ${IDLE_MS / 1000} 秒并强制 GC 后测量；每个进程内存中最多保留 1,000 个账号）；负载中执行 FLUSHALL（每个进程 20 个调用方在热点账号上循环，1.5 秒后清空，再持续 5 秒），之后由一个进程再为每个账号签名一次；最后在模拟器的虚拟时钟上跑一天的流量：${n(DAY_CALLS)} 次调用，每步 ${DAY_STEP_S} 虚拟秒，每次调用的账号按 Zipf 分布（s = ${ZIPF}）从全部 ${n(ACCOUNTS)} 个账号中抽取，由 ${PROCESSES} 个新进程发起，每 10 分钟推送一次 verify ticket。上游调用次数取自模拟器的计数（每个账号的 api_authorizer_token 次数由各进程统计）。这台共享的 2 核机器的负载（load average）：${load.replace(' at the start, ', '（开始时），').replace(' at the end', '（结束时）')}。

${table(true)}

${
  over
    ? `触达全部账号后的 RSS 超过了 64 MB 的目标：实际使用的堆保持有界（内存中最多 1,000 个账号），留下的是 V8 与内存分配器在突发峰值（每个进程同时 ${n(REQUESTS / PROCESSES)} 个调用）之后保留的内存，而不是每个账号占用的内存。

`
    : ''
}复现：\`${cmd}\`（\`--quick\`：2,000 个账号，4,000 次调用分布在 400 个账号上，一天 28,800 次调用；\`--no-cluster\`：只测单个 Redis）。`;
  writeBenchSection('platform', en);
  writeBenchSection('platform', zh, 'zh-CN');
}

await main();
