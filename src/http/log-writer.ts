import { write, writeSync } from 'node:fs';

/** Options of {@link bufferedLines}. */
export interface BufferedLinesOptions {
  /** The file descriptor written to. @default 1 (stdout) */
  fd?: number;
  /**
   * Most bytes held while the reader is behind. A line that would go beyond is dropped and counted in
   * {@link LineWriter.dropped}, so a stalled reader costs neither latency nor unbounded memory.
   * @default 4 MiB
   */
  maxBufferBytes?: number;
  /**
   * Most bytes per `write(2)`, never splitting a line (a longer line goes alone). Keep it at PIPE_BUF
   * (4096) when several processes share one pipe: writes up to PIPE_BUF are atomic, so their lines
   * never interleave. @default 65536
   */
  maxWriteBytes?: number;
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
  /**
   * Writes what is queued with blocking writes (for `process.on('exit')`, where nothing async runs);
   * drops and counts it instead while an asynchronous write is still unfinished (a stalled reader).
   */
  flushSync(): void;
  /** Lines dropped so far: buffer full, the reader gone (EPIPE), or not written by `end`'s deadline. */
  readonly dropped: number;
}

const EAGAIN_RETRY_MS = 5;
/** How long lines wait for company before a write: one write(2) per ~10 ms, not per turn of the loop. */
const BATCH_MS = 10;

/** Filled chunks waiting for write(2), each whole lines. */
interface Chunk {
  buf: Buffer;
  used: number;
  lines: number;
}

/**
 * A {@link LineWriter} over a file descriptor, as pino's sonic-boom does it but with a bound. Each line
 * is encoded at once into a chunk of `maxWriteBytes` (so no string outlives its request), and one
 * `fs.write` at a time takes the oldest chunk, on libuv's thread pool: a pipe whose reader is slow
 * blocks a pool thread, never the event loop. (`process.stdout` on a file is one synchronous write(2)
 * per line; on a pipe it queues without bound.)
 */
export function bufferedLines(options: BufferedLinesOptions = {}): LineWriter {
  const fd = options.fd ?? 1;
  const maxBuffer = options.maxBufferBytes ?? 4 * 1024 * 1024;
  const size = options.maxWriteBytes ?? 65536;
  const chunks: Chunk[] = []; // the last one is being filled
  let queued = 0; // bytes in `chunks`
  let pending: { buf: Buffer; lines: number } | undefined; // what write(2) has not taken yet
  let spare: Buffer | undefined; // a written chunk, reused
  let writing = false;
  let scheduled = false;
  let ending = false;
  let closed = false; // the reader is gone (EPIPE) or end() gave up: drop from now on
  let dropped = 0;
  let waiters: (() => void)[] = [];

  const idle = () => !writing && !scheduled && pending === undefined && chunks.length === 0;
  const settle = () => {
    if (!idle()) return;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };

  function dropAll(): void {
    for (const c of chunks) dropped += c.lines;
    chunks.length = 0;
    queued = 0;
    if (pending) dropped += pending.lines;
    pending = undefined;
  }

  /** The next write after a short wait (at once when a chunk is full or the writer is ending). */
  function schedule(): void {
    if (writing || scheduled) return;
    scheduled = true;
    if (ending || chunks.length > 1) setImmediate(pump);
    else setTimeout(pump, BATCH_MS);
  }

  function pump(): void {
    scheduled = false;
    if (writing) return;
    if (closed) dropAll();
    if (pending === undefined) {
      const next = chunks.shift();
      if (next) {
        queued -= next.used;
        pending = { buf: next.buf.subarray(0, next.used), lines: next.lines };
      }
    }
    if (pending === undefined) {
      settle();
      return;
    }
    const { buf } = pending;
    writing = true;
    write(fd, buf, 0, buf.length, null, (err, written) => {
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
        dropped += pending?.lines ?? 0;
        pending = undefined;
      } else if (pending && written < buf.length) {
        pending.buf = buf.subarray(written); // a partial write: the rest goes first
      } else {
        if (buf.buffer.byteLength === size && buf.byteOffset === 0) spare = Buffer.from(buf.buffer);
        pending = undefined;
      }
      if (pending !== undefined || closed) pump();
      else if (chunks.length > 0) schedule();
      else settle();
    });
  }

  return {
    write(line) {
      // At most 3 bytes per UTF-16 unit: the exact count only when that bound does not fit.
      let bytes = line.length * 3;
      let last = chunks[chunks.length - 1];
      if (last === undefined || last.used + bytes > size) {
        bytes = Buffer.byteLength(line);
        if (last !== undefined && last.used + bytes > size) last = undefined;
      }
      if (closed || queued + Math.min(bytes, line.length * 3) > maxBuffer) {
        dropped++;
        return;
      }
      if (last === undefined) {
        const buf = bytes > size ? Buffer.allocUnsafeSlow(bytes) : (spare ?? Buffer.allocUnsafeSlow(size));
        if (buf === spare) spare = undefined;
        last = { buf, used: 0, lines: 0 };
        chunks.push(last);
      }
      const n = last.buf.write(line, last.used);
      last.used += n;
      last.lines++;
      queued += n;
      schedule();
    },
    end(timeoutMs = 5000) {
      ending = true;
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
          if (!writing) dropAll();
          resolve();
        }, timeoutMs);
        waiters.push(done);
      });
    },
    flushSync() {
      if (writing) {
        // A write still on the thread pool means the reader is slow or stalled: a blocking write now
        // could hang the exit (and would land before that write). Count what is left instead.
        dropAll();
        return;
      }
      const parts = [
        ...(pending ? [pending] : []),
        ...chunks.map((c) => ({ buf: c.buf.subarray(0, c.used), lines: c.lines })),
      ];
      chunks.length = 0;
      queued = 0;
      pending = undefined;
      for (const part of parts) {
        let buf = part.buf;
        try {
          while (buf.length > 0 && !closed) buf = buf.subarray(writeSync(fd, buf));
        } catch {
          // EAGAIN or EPIPE: nothing more can be done at exit
        }
        if (buf.length > 0) dropped += part.lines;
      }
    },
    get dropped() {
      return dropped;
    },
  };
}
