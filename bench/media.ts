// Saved media through each store: 1,000 images saved (POST /jssdk/media: download from the WeChat
// simulator, store) and served (GET /jssdk/media/:id, read to the end) by one wxkit instance, with
// throughput and that process's RSS (sampled from /proc while it works, and its high-water mark).
// Files are streamed from the store, never buffered whole: RSS stays flat however many bytes pass.
// Run: npm run bench -- media, or `node --import tsx bench/media.ts [--quick]`.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/index.ts';
import { createWxkit } from '../src/wxkit.ts';
import { startS3Server } from '../test/media/s3-server.ts';
import { startRedisServer } from '../test/stores/redis-server.ts';
import { writeBenchSection } from './report.ts';

const QUICK = process.argv.includes('--quick');
const FILES = QUICK ? 200 : 1000;
const SIZE = 64 * 1024;
const CONCURRENCY = 16;
const APP_ID = 'wxbe0c0000000media';
const SECRET = 'bench-media-secret';
const INSTANCE = new URL('./fixtures/media-instance.ts', import.meta.url).pathname;

/** A PNG signature and random bytes: a realistic size that does not compress. */
const image = () => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(SIZE - 8)]);

function rssMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(m?.[1]) / 102.4) / 10;
  } catch {
    return Number.NaN;
  }
}

function startInstance(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c) => {
      out += c;
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`instance exited ${code}: ${out}`)));
  });
}

/** Runs `task` for every item, `CONCURRENCY` at a time; seconds taken. */
async function pool<T>(items: T[], task: (item: T) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
  return (performance.now() - t0) / 1000;
}

interface Result {
  store: string;
  saveSeconds: number;
  serveSeconds: number;
  rssStart: number;
  rssAfterSave: number;
  rssPeakServe: number;
  rssEnd: number;
  hwm: number;
}

async function measure(
  label: string,
  spec: string,
  env: Record<string, string>,
  simUrl: string,
  serverIds: string[],
): Promise<Result> {
  const { child, url } = await startInstance({
    ...env,
    WXKIT_MEDIA_STORE: spec,
    BENCH_APP_ID: APP_ID,
    BENCH_SECRET: SECRET,
    BENCH_SIM_URL: simUrl,
  });
  const pid = child.pid;
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 20);
  try {
    const rssStart = rssMb(pid);
    const ids: string[] = [];
    const saveSeconds = await pool(serverIds, async (serverId) => {
      const res = await fetch(`${url}/jssdk/media`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ serverId }),
      });
      if (res.status !== 201) throw new Error(`${label}: save answered ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    });
    const rssAfterSave = rssMb(pid);
    peak = 0;
    let bytes = 0;
    const serveSeconds = await pool(ids, async (id) => {
      const res = await fetch(`${url}/jssdk/media/${id}`);
      if (res.status !== 200 || !res.body) throw new Error(`${label}: serve answered ${res.status}`);
      const reader = res.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.length;
    });
    if (bytes !== ids.length * SIZE)
      throw new Error(`${label}: served ${bytes} bytes, expected ${ids.length * SIZE}`);
    return {
      store: label,
      saveSeconds,
      serveSeconds,
      rssStart,
      rssAfterSave,
      rssPeakServe: peak,
      rssEnd: rssMb(pid),
      hwm: rssMb(pid, 'VmHWM'),
    };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const sim = await startSimulator({ apps: [`${APP_ID}:${SECRET}`] });
const [redis, s3] = await Promise.all([startRedisServer(), startS3Server()]);
const dir = mkdtempSync(join(tmpdir(), 'wxkit-bench-media-'));
const results: Result[] = [];
try {
  const account = createWxkit({ appId: APP_ID, secret: SECRET, apiBase: sim.url, store: 'memory' });
  const token = await account.accessToken();
  await account.close();
  const serverIds: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const form = new FormData();
    form.set('media', new Blob([image()], { type: 'image/png' }), `bench-${i}.png`);
    const res = await fetch(`${sim.url}/cgi-bin/media/upload?access_token=${token}&type=image`, {
      method: 'POST',
      body: form,
    });
    serverIds.push(((await res.json()) as { media_id: string }).media_id);
  }
  const stores: [string, string, Record<string, string>][] = [
    ['file:', `file:${join(dir, 'media')}`, {}],
    ['redis://', redis.url, {}],
    ['s3:// (s3rver)', s3.spec('bench'), s3.credentials],
  ];
  for (const [label, spec, env] of stores) {
    const r = await measure(label, spec, env, sim.url, serverIds);
    results.push(r);
    console.log(JSON.stringify(r));
  }
} finally {
  await Promise.all([sim.close(), redis.stop(), s3.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

const mb = (FILES * SIZE) / 1024 / 1024;
const row = (r: Result) =>
  `| ${r.store} | ${Math.round(FILES / r.saveSeconds)} | ${Math.round(FILES / r.serveSeconds)} | ${(mb / r.serveSeconds).toFixed(1)} | ${r.rssStart} | ${r.rssAfterSave} | ${r.rssPeakServe} | ${r.rssEnd} |`;
const table = `## Saved media: file:, redis://, s3://

${FILES.toLocaleString('en')} images of ${SIZE / 1024} KiB (${mb.toFixed(0)} MiB in all) saved through \`POST /jssdk/media\` (each one downloaded from the WeChat simulator, then stored) and served through \`GET /jssdk/media/:id\` (read to the end), ${CONCURRENCY} requests at a time, by one wxkit process; the stores ran on the same machine (redis-server, s3rver). RSS is that wxkit process's, sampled every 20 ms from /proc.

| store | saves/s | serves/s | served MiB/s | RSS at start (MB) | after the saves | peak while serving | at the end |
| --- | --- | --- | --- | --- | --- | --- | --- |
${results.map(row).join('\n')}

Serving ${mb.toFixed(0)} MiB moved the process's RSS by ${Math.max(...results.map((r) => r.rssPeakServe - r.rssAfterSave)).toFixed(1)} MB at most (peak while serving minus after the saves): each response is read from the store 64 KiB at a time as the client takes it (a file read, a Redis \`GETRANGE\`, the object store's response body), never buffered whole. Saving grows RSS more: each file downloaded from WeChat is held whole (at most \`mediaMaxBytes\`, 10 MiB) while it is checked and stored, and the heap grows until the next collection. Saves cost one WeChat download each, once per file; on \`s3://\` also the serverId lookup, a HEAD before and after the PUT, and the serverId record (five requests), against s3rver, a test server that writes each object and its metadata to disk: a real object store's figures depend on its network.

Reproduce: \`node --import tsx bench/media.ts\` (\`--quick\`: ${200} images).`;
writeBenchSection('media', table);
console.log(table);
