import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real redis-server on a free port, for tests and benchmarks. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty, no persistence); no-op while it runs. */
  start(): Promise<void>;
  /**
   * Sends `signal` to the running server: SIGSTOP freezes it (connections stay open, nothing answers),
   * SIGCONT resumes it, SIGKILL ends it (and waits for the exit). No-op when it is not running.
   */
  kill(signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Resolves once `proc` has printed `marker` on stdout (its output is drained from then on); rejects if it
 * exits first, naming it `name` with the tail of what it printed on stdout and stderr.
 */
export function untilPrinted(proc: ChildProcess, marker: string, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    const onStdout = (d: Buffer) => {
      collect(d);
      if (out.includes(marker)) {
        proc.stdout?.off('data', onStdout);
        proc.stderr?.off('data', collect);
        proc.stdout?.resume();
        proc.stderr?.resume();
        resolve();
      }
    };
    proc.stdout?.on('data', onStdout);
    proc.stderr?.on('data', collect);
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${out.slice(-300)}`)));
  });
}

/** A redis-server on `port` without persistence, its files in `dir`; resolves once it accepts connections. */
async function spawnRedis(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const proc = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await untilPrinted(proc, 'Ready to accept connections', 'redis-server');
  return proc;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  // Its own directory: a replica writes dump.rdb there, and a server started in the test's working
  // directory would load a dump.rdb left in it.
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return; // already running
    child = await spawnRedis(port, dir);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    async kill(signal) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = signal === 'SIGKILL' ? once(c, 'exit') : undefined;
      c.kill(signal);
      await exited;
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      c.kill('SIGTERM');
      await once(c, 'exit');
    },
  };
}

/** A Redis Cluster of `nodes` masters (no replicas) on free ports, created with `redis-cli --cluster create`. */
export interface RedisCluster {
  ports: number[];
  /** Empties every node (FLUSHALL on each: a cluster has no one command for all). */
  flushAll(): void;
  /** Sends `signal` to every node (SIGSTOP freezes them, SIGCONT resumes them). */
  kill(signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** Stops every node and removes their files. */
  stop(): Promise<void>;
}

export async function startRedisCluster(nodes = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-redis-cluster-'));
  // Each node also listens on its port + 10000 (the cluster bus): both must be free.
  const ports: number[] = [];
  while (ports.length < nodes) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && !ports.includes(port) && (await isFree(port + 10_000))) ports.push(port);
  }
  const procs = await Promise.all(
    ports.map((port) =>
      spawnRedis(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
      ]),
    ),
  );
  const cli = (...args: string[]) => execFileSync('/usr/bin/redis-cli', args, { stdio: 'pipe' }).toString();
  cli(
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  );
  for (
    let i = 0;
    i < 100 && !cli('-p', String(ports[0]), 'cluster', 'info').includes('cluster_state:ok');
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ports,
    flushAll() {
      for (const port of ports) cli('-p', String(port), 'FLUSHALL');
    },
    kill(signal) {
      for (const p of procs) p.kill(signal);
    },
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

/** A redis-server in Sentinel mode watching `master` as `mymaster`; stop() ends it and removes its config. */
export async function startSentinel(master: RedisServer): Promise<{ port: number; stop(): Promise<void> }> {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    `port ${port}\nbind 127.0.0.1\nprotected-mode no\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds mymaster 60000\n`,
  );
  const proc = spawn('/usr/bin/redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await untilPrinted(proc, '+monitor master mymaster', 'redis sentinel');
  return {
    port,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await once(proc, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
