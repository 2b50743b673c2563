// Issue 18 item 13: `--workers` replaced at most 20 dead workers in the process's whole life, and when
// the last one died the primary exited (code 13, Node's unsettled await) without a word. Now: a restart
// budget over a time window with backoff, a line when giving up, and an explicit exit code 1.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RestartBudget, restartsFromEnv } from '../../src/serve/restart-budget.ts';
import { freePort } from '../stores/redis-server.ts';
import { startServe } from './spawn.ts';

describe('RestartBudget (virtual clock)', () => {
  test('restarts with a doubling delay, gives up past the budget, and forgets deaths older than the window', () => {
    let t = 0;
    const b = new RestartBudget({ max: 3, windowMs: 60_000, baseMs: 100, capMs: 250, now: () => t });
    assert.deepEqual(b.death(), { restart: true, delayMs: 100 });
    t += 1000;
    assert.deepEqual(b.death(), { restart: true, delayMs: 200 });
    t += 1000;
    assert.deepEqual(b.death(), { restart: true, delayMs: 250 }, 'capped');
    t += 1000;
    assert.deepEqual(b.death(), { restart: false, deaths: 4 });
    // A minute after the first deaths, the window holds only the last ones again.
    t = 61_500;
    assert.deepEqual(b.death(), { restart: true, delayMs: 250 }, 'deaths at 2 s, 3 s and now');
    t = 10 * 60_000;
    assert.deepEqual(
      b.death(),
      { restart: true, delayMs: 100 },
      'a worker that dies now and then is always replaced',
    );
  });

  test('WXKIT_WORKER_RESTARTS: default 10, 0 allowed, anything else refused', () => {
    assert.equal(restartsFromEnv({}), 10);
    assert.equal(restartsFromEnv({ WXKIT_WORKER_RESTARTS: '0' }), 0);
    assert.equal(restartsFromEnv({ WXKIT_WORKER_RESTARTS: ' 25 ' }), 25);
    for (const bad of ['-1', '1.5', 'many', '1001']) {
      assert.equal(restartsFromEnv({ WXKIT_WORKER_RESTARTS: bad }), undefined, bad);
    }
  });
});

/** The live worker processes of `pid` (Linux /proc): its children running the CLI (not tsx's esbuild). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cli = readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('src/cli/bin.ts');
      if (Number(fields[1]) === pid && fields[0] !== 'Z' && cli) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out.sort();
}

async function until<T>(get: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(what);
    await sleep(50);
  }
}

describe('--workers with real processes', () => {
  test('a killed worker is replaced (with a line saying so); past WXKIT_WORKER_RESTARTS per minute the service stops with exit 1 and says why', async () => {
    const serve = await startServe(
      {
        WXKIT_LOG: 'off',
        WXKIT_SESSION_SECRET: 'workers-test-secret-0123456789abcdef',
        WXKIT_WORKER_RESTARTS: '2',
        // A fixed port: with PORT=0 a replacement started while no worker listens gets a new one.
        PORT: String(await freePort()),
      },
      ['--workers', '2'],
    );
    const primary = serve.child.pid as number;
    const exited = new Promise<number | null>((resolve) => serve.child.on('exit', (code) => resolve(code)));
    try {
      const workersNow = () => {
        const c = childrenOf(primary);
        return c.length === 2 ? c : undefined;
      };
      let workers = await until(workersNow, 'two workers never ran');
      for (let kill = 1; kill <= 2; kill++) {
        const victim = workers[0] as number;
        process.kill(victim, 'SIGKILL');
        await until(
          () =>
            serve.stderr().includes(`worker ${victim} exited (signal SIGKILL); starting another in`)
              ? true
              : undefined,
          `no restart line for worker ${victim}:\n${serve.stderr()}`,
        );
        workers = await until(() => {
          const w = workersNow();
          return w && !w.includes(victim) ? w : undefined;
        }, `worker ${victim} was not replaced`);
        // Serving again (the killed worker may have been the only one listening while its
        // replacement starts: ask until one answers).
        let status = 0;
        for (let i = 0; i < 300 && status !== 200; i++) {
          status = await fetch(`${serve.url}/healthz`, { headers: { connection: 'close' } }).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await sleep(100);
        }
        assert.equal(status, 200, 'serving again');
      }
      // The third exit within the minute spends the budget of 2 restarts.
      process.kill(workers[0] as number, 'SIGKILL');
      const code = await Promise.race([exited, sleep(60_000).then(() => 'still running')]);
      assert.equal(code, 1, `exit code; stderr:\n${serve.stderr()}`);
      assert.match(
        serve.stderr(),
        /giving up: 3 worker exits within 60 s \(WXKIT_WORKER_RESTARTS=2 restarts allowed\); stopping with exit code 1 \/ 放弃/,
      );
      assert.deepEqual(childrenOf(primary), [], 'the other worker was stopped too');
    } finally {
      await serve.stop();
    }
  });
});
