import type { MediaStore, SweepResult } from './types.ts';

/** Options for {@link startMediaSweeper}. */
export interface MediaSweeperOptions {
  /** Time between sweeps. @default min(10 minutes, TTL / 2), at least 1 second */
  intervalMs?: number | undefined;
  /** Entries one sweep call looks at. @default 500 */
  limit?: number | undefined;
  /** Sweep calls per tick at most (a tick also stops at the end of a pass). @default 10 */
  callsPerTick?: number | undefined;
  /** Told what each tick removed (only when it removed something). */
  onSweep?: ((removed: SweepResult) => void) | undefined;
  /** Told when a sweep fails (the next tick tries again). */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * Sweeps a media store in the background, bounded: at most `callsPerTick × limit` entries per tick, one
 * tick at a time, on an unref'd timer (it never keeps the process alive). Files are also removed lazily
 * when read; the sweep removes the ones nobody reads again.
 */
export function startMediaSweeper(
  store: MediaStore,
  options: MediaSweeperOptions = {},
): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? Math.max(1000, Math.min(600_000, store.ttlMs / 2));
  const limit = options.limit ?? 500;
  const callsPerTick = options.callsPerTick ?? 10;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = async () => {
    const total: SweepResult = { removed: [], aliases: 0, done: false };
    for (let i = 0; i < callsPerTick && !stopped; i++) {
      const r = await store.sweep({ limit });
      total.removed.push(...r.removed);
      total.aliases += r.aliases;
      if (r.done) break;
    }
    if (total.removed.length > 0 || total.aliases > 0) options.onSweep?.(total);
  };
  const start = () => {
    if (running || stopped) return;
    running = tick()
      .catch((e: unknown) => options.onError?.(e))
      .finally(() => {
        running = undefined;
      });
  };
  // A first batch soon after start (a process that restarts often still sweeps), then every interval.
  const first = setTimeout(start, Math.min(intervalMs, 2000));
  first.unref();
  const timer = setInterval(start, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
