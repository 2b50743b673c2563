import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real redis-server on a free port, for tests. */
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

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  // Its own directory: a replica writes dump.rdb there, and a server started in the test's working
  // directory would load a dump.rdb left in it.
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return; // already running
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
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await untilPrinted(proc, 'Ready to accept connections', 'redis-server');
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
