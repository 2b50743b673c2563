// Upstream calls per N concurrent cold jssdkConfig requests (N = 10, 100, 1000; 1 and 4 processes
// sharing a file store, 4 processes sharing Redis), a naive signer for contrast, and the cost of a warm
// jssdkConfig next to a bare sha1 in the same run; the same cold burst for a WeCom app (wx.config +
// wx.agentConfig per page: gettoken, get_jsapi_ticket, ticket/get). Writes its section of docs/benchmarks.md.
// Run: npm run bench (all benches) or `node --import tsx bench/upstream.ts [--quick]`.

import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNonce } from '../src/signature.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { createWxkit } from '../src/wxkit.ts';
import { writeBenchSection } from './report.ts';

const QUICK = process.argv.includes('--quick');
const WORKER = new URL('./fixtures/upstream-worker.ts', import.meta.url).pathname;
const WECOM_WORKER = new URL('./fixtures/wecom-upstream-worker.ts', import.meta.url).pathname;
const APP = { appId: 'wxbench000000001', secret: 'bench-secret-not-real' };
const CORP = { corpId: 'wwbench000000001', agentId: '1000002', secret: 'bench-corp-secret-not-real' };
const URL_ = 'https://h5.example.com/bench?x=1';

const sim = await startSimulator({
  apps: [APP],
  corps: [{ ...CORP, jsDomains: ['h5.example.com'] }],
  jsDomains: ['h5.example.com'],
});
const dir = mkdtempSync(join(tmpdir(), 'wxkit-bench-'));
const redis = existsSync('/usr/bin/redis-server') ? await startRedis() : undefined;

function fresh() {
  sim.clearFaults();
  sim.advance(8000);
  sim.reset();
}
const calls = () => {
  const c = sim.stats().calls;
  return { token: c['/cgi-bin/stable_token'] ?? 0, ticket: c['/cgi-bin/ticket/getticket'] ?? 0 };
};
const wecomCalls = () => {
  const c = sim.stats().calls;
  return {
    gettoken: c['/cgi-bin/gettoken'] ?? 0,
    corpTicket: c['/cgi-bin/get_jsapi_ticket'] ?? 0,
    agentTicket: c['/cgi-bin/ticket/get'] ?? 0,
  };
};

async function coldRun(n: number, processes: number, store: string, wecom = false) {
  fresh();
  if (store.startsWith('redis')) await flushRedis(store);
  const children: ChildProcess[] = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(wecom ? WECOM_WORKER : WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        WXKIT_BENCH_OPTIONS: JSON.stringify({
          ...(wecom ? CORP : APP),
          apiBase: sim.url,
          store,
          jsDomains: ['h5.example.com'],
        }),
      },
    });
    children.push(child);
  }
  await Promise.all(children.map((c) => once(c, 'message')));
  const started = performance.now();
  const share = (i: number) => Math.floor(n / processes) + (i < n % processes ? 1 : 0);
  const replies = await Promise.all(
    children.map((c, i) => {
      const reply = once(c, 'message');
      c.send({ n: share(i), url: URL_, simNow: sim.state.nowMs() });
      return reply.then(([m]) => m as { failed: number });
    }),
  );
  const ms = performance.now() - started;
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  return {
    n,
    processes,
    store,
    ...calls(),
    ...wecomCalls(),
    failed: replies.reduce((a, r) => a + r.failed, 0),
    ms,
  };
}

/** What a hand-written signer without custody does: every request fetches a token and a ticket. */
async function naiveRun(n: number) {
  fresh();
  await Promise.all(
    Array.from({ length: n }, async () => {
      const t = (await (
        await fetch(`${sim.url}/cgi-bin/stable_token`, {
          method: 'POST',
          body: JSON.stringify({ grant_type: 'client_credential', appid: APP.appId, secret: APP.secret }),
        })
      ).json()) as { access_token: string };
      await (
        await fetch(`${sim.url}/cgi-bin/ticket/getticket?type=jsapi&access_token=${t.access_token}`)
      ).json();
    }),
  );
  return calls();
}

async function warmCost() {
  const wx = createWxkit({ ...APP, apiBase: sim.url, store: 'memory', now: () => sim.state.nowMs() });
  const ticket = await wx.ticket();
  const iterations = QUICK ? 20_000 : 200_000;
  const rounds: { wxkit: number; sha1: number; sha1Nonce: number }[] = [];
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    for (let i = 0; i < iterations; i++) await wx.jssdkConfig({ url: URL_ });
    const wxkit = ((performance.now() - t0) * 1e6) / iterations;
    t0 = performance.now();
    let sink = '';
    for (let i = 0; i < iterations; i++) {
      sink = createHash('sha1')
        .update(`jsapi_ticket=${ticket}&noncestr=Wm3WZYTPz0wzccnW&timestamp=${1414587457 + i}&url=${URL_}`)
        .digest('hex');
    }
    const sha1 = ((performance.now() - t0) * 1e6) / iterations;
    t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      sink = createHash('sha1')
        .update(`jsapi_ticket=${ticket}&noncestr=${createNonce()}&timestamp=${1414587457 + i}&url=${URL_}`)
        .digest('hex');
    }
    const sha1Nonce = ((performance.now() - t0) * 1e6) / iterations;
    if (sink.length !== 40) throw new Error('unreachable');
    rounds.push({ wxkit, sha1, sha1Nonce });
  }
  await wx.close();
  return { iterations, rounds };
}

async function flushRedis(url: string) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url);
  await client.flushall();
  await client.quit();
}

async function startRedis() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  const proc = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept')) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, proc };
}

const rows: Awaited<ReturnType<typeof coldRun>>[] = [];
let storeN = 0;
for (const n of [10, 100, 1000]) {
  for (const p of [1, 4]) rows.push(await coldRun(n, p, `file:${join(dir, `s${++storeN}`)}`));
  if (redis) {
    rows.push(await coldRun(n, 4, redis.url));
  }
}
// WeCom: 1000 cold pages (wx.config + wx.agentConfig each) over 4 processes, file store then Redis.
const wecomRows: Awaited<ReturnType<typeof coldRun>>[] = [];
wecomRows.push(await coldRun(1000, 4, `file:${join(dir, `s${++storeN}`)}`, true));
if (redis) wecomRows.push(await coldRun(1000, 4, redis.url, true));
const naive = [];
for (const n of [10, 100, 1000]) naive.push({ n, ...(await naiveRun(n)) });
const warm = await warmCost();
const mean = (f: (r: (typeof warm.rounds)[number]) => number) =>
  warm.rounds.reduce((a, r) => a + f(r), 0) / warm.rounds.length;

for (const r of rows) {
  console.log(
    `N=${r.n} processes=${r.processes} store=${r.store.startsWith('redis') ? 'redis' : 'file'}: ${r.token} token + ${r.ticket} ticket fetches, ${r.failed} failed, ${r.ms.toFixed(0)} ms`,
  );
}
for (const r of wecomRows) {
  console.log(
    `WeCom N=${r.n} processes=${r.processes} store=${r.store.startsWith('redis') ? 'redis' : 'file'}: ${r.gettoken} gettoken + ${r.corpTicket} get_jsapi_ticket + ${r.agentTicket} ticket/get, ${r.failed} failed, ${r.ms.toFixed(0)} ms`,
  );
}
console.log(
  `warm jssdkConfig ${mean((r) => r.wxkit).toFixed(0)} ns/op, bare sha1 ${mean((r) => r.sha1).toFixed(0)} ns/op`,
);

const storeName = (s: string) => (s.startsWith('redis') ? 'Redis' : 'file');
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
writeBenchSection(
  'upstream',
  `## Credential custody: upstream calls per cold burst, warm cost (\`bench/upstream.ts\`)

${new Date().toISOString().slice(0, 10)}, Node ${process.version}, 2 shared cores (other work running). Each row: a fresh
simulator state (every token and ticket expired), then N concurrent \`jssdkConfig()\` calls spread evenly
over the processes, each process its own \`createWxkit()\` (stable mode) sharing the store. "Upstream" is what
the simulator counted.

| N | processes | store | token fetches | ticket fetches | failed | wall time (ms)¹ |
|---:|---:|---|---:|---:|---:|---:|
${rows.map((r) => `| ${r.n} | ${r.processes} | ${storeName(r.store)} | **${r.token}** | **${r.ticket}** | ${r.failed} | ${r.ms.toFixed(0)} |`).join('\n')}

¹ From "go" to the last answer; each process had connected to its store (and loaded ioredis) before "go".

The same cold burst for a WeCom app (\`createWecom()\`): N pages, each asking for its \`wx.config\` (corp
ticket) and its \`wx.agentConfig\` (app ticket) at once.

| N | processes | store | gettoken | get_jsapi_ticket | ticket/get (agent_config) | failed | wall time (ms) |
|---:|---:|---|---:|---:|---:|---:|---:|
${wecomRows.map((r) => `| ${r.n} | ${r.processes} | ${storeName(r.store)} | **${r.gettoken}** | **${r.corpTicket}** | **${r.agentTicket}** | ${r.failed} | ${r.ms.toFixed(0)} |`).join('\n')}

For contrast, a signer without custody (fetch a token and a ticket per request, as many hand-written
examples do): ${naive.map((r) => `N=${r.n} → ${r.token} token + ${r.ticket} ticket calls`).join('; ')} — against a real
account that is the 2000/day \`/cgi-bin/token\` quota (classic mode) gone in one burst.

Warm \`jssdkConfig()\` (ticket in memory; URL normalisation, domain check, nonce from the CSPRNG, sha1,
result object) against a bare sha1 of string1, ${fmt(warm.iterations)} iterations × 3 alternating rounds in the same process:

| round | warm jssdkConfig (ns/op) | bare sha1 (ns/op) | sha1 + createNonce (ns/op) |
|---:|---:|---:|---:|
${warm.rounds.map((r, i) => `| ${i + 1} | ${fmt(r.wxkit)} | ${fmt(r.sha1)} | ${fmt(r.sha1Nonce)} |`).join('\n')}
| **mean** | **${fmt(mean((r) => r.wxkit))}** | **${fmt(mean((r) => r.sha1))}** | **${fmt(mean((r) => r.sha1Nonce))}** |

A warm call costs ${(mean((r) => r.wxkit) / 1000).toFixed(1)} µs: ${(mean((r) => r.wxkit) / mean((r) => r.sha1)).toFixed(1)}× a bare sha1, ${(mean((r) => r.wxkit) / mean((r) => r.sha1Nonce)).toFixed(1)}× sha1 with a fresh nonce
(\`createNonce()\` draws from a pooled CSPRNG buffer). The rest is URL parsing (normalisation and the JS-domain
check), the promise and the metrics counter — microseconds, small next to any HTTP request.

Reproduce: \`node --import tsx bench/upstream.ts\` (\`--quick\` for fewer iterations).`,
);

await sim.close();
redis?.proc.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
