import cluster from 'node:cluster';
import { bufferedLines } from '../http/log-writer.ts';
import type { Metrics } from '../metrics.ts';
import type { CliIO } from './io.ts';

/** Writes up to this size are atomic on a Linux pipe: workers sharing one stdout never split a line. */
const PIPE_BUF = 4096;
/** How long a stopping `wxkit serve` waits for its stdout reader to take the last lines. */
const END_TIMEOUT_MS = 5000;

/** Where `wxkit serve` writes its banner and log lines. */
export interface ServeOutput {
  /** The service's `logLine`. */
  logLine(line: string): void;
  /** `io` whose `out` goes through the same queue, so the banner keeps its place among log lines. */
  io: CliIO;
  /** Adds `wxkit_log_lines_dropped_total` to the service's metrics. */
  count(metrics: Metrics): void;
  /** On shutdown: writes what is queued (bounded wait), then says on stderr how many lines were dropped. */
  end(): Promise<void>;
}

/**
 * stdout written in batches by asynchronous writes (`bufferedLines`) when it is a file descriptor —
 * synchronous `process.stdout.write` to a file or pipe cost ~30 % of the service's throughput — and
 * through `io.out` otherwise (tests).
 */
export function serveOutput(io: CliIO, options: { maxBufferBytes?: number } = {}): ServeOutput {
  if (io.outFd === undefined) {
    return {
      logLine: (l) => io.out(l.trimEnd()),
      io,
      count: (metrics) => metrics.counterFrom('wxkit_log_lines_dropped_total', () => 0, DROPPED_HELP),
      end: () => Promise.resolve(),
    };
  }
  const lines = bufferedLines({
    fd: io.outFd,
    ...options,
    ...(cluster.isWorker ? { maxWriteBytes: PIPE_BUF } : {}),
  });
  // process.exit() elsewhere: write what is left synchronously rather than lose it.
  const onExit = () => lines.flushSync();
  process.on('exit', onExit);
  return {
    logLine: (l) => lines.write(l),
    io: { ...io, out: (l) => lines.write(`${l}\n`) },
    count: (metrics) =>
      metrics.counterFrom('wxkit_log_lines_dropped_total', () => lines.dropped, DROPPED_HELP),
    async end() {
      await lines.end(END_TIMEOUT_MS);
      process.off('exit', onExit);
      if (lines.dropped > 0) {
        io.err(
          `wxkit serve: ${lines.dropped} log lines were dropped because stdout was not read fast enough (wxkit_log_lines_dropped_total). / 标准输出读取过慢，已丢弃 ${lines.dropped} 行日志。`,
        );
      }
    },
  };
}

const DROPPED_HELP = 'Log lines dropped because stdout was not read fast enough (buffer full).';
