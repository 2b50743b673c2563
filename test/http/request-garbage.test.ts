import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { GCProfiler } from 'node:v8';
import { listen } from '../../src/serve/server.ts';
import { fixture } from './helpers.ts';

// What a request allocates must die young: in the nursery a minor GC frees it for almost nothing, while
// anything that outlives two minor GCs is copied into the old generation and waits for a full GC. A
// per-request object literal with a getter once did exactly that: V8 builds such a literal in its
// runtime as a dictionary-mode object, and what the context referenced (the request, its closures, its
// IncomingMessage) survived every minor GC; `wxkit serve` lost about a sixth of its throughput to it
// (bench/serve.ts: 0.80× a bare node:http server before, 0.96× after).

const PAGE = 'https://h5.example.com/shop/item?id=42&from=timeline';
const CONFIG = `/jssdk/config?url=${encodeURIComponent(PAGE)}&apis=chooseImage,uploadImage`;

/** `total` keep-alive GETs of `path` over 4 connections, from another process (its garbage is not ours). */
function load(url: string, total: number): Promise<void> {
  const script = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let left = ${total};
const one = () => new Promise((resolve, reject) => {
  http.get(process.argv[1], { agent }, (r) => {
    if (r.statusCode !== 200) reject(new Error('status ' + r.statusCode));
    r.resume();
    r.on('end', resolve);
  }).on('error', reject);
});
Promise.all([0, 1, 2, 3].map(async () => { while (left-- > 0) await one(); }))
  .then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited ${code}: ${err}`))));
  });
}

test('requests to /jssdk/config under the Node server leave (almost) nothing in the old generation', async () => {
  const fx = await fixture({ log: () => {}, logRequests: true, rateLimit: false });
  const server = await listen(fx.handler, '127.0.0.1', 0);
  try {
    await load(server.url + CONFIG, 3_000); // warm: JIT, the ticket, connection objects
    const total = 20_000;
    const profiler = new GCProfiler();
    profiler.start();
    await load(server.url + CONFIG, total);
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
    // Measured: 3.5 bytes a request (what was in flight at each minor GC); 1,174 with the literal.
    const perRequest = promoted / total;
    assert.ok(
      perRequest < 300,
      `${perRequest.toFixed(0)} bytes a request were promoted to the old generation`,
    );
  } finally {
    await server.close();
    await fx.close();
  }
});
