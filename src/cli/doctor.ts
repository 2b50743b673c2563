import { diagnoseCardSignature } from '../card-diagnose.ts';
import { diagnoseSignature } from '../diagnose.ts';
import { parseJsDomains } from '../domains.ts';
import { isWxkitError } from '../errors.ts';
import { normalizeSignUrl } from '../signature.ts';
import { type CliIO, parseFlags, required, UsageError } from './io.ts';
import type { TicketSource } from './sign.ts';

export const doctorUsage = `wxkit doctor --url U --signature X --noncestr N --timestamp S [--ticket T] [--app-id A]
             [--real-auth-url R] [--js-domain D]... [--json]
wxkit doctor --card [--add-card] --signature X --noncestr N --timestamp S [--card-id C] [--card-type T]
             [--shop-id L] [--code C] [--openid O] [--app-id A] [--ticket WX_CARD_TICKET] [--jsapi-ticket T] [--json]
  Says why wx.config rejects a signature, in the order of WeChat's checklist. Exit 0 when the
  signature is right, 1 when it is not, 2 on bad usage. Without --ticket, the configured
  account's current jsapi_ticket is used, and --app-id (the appId the page passed to wx.config)
  is checked against that account: another appId is the cause app_id_mismatch.
  按微信的检查顺序说明 wx.config 为什么拒绝该签名；签名正确退出 0，错误退出 1，用法错误退出 2。
  --card checks a wx.chooseCard cardSign (--add-card: the signature in wx.addCard's cardExt) against the
  wx_card ticket and names the usual mistakes: key=value pairs instead of values, the jsapi_ticket instead
  of the wx_card ticket, unsorted values, "undefined"/"null" for empty values.
  检查卡券签名（--card：wx.chooseCard 的 cardSign；--add-card：cardExt 中的 signature），指出常见错误。`;

export async function runDoctor(argv: string[], io: CliIO, ticketSource?: TicketSource): Promise<number> {
  if (argv.includes('--card') || argv.includes('--add-card')) return runCardDoctor(argv, io, ticketSource);
  const { values } = parseFlags(argv, {
    url: { type: 'string' },
    signature: { type: 'string' },
    noncestr: { type: 'string' },
    timestamp: { type: 'string' },
    ticket: { type: 'string' },
    'app-id': { type: 'string' },
    'real-auth-url': { type: 'string' },
    'js-domain': { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  });
  const url = required(values.url, 'url');
  const signature = required(values.signature, 'signature');
  const nonceStr = required(values.noncestr, 'noncestr');
  const timestamp = required(values.timestamp, 'timestamp');
  for (const [flag, value] of [
    ['url', url],
    ['real-auth-url', values['real-auth-url']],
  ] as const) {
    if (value === undefined) continue;
    try {
      normalizeSignUrl(value);
    } catch (e) {
      throw new UsageError(`--${flag}: ${isWxkitError(e) ? e.message : 'invalid URL'}`);
    }
  }
  let ticket = values.ticket;
  let ticketAppId: string | undefined;
  if (ticket === undefined) {
    if (!ticketSource) {
      throw new UsageError('no --ticket given and no account configured (set WX_APP_ID and WX_APP_SECRET)');
    }
    ({ ticket, appId: ticketAppId } = await ticketSource(io));
  }
  let jsDomains: ReturnType<typeof parseJsDomains> | undefined;
  try {
    jsDomains = values['js-domain'] ? parseJsDomains(values['js-domain']) : undefined;
  } catch (e) {
    throw new UsageError(`--js-domain: ${e instanceof Error ? e.message : 'invalid'}`);
  }
  const d = diagnoseSignature({
    url,
    signature,
    nonceStr,
    timestamp,
    ticket,
    appId: values['app-id'],
    ticketAppId,
    realAuthUrl: values['real-auth-url'],
    jsDomains,
  });
  if (values.json) {
    io.out(JSON.stringify(d));
  } else {
    io.out(`${d.ok ? 'OK' : 'FAIL'} [${d.code}] ${d.en}`);
    io.out(`${d.ok ? '正确' : '错误'} [${d.code}] ${d.zh}`);
    for (const extra of d.causes.slice(1)) io.out(`  also [${extra.code}] ${extra.en}`);
  }
  return d.ok ? 0 : 1;
}

async function runCardDoctor(argv: string[], io: CliIO, ticketSource?: TicketSource): Promise<number> {
  const { values } = parseFlags(argv, {
    card: { type: 'boolean', default: false },
    'add-card': { type: 'boolean', default: false },
    signature: { type: 'string' },
    noncestr: { type: 'string' },
    timestamp: { type: 'string' },
    'card-id': { type: 'string' },
    'card-type': { type: 'string' },
    'shop-id': { type: 'string' },
    code: { type: 'string' },
    openid: { type: 'string' },
    'app-id': { type: 'string' },
    ticket: { type: 'string' },
    'jsapi-ticket': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const kind = values['add-card'] ? 'addCard' : 'chooseCard';
  const signature = required(values.signature, 'signature');
  const nonceStr = required(values.noncestr, 'noncestr');
  const timestamp = required(values.timestamp, 'timestamp');
  if (kind === 'addCard' && !values['card-id']) throw new UsageError('--add-card needs --card-id');
  let apiTicket = values.ticket;
  let jsapiTicket = values['jsapi-ticket'];
  let appId = values['app-id'];
  if (apiTicket === undefined) {
    if (!ticketSource) {
      throw new UsageError('no --ticket given and no account configured (set WX_APP_ID and WX_APP_SECRET)');
    }
    const card = await ticketSource(io, 'wx_card');
    apiTicket = card.ticket;
    appId ??= card.appId;
    jsapiTicket ??= (await ticketSource(io, 'jsapi')).ticket;
  }
  if (kind === 'chooseCard' && appId === undefined)
    throw new UsageError('--card needs --app-id with --ticket');
  const d = diagnoseCardSignature({
    kind,
    signature,
    nonceStr,
    timestamp,
    apiTicket,
    jsapiTicket,
    appId,
    cardId: values['card-id'],
    cardType: values['card-type'],
    locationId: values['shop-id'],
    code: values.code,
    openid: values.openid,
  });
  if (values.json) {
    const { sorted: _sorted, ...rest } = d;
    io.out(JSON.stringify(rest));
  } else {
    io.out(`${d.ok ? 'OK' : 'FAIL'} [${d.code}] ${d.en}`);
    io.out(`${d.ok ? '正确' : '错误'} [${d.code}] ${d.zh}`);
  }
  return d.ok ? 0 : 1;
}
