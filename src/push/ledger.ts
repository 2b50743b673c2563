import { createHash } from 'node:crypto';
import type { Store } from '../stores/types.ts';
import type { PushMessage } from './message.ts';

/**
 * Which pushes have been handled, shared through the store by every process and machine that serves
 * one account: a claim (the store's lease lock, renewed while the handler runs) and, once the handler
 * settled, a done marker holding the answer, kept longer than WeChat retries and the replay window.
 */

/** What a handled push was answered with. */
export type Outcome =
  /** The plaintext passive reply (`success` for none): a retry is answered the same. */
  | { reply: string }
  /** Answered `success` at the deadline; the reply went (or goes) out through custom/send. */
  | { late: true };

/** What {@link Ledger.claim} found. */
export type Claim =
  | { kind: 'run'; release: () => Promise<void> }
  | { kind: 'done'; outcome: Outcome }
  /** Another try is being handled right now, here or in another process. */
  | { kind: 'busy' };

export interface LedgerOptions {
  store: Store;
  /** Namespaces keys per account. */
  appId: string;
  /** @default 3000 */
  leaseMs?: number | undefined;
  /** @default 600_000 */
  doneTtlMs?: number | undefined;
}

/**
 * The key of a push: MsgId + FromUserName for messages (MsgIds have collided across users), and
 * FromUserName + CreateTime + Event + EventKey for events, which have no MsgId.
 */
export function dedupeKey(message: PushMessage): string {
  const m = message as { MsgId?: string; Event?: string; EventKey?: string };
  const parts =
    message.MsgType !== 'event' && m.MsgId
      ? ['msg', message.FromUserName, m.MsgId]
      : [
          'event',
          message.FromUserName,
          String(message.CreateTime),
          m.Event ?? message.MsgType,
          m.EventKey ?? '',
        ];
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 40);
}

export class Ledger {
  private readonly leaseMs: number;
  private readonly doneTtlMs: number;

  constructor(private readonly o: LedgerOptions) {
    this.leaseMs = o.leaseMs ?? 3_000;
    this.doneTtlMs = o.doneTtlMs ?? 600_000;
  }

  private doneKey(key: string): string {
    return `wxkit:${this.o.appId}:push:${key}:done`;
  }

  private runKey(key: string): string {
    return `wxkit:${this.o.appId}:push:${key}:run`;
  }

  /** The outcome if the push was handled already. */
  async outcome(key: string): Promise<Outcome | undefined> {
    const raw = await this.o.store.get(this.doneKey(key));
    if (raw === undefined) return undefined;
    try {
      const v = JSON.parse(raw) as Outcome;
      return typeof v === 'object' && v !== null && ('reply' in v || 'late' in v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Claims the push for this try. The claim is the store's atomic lease lock (`tryLock`), renewed every
   * third of the lease until `release()`: a try that arrives while the first one's handler runs finds it
   * held, however long the handler takes; a process that died lets it go within one lease.
   */
  async claim(key: string): Promise<Claim> {
    const done = await this.outcome(key);
    if (done) return { kind: 'done', outcome: done };
    const store = this.o.store;
    const lockKey = this.runKey(key);
    const owner = await store.tryLock(lockKey, this.leaseMs);
    if (owner === undefined) return { kind: 'busy' };
    // The first try may have finished between our read and our lock.
    const again = await this.outcome(key);
    if (again) {
      await store.unlock(lockKey, owner).catch(() => false);
      return { kind: 'done', outcome: again };
    }
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const beat = () => {
      timer = setTimeout(
        async () => {
          if (stopped) return;
          const kept = await store.renew(lockKey, owner, this.leaseMs).catch(() => true);
          if (kept && !stopped) beat();
        },
        Math.max(20, Math.floor(this.leaseMs / 3)),
      );
      timer.unref();
    };
    beat();
    return {
      kind: 'run',
      release: async () => {
        stopped = true;
        clearTimeout(timer);
        await store.unlock(lockKey, owner).catch(() => false);
      },
    };
  }

  /** Records the outcome (before the claim is released, so no try ever finds neither). */
  async finish(key: string, outcome: Outcome): Promise<void> {
    await this.o.store.set(this.doneKey(key), JSON.stringify(outcome), this.doneTtlMs);
  }

  /** Waits for another try's outcome until `until` (ms since the epoch). */
  async wait(key: string, until: number, pollMs = 50): Promise<Outcome | undefined> {
    for (;;) {
      const done = await this.outcome(key);
      if (done) return done;
      const left = until - Date.now();
      if (left <= 0) return undefined;
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
    }
  }
}
