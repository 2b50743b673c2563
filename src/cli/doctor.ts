import { createWecom } from '../accounts/wecom.ts';
import { diagnoseCardSignature } from '../card-diagnose.ts';
import { loadConfig, wecomOptions } from '../config.ts';
import { type Diagnosis, diagnoseSignature } from '../diagnose.ts';
import { parseJsDomains } from '../domains.ts';
import { isWxkitError } from '../errors.ts';
import { normalizeSignUrl } from '../signature.ts';
import { payDoctorUsage, runPayDoctor } from './doctor-pay.ts';
import { platformDoctorUsage, runPlatformDoctor } from './doctor-platform.ts';
import { pushDoctorUsage, runPushDoctor } from './doctor-push.ts';
import { type CliIO, duration, noAccountForTicket, parseFlags, required, UsageError } from './io.ts';
import { type TicketOrigin, type TicketSource, ticketWithOrigin } from './sign.ts';

export const doctorUsage = `wxkit doctor --url U --signature X --noncestr N --timestamp S [--ticket T] [--app-id A]
             [--errmsg E] [--real-auth-url R] [--js-domain D]... [--json]
wxkit doctor --card [--add-card] --signature X --noncestr N --timestamp S [--card-id C] [--card-type T]
             [--shop-id L] [--code C] [--openid O] [--app-id A] [--ticket WX_CARD_TICKET] [--jsapi-ticket T] [--json]
  Says why wx.config rejects a signature, in the order of WeChat's checklist. Exit 0 when the
  signature is right, 1 when it is not, 2 on bad usage. Without --ticket, the configured
  account's current jsapi_ticket is used, and --app-id (the appId the page passed to wx.config)
  is checked against that account: another appId is the cause app_id_mismatch. That ticket is shown
  with its store, age and source; --errmsg 'config:invalid signature' (the page's errMsg) re-checks it
  with WeChat first (stale_ticket when WeChat had ended it). --errmsg 'config:invalid url domain' says
  whether only the domain binding in WeChat's backend is missing. Domains: --js-domain, else
  WX_JS_DOMAINS, else the configured account's.
  按微信的检查顺序说明 wx.config 为什么拒绝该签名；签名正确退出 0，错误退出 1，用法错误退出 2。
  不带 --ticket 时使用已配置账号当前的 jsapi_ticket，并显示其存储、已用时长与来源；--errmsg（页面收到的
  errMsg）为 'config:invalid signature' 时先向微信重新核对该票据（微信已结束它时为 stale_ticket）；为
  'config:invalid url domain' 时说明是否只是公众号后台未绑定域名。域名取 --js-domain，否则 WX_JS_DOMAINS，
  否则已配置账号的域名。
  --card checks a wx.chooseCard cardSign (--add-card: the signature in wx.addCard's cardExt) against the
  wx_card ticket and names the usual mistakes: key=value pairs instead of values, the jsapi_ticket instead
  of the wx_card ticket, unsorted values, "undefined"/"null" for empty values.
  检查卡券签名（--card：wx.chooseCard 的 cardSign；--add-card：cardExt 中的 signature），指出常见错误。
wxkit doctor --agent --url U --signature X --noncestr N --timestamp S [--corp-id C] [--agent-id A]
             [--ticket APP_TICKET] [--corp-ticket CORP_TICKET] [--errmsg E] [--real-auth-url R] [--js-domain D]... [--json]
  WeCom's wx.agentConfig: checks the signature against the app's agent_config ticket (--ticket, else the
  configured WeCom app's: WX_CORP_ID…), and names wrong_ticket_kind when it was made with the corp's
  jsapi_ticket (--corp-ticket, else the configured corp's), corpid_mismatch when --corp-id (the page's
  corpid) is another corp, agentid_mismatch / agentid_type for --agent-id (a number or a string of
  digits is fine), plus every URL cause of wx.config.
  企业微信 wx.agentConfig：用应用的 agent_config ticket（--ticket，否则取已配置的企业微信应用 WX_CORP_ID…）
  校验签名；若签名用的是企业的 jsapi_ticket（--corp-ticket，否则取已配置企业的）则指出 wrong_ticket_kind；
  --corp-id（页面的 corpid）不是该企业时为 corpid_mismatch；--agent-id 不符为 agentid_mismatch，类型不对为
  agentid_type（数字或纯数字字符串均可）；并检查 wx.config 的全部 URL 问题。
${pushDoctorUsage}
${payDoctorUsage}
${platformDoctorUsage}`;

export async function runDoctor(argv: string[], io: CliIO, ticketSource?: TicketSource): Promise<number> {
  if (argv.includes('--card') || argv.includes('--add-card')) return runCardDoctor(argv, io, ticketSource);
  if (argv.includes('--agent')) return runAgentDoctor(argv, io);
  if (argv.some((a) => a === '--push' || a.startsWith('--push='))) return runPushDoctor(argv, io);
  if (argv.includes('--pay')) return runPayDoctor(argv, io);
  // A platform set-up: `--platform`, or plain `wxkit doctor` where WX_COMPONENT_APP_ID is set.
  if (argv.includes('--platform') || (argv.length === 0 && io.env.WX_COMPONENT_APP_ID?.trim())) {
    return runPlatformDoctor(argv, io);
  }
  const { values } = parseFlags(argv, {
    url: { type: 'string' },
    signature: { type: 'string' },
    noncestr: { type: 'string' },
    timestamp: { type: 'string' },
    ticket: { type: 'string' },
    'app-id': { type: 'string' },
    'real-auth-url': { type: 'string' },
    'js-domain': { type: 'string', multiple: true },
    errmsg: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const { url, signature, nonceStr, timestamp } = signedPage(values);
  const errMsg = values.errmsg;
  let ticket = values.ticket;
  let ticketAppId: string | undefined;
  let accountDomains: string[] | undefined;
  let origin: TicketOrigin | undefined;
  if (ticket === undefined) {
    if (!ticketSource) throw noAccountForTicket();
    ({
      ticket,
      appId: ticketAppId,
      jsDomains: accountDomains,
      origin,
    } = await ticketSource(io, 'jsapi', { recheck: rechecks(errMsg) }));
  }
  const jsDomains = jsDomainsFlag(values['js-domain'], io.env.WX_JS_DOMAINS, accountDomains);
  const d = diagnoseSignature({
    url,
    signature,
    nonceStr,
    timestamp,
    ticket,
    appId: values['app-id'],
    ticketAppId,
    // The ticket WeChat no longer took: a signature made with it is stale_ticket.
    otherTickets: origin?.replaced
      ? [{ ticket: origin.replaced, appId: ticketAppId, stale: true }]
      : undefined,
    realAuthUrl: values['real-auth-url'],
    errMsg,
    jsDomains,
  });
  return report(io, d, values.json, undefined, origin);
}

/** The configured WeCom app's tickets (the corp's `--corp-id`, the app `--agent-id` when given). */
async function wecomTickets(
  io: CliIO,
  corpId: string | undefined,
  agentId: string | undefined,
  recheck: boolean,
): Promise<{
  app: string;
  corp: string;
  corpId: string;
  agentId: string;
  jsDomains: string[];
  origin: TicketOrigin;
}> {
  const config = loadConfig(io.env, io.cwd);
  const apps = config.wecom.filter((w) => corpId === undefined || w.corpId === corpId);
  const app = apps.find((w) => w.agentId === agentId) ?? apps[0] ?? config.wecom[0];
  if (!app) {
    throw new UsageError(
      '--agent without --ticket needs a configured WeCom app (WX_CORP_ID, WX_CORP_AGENT_ID, WX_CORP_SECRET)',
      '--agent 未给出 --ticket 时需要已配置的企业微信应用（WX_CORP_ID、WX_CORP_AGENT_ID、WX_CORP_SECRET）',
    );
  }
  const corp = createWecom(wecomOptions(config, app, io.cwd));
  try {
    const [{ ticket: appTicket, origin }, corpTicket] = await Promise.all([
      ticketWithOrigin(corp, 'agent_config', recheck),
      corp.ticket('jsapi'),
    ]);
    return {
      origin,
      app: appTicket,
      corp: corpTicket,
      corpId: app.corpId,
      agentId: app.agentId,
      jsDomains: app.jsDomains,
    };
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
    errmsg: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const { url, signature, nonceStr, timestamp } = signedPage(values);
  const pageCorp = values['corp-id'] ?? values['app-id'];
  const pageAgent = values['agent-id'];
  let ticket = values.ticket;
  let corpTicket = values['corp-ticket'];
  let ticketAppId: string | undefined;
  let ticketAgentId: string | undefined;
  let appDomains: string[] | undefined;
  let origin: TicketOrigin | undefined;
  if (ticket === undefined) {
    const t = await wecomTickets(io, pageCorp, pageAgent, rechecks(values.errmsg));
    origin = t.origin;
    ticket = t.app;
    corpTicket ??= t.corp;
    ticketAppId = t.corpId;
    ticketAgentId = t.agentId;
    appDomains = t.jsDomains;
  }
  // WX_JS_DOMAINS is the Official Account's list; a WeCom app's trusted domains come from its config.
  const jsDomains = jsDomainsFlag(values['js-domain'], undefined, appDomains);
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
    otherTickets: origin?.replaced
      ? [{ ticket: origin.replaced, appId: ticketAppId, stale: true }]
      : undefined,
    realAuthUrl: values['real-auth-url'],
    errMsg: values.errmsg,
    jsDomains,
  });
  return report(io, d, values.json, 'agentConfig', origin);
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
  if (kind === 'addCard' && !values['card-id'])
    throw new UsageError('--add-card needs --card-id', '--add-card 需要 --card-id');
  let apiTicket = values.ticket;
  let jsapiTicket = values['jsapi-ticket'];
  let appId = values['app-id'];
  let origin: TicketOrigin | undefined;
  if (apiTicket === undefined) {
    if (!ticketSource) throw noAccountForTicket();
    const card = await ticketSource(io, 'wx_card');
    origin = card.origin;
    apiTicket = card.ticket;
    appId ??= card.appId;
    jsapiTicket ??= (await ticketSource(io, 'jsapi')).ticket;
  }
  if (kind === 'chooseCard' && appId === undefined)
    throw new UsageError('--card needs --app-id with --ticket', '--card 与 --ticket 同用时需要 --app-id');
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
    io.out(JSON.stringify(origin ? { ...rest, ticket: withoutTicket(origin) } : rest));
  } else {
    io.out(`${d.ok ? 'OK' : 'FAIL'} [${d.code}] ${d.en}`);
    io.out(`${d.ok ? '正确' : '错误'} [${d.code}] ${d.zh}`);
    if (origin) for (const line of describeOrigin(origin, d.ok, false)) io.out(line);
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
      throw new UsageError(
        `--${flag}: ${isWxkitError(e) ? e.message : 'invalid URL'}`,
        `--${flag} 无效：${isWxkitError(e) ? e.messageZh : 'URL 无效'}`,
      );
    }
  }
  return {
    url,
    signature: required(values.signature, 'signature'),
    nonceStr: required(values.noncestr, 'noncestr'),
    timestamp: required(values.timestamp, 'timestamp'),
  };
}

/** `--js-domain` flags, else `WX_JS_DOMAINS`, else the configured account's domains (as the service checks them). */
function jsDomainsFlag(
  values: string[] | undefined,
  env: string | undefined,
  account: string[] | undefined,
): ReturnType<typeof parseJsDomains> | undefined {
  const [name, list] = values
    ? ['--js-domain', values]
    : env?.trim()
      ? ['WX_JS_DOMAINS', env]
      : ['the configured jsDomains', account];
  try {
    return list && list.length > 0 ? parseJsDomains(list) : undefined;
  } catch (e) {
    const why = e instanceof Error ? e.message : 'invalid';
    throw new UsageError(`${name}: ${why}`, `${name} 无效：${why}`);
  }
}

/**
 * One line in English, one in Chinese (and the further causes), or JSON; exit 0 when right, 1 when not.
 * With a ticket from the store, where it came from and how old it is: "right" only means right for
 * the ticket wxkit holds, and WeChat may have replaced that one.
 */
function report(
  io: CliIO,
  d: Diagnosis,
  json: boolean | undefined,
  kind?: 'agentConfig',
  origin?: TicketOrigin,
): number {
  if (json) {
    const ticket = origin ? { ticket: withoutTicket(origin) } : {};
    io.out(JSON.stringify(kind ? { kind, ...d, ...ticket } : { ...d, ...ticket }));
  } else {
    const what = kind ? { en: `wx.${kind}: `, zh: `wx.${kind}：` } : { en: '', zh: '' };
    io.out(`${d.ok ? 'OK' : 'FAIL'} [${d.code}] ${what.en}${d.en}`);
    io.out(`${d.ok ? '正确' : '错误'} [${d.code}] ${what.zh}${d.zh}`);
    for (const extra of d.causes.slice(1)) {
      io.out(`  also [${extra.code}] ${extra.en}`);
      io.out(`  另有 [${extra.code}] ${extra.zh}`);
    }
    if (origin) for (const line of describeOrigin(origin, d.ok)) io.out(line);
  }
  return d.ok ? 0 : 1;
}

function withoutTicket(origin: TicketOrigin): Omit<TicketOrigin, 'replaced'> & { replaced?: boolean } {
  const { replaced, ...rest } = origin;
  return replaced === undefined ? rest : { ...rest, replaced: true };
}

/** The page says its signature was refused: ask WeChat whether it still takes the cached ticket. */
function rechecks(errMsg: string | undefined): boolean {
  return errMsg !== undefined && /invalid signature/i.test(errMsg);
}

/** The ticket's store, age and source, and what asking WeChat again found — in both languages. */
function describeOrigin(o: TicketOrigin, ok: boolean, canRecheck = true): string[] {
  const now = Date.now();
  const age = o.fetchedAt === undefined ? '?' : duration(now - o.fetchedAt);
  const left = o.expiresAt === undefined ? '?' : duration(o.expiresAt - now);
  const how = o.cached
    ? { en: `cached in ${o.store}, fetched ${age} ago`, zh: `缓存于 ${o.store}，${age} 前获取` }
    : { en: `fetched from WeChat just now (store ${o.store})`, zh: `刚从微信获取（存储 ${o.store}）` };
  const lines = [
    `  ticket: ${o.kind} ${how.en}, source ${o.source ?? '?'}, expires in ${left}`,
    `  票据：${o.kind} ${how.zh}，来源 ${o.source ?? '?'}，${left} 后过期`,
  ];
  const r = o.recheck;
  if (r?.refreshed) {
    lines.push(
      '  WeChat no longer took that ticket: wxkit now holds a new one (the page signs right on reload).',
      '  微信已不再接受该票据：wxkit 已换为新票据（页面刷新后即可签名正确）。',
    );
  } else if (r?.rechecked) {
    lines.push('  WeChat confirmed the ticket is current.', '  微信确认该票据仍有效。');
  } else if (r?.reason === 'rate_limited') {
    lines.push(
      `  Not re-checked: it was re-checked moments ago (again in ${r.retryAfter ?? 60} s).`,
      `  未重新核对：刚核对过（${r.retryAfter ?? 60} 秒后可再次核对）。`,
    );
  } else if (r !== undefined) {
    lines.push(
      `  Could not re-check it with WeChat (${r.reason ?? r.error ?? 'failed'}).`,
      `  无法向微信核对该票据（${r.reason ?? r.error ?? 'failed'}）。`,
    );
  } else if (ok && o.cached && canRecheck) {
    lines.push(
      "  OK means right for the ticket wxkit holds; WeChat may have replaced it. If the page still fails, add --errmsg 'config:invalid signature' to re-check the ticket with WeChat.",
      "  「正确」仅表示对 wxkit 持有的票据正确；微信可能已更换票据。若页面仍失败，请加上 --errmsg 'config:invalid signature' 向微信重新核对。",
    );
  }
  return lines;
}
