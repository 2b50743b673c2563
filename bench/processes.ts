// Shared pieces of the benchmarks that compare wxkit serve with a bare server: starting server
// processes (found by their "listening on" line), stopping them, reading a process's CPU time, medians.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export const BENCH_ROOT = new URL('..', import.meta.url).pathname;

export interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

export interface Server {
  child: ChildProcess;
  url: string;
}

/**
 * Starts a server process. Its stdout goes to `logFile` when given (as `wxkit serve > wxkit.log` does),
 * else to a pipe that is drained and thrown away; the "listening on" line is found in either.
 */
export function start(args: string[], env: Record<string, string>, logFile?: string): Promise<Server> {
  const fd = logFile ? openSync(logFile, 'w') : undefined;
  const child = spawn(process.execPath, args, {
    cwd: BENCH_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd ?? 'pipe', 'inherit'],
  });
  if (fd !== undefined) closeSync(fd);
  return new Promise((resolve, reject) => {
    let out = '';
    let found = false;
    const look = (text: string) => {
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m?.[1] && !found) {
        found = true;
        clearInterval(poll);
        resolve({ child, url: m[1] });
      }
    };
    const poll = setInterval(() => {
      if (logFile) look(readFileSync(logFile, 'utf8').slice(0, 64 * 1024));
    }, 50);
    child.stdout?.on('data', (c) => {
      if (found) return;
      out += c;
      look(out);
    });
    child.on('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Median, lowest and highest of per-round ratios. */
export function spread(xs: number[]) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}
