import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a command writes; tests pass their own. */
export interface CliIO {
  out: (line: string) => void;
  /** The file descriptor behind `out`, when there is one: `serve` writes its log lines to it in batches. */
  outFd?: number;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); long-running commands await it. */
  stopSignal?: AbortSignal;
}

/** Wrong flags or arguments: exit code 2 with a one-line message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs with errors turned into {@link UsageError}s that read well on one line. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(msg ?? 'invalid arguments');
  }
}

/** Requires a string flag. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing --${flag}`);
  return value;
}
