import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { JssdkConfig } from '../../src/signature.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.ts';
import type { WxkitStatus } from '../../src/types.ts';
import type { WxkitOptions } from '../../src/wxkit.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

const WORKER = new URL('./fixtures/worker.ts', import.meta.url).pathname;

/** What a multi-process test runs against: a simulator, a real redis-server and a temp dir. */
export interface Testbed {
  /** Set in `before`. */
  sim: Simulator;
  /** Set in `before`. */
  redis: RedisServer;
  /** Set in `before`. */
  dir: string;
  /** How many times the simulator served `path` since its last reset. */
  calls(path: string): number;
  /** Clears faults, lets every credential expire and resets the simulator's counters. */
  fresh(): void;
}

/**
 * Registers before/after hooks (in the current suite) that start a simulator with `simOptions`,
 * a redis-server and a temp dir named `tmpPrefix…`, and stop/remove them afterwards.
 */
export function testbed(simOptions: SimulatorOptions, tmpPrefix: string): Testbed {
  const bed = {
    calls: (path: string) => bed.sim.stats().calls[path] ?? 0,
    fresh() {
      bed.sim.clearFaults();
      bed.sim.advance(8000);
      bed.sim.reset();
    },
  } as Testbed;
  before(async () => {
    bed.sim = await startSimulator(simOptions);
    bed.redis = await startRedisServer();
    bed.dir = await mkdtemp(join(tmpdir(), tmpPrefix));
  });
  after(async () => {
    await bed.sim?.close();
    await bed.redis?.stop();
    if (bed.dir) await rm(bed.dir, { recursive: true, force: true });
  });
  return bed;
}

/** Forks `count` copies of the TypeScript file `file` with `env` added and waits for each one's first message. */
export async function forkReady(
  file: string,
  count: number,
  env: Record<string, string>,
): Promise<ChildProcess[]> {
  const children = Array.from({ length: count }, () =>
    fork(file, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  return children;
}

/** Sends SIGTERM to every child still running and waits for each to exit. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      await exited;
    }),
  );
}

export interface Reply {
  configs?: JssdkConfig[];
  tokens?: string[];
  errcodes?: number[];
  errors?: string[];
  lockWaits?: number;
  status?: WxkitStatus;
}

/** A child process running createWxkit(options), its clock tied to the simulator's. */
export interface Worker {
  child: ChildProcess;
  send(cmd: Record<string, unknown>): Promise<Reply>;
  kill(): Promise<void>;
}

export async function startWorkers(sim: Simulator, count: number, options: WxkitOptions): Promise<Worker[]> {
  const children = await forkReady(WORKER, count, { WXKIT_WORKER_OPTIONS: JSON.stringify(options) });
  return children.map((child) => {
    let nextId = 0;
    const pending = new Map<number, (r: Reply) => void>();
    const rejects = new Map<number, (e: Error) => void>();
    child.on('message', (m: { id?: number }) => {
      if (m.id === undefined) return;
      pending.get(m.id)?.(m as Reply);
      pending.delete(m.id);
      rejects.delete(m.id);
    });
    child.once('exit', () => {
      for (const reject of rejects.values()) reject(new Error('worker exited'));
    });
    return {
      child,
      send(cmd) {
        const id = ++nextId;
        return new Promise<Reply>((resolve, reject) => {
          pending.set(id, resolve);
          rejects.set(id, reject);
          child.send({ ...cmd, id, simNow: sim.state.nowMs() });
        });
      },
      async kill() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await once(child, 'exit');
      },
    };
  });
}

export async function stopWorkers(workers: Worker[]): Promise<void> {
  await stopChildren(workers.map((w) => w.child));
}
