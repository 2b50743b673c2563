import type { IndexedStore } from '../stores/types.ts';
import { platformKeys } from './keys.ts';

/**
 * The component_verify_ticket (SPEC §13): WeChat pushes a new one every 10 minutes and each is valid
 * 12 hours; there is no API to ask for one. wxkit keeps the newest it was given, with no TTL — when the
 * pushes stop, the last one keeps the component token coming for up to 12 hours — and moves forward
 * only (compare-and-set on the push's CreateTime), so a delayed retry of an old push never replaces a
 * newer ticket.
 */

/** A ticket as kept. */
export interface VerifyTicket {
  value: string;
  /** The push's CreateTime, epoch seconds: its 12 hours count from here. */
  createTime: number;
}

/** A ticket's state, for `status()`, `/readyz` and doctor. */
export type VerifyTicketHealth = 'missing' | 'fresh' | 'late' | 'expired';

/** How long a verify ticket is valid. */
export const VERIFY_TICKET_LIFETIME_MS = 12 * 3600_000;
/** Pushes come every 10 minutes: a ticket older than this means they stopped reaching us. */
export const VERIFY_TICKET_LATE_MS = 30 * 60_000;

function parse(raw: string | undefined): VerifyTicket | undefined {
  if (raw === undefined) return undefined;
  try {
    const t = JSON.parse(raw) as VerifyTicket;
    return typeof t.value === 'string' && typeof t.createTime === 'number' ? t : undefined;
  } catch {
    return undefined;
  }
}

export async function readVerifyTicket(
  store: IndexedStore,
  component: string,
): Promise<VerifyTicket | undefined> {
  return parse(await store.get(platformKeys.verifyTicket(component)));
}

/**
 * Keeps `ticket` unless the store already holds a newer one. True when it was stored (or was already
 * there). A few compare-and-set rounds settle any race between instances receiving pushes at once.
 */
export async function saveVerifyTicket(
  store: IndexedStore,
  component: string,
  ticket: VerifyTicket,
): Promise<boolean> {
  const key = platformKeys.verifyTicket(component);
  const text = JSON.stringify(ticket);
  for (let round = 0; round < 5; round++) {
    const raw = await store.get(key);
    const current = parse(raw);
    if (current && (current.createTime > ticket.createTime || current.value === ticket.value)) {
      return current.value === ticket.value;
    }
    if (await store.compareAndSet(key, raw ?? null, text)) return true;
  }
  return false;
}

/** How a ticket stands at `nowMs`. */
export function verifyTicketHealth(ticket: VerifyTicket | undefined, nowMs: number): VerifyTicketHealth {
  if (!ticket) return 'missing';
  const age = nowMs - ticket.createTime * 1000;
  if (age >= VERIFY_TICKET_LIFETIME_MS) return 'expired';
  return age >= VERIFY_TICKET_LATE_MS ? 'late' : 'fresh';
}
