// Throughput of `wxkit serve` on /jssdk/config against a bare node:http server doing the same sha1 with
// the ticket in memory (alternating rounds in one run), and RSS while 1M distinct URLs are signed
// through the handler. Writes its section of docs/benchmarks.md.
// Run: npm run bench (all benches) or `node --import tsx bench/serve.ts [--quick]`.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HANDLE_INPUT } from '../src/http/handler.ts';
import { createHandler } from '../src/http/index.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { createWxkit } from '../src/wxkit.ts';
import { writeBenchSection } from './report.ts';

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Cannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

const ROOT = new URL('..', import.meta.url).pathname;
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 4 : 10;
const SECONDS = QUICK ? 2 : 3;
const CONNECTIONS = 32;
const APP_ID = 'wxbe0c000000000001';
const SECRET = 'bench-secret';
const PAGE = 'https://h5.example.com/shop/item?id=42&from=timeline';
const PATH = `/jssdk/config?url=${encodeURIComponent(PAGE)}&apis=chooseImage,uploadImage`;

/** The baseline: what a hand-written signing endpoint does, nothing more. */
const BARE_SERVER = `
const { createServer } = require('node:http');
const { createHash, randomBytes } = require('node:crypto');
const ticket = process.env.TICKET;
const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const nonce = () => { let s = ''; for (const b of randomBytes(32)) { if (b < 248) s += ALPHA[b % 62]; if (s.length === 16) break; } return s; };
createServer((req, res) => {
  const q = new URL(req.url, 'http://x').searchParams;
  const url = (q.get('url') || '').split('#')[0];
  const nonceStr = nonce();
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHash('sha1').update('jsapi_ticket=' + ticket + '&noncestr=' + nonceStr + '&timestamp=' + timestamp + '&url=' + url).digest('hex');
  const body = JSON.stringify({ appId: process.env.APP_ID, timestamp, nonceStr, signature, jsApiList: (q.get('apis') || '').split(',').filter(Boolean), openTagList: [], debug: false });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });
`;

function start(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function throughput() {
  const sim = await startSimulator({
    apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }],
  });
  const wx = createWxkit({ appId: APP_ID, secret: SECRET, apiBase: sim.url, store: 'memory' });
  const ticket = await wx.ticket('jsapi'); // the same ticket wxkit serve will fetch (the simulator reuses it)
  await wx.close();
  const serve = await start([`${ROOT}dist/cli.js`, 'serve'], {
    PORT: '0',
    WX_APP_ID: APP_ID,
    WX_APP_SECRET: SECRET,
    WX_API_BASE: sim.url,
    WX_JS_DOMAINS: 'h5.example.com',
    WXKIT_STORE: 'memory',
    WXKIT_LOG: 'off',
    WXKIT_RATE_LIMIT: '1000000',
    WXKIT_SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
  });
  const bare = await start(['-e', BARE_SERVER], { TICKET: ticket, APP_ID });
  const rounds: { round: number; bare: CannonResult; wxkit: CannonResult }[] = [];
  try {
    // Warm both (JIT, the ticket fetch) before measuring.
    await autocannon({ url: serve.url + PATH, connections: 8, duration: 2 });
    await autocannon({ url: bare.url + PATH, connections: 8, duration: 2 });
    for (let i = 1; i <= ROUNDS; i++) {
      const first = i % 2 === 1;
      const a = await autocannon({
        url: (first ? bare.url : serve.url) + PATH,
        connections: CONNECTIONS,
        duration: SECONDS,
      });
      const b = await autocannon({
        url: (first ? serve.url : bare.url) + PATH,
        connections: CONNECTIONS,
        duration: SECONDS,
      });
      const r = first ? { round: i, bare: a, wxkit: b } : { round: i, bare: b, wxkit: a };
      rounds.push(r);
      console.log(
        `round ${i}: bare ${r.bare.requests.average} req/s p99 ${r.bare.latency.p99} ms | wxkit ${r.wxkit.requests.average} req/s p99 ${r.wxkit.latency.p99} ms`,
      );
      if (r.wxkit.non2xx || r.wxkit.errors)
        throw new Error(`wxkit serve answered ${r.wxkit.non2xx} non-2xx, ${r.wxkit.errors} errors`);
    }
  } finally {
    await stop(serve.child);
    await stop(bare.child);
    await sim.close();
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const bareRps = sum(rounds.map((r) => r.bare.requests.average)) / rounds.length;
  const wxRps = sum(rounds.map((r) => r.wxkit.requests.average)) / rounds.length;
  const bareP99 = sum(rounds.map((r) => r.bare.latency.p99)) / rounds.length;
  const wxP99 = sum(rounds.map((r) => r.wxkit.latency.p99)) / rounds.length;
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  };
  const ratios = rounds.map((r) => r.wxkit.requests.average / r.bare.requests.average);
  const p99Ratios = rounds.map((r) => r.wxkit.latency.p99 / Math.max(r.bare.latency.p99, 1));
  return {
    rounds,
    bareRps,
    wxRps,
    bareP99,
    wxP99,
    ratios,
    // Background load comes in bursts that hit one run of a pair: the median pair is the fair figure.
    ratio: median(ratios),
    p99Ratio: median(p99Ratios),
  };
}

/** The same requests through the handler's Node fast path and through the bare logic, in-process. */
async function work() {
  const sim = await startSimulator({
    apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }],
  });
  const wx = createWxkit({
    appId: APP_ID,
    secret: SECRET,
    apiBase: sim.url,
    store: 'memory',
    jsDomains: ['h5.example.com'],
  });
  const ticket = await wx.ticket('jsapi');
  const handle = createHandler(wx, { log: false, rateLimit: { perSecond: 1e9 } })[HANDLE_INPUT];
  const input = {
    method: 'GET',
    target: PATH,
    header: () => undefined,
    clientIp: '10.0.0.1',
    readBody: async () => new Uint8Array(0),
  };
  const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bare = async () => {
    const q = new URL(PATH, 'http://x').searchParams;
    const url = (q.get('url') || '').split('#')[0];
    let nonceStr = '';
    for (const b of randomBytes(32)) {
      if (b < 248) nonceStr += ALPHA[b % 62];
      if (nonceStr.length === 16) break;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = createHash('sha1')
      .update(`jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`)
      .digest('hex');
    return JSON.stringify({
      appId: APP_ID,
      timestamp,
      nonceStr,
      signature,
      jsApiList: (q.get('apis') || '').split(','),
      openTagList: [],
      debug: false,
    });
  };
  const iterations = QUICK ? 50_000 : 200_000;
  let wxMs = 0;
  let bareMs = 0;
  for (let round = 0; round < 4; round++) {
    let t0 = performance.now();
    for (let i = 0; i < iterations / 4; i++) await handle(input);
    wxMs += performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < iterations / 4; i++) await bare();
    bareMs += performance.now() - t0;
  }
  await wx.close();
  await sim.close();
  return { iterations, wxUs: (wxMs * 1000) / iterations, bareUs: (bareMs * 1000) / iterations };
}

async function memory(total: number) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const sim = await startSimulator({
    apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }],
  });
  const wx = createWxkit({
    appId: APP_ID,
    secret: SECRET,
    apiBase: sim.url,
    store: 'memory',
    jsDomains: ['h5.example.com'],
  });
  const handler = createHandler(wx, { log: false, rateLimit: false });
  const handle = handler[HANDLE_INPUT];
  const input = (target: string) => ({
    method: 'GET',
    target,
    header: () => undefined,
    clientIp: '10.0.0.1',
    readBody: async () => new Uint8Array(0),
  });
  const samples: { signed: number; rssMb: number; heapMb: number }[] = [];
  const sample = (signed: number) => {
    gc();
    const m = process.memoryUsage();
    samples.push({ signed, rssMb: Math.round(m.rss / 1e5) / 10, heapMb: Math.round(m.heapUsed / 1e5) / 10 });
  };
  const step = total / 10;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    if (i % step === 0) sample(i);
    const r = await handle(
      input(`/jssdk/config?url=${encodeURIComponent(`https://h5.example.com/p/${i}?q=${i * 7}`)}`),
    );
    if (typeof r === 'symbol' || r.status !== 200) throw new Error(`request ${i} failed`);
  }
  sample(total);
  const seconds = (performance.now() - started) / 1000;
  await wx.close();
  await sim.close();
  const base = samples[1] ?? samples[0];
  const last = samples[samples.length - 1];
  return { samples, seconds, growthMb: Math.round(((last?.rssMb ?? 0) - (base?.rssMb ?? 0)) * 10) / 10 };
}

const t = await throughput();
const w = await work();
const m = await memory(QUICK ? 100_000 : 1_000_000);
const ok = t.ratio >= 0.85 && t.p99Ratio <= 1.5;
const md = `
## Service: \`wxkit serve\` vs a bare node:http signer (\`bench/serve.ts\`)

${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} shared cores (other work running), autocannon ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} alternating rounds, \`GET /jssdk/config\` of one \`wxkit serve\` process (built \`dist/cli.js\`, \`WXKIT_LOG=off\`, rate limiter on with a high limit) against a bare \`node:http\` server doing the same sha1 with the ticket in memory. The bare server draws each nonce with \`crypto.randomBytes\` as hand-written signers do; wxkit draws from a pooled CSPRNG buffer (\`createNonce()\` in \`src/signature.ts\`), which is part of what is measured.

| round | bare req/s | wxkit req/s | bare p99 (ms) | wxkit p99 (ms) |
|---:|---:|---:|---:|---:|
${t.rounds.map((r) => `| ${r.round} | ${r.bare.requests.average} | ${r.wxkit.requests.average} | ${r.bare.latency.p99} | ${r.wxkit.latency.p99} |`).join('\n')}
| **mean** | **${Math.round(t.bareRps)}** | **${Math.round(t.wxRps)}** | **${t.bareP99.toFixed(1)}** | **${t.wxP99.toFixed(1)}** |

Median of the per-round ratios — throughput wxkit/bare: **${t.ratio.toFixed(2)}** (target ≥ 0.85); p99 wxkit/bare: **${t.p99Ratio.toFixed(2)}** (target ≤ 1.5) — ${ok ? 'both targets met' : 'target NOT met in this run'}. Per-round throughput ratios: ${t.ratios.map((r) => r.toFixed(2)).join(', ')}. autocannon and both servers share two cores with other work whose load comes in bursts, and at these sizes a request's cost is mostly the kernel's loopback write and wake-up, so single rounds swing widely; short alternating rounds and the median pair keep the comparison fair, and the in-process figure below is the stable comparison of what each server does per request.

Work per request in one process, without sockets (${(w.iterations / 1000).toFixed(0)}k requests each, alternating): wxkit's handler on the Node fast path **${w.wxUs.toFixed(1)} µs**, the bare signer's logic **${w.bareUs.toFixed(1)} µs**.

Memory while signing ${m.samples[m.samples.length - 1]?.signed.toLocaleString('en')} distinct URLs through the handler in one process (RSS after a forced GC, ${m.seconds.toFixed(1)} s in all):

| URLs signed | ${m.samples.map((s) => s.signed.toLocaleString('en')).join(' | ')} |
|---|${m.samples.map(() => '---:').join('|')}|
| RSS (MB) | ${m.samples.map((s) => s.rssMb).join(' | ')} |
| heap used (MB) | ${m.samples.map((s) => s.heapMb).join(' | ')} |

RSS growth from the first tenth to the end: **${m.growthMb} MB** — nothing is kept per URL (no signature cache; metrics are labelled by route, not by URL).

Reproduce: \`npx tsup --silent && node --import tsx bench/serve.ts\` (\`--quick\` for a short run).
`;
console.log(md);
writeBenchSection('serve', md);
