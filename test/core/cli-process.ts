import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

/** The CLI's entry, run as users run it (a real process). */
export const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
// Resolved here: the commands run in empty temp directories, where 'tsx' does not resolve.
export const tsx = import.meta.resolve('tsx');

/** The environment without any wxkit/WeChat variable of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(WX_|WXKIT_)/.test(k)) out[k] = v;
  return { ...out, ...extra };
}

/** The CLI as a child process without blocking this one (an in-process simulator must keep answering). */
export function wxkitAsync(args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsx, bin, ...args],
      { ...options, encoding: 'utf8', timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out: stdout, err: stderr }),
    );
  });
}

/** Registers before/after hooks: a simulator with `app` and an empty working directory for the CLI. */
export function simulatedAccount(app: { appId: string; secret: string }): { sim: Simulator; cwd: string } {
  const set = {} as { sim: Simulator; cwd: string };
  before(async () => {
    set.sim = await startSimulator({ apps: [app] });
    set.cwd = mkdtempSync(join(tmpdir(), 'wxkit-cli-'));
  });
  after(async () => {
    await set.sim.close();
    rmSync(set.cwd, { recursive: true, force: true });
  });
  return set;
}
