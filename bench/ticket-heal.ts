// Issue 18 item 9: how long after a ticket is healed in one process every other process sharing the
// store holds the new ticket. The healing process is this one; the others are child processes signing
// a page every millisecond. Redis (pub/sub announcement) and file (1 s re-read) stores, 2 and 4
// processes in all. Run: node --import tsx bench/ticket-heal.ts
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.ts';
import { createWxkit } from '../src/wxkit.ts';
import { startRedisServer } from '../test/stores/redis-server.ts';
import { writeBenchSection } from './report.ts';

// A fresh account per round: no key (ticket, re-check lock) left over from the round before.
const APPS = Array.from({ length: 40 }, (_, i) => ({
  appId: `wxbenchheal${String(i).padStart(5, '0')}`,
  secret: `bench-heal-secret-${i}`,
}));
let next = 0;
const WORKER = new URL('./ticket-heal-worker.ts', import.meta.url).pathname;
const ROUNDS = 3;

const sim = await startSimulator({ apps: APPS });
const redis = await startRedisServer();
const dir = await mkdtemp(join(tmpdir(), 'wxkit-bench-heal-'));

async function round(store: string, processes: number): Promise<number[]> {
  const app = APPS[next++] as (typeof APPS)[number];
  const options = { ...app, apiBase: sim.url, store };
  const healer = createWxkit(options);
  const old = await healer.ticket();
  const children: ChildProcess[] = Array.from({ length: processes - 1 }, () =>
    fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, WXKIT_WORKER_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  const seen = children.map(
    (c) =>
      new Promise<number>((resolve) =>
        c.on('message', (m: { seenAt?: number }) => m.seenAt && resolve(m.seenAt)),
      ),
  );
  for (const c of children) c.send({ cmd: 'watch' });
  await new Promise((r) => setTimeout(r, 50));
  sim.expireTicket(app.appId);
  const r = await healer.recheckTicket?.('jsapi', old);
  const healedAt = Date.now();
  if (!r?.refreshed) throw new Error(`the heal did not happen: ${JSON.stringify(r)}`);
  const windows = (await Promise.all(seen)).map((t) => Math.max(0, t - healedAt));
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  await healer.close();
  return windows;
}

const rows: string[] = [];
for (const [name, store] of [
  ['redis (pub/sub)', redis.url],
  ['file (1 s re-read)', `file:${dir}`],
] as const) {
  for (const processes of [2, 4]) {
    const all: number[] = [];
    for (let i = 0; i < ROUNDS; i++) all.push(...(await round(store, processes)));
    all.sort((a, b) => a - b);
    const median = all[Math.floor(all.length / 2)] ?? 0;
    const max = all[all.length - 1] ?? 0;
    rows.push(`| ${name} | ${processes} | ${all.length} | ${median} | ${max} |`);
    console.log(rows[rows.length - 1]);
  }
}
await sim.close();
await redis.stop();
await rm(dir, { recursive: true, force: true });

const table = `| store | processes | instances measured | median ms | max ms |\n|---|---|---|---|---|\n${rows.join('\n')}`;
const when = `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${ROUNDS} rounds each`;
writeBenchSection(
  'ticket-heal',
  `## A healed ticket reaching every instance (\`bench/ticket-heal.ts\`)

One process heals the jsapi_ticket (a re-check after WeChat ended it); the others, child processes
signing a page every millisecond, are timed from the end of the heal to the first page they sign with
the new ticket. Before issue 18 the others kept the dead ticket until their 30 s re-read (or a page of
theirs failed and was reported). ${when}.

${table}`,
);
writeBenchSection(
  'ticket-heal',
  `## 修复后的 ticket 传到每个实例（\`bench/ticket-heal.ts\`）

一个进程修复 jsapi_ticket（微信提前结束后重新核对）；其他子进程每毫秒签一次页面，计时从修复结束到它们第一次用新 ticket
签名。在 issue 18 之前，其他进程会一直使用已失效的 ticket，直到 30 秒一次的重新读取（或它们自己的页面失败并上报）。${when}。

${table}`,
  'zh-CN',
);
