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

/**
 * A line writer for stdout/stderr whose reader may leave early (`wxkit doctor … | head -1`): after
 * the pipe closes (EPIPE) it writes nothing more, instead of dying with an unhandled error's stack
 * trace. The command still finishes and exits with its own code.
 */
export function lineWriter(stream: NodeJS.WritableStream): (line: string) => void {
  let closed = false;
  stream.on('error', () => {
    closed = true;
  });
  return (line) => {
    if (!closed) stream.write(`${line}\n`);
  };
}

/** Wrong flags or arguments: exit code 2 with a one-line message, the reason in English and Chinese. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The same reason in Chinese (Chinese-speaking developers read this first). */
  readonly zh: string;

  constructor(message: string, zh: string) {
    super(message);
    this.zh = zh;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs with errors turned into {@link UsageError}s that read well on one line. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = (e instanceof Error ? e.message.split('\n')[0] : String(e)) || 'invalid arguments';
    throw new UsageError(msg, parseArgsZh(msg));
  }
}

/** node:util parseArgs' messages, said in Chinese (the option named as parseArgs named it). */
function parseArgsZh(msg: string): string {
  const option = /'(-[^' ]+)/.exec(msg)?.[1] ?? '';
  if (msg.startsWith('Unknown option')) return `未知选项 ${option}`;
  if (/argument missing/.test(msg)) return `选项 ${option} 缺少取值`;
  if (/does not take an argument/.test(msg)) return `选项 ${option} 不接受取值`;
  if (/Unexpected argument/.test(msg)) {
    return `多余的参数 ${/'([^']*)'/.exec(msg)?.[1] ?? ''}（此命令不接受位置参数）`;
  }
  return `参数无效：${msg}`;
}

/** `wxkit sign` / `wxkit doctor` without `--ticket` where no account is configured. */
export function noAccountForTicket(): UsageError {
  return new UsageError(
    'no --ticket given and no account configured (set WX_APP_ID and WX_APP_SECRET)',
    '未给出 --ticket，且未配置账号（请设置 WX_APP_ID 和 WX_APP_SECRET）',
  );
}

/** Requires a string flag. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing --${flag}`, `缺少 --${flag}`);
  return value;
}

/** `1h05m`, `3m07s`, `12s`: how long ago a credential was fetched, or how long it has left. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, '0')}s`
      : `${sec}s`;
}
