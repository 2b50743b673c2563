/**
 * How many worker deaths `wxkit serve --workers N` absorbs: at most `max` restarts within any `windowMs`,
 * each after a delay that doubles with the deaths already in the window (`baseMs`, 2×, 4×… up to
 * `capMs`). A worker that crashes now and then is replaced forever; one that crashes in a loop (a bad
 * deploy, a full disk) is not restarted at full speed, and the service gives up — loudly, with a
 * non-zero exit — so the supervisor above it (systemd, Kubernetes) sees the failure.
 */
export interface RestartBudgetOptions {
  /** Restarts allowed within the window (`WXKIT_WORKER_RESTARTS`). @default 10 */
  max: number;
  /** @default 60000 */
  windowMs: number;
  /** The first restart's delay. @default 100 */
  baseMs: number;
  /** The longest delay. @default 5000 */
  capMs: number;
  /** @default Date.now */
  now: () => number;
}

export const DEFAULT_RESTART_BUDGET: Omit<RestartBudgetOptions, 'now'> = {
  max: 10,
  windowMs: 60_000,
  baseMs: 100,
  capMs: 5_000,
};

/** What to do about one death: restart after `delayMs`, or give up (the budget is spent). */
export type RestartDecision = { restart: true; delayMs: number } | { restart: false; deaths: number };

export class RestartBudget {
  private readonly deaths: number[] = [];
  private readonly o: RestartBudgetOptions;

  constructor(options: Partial<RestartBudgetOptions> = {}) {
    this.o = { ...DEFAULT_RESTART_BUDGET, now: Date.now, ...options };
  }

  get max(): number {
    return this.o.max;
  }

  get windowMs(): number {
    return this.o.windowMs;
  }

  /** Records a worker death now and decides. */
  death(): RestartDecision {
    const at = this.o.now();
    while (this.deaths.length > 0 && at - (this.deaths[0] as number) >= this.o.windowMs) this.deaths.shift();
    this.deaths.push(at);
    const recent = this.deaths.length;
    if (recent > this.o.max) return { restart: false, deaths: recent };
    return { restart: true, delayMs: Math.min(this.o.capMs, this.o.baseMs * 2 ** (recent - 1)) };
  }
}

/**
 * `WXKIT_WORKER_RESTARTS`: worker restarts allowed per minute (0: none), default 10; `undefined` for a
 * value that is not a whole number from 0 to 1000 (the caller reports it).
 */
export function restartsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.WXKIT_WORKER_RESTARTS?.trim();
  if (text === undefined || text === '') return DEFAULT_RESTART_BUDGET.max;
  if (!/^\d{1,4}$/.test(text) || Number(text) > 1000) return undefined;
  return Number(text);
}
