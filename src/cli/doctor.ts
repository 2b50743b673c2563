import { createWecom } from '../accounts/wecom.ts';
import { diagnoseCardSignature } from '../card-diagnose.ts';
import { loadConfig, wecomOptions } from '../config.ts';
import { type Diagnosis, diagnoseSignature } from '../diagnose.ts';
import { parseJsDomains } from '../domains.ts';
import { isWxkitError } from '../errors.ts';
import { normalizeSignUrl } from '../signature.ts';
import { pushDoctorUsage, runPushDoctor } from './doctor-push.ts';
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
  检查卡券签名（--card：wx.chooseCard 的 cardSign；--add-card：cardExt 中的 signature），指出常见错误。
wxkit doctor --agent --url U --signature X --noncestr N --timestamp S [--corp-id C] [--agent-id A]
             [--ticket APP_TICKET] [--corp-ticket CORP_TICKET] [--real-auth-url R] [--js-domain D]... [--json]
  WeCom's wx.agentConfig: checks the signature against the app's agent_config ticket (--ticket, else the
  configured WeCom app's: WX_CORP_ID…), and names wrong_ticket_kind when it was made with the corp's
  jsapi_ticket (--corp-ticket, else the configured corp's), corpid_mismatch when --corp-id (the page's
  corpid) is another corp, agentid_mismatch / agentid_type for --agent-id (a number or a string of
  digits is fine), plus every URL cause of wx.config.
  企业微信 wx.agentConfig：用应用的 agent_config ticket（--ticket，否则取已配置的企业微信应用 WX_CORP_ID…）
  校验签名；若签名用的是企业的 jsapi_ticket（--corp-ticket，否则取已配置企业的）则指出 wrong_ticket_kind；
  --corp-id（页面的 corpid）不是该企业时为 corpid_mismatch；--agent-id 不符为 agentid_mismatch，类型不对为
  agentid_type（数字或纯数字字符串均可）；并检查 wx.config 的全部 URL 问题。
${pushDoctorUsage}`;

export async function runDoctor(argv: string[], io: CliIO, ticketSource?: TicketSource): Promise<number> {
  if (argv.includes('--card') || argv.includes('--add-card')) return runCardDoctor(argv, io, ticketSource);
  if (argv.includes('--agent')) return runAgentDoctor(argv, io);
  if (argv.some((a) => a === '--push' || a.startsWith('--push='))) return runPushDoctor(argv, io);
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
  const { url, signature, nonceStr, timestamp } = signedPage(values);
  let ticket = values.ticket;
  let ticketAppId: string | undefined;
  if (ticket === undefined) {
    if (!ticketSource) {
      throw new UsageError('no --ticket given and no account configured (set WX_APP_ID and WX_APP_SECRET)');
    }
    ({ ticket, appId: ticketAppId } = await ticketSource(io));
  }
  const jsDomains = jsDomainsFlag(values['js-domain']);
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
  return report(io, d, values.json);
}

/** The configured WeCom app's tickets (the corp's `--corp-id`, the app `--agent-id` when given). */
async function wecomTickets(
  io: CliIO,
  corpId: string | undefined,
  agentId: string | undefined,
): Promise<{ app: string; corp: string; corpId: string; agentId: string }> {
  const config = loadConfig(io.env, io.cwd);
  const apps = config.wecom.filter((w) => corpId === undefined || w.corpId === corpId);
  const app = apps.find((w) => w.agentId === agentId) ?? apps[0] ?? config.wecom[0];
  if (!app) {
    throw new UsageError(
      '--agent without --ticket needs a configured WeCom app (WX_CORP_ID, WX_CORP_AGENT_ID, WX_CORP_SECRET) / 未给出 --ticket 时需要已配置的企业微信应用',
    );
  }
  const corp = createWecom(wecomOptions(config, app, io.cwd));
  try {
    const [appTicket, corpTicket] = await Promise.all([corp.ticket('agent_config'), corp.ticket('jsapi')]);
    return { app: appTicket, corp: corpTicket, corpId: app.corpId, agentId: app.agentId };
  } finally {
    await corp.close();
  }
}

/** `wxkit doctor --agent`: WeCom's wx.agentConfig, against the app ticket. */
async function runAgentDoctor(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    agent: { type: 'boolean', default: false },
    url: { type: 'string' },
    signature: { type: 'string' },
    noncestr: { type: 'string' },
    timestamp: { type: 'string' },
    ticket: { type: 'string' },
    'corp-ticket': { type: 'string' },
    'corp-id': { type: 'string' },
    'app-id': { type: 'string' },
    'agent-id': { type: 'string' },
    'real-auth-url': { type: 'string' },
    'js-domain': { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  });
  const { url, signature, nonceStr, timestamp } = signedPage(values);
  const pageCorp = values['corp-id'] ?? values['app-id'];
  const pageAgent = values['agent-id'];
  let ticket = values.ticket;
  let corpTicket = values['corp-ticket'];
  let ticketAppId: string | undefined;
  let ticketAgentId: string | undefined;
  if (ticket === undefined) {
    const t = await wecomTickets(io, pageCorp, pageAgent);
    ticket = t.app;
    corpTicket ??= t.corp;
    ticketAppId = t.corpId;
    ticketAgentId = t.agentId;
  }
  const jsDomains = jsDomainsFlag(values['js-domain']);
  const d = diagnoseSignature({
    kind: 'agentConfig',
    wecom: true,
    url,
    signature,
    nonceStr,
    timestamp,
    ticket,
    appId: pageCorp,
    ticketAppId,
    agentId: pageAgent,
    ticketAgentId,
    otherKindTickets: corpTicket === undefined ? [] : [corpTicket],
    realAuthUrl: values['real-auth-url'],
    jsDomains,
  });
  return report(io, d, values.json, 'agentConfig');
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

/** The page's signature flags, required, with the URL flags checked like the service checks them. */
function signedPage(values: {
  url?: string | undefined;
  signature?: string | undefined;
  noncestr?: string | undefined;
  timestamp?: string | undefined;
  'real-auth-url'?: string | undefined;
}): { url: string; signature: string; nonceStr: string; timestamp: string } {
  const url = required(values.url, 'url');
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
  return {
    url,
    signature: required(values.signature, 'signature'),
    nonceStr: required(values.noncestr, 'noncestr'),
    timestamp: required(values.timestamp, 'timestamp'),
  };
}

function jsDomainsFlag(values: string[] | undefined): ReturnType<typeof parseJsDomains> | undefined {
  try {
    return values ? parseJsDomains(values) : undefined;
  } catch (e) {
    throw new UsageError(`--js-domain: ${e instanceof Error ? e.message : 'invalid'}`);
  }
}

/** One line in English, one in Chinese (and the further causes), or JSON; exit 0 when right, 1 when not. */
function report(io: CliIO, d: Diagnosis, json: boolean | undefined, kind?: 'agentConfig'): number {
  if (json) {
    io.out(JSON.stringify(kind ? { kind, ...d } : d));
  } else {
    const what = kind ? { en: `wx.${kind}: `, zh: `wx.${kind}：` } : { en: '', zh: '' };
    io.out(`${d.ok ? 'OK' : 'FAIL'} [${d.code}] ${what.en}${d.en}`);
    io.out(`${d.ok ? '正确' : '错误'} [${d.code}] ${what.zh}${d.zh}`);
    for (const extra of d.causes.slice(1)) io.out(`  also [${extra.code}] ${extra.en}`);
  }
  return d.ok ? 0 : 1;
}
