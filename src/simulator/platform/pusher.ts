import { createPushCrypto } from '../../push/crypto.ts';
import { randomNonce } from '../../push/envelope.ts';
import { pushSignature } from '../../push/signature.ts';
import { writeXml } from '../../push/xml.ts';
import type { SimState } from '../state.ts';
import type { PlatformEvent, PlatformState, SimComponent } from './state.ts';

/**
 * WeChat pushing to a component's 授权事件接收URL: the verify ticket every 10 virtual minutes (while
 * pushing is on), and the authorization events, each encrypted in safe mode as XML
 * (`<xml><AppId/><Encrypt/></xml>`, `msg_signature` over the Encrypt value, receiveId = the component
 * appId). WeChat expects the answer `success`; what each push got is kept for `/__sim/platform/log`.
 */

/** One push and what the component's URL answered. */
export interface PlatformPushRecord {
  componentAppId: string;
  infoType: string;
  /** Virtual epoch seconds. */
  at: number;
  /** HTTP status, or 0 when the URL could not be reached in 5 s. */
  status: number;
  /** The answer's body (at most 200 characters). */
  answer: string;
  /** True when the answer was `success` (what WeChat wants). */
  ok: boolean;
}

/** WeChat waits this long for an answer (real milliseconds). */
const PUSH_TIMEOUT_MS = 5_000;
const LOG_LIMIT = 1_000;
/** A failed ticket push is tried again this long (real milliseconds) later. */
const RETRY_MS = 3_000;

export class PlatformPusher {
  readonly log: PlatformPushRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<unknown>>();
  /**
   * Components whose last ticket push failed, and when (real ms) to try again: the virtual clock stands
   * still unless told to move, so a platform that starts after the simulator would otherwise wait
   * for a test to advance it before its first ticket.
   */
  private retryAt = new Map<SimComponent, number>();

  constructor(
    private readonly sim: SimState,
    private readonly platform: PlatformState,
  ) {
    platform.onEvent = (c, event) => {
      this.track(this.push(c, event));
    };
  }

  /** Checks every second (real time) whether a ticket push is due on the virtual clock. */
  start(): void {
    this.timer = setInterval(() => this.tick(), 1_000);
    this.timer.unref();
    this.tick();
  }

  /** Pushes a ticket to every component that is due one. */
  tick(): void {
    for (const c of this.platform.components.values()) {
      const retry = this.retryAt.get(c);
      const due = this.platform.pushDue(c) || (retry !== undefined && Date.now() >= retry && c.pushing);
      if (due) {
        this.retryAt.delete(c);
        this.track(
          this.pushTicket(c).then((r) => {
            if (!r.ok && c.eventsUrl) this.retryAt.set(c, Date.now() + RETRY_MS);
          }),
        );
      }
    }
  }

  /** Pushes a new verify ticket now (whether or not one is due). */
  pushTicket(c: SimComponent): Promise<PlatformPushRecord> {
    const ticket = this.platform.issueVerifyTicket(c);
    return this.push(c, {
      AppId: c.componentAppId,
      CreateTime: String(this.sim.now()),
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: ticket,
    });
  }

  /** Encrypts `event` for the component and POSTs it to its events URL. */
  async push(c: SimComponent, event: PlatformEvent): Promise<PlatformPushRecord> {
    const record: PlatformPushRecord = {
      componentAppId: c.componentAppId,
      infoType: event.InfoType ?? '',
      at: this.sim.now(),
      status: 0,
      answer: '',
      ok: false,
    };
    this.log.push(record);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    if (!c.eventsUrl) return record;
    const crypto = createPushCrypto({ encodingAESKey: c.encodingAESKey, receiveId: c.componentAppId });
    const encrypt = crypto.encrypt(writeXml(event));
    const timestamp = String(this.sim.now());
    const nonce = randomNonce();
    const url = new URL(c.eventsUrl);
    url.searchParams.set('signature', pushSignature(c.token, timestamp, nonce));
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('nonce', nonce);
    url.searchParams.set('encrypt_type', 'aes');
    url.searchParams.set('msg_signature', pushSignature(c.token, timestamp, nonce, encrypt));
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: writeXml({ AppId: c.componentAppId, Encrypt: encrypt }),
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      record.status = res.status;
      record.answer = (await res.text()).slice(0, 200);
      record.ok = res.status === 200 && record.answer.trim() === 'success';
    } catch {
      record.status = 0;
    }
    return record;
  }

  /** Waits for the pushes in flight (tests, close). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}

const pushers = new WeakMap<SimState, PlatformPusher>();

/** The pusher of a simulator's open platform (created, not started, on first use). */
export function pusherOf(sim: SimState, platform: PlatformState): PlatformPusher {
  let p = pushers.get(sim);
  if (!p) {
    p = new PlatformPusher(sim, platform);
    pushers.set(sim, p);
  }
  return p;
}
