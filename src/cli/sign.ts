import { isWxkitError } from '../errors.ts';
import { createNonce, createTimestamp, jssdkString1, normalizeSignUrl, signJssdk } from '../signature.ts';
import { type CliIO, parseFlags, required, UsageError } from './io.ts';

export const signUsage = `wxkit sign --url URL [--ticket T] [--noncestr N] [--timestamp S] [--json]
  Prints string1 and the wx.config signature for URL. Without --ticket, the current jsapi_ticket
  of the configured account (WX_APP_ID/WX_APP_SECRET, WXKIT_STORE) is used.
  打印 URL 的 string1 与 wx.config 签名；不带 --ticket 时使用已配置账号（WX_APP_ID/WX_APP_SECRET、
  WXKIT_STORE）当前的 jsapi_ticket。`;

/** Finds the current ticket of the configured account; provided by the credential layer. */
/** The configured account's current ticket (`jsapi` unless asked for the `wx_card` one). */
export type TicketSource = (
  io: CliIO,
  type?: 'jsapi' | 'wx_card',
) => Promise<{ ticket: string; appId: string }>;

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
    throw new UsageError(isWxkitError(e) ? e.message : 'invalid --url');
  }
  const timestamp = values.timestamp ?? String(createTimestamp());
  if (!/^\d{1,12}$/.test(timestamp))
    throw new UsageError('--timestamp must be integer seconds since the epoch');
  const nonceStr = values.noncestr ?? createNonce();
  if (nonceStr === '' || /[&=\s]/.test(nonceStr))
    throw new UsageError('--noncestr must be non-empty without &, = or spaces');
  let ticket = values.ticket;
  let appId: string | undefined;
  if (ticket === undefined) {
    if (!ticketSource) {
      throw new UsageError('no --ticket given and no account configured (set WX_APP_ID and WX_APP_SECRET)');
    }
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
