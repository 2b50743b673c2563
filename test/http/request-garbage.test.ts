import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { GCProfiler } from 'node:v8';
import { servedFixture } from './helpers.ts';

// What a request allocates must die young: in the nursery a minor GC frees it for almost nothing, while
// anything that outlives two minor GCs is copied into the old generation and waits for a full GC. A
// per-request object literal with a getter once did exactly that: V8 builds such a literal in its
// runtime as a dictionary-mode object, and what the context referenced (the request, its closures, its
// IncomingMessage) survived every minor GC; `wxkit serve` lost about a sixth of its throughput to it
// (bench/serve.ts: 0.80× a bare node:http server before, 0.96× after).

const PAGE = 'https://h5.example.com/shop/item?id=42&from=timeline';

interface Load {
  path: string;
  method: 'GET' | 'POST';
  body?: string;
}

/** `total` keep-alive requests over 4 connections, from another process (its garbage is not ours). */
function load(base: string, { path, method, body = '' }: Load, total: number): Promise<void> {
  const script = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const [url, method, body] = process.argv.slice(1);
let left = ${total};
const one = () => new Promise((resolve, reject) => {
  const headers = body ? { 'content-type': 'application/json', origin: 'https://h5.example.com' } : {};
  const req = http.request(url, { agent, method, headers }, (r) => {
    if (r.statusCode !== 200) reject(new Error(method + ' ' + url + ': status ' + r.statusCode));
    r.resume();
    r.on('end', resolve);
  });
  req.on('error', reject);
  req.end(body || undefined);
});
Promise.all([0, 1, 2, 3].map(async () => { while (left-- > 0) await one(); }))
  .then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, base + path, method, body], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited ${code}: ${err}`))));
  });
}

/** Bytes per request that minor GCs moved to the old generation while `total` requests were served. */
async function promotedPerRequest(base: string, shape: Load, total: number): Promise<number> {
  await load(base, shape, 2_000); // warm: JIT, the ticket, connection objects
  const profiler = new GCProfiler();
  profiler.start();
  await load(base, shape, total);
  const { statistics } = profiler.stop();
  let promoted = 0;
  let scavenges = 0;
  for (const gc of statistics) {
    if (gc.gcType !== 'Scavenge') continue;
    scavenges++;
    const old = (s: typeof gc.beforeGC) =>
      s.heapSpaceStatistics.find((x) => x.spaceName === 'old_space')?.spaceUsedSize ?? 0;
    promoted += Math.max(0, old(gc.afterGC) - old(gc.beforeGC));
  }
  assert.ok(scavenges >= 3, `only ${scavenges} minor GCs ran: too few requests to judge`);
  return promoted / total;
}

const served = servedFixture({ log: () => {}, logRequests: true, rateLimit: false });

// Measured: 3–10 bytes a request (what was in flight at each minor GC); 1,174 with the getter literal.
const LIMIT = 300;

test('GET /jssdk/config (query) under the Node server leaves almost nothing in the old generation', async () => {
  const path = `/jssdk/config?url=${encodeURIComponent(PAGE)}&apis=chooseImage,uploadImage`;
  const bytes = await promotedPerRequest(served.server.url, { path, method: 'GET' }, 12_000);
  assert.ok(bytes < LIMIT, `${bytes.toFixed(0)} bytes a request were promoted to the old generation`);
});

test('POST /jssdk/config (a JSON body read from the socket) leaves almost nothing in the old generation', async () => {
  const body = JSON.stringify({ url: PAGE, jsApiList: ['chooseImage', 'uploadImage'] });
  const bytes = await promotedPerRequest(
    served.server.url,
    { path: '/jssdk/config', method: 'POST', body },
    12_000,
  );
  assert.ok(bytes < LIMIT, `${bytes.toFixed(0)} bytes a request were promoted to the old generation`);
});

test('GET /jssdk/client.js (a streamed web Response) leaves almost nothing in the old generation', async () => {
  const bytes = await promotedPerRequest(
    served.server.url,
    { path: '/jssdk/client.js', method: 'GET' },
    8_000,
  );
  assert.ok(bytes < LIMIT, `${bytes.toFixed(0)} bytes a request were promoted to the old generation`);
});
