import type { TicketRecheck } from '../types.ts';
import type { StoreLink } from './custody.ts';
import type { Fetched } from './upstream.ts';

/**
 * Heals a wrong ticket (SPEC §10). When pages signed correctly with the ticket wxkit holds still get
 * `config:invalid signature`, WeChat no longer accepts that ticket (it ended early, or wxkit's clock and
 * WeChat's disagree) and wxkit would keep handing it out until its own expiry. A re-check asks getticket
 * once with the current token; a different answer replaces the held ticket (compare-and-replace: only if
 * it is still the one the pages were signed with).
 *
 * Re-checks are rate-limited per account and ticket type: once per `intervalMs` in the process, and
 * across every process sharing the store by a lock that is taken and never released (its lease is the
 * window), so a flood of failing pages — or an anonymous caller posting diagnoses — makes one upstream
 * call per window, not one per request.
 */
export interface TicketRecheckDeps {
  appId: string;
  link: StoreLink;
  /** wxkit's clock, milliseconds. */
  now: () => number;
  /** At most one re-check per account and type in this window. */
  intervalMs: number;
  /** Asks for the ticket with the current token (and the one-retry token rule). */
  fetch: (type: string) => Promise<Fetched>;
  /** Replaces `expected` by `fetched` if it is still the held ticket; resolves to the ticket now held. */
  replace: (type: string, expected: string, fetched: Fetched) => Promise<string>;
  /** Holds the store's ticket if it is another than `expected` (no upstream call); true when it did. */
  adopt: (type: string, expected: string) => Promise<boolean>;
}

export class TicketRechecker {
  private readonly last = new Map<string, number>();

  constructor(private readonly d: TicketRecheckDeps) {}

  /** Re-checks the ticket the pages were signed with (`expected`), unless one was re-checked recently. */
  async run(type: string, expected: string): Promise<TicketRecheck> {
    const now = this.d.now();
    const last = this.last.get(type);
    if (last !== undefined && now - last < this.d.intervalMs) {
      return this.limited(type, expected, this.d.intervalMs - (now - last));
    }
    this.last.set(type, now);
    const lock = await this.d.link.run((s) =>
      s.tryLock(`wxkit:${this.d.appId}:${type}_ticket:recheck`, this.d.intervalMs),
    );
    // Another process re-checked within the window (a store that does not answer limits in-process only).
    if (lock.ok && lock.value === undefined) return this.limited(type, expected, this.d.intervalMs);
    try {
      const fetched = await this.d.fetch(type);
      if (fetched.value === expected) return { rechecked: true, refreshed: false };
      const held = await this.d.replace(type, expected, fetched);
      return { rechecked: true, refreshed: held !== expected };
    } catch (e) {
      // WeChat refused or did not answer: the diagnosis still goes out, saying the re-check failed.
      const code = (e as { code?: unknown }).code;
      return {
        rechecked: false,
        refreshed: false,
        reason: 'failed',
        ...(typeof code === 'string' ? { error: code } : {}),
      };
    }
  }

  /**
   * Re-checked moments ago, here or by another instance: that re-check may have stored a new ticket
   * while this process still signs with `expected`. Hold the store's ticket then (no upstream call), so
   * this instance's pages stop failing now rather than at its next periodic re-read.
   */
  private async limited(type: string, expected: string, waitMs: number): Promise<TicketRecheck> {
    const adopted = await this.d.adopt(type, expected).catch(() => false);
    return { ...limited(waitMs), refreshed: adopted };
  }
}

function limited(waitMs: number): TicketRecheck {
  return { rechecked: false, refreshed: false, reason: 'rate_limited', retryAfter: Math.ceil(waitMs / 1000) };
}
