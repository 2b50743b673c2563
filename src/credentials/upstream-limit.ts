/**
 * Upstream requests open at once, bounded. A cold burst over thousands of accounts otherwise opens a
 * connection per account at the same moment: thousands of sockets to WeChat from one process, a native
 * read buffer each (the process's memory stayed grown long after), and more connections than a listener
 * queues. The engine takes a slot before its request's deadline starts, so time spent waiting for a slot
 * never counts as the upstream being slow.
 */
export interface UpstreamLimit {
  /** Resolves once a request may go. */
  acquire(): Promise<void>;
  release(): void;
  /** The `fetch` the requests go through once they hold a slot. */
  readonly inner: typeof fetch;
}

const limits = new WeakMap<typeof fetch, UpstreamLimit>();

/**
 * A `fetch` that lets at most `max` requests be open at once (the others wait their turn, in order).
 * The engine recognizes it ({@link upstreamLimitOf}) and waits for a slot before starting its timeout.
 */
export function limitConcurrency(fetchImpl: typeof fetch, max: number): typeof fetch {
  let open = 0;
  const waiting: Array<() => void> = [];
  const limit: UpstreamLimit = {
    inner: fetchImpl,
    async acquire() {
      if (open < max) open++;
      else await new Promise<void>((r) => waiting.push(r));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else open--;
    },
  };
  const limited: typeof fetch = async (input, init) => {
    await limit.acquire();
    try {
      return await fetchImpl(input, init);
    } finally {
      limit.release();
    }
  };
  limits.set(limited, limit);
  return limited;
}

/** The limit behind a `fetch` made by {@link limitConcurrency}, if it is one. */
export function upstreamLimitOf(f: typeof fetch): UpstreamLimit | undefined {
  return limits.get(f);
}
