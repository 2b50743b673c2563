import { write, writeSync } from 'node:fs';

/** One structured log line. Never holds query strings, bodies, tokens or secrets. */
export interface LogEntry {
  time: string;
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/** Where log lines go. */
export type LogSink = (entry: LogEntry) => void;

/**
 * JSON lines on a stream (stdout by default). Every string field is passed through {@link redact} here,
 * the one place all lines go through: a message built elsewhere (an upstream error quoting WeChat's
 * errmsg, say) cannot carry a token or secret out.
 */
export function jsonLines(write: (line: string) => void = (l) => process.stdout.write(l)): LogSink {
  return (entry) => write(`${JSON.stringify(redactEntry(entry))}\n`);
}

/** The entry with its string fields redacted (a copy, only when one needs it). */
function redactEntry(entry: LogEntry): LogEntry {
  let safe = entry;
  for (const key in entry) {
    const value = entry[key];
    if (key === 'time' || typeof value !== 'string' || !MAY_HOLD_SECRET.test(value)) continue;
    if (safe === entry) safe = { ...entry };
    safe[key] = redact(value);
  }
  return safe;
}

/** What every pattern below needs: most fields (route, method, code) have none and skip the three regexes. */
const MAY_HOLD_SECRET = /[=":]|bearer/i;

const SECRETISH = /\b(access_token|jsapi_ticket|ticket|secret|appsecret|key|code|refresh_token)=[^&\s"']+/gi;
const BEARER = /\bBearer\s+[^\s"']+/gi;
// The same names as JSON members (`"access_token":"…"`), as in a WeChat or store body quoted by an error.
const SECRETISH_JSON =
  /"(access_token|jsapi_ticket|ticket|secret|appsecret|key|code|refresh_token|value)"(\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** Removes `access_token=…`-style values (also as JSON members) and bearer keys from a message before it is logged. */
export function redact(text: string): string {
  return text
    .replace(SECRETISH, '$1=<redacted>')
    .replace(SECRETISH_JSON, '"$1"$2"<redacted>"')
    .replace(BEARER, 'Bearer <redacted>');
}

/** Options of {@link bufferedLines}. */
export interface BufferedLinesOptions {
  /** The file descriptor written to. @default 1 (stdout) */
  fd?: number;
  /**
   * Most characters held while the reader is behind. A line that would go beyond is dropped and
   * counted in {@link LineWriter.dropped}, so a stalled reader costs neither latency nor unbounded memory.
   * @default 4 MiB
   */
  maxBufferBytes?: number;
  /**
   * Most bytes per `write(2)`, never splitting a line. Keep it at PIPE_BUF (4096) when several
   * processes share one pipe: writes up to PIPE_BUF are atomic, so their lines never interleave.
   * @default 65536
   */
  maxWriteBytes?: number;
  /** `fs.write`, for tests. */
  writeFd?: typeof write;
}

/** Log lines written in batches by asynchronous `write(2)` calls: never blocks the caller. */
export interface LineWriter {
  /** Queues one line (ending in `\n`); drops and counts it when the buffer is full. */
  write(line: string): void;
  /**
   * For shutdown: resolves once every queued line is written, or after `timeoutMs` (default 5 s) if
   * the reader is not taking them — then what is left, and every later line, is dropped and counted.
   */
  end(timeoutMs?: number): Promise<void>;
  /** Writes what is queued with blocking writes (for `process.on('exit')`, where nothing async runs). */
  flushSync(): void;
  /** Lines dropped so far: buffer full, the reader gone (EPIPE), or not written by a flush's deadline. */
  readonly dropped: number;
}

const EAGAIN_RETRY_MS = 5;

/**
 * A {@link LineWriter} over a file descriptor, as pino's sonic-boom does it but with a bound: lines
 * are appended to a queue and written by one `fs.write` at a time (on libuv's thread pool, so a pipe
 * whose reader is slow blocks a pool thread, never the event loop); each write takes every line queued
 * since the last one. stdout on a pipe or file is otherwise written synchronously, one `write(2)` per line.
 */
export function bufferedLines(options: BufferedLinesOptions = {}): LineWriter {
  const fd = options.fd ?? 1;
  const maxBuffer = options.maxBufferBytes ?? 4 * 1024 * 1024;
  const maxWrite = options.maxWriteBytes ?? 65536;
  const writeFd = options.writeFd ?? write;
  let queue: string[] = [];
  let queued = 0; // characters in `queue`
  let pending: Buffer | undefined; // the part of the last chunk write(2) has not taken yet
  let pendingLines = 0;
  let writing = false;
  let scheduled = false;
  let closed = false; // the reader is gone (EPIPE): drop everything from now on
  let dropped = 0;
  let waiters: (() => void)[] = [];

  const idle = () => !writing && !scheduled && pending === undefined && queue.length === 0;
  const settle = () => {
    if (!idle()) return;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };

  /** Takes whole lines from the queue, up to maxWrite bytes (one line at least). */
  function nextChunk(): { buf: Buffer; lines: number } {
    let bytes = 0;
    let n = 0;
    while (n < queue.length) {
      const line = queue[n] as string;
      const size = Buffer.byteLength(line);
      if (n > 0 && bytes + size > maxWrite) break;
      bytes += size;
      n++;
    }
    const lines = queue.length === n ? queue : queue.slice(0, n);
    queue = queue.length === n ? [] : queue.slice(n);
    const text = lines.join('');
    queued -= text.length;
    return { buf: Buffer.from(text), lines: n };
  }

  function pump(): void {
    scheduled = false;
    if (writing) return;
    if (closed) {
      dropped += queue.length + pendingLines;
      queue = [];
      queued = 0;
      pending = undefined;
      pendingLines = 0;
    }
    if (pending === undefined && queue.length > 0) {
      const chunk = nextChunk();
      pending = chunk.buf;
      pendingLines = chunk.lines;
    }
    const buf = pending;
    if (buf === undefined) {
      settle();
      return;
    }
    writing = true;
    writeFd(fd, buf, 0, buf.length, null, (err, written) => {
      writing = false;
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          // A non-blocking descriptor whose reader is behind: try again shortly.
          scheduled = true;
          setTimeout(pump, EAGAIN_RETRY_MS);
          return;
        }
        if (code === 'EPIPE' || code === 'EBADF') closed = true;
        dropped += pendingLines;
        pending = undefined;
        pendingLines = 0;
      } else if (written < buf.length) {
        pending = buf.subarray(written); // a partial write: the rest goes first next time
      } else {
        pending = undefined;
        pendingLines = 0;
      }
      pump();
    });
  }

  return {
    write(line) {
      if (closed || queued + line.length > maxBuffer) {
        dropped++;
        return;
      }
      queue.push(line);
      queued += line.length;
      if (!writing && !scheduled) {
        // Lines written in the same turn of the event loop go out in one write(2).
        scheduled = true;
        setImmediate(pump);
      }
    },
    end(timeoutMs = 5000) {
      if (idle()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          // The reader is not taking lines: count what is left as dropped and stop retrying, so the
          // writer no longer keeps the process alive (a write(2) already on the thread pool still finishes).
          closed = true;
          if (!writing && !scheduled) pump();
          resolve();
        }, timeoutMs);
        waiters.push(done);
      });
    },
    flushSync() {
      // A write on the thread pool may still be running: what follows could land before it, which is
      // better than losing it when the process exits now.
      let buf = Buffer.from((pending && !writing ? pending.toString() : '') + queue.join(''));
      queue = [];
      queued = 0;
      pending = undefined;
      pendingLines = 0;
      while (buf.length > 0 && !closed) {
        try {
          buf = buf.subarray(writeSync(fd, buf));
        } catch {
          break;
        }
      }
      for (const b of buf) if (b === 10) dropped++;
    },
    get dropped() {
      return dropped;
    },
  };
}
