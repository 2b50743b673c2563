import { randomBytes } from 'node:crypto';
import { encryptAead } from '../../pay/aead.ts';
import { wechatpayHeaders } from './http.ts';
import { type PayState, payTime, type SimMch } from './state.ts';

/**
 * WeChat Pay's notifications: POSTed to the order's notify_url until it answers 200 or 204, on
 * WeChat's schedule (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, about 24 h; see
 * docs/wechat-facts.md) counted on the simulator's virtual clock. Each try is signed afresh. Every
 * third notification is preceded by a `WECHATPAY/SIGNTEST/` probe, which a correct receiver refuses.
 */

/** Seconds between tries after the first. */
export const NOTIFY_RETRY_SCHEDULE = [
  15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
] as const;

/** Real milliseconds the simulator waits for the merchant's answer (WeChat: 5 s). */
export const NOTIFY_TIMEOUT_MS = 5_000;

/** One try, as `GET /__sim/pay/notifications` shows it. */
export interface NotifyAttempt {
  /** Virtual epoch seconds. */
  at: number;
  /** The HTTP status, or `network` / `timeout`. */
  result: number | 'network' | 'timeout';
  /** A SIGNTEST probe: a 2xx answer to it means the receiver does not check signatures. */
  probe?: true;
  /** The Wechatpay-* headers sent (what a merchant needs to reproduce a try). */
  headers: Record<string, string>;
}

/** One notification and its tries. */
export interface SimNotification {
  id: string;
  mchId: string;
  url: string;
  eventType: string;
  outTradeNo: string;
  body: string;
  attempts: NotifyAttempt[];
  /** Virtual epoch seconds of the next try. */
  nextAt: number;
  status: 'pending' | 'delivered' | 'abandoned';
  /** True when the receiver accepted a SIGNTEST probe (it does not verify). */
  probeAccepted: boolean;
  probeDue: boolean;
}

export class Notifier {
  readonly log: SimNotification[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private count = 0;
  /** Every n-th notification gets a SIGNTEST probe first; 0 turns probes off. */
  probeEvery = 3;

  constructor(private readonly pay: PayState) {}

  /** Queues a notification and tries it at once. */
  send(
    mch: SimMch,
    url: string,
    event: {
      eventType: string;
      summary: string;
      originalType: string;
      outTradeNo: string;
      resource: unknown;
    },
  ): SimNotification {
    const now = this.pay.sim.now();
    const id = `${randomBytes(16).toString('hex').slice(0, 8)}-${randomBytes(16).toString('hex').slice(0, 16)}`;
    const resource = {
      original_type: event.originalType,
      ...encryptAead(
        Buffer.from(mch.keys.apiV3Key, 'utf8'),
        JSON.stringify(event.resource),
        event.originalType,
      ),
    };
    const body = JSON.stringify({
      id,
      create_time: payTime(now),
      resource_type: 'encrypt-resource',
      event_type: event.eventType,
      summary: event.summary,
      resource,
    });
    this.count += 1;
    const n: SimNotification = {
      id,
      mchId: mch.mchId,
      url,
      eventType: event.eventType,
      outTradeNo: event.outTradeNo,
      body,
      attempts: [],
      nextAt: now,
      status: 'pending',
      probeAccepted: false,
      probeDue: this.probeEvery > 0 && this.count % this.probeEvery === 0,
    };
    this.log.push(n);
    if (this.log.length > 1000) this.log.shift();
    this.pump();
    return n;
  }

  /** Starts every try that is due on the virtual clock (one per notification per call). */
  pump(): void {
    const now = this.pay.sim.now();
    for (const n of this.log) {
      if (n.status !== 'pending' || n.nextAt > now || busy.has(n)) continue;
      const p = this.attempt(n).finally(() => {
        this.inFlight.delete(p);
        busy.delete(n);
      });
      busy.add(n);
      this.inFlight.add(p);
    }
  }

  /** Resolves once every try in flight has its answer. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async attempt(n: SimNotification): Promise<void> {
    const mch = this.pay.mch(n.mchId);
    if (!mch) return;
    const scheduledAt = n.nextAt;
    if (n.probeDue) {
      n.probeDue = false;
      const probe = await this.post(n, mch, true);
      n.attempts.push({ at: this.pay.sim.now(), result: probe.result, probe: true, headers: probe.headers });
      if (typeof probe.result === 'number' && probe.result >= 200 && probe.result < 300)
        n.probeAccepted = true;
    }
    const { result, headers } = await this.post(n, mch, false);
    n.attempts.push({ at: this.pay.sim.now(), result, headers });
    if (result === 200 || result === 204) {
      n.status = 'delivered';
      return;
    }
    const tries = n.attempts.filter((a) => !a.probe).length;
    const wait = NOTIFY_RETRY_SCHEDULE[tries - 1];
    if (wait === undefined) n.status = 'abandoned';
    else n.nextAt = scheduledAt + wait;
  }

  private async post(
    n: SimNotification,
    mch: SimMch,
    probe: boolean,
  ): Promise<{ result: NotifyAttempt['result']; headers: Record<string, string> }> {
    const signed = wechatpayHeaders(
      this.pay,
      mch,
      n.body,
      probe ? (real) => `WECHATPAY/SIGNTEST/${real}` : undefined,
    );
    const headers = { 'content-type': 'application/json', 'user-agent': 'Mozilla/4.0', ...signed };
    const timeout = AbortSignal.timeout(NOTIFY_TIMEOUT_MS);
    try {
      const res = await fetch(n.url, {
        method: 'POST',
        headers,
        body: n.body,
        signal: timeout,
        redirect: 'manual',
      });
      await res.arrayBuffer();
      return { result: res.status, headers: signed };
    } catch {
      return { result: timeout.aborted ? 'timeout' : 'network', headers: signed };
    }
  }
}

// Notifications with a try in flight (module-level so `log` stays plain data for the control API).
const busy = new WeakSet<SimNotification>();
