import { deliverLate } from '../push/deliver.ts';
import { dedupeKey } from '../push/ledger.ts';
import type { PushMessage } from '../push/message.ts';
import { toReply } from '../push/reply.ts';
import type { PushAccountConfig } from '../push-config.ts';
import type { Store } from '../stores/types.ts';
import type { Account } from '../types.ts';
import { deliverRound, type ForwardPlan, forwardMessage, replyOf } from './push-forward.ts';
import { Outbox, type OutboxEntry } from './push-outbox.ts';

/**
 * The service's side of message push: it turns each message the push handler hands over into forwards
 * (./push-forward.ts), keeps what did not go through in the outbox (./push-outbox.ts), and sweeps the
 * outbox in the background — delivering late replies of the first URL through custom/send.
 */

/** The key of an account's push settings: the appId, or `corpId#agentId` for a WeCom app. */
export function pushKeyOf(account: Account): string {
  const agentId = (account as { agentId?: unknown }).agentId;
  return account.type === 'wecom' && typeof agentId === 'string'
    ? `${account.appId}#${agentId}`
    : account.appId;
}

/** An account the relay forwards for that is not in `configs` (a third-party platform's authorizer). */
export interface ResolvedPushAccount {
  config: PushAccountConfig;
  account: Account;
  /** Added to every forwarded body (`componentAppId`). */
  fields?: Readonly<Record<string, string>> | undefined;
}

export interface PushRelayOptions {
  /** Push settings by {@link pushKeyOf}. */
  configs: ReadonlyMap<string, PushAccountConfig>;
  /**
   * Accounts not known at start, by key: a platform's authorized accounts arrive and leave while it
   * runs, and the outbox of any instance must still find them.
   */
  resolve?: ((key: string) => ResolvedPushAccount | undefined) | undefined;
  /** The store shared by every instance (de-duplication and the outbox). */
  store: Store;
  forwardSecret: string | undefined;
  forwardTimeoutMs: number;
  /** How often the outbox is swept. @default 1000 */
  sweepEveryMs?: number;
  log?: (entry: Record<string, unknown>) => void;
  now?: () => number;
}

export class PushRelay {
  readonly outbox: Outbox;
  private readonly accounts = new Map<string, Account>();
  private readonly endpoints = new Set<{ drain(): Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(private readonly o: PushRelayOptions) {
    this.outbox = new Outbox(o.store, o.now);
  }

  config(account: Account): PushAccountConfig | undefined {
    return this.o.configs.get(pushKeyOf(account));
  }

  private plan(config: PushAccountConfig, appId: string): ForwardPlan {
    const log = this.o.log;
    return {
      urls: config.forward,
      secret: this.o.forwardSecret,
      timeoutMs: this.o.forwardTimeoutMs,
      ...(log ? { log: (e: Record<string, unknown>) => log({ appId, ...e }) } : {}),
    };
  }

  /** The forwarded JSON: which account, the message id (stable across WeChat's tries) and the message. */
  private body(account: Account, id: string, message: PushMessage, key: string): string {
    const agentId = (account as { agentId?: unknown }).agentId;
    return JSON.stringify({
      appId: account.appId,
      ...(account.type === 'wecom' && typeof agentId === 'string' ? { agentId } : {}),
      ...(this.o.configs.has(key) ? {} : this.o.resolve?.(key)?.fields),
      id,
      message,
    });
  }

  private configOf(key: string): PushAccountConfig | undefined {
    return this.o.configs.get(key) ?? this.o.resolve?.(key)?.config;
  }

  /**
   * The `onMessage` of one account: forward, keep what failed, answer with URL 0's reply. `key` names
   * an account outside `configs` (see {@link PushRelayOptions.resolve}).
   */
  async onMessage(account: Account, message: PushMessage, key = pushKeyOf(account)): Promise<unknown> {
    const config = this.configOf(key);
    if (!config || config.forward.length === 0) return undefined;
    // Resolved accounts are found again through resolve(): memory does not grow with a platform's accounts.
    if (this.o.configs.has(key)) this.accounts.set(key, account);
    const id = dedupeKey(message);
    const body = this.body(account, id, message, key);
    return forwardMessage(this.plan(config, account.appId), id, body, async (pending) => {
      try {
        await this.outbox.add({ id, account: key, body, pending, user: message.FromUserName, attempts: 1 });
      } catch (e) {
        this.o.log?.({
          level: 'error',
          msg: 'push forward failed and the outbox is unavailable: the message is not kept',
          appId: account.appId,
          messageId: id,
          error: e instanceof Error ? e.message.slice(0, 200) : 'error',
        });
      }
    });
  }

  /** One delivery round of an outbox entry; a reply of URL 0 goes to the user through custom/send. */
  private async deliver(entry: OutboxEntry): Promise<number[]> {
    const config = this.configOf(entry.account);
    const account = this.accounts.get(entry.account) ?? this.o.resolve?.(entry.account)?.account;
    if (!config || !account) return entry.pending;
    const plan = this.plan(config, account.appId);
    const answers = new Map<number, string>();
    const { pending } = await deliverRound(plan, entry.pending, entry.id, entry.body, answers);
    const reply = replyOf(plan, entry.id, answers.get(0));
    if (reply !== undefined) {
      try {
        const r = toReply(reply);
        if (r.type !== 'success') await deliverLate(account, r, { FromUserName: entry.user } as PushMessage);
      } catch (e) {
        this.o.log?.({
          level: 'error',
          msg: 'late reply from the outbox could not be sent',
          appId: account.appId,
          messageId: entry.id,
          error: e instanceof Error ? e.message.slice(0, 200) : 'error',
        });
      }
    }
    return pending;
  }

  /** Knows the accounts whose outbox entries it may deliver (every instance, not only the one that failed). */
  register(accounts: readonly Account[]): void {
    for (const a of accounts) if (this.config(a)) this.accounts.set(pushKeyOf(a), a);
  }

  /** Sweeps the outbox once (also what the timer does). */
  sweep(): Promise<number> {
    const run = this.outbox.sweep(
      (entry) => this.deliver(entry),
      (entry) =>
        this.o.log?.({
          level: 'error',
          msg: 'push forward gave up: the message was not delivered within 48 hours',
          messageId: entry.id,
          account: entry.account,
          attempts: entry.attempts,
        }),
    );
    return run;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((e: unknown) =>
          this.o.log?.({
            level: 'warn',
            msg: 'push outbox sweep failed',
            error: e instanceof Error ? e.message.slice(0, 200) : 'error',
          }),
        )
        .finally(() => {
          this.sweeping = undefined;
        });
    }, this.o.sweepEveryMs ?? 1_000);
    this.timer.unref();
  }

  /** An endpoint whose late replies {@link stop} waits for. */
  track(endpoint: { drain(): Promise<void> }): void {
    this.endpoints.add(endpoint);
  }

  /**
   * Stops the sweeper and waits (up to `graceMs`) for late replies still on their way, so a restart
   * does not drop an answer the user is waiting for.
   */
  async stop(graceMs = 10_000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([
      Promise.allSettled([this.sweeping, ...[...this.endpoints].map((e) => e.drain())]),
      grace,
    ]);
    clearTimeout(timer);
  }
}
