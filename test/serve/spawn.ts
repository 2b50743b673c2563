import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx by absolute URL, so the CLI runs from source in any working directory. */
const TSX = import.meta.resolve('tsx');

/** A `wxkit serve` child process. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM and wait; resolves the exit code. */
  stop(): Promise<number | null>;
}

/** Everything in the environment that could configure the service, removed. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(WX_|WXKIT_)|^(HOST|PORT)$/.test(k)) delete env[k];
  return env;
}

/** Runs the CLI from source; resolves with its exit code and output (for start failures). */
export function runCli(args: string[], env: Record<string, string>, cwd = ROOT) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, `${ROOT}src/cli/bin.ts`, ...args], {
      cwd,
      env: { ...cleanEnv(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `wxkit serve` on a free port and waits for its "listening on" line. */
export function startServe(
  env: Record<string, string>,
  args: string[] = [],
  cwd = ROOT,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}src/cli/bin.ts`, 'serve', ...args], {
    cwd,
    env: { ...cleanEnv(), PORT: '0', ...env },
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wxkit serve did not start:\n${out}\n${err}`));
    }, 45_000);
    child.stderr?.on('data', (c) => {
      err += c;
    });
    child.stdout?.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1],
          stdout: () => out,
          stderr: () => err,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
            const code = await exited;
            clearTimeout(killer);
            return code;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`wxkit serve exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
}
