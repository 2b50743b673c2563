import { isWxkitError } from '../errors.ts';
import { createNonce, createTimestamp, jssdkString1, normalizeSignUrl, signJssdk } from '../signature.ts';
import type { Account, TicketRecheck } from '../types.ts';
import { type CliIO, noAccountForTicket, parseFlags, required, UsageError } from './io.ts';

export const signUsage = `wxkit sign --url URL [--ticket T] [--noncestr N] [--timestamp S] [--json]
  Prints string1 and the wx.config signature for URL. Without --ticket, the current jsapi_ticket
  of the configured account (WX_APP_ID/WX_APP_SECRET, WXKIT_STORE) is used.
  打印 URL 的 string1 与 wx.config 签名；不带 --ticket 时使用已配置账号（WX_APP_ID/WX_APP_SECRET、
  WXKIT_STORE）当前的 jsapi_ticket。`;

/** Where the ticket a command used came from: `wxkit doctor` says it before trusting it. */
export interface TicketOrigin {
  /** `jsapi_ticket`, `wx_card_ticket`, `agent_config_ticket`. */
  kind: string;
  /** The store it was read from (`file:/path`, `redis://host:port`, `memory`). */
  store: string;
  /** True when the store held it already; false when it was fetched from WeChat for this command. */
  cached: boolean;
  /** Milliseconds since the epoch. */
  fetchedAt?: number | undefined;
  expiresAt?: number | undefined;
  /** `getticket`, `remote`… */
  source?: string | undefined;
  /** With `recheck`: what asking WeChat again did, and the ticket it replaced. */
  recheck?: TicketRecheck | undefined;
  replaced?: string | undefined;
}

const STATUS_KIND = {
  jsapi: 'jsapi_ticket',
  wx_card: 'wx_card_ticket',
  agent_config: 'agent_config_ticket',
} as const;

/**
 * An account's current ticket of `type` and where it came from (whether the store held it, its age and
 * source); with `recheck`, WeChat is asked whether it still takes it first, and a replaced ticket is
 * returned in `origin.replaced`.
 */
export async function ticketWithOrigin<T extends keyof typeof STATUS_KIND>(
  account: Account<T>,
  type: T,
  recheck = false,
): Promise<{ ticket: string; origin: TicketOrigin }> {
  const kind = STATUS_KIND[type];
  // Whether the store held it before this command: a cached ticket is only as good as its age.
  const before = (await account.status()).credentials.find((c) => c.kind === kind);
  let ticket = await account.ticket(type);
  const rechecked = recheck && account.recheckTicket ? await account.recheckTicket(type, ticket) : undefined;
  const replaced = rechecked?.refreshed ? ticket : undefined;
  if (replaced !== undefined) ticket = await account.ticket(type);
  const status = await account.status();
  const now = status.credentials.find((c) => c.kind === kind);
  return {
    ticket,
    origin: {
      kind,
      store: status.store,
      cached: before?.cached === true && before.expiresAt !== undefined,
      fetchedAt: now?.fetchedAt,
      expiresAt: now?.expiresAt,
      source: now?.source,
      recheck: rechecked,
      replaced,
    },
  };
}

/**
 * The configured account's current ticket (`jsapi` unless asked for the `wx_card` one), its JS-safe
 * domains and where the ticket came from; `recheck` asks WeChat whether it still takes the ticket.
 */
export type TicketSource = (
  io: CliIO,
  type?: 'jsapi' | 'wx_card',
  options?: { recheck?: boolean },
) => Promise<{ ticket: string; appId: string; jsDomains?: string[]; origin?: TicketOrigin }>;

export async function runSign(argv: string[], io: CliIO, ticketSource?: TicketSource): Promise<number> {
  const { values } = parseFlags(argv, {
    url: { type: 'string' },
    ticket: { type: 'string' },
    noncestr: { type: 'string' },
    timestamp: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const rawUrl = required(values.url, 'url');
  let url: string;
  try {
    url = normalizeSignUrl(rawUrl);
  } catch (e) {
    throw new UsageError(
      isWxkitError(e) ? e.message : 'invalid --url',
      isWxkitError(e) ? e.messageZh : '--url 无效',
    );
  }
  const timestamp = values.timestamp ?? String(createTimestamp());
  if (!/^\d{1,12}$/.test(timestamp))
    throw new UsageError(
      '--timestamp must be integer seconds since the epoch',
      '--timestamp 必须是整数秒（Unix 时间戳）',
    );
  const nonceStr = values.noncestr ?? createNonce();
  if (nonceStr === '' || /[&=\s]/.test(nonceStr))
    throw new UsageError(
      '--noncestr must be non-empty without &, = or spaces',
      '--noncestr 不能为空，且不能含 &、= 或空格',
    );
  let ticket = values.ticket;
  let appId: string | undefined;
  if (ticket === undefined) {
    if (!ticketSource) throw noAccountForTicket();
    ({ ticket, appId } = await ticketSource(io));
  }
  const input = { ticket, nonceStr, timestamp, url };
  const signature = signJssdk(input);
  if (values.json) {
    io.out(
      JSON.stringify({
        ...(appId ? { appId } : {}),
        url,
        nonceStr,
        timestamp: Number(timestamp),
        signature,
        string1: jssdkString1(input),
      }),
    );
  } else {
    io.out(`string1:   ${jssdkString1(input)}`);
    io.out(`signature: ${signature}`);
  }
  return 0;
}
