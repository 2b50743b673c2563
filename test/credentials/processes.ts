import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { JssdkConfig } from '../../src/signature.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { WxkitStatus } from '../../src/types.ts';
import type { WxkitOptions } from '../../src/wxkit.ts';

const WORKER = new URL('./fixtures/worker.ts', import.meta.url).pathname;

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
  const workers = Array.from({ length: count }, () => {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, WXKIT_WORKER_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = once(child, 'message');
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
    const worker: Worker = {
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
    return { worker, ready };
  });
  await Promise.all(workers.map((w) => w.ready));
  return workers.map((w) => w.worker);
}

export async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      const exited = once(w.child, 'exit');
      w.child.kill('SIGTERM');
      await exited;
    }),
  );
}
