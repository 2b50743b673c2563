import { ErrorCodes, WxkitError } from '../errors.ts';
import type { IndexedStore } from '../stores/types.ts';
import { platformKeys } from './keys.ts';

/**
 * The component_verify_ticket: WeChat pushes a new one every 10 minutes and each is valid
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

/** The cause, in both languages, when the last ticket is over 12 hours old (status, /readyz, doctor, errors). */
export const TICKET_EXPIRED_CAUSE = {
  en: 'component_verify_ticket older than 12 h: check the 授权事件接收URL (POST /platform/events) — WeChat’s pushes (every 10 minutes) are not reaching this service, so the component token cannot be renewed',
  zh: 'component_verify_ticket 已超过 12 小时：请检查「授权事件接收URL」（POST /platform/events）——微信每 10 分钟一次的推送未到达本服务，component_access_token 无法续期',
} as const;

/**
 * What a component-token fetch gets once the last ticket is over 12 hours old: the cause rather than
 * WeChat's bare 61005 (whose number it carries), and when the last push came.
 */
export function ticketExpired(component: string, ticket: VerifyTicket, nowMs: number): WxkitError {
  const hours = Math.floor((nowMs - ticket.createTime * 1000) / 3600_000);
  return new WxkitError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    `${TICKET_EXPIRED_CAUSE.en} (${component}: the last ticket was pushed ${hours} h ago)`,
    {
      zh: `${TICKET_EXPIRED_CAUSE.zh}（${component}：最近一次 ticket 推送在 ${hours} 小时前）`,
      errcode: 61005,
      retryAfter: 60,
      hint: {
        en: 'Make the 授权事件接收URL configured on open.weixin.qq.com reach POST /platform/events and answer `success`; the next push (within 10 minutes) brings the component token back at once.',
        zh: '请让开放平台配置的「授权事件接收URL」能访问到 POST /platform/events 并回复 success；下一次推送（10 分钟内）到达后 component_access_token 会立即恢复。',
      },
    },
  );
}
