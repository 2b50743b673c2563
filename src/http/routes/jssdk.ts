import { diagnoseSignature, isClientPlatform, type KnownTicket } from '../../diagnose.ts';
import { formatJsDomains, matchJsDomain } from '../../domains.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import {
  buildJssdkConfig,
  createNonce,
  createTimestamp,
  normalizeSignUrl,
  signJssdk,
} from '../../signature.ts';
import type { Account, AgentConfig } from '../../types.ts';
import { isWecom, readAgentId, wecomAccount } from '../account-kind.ts';
import { invalidRequest, readAppId, readBoolean, readNameList, readQuery, readString } from '../params.ts';
import { json } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';
import { type SettingNames, settingName } from '../setting-names.ts';

const CONFIG_QUERY = new Set([
  'url',
  'apis',
  'jsApiList',
  'openTags',
  'openTagList',
  'debug',
  'appId',
  'agentId',
]);
const AGENT_QUERY = new Set(['url', 'apis', 'jsApiList', 'appId', 'agentId']);
const NO_STORE = { 'cache-control': 'no-store' };
const ONE_API_LIST = { en: 'Give apis or jsApiList, not both.', zh: 'apis 与 jsApiList 只能给出一个。' };

interface ConfigRequest {
  url: unknown;
  jsApiList: string[];
  openTagList: string[];
  debug: boolean;
  appId: string | undefined;
  /** WeCom: which app of the corp (its first when absent). */
  agentId: string | undefined;
}

function fromQuery(ctx: RouteContext): ConfigRequest {
  const q = readQuery(ctx.url.search, CONFIG_QUERY);
  if (q.has('apis') && q.has('jsApiList')) throw invalidRequest(ONE_API_LIST);
  if (q.has('openTags') && q.has('openTagList')) {
    throw invalidRequest({
      en: 'Give openTags or openTagList, not both.',
      zh: 'openTags 与 openTagList 只能给出一个。',
    });
  }
  return {
    url: q.get('url'),
    jsApiList: readNameList(q.get('apis') ?? q.get('jsApiList'), 'apis'),
    openTagList: readNameList(q.get('openTags') ?? q.get('openTagList'), 'openTags'),
    debug: readBoolean(q.get('debug'), 'debug'),
    appId: readAppId(q.get('appId')),
    agentId: readAgentId(q.get('agentId')),
  };
}

async function fromBody(ctx: RouteContext): Promise<ConfigRequest> {
  const b = await ctx.json();
  return {
    url: b.url,
    jsApiList: readNameList(b.jsApiList ?? b.apis, 'jsApiList'),
    openTagList: readNameList(b.openTagList ?? b.openTags, 'openTagList'),
    debug: readBoolean(b.debug, 'debug'),
    appId: readAppId(b.appId),
    agentId: readAgentId(b.agentId),
  };
}

const domainText = new WeakMap<Account, string>();

/** Loopback pages (any port) pass the domain check in sandbox mode and for an account on the simulator. */
function loopbackPages(ctx: RouteContext, account: Account): boolean {
  return ctx.options.sandbox || account.allowLoopback === true;
}

/**
 * The URLs this service signed lately, per account: a page that reports its failure with its
 * `location.href` after a route change (what every tutorial sends) still gets the URL it signed named,
 * instead of `unknown`. A ring of the last 1,024 per process (another instance's signatures stay
 * unknown): two array stores on the signing hot path; the rare diagnosis scans it.
 */
class SignedUrls {
  readonly signatures: string[] = new Array<string>(SIGNED_URLS_KEPT).fill('');
  readonly urls: string[] = new Array<string>(SIGNED_URLS_KEPT).fill('');
  next = 0;
}
const SIGNED_URLS_KEPT = 1024;
const signedUrls = new WeakMap<Account, SignedUrls>();

function rememberSigned(account: Account, signature: string, url: string): void {
  let ring = signedUrls.get(account);
  if (ring === undefined) {
    ring = new SignedUrls();
    signedUrls.set(account, ring);
  }
  ring.signatures[ring.next] = signature;
  ring.urls[ring.next] = url;
  ring.next = (ring.next + 1) % SIGNED_URLS_KEPT;
}

/**
 * The URL this service signed for `signature`, when it is on the page's own origin.
 *
 * Stops: a caller who got hold of someone's signature learning the URL it was made for on another
 * site (a path or query the page never showed them); the page's own origin tells them nothing new.
 */
function recallSigned(account: Account, signature: string, pageUrl: string): string | undefined {
  const ring = signedUrls.get(account);
  const at = ring ? ring.signatures.indexOf(signature.trim().toLowerCase()) : -1;
  const url = at === -1 ? undefined : ring?.urls[at];
  if (!url) return undefined;
  try {
    return new URL(url).origin === new URL(normalizeSignUrl(pageUrl)).origin ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses a page whose host WeChat would refuse (`config:invalid url domain`), naming what is bound. */
export function checkDomain(
  account: Account,
  url: string,
  allowLoopback: boolean,
  names: SettingNames = 'options',
): void {
  const mismatch = matchJsDomain(url, account.jsDomains, { allowLoopback });
  if (mismatch === null) return;
  let bound = domainText.get(account);
  if (bound === undefined) {
    bound = formatJsDomains(account.jsDomains) || '(none)';
    domainText.set(account, bound);
  }
  const page = new URL(url);
  const why =
    mismatch === 'port'
      ? `uses port ${page.port}; WeChat only accepts JS-safe domains on ports 80 and 443`
      : mismatch === 'path'
        ? `has a path outside the bound path prefix`
        : `is neither a bound JS-safe domain nor a subdomain of one`;
  const whyZh =
    mismatch === 'port'
      ? ` 使用了 ${page.port} 端口；微信只在 80 和 443 端口上接受 JS 接口安全域名`
      : mismatch === 'path'
        ? ' 的路径不在绑定的路径前缀之下'
        : ' 既不是已绑定的 JS 接口安全域名，也不是其子域名';
  if (isWecom(account)) {
    throw new WxkitError(
      ErrorCodes.URL_NOT_ALLOWED,
      `The page host ${page.host} ${why.replace('JS-safe domain', 'trusted domain')}. Trusted domains of WeCom app ${account.appId}/${account.agentId}: ${bound}. WeCom accepts the app's trusted domains (可信域名) on ports 80 and 443 only.`,
      {
        zh: `页面域名 ${page.host}${whyZh.replace('JS 接口安全域名', '可信域名')}。企业微信应用 ${account.appId}/${account.agentId} 的可信域名：${bound}。企业微信只接受应用可信域名的 80 和 443 端口。`,
        hint: {
          en: `Serve the page from ${bound} on port 80/443, or set its domain under 应用管理 → the app → 网页授权及JS-SDK → 可信域名 and in the account's ${settingName('jsDomains', names)}.`,
          zh: `请在 ${bound} 的 80/443 端口提供页面，或在「应用管理 → 应用 → 网页授权及JS-SDK → 可信域名」及账号的 ${settingName('jsDomains', names)} 中设置该域名。`,
        },
        details: {
          domains: account.jsDomains.map((d) => d.host + d.path),
          host: page.host,
          reason: mismatch,
        },
      },
    );
  }
  throw new WxkitError(
    ErrorCodes.URL_NOT_ALLOWED,
    `The page host ${page.host} ${why}. Bound JS-safe domains of ${account.appId}: ${bound}. WeChat accepts a bound domain and its subdomains, on ports 80 and 443 only.`,
    {
      zh: `页面域名 ${page.host}${whyZh}。${account.appId} 绑定的 JS 接口安全域名：${bound}。微信只接受已绑定的域名及其子域名，且仅限 80 和 443 端口。`,
      hint: {
        en: `Serve the page from ${bound} (or a subdomain) on port 80/443, or add its domain under 公众号设置 → 功能设置 → JS接口安全域名 and to ${settingName('jsDomains', names)}.`,
        zh: `请在 ${bound}（或其子域名）的 80/443 端口提供页面，或在「公众号设置 → 功能设置 → JS接口安全域名」及 ${settingName('jsDomains', names)} 中添加该域名。`,
      },
      details: { domains: account.jsDomains.map((d) => d.host + d.path), host: page.host, reason: mismatch },
    },
  );
}

function missingUrl(): WxkitError {
  return new WxkitError(ErrorCodes.INVALID_URL, 'The url parameter is missing.', {
    zh: '缺少 url 参数。',
    hint: {
      en: 'Pass url=encodeURIComponent(location.href.split("#")[0]).',
      zh: '请传 url=encodeURIComponent(location.href.split("#")[0])。',
    },
  });
}

async function config(ctx: RouteContext) {
  const req = ctx.method === 'POST' ? await fromBody(ctx) : fromQuery(ctx);
  if (req.url === undefined) throw missingUrl();
  const url = normalizeSignUrl(req.url);
  const account = ctx.account(req.appId, req.agentId);
  checkDomain(account, url, loopbackPages(ctx, account), ctx.options.settingNames);
  // Same result as account.jssdkConfig(), without its second normalization and domain check of the
  // same URL: this is the service's hot path (see bench/serve.ts).
  const signed = buildJssdkConfig({
    appId: account.appId,
    ticket: await account.ticket('jsapi'),
    url,
    jsApiList: req.jsApiList,
    openTagList: req.openTagList,
    debug: req.debug,
    now: ctx.options.now,
  });
  rememberSigned(account, signed.signature, url);
  // A WeCom page's wx.config: appId is the corpId, signed with the corp ticket; beta for agent APIs.
  return json(200, isWecom(account) ? { beta: true, ...signed } : signed, NO_STORE);
}

/**
 * `GET|POST /jssdk/agent-config`: the object for WeCom's `wx.agentConfig`, signed with the app's
 * agent_config ticket (not the corp ticket that signs wx.config). Same URL rules, domain check and
 * errors as /jssdk/config; `appId` is the corpId, `agentId` picks the app when the corp has several.
 */
async function agentConfig(ctx: RouteContext) {
  let rawUrl: unknown;
  let jsApiList: string[];
  let appId: string | undefined;
  let agentId: string | undefined;
  if (ctx.method === 'POST') {
    const b = await ctx.json();
    rawUrl = b.url;
    jsApiList = readNameList(b.jsApiList ?? b.apis, 'jsApiList');
    appId = readAppId(b.appId ?? b.corpId ?? b.corpid);
    agentId = readAgentId(b.agentId ?? b.agentid);
  } else {
    const q = readQuery(ctx.url.search, AGENT_QUERY);
    if (q.has('apis') && q.has('jsApiList')) throw invalidRequest(ONE_API_LIST);
    rawUrl = q.get('url');
    jsApiList = readNameList(q.get('apis') ?? q.get('jsApiList'), 'apis');
    appId = readAppId(q.get('appId'));
    agentId = readAgentId(q.get('agentId'));
  }
  if (rawUrl === undefined) throw missingUrl();
  const url = normalizeSignUrl(rawUrl);
  const corp = wecomAccount(ctx.account(appId, agentId), 'GET|POST /jssdk/agent-config');
  checkDomain(corp, url, loopbackPages(ctx, corp), ctx.options.settingNames);
  const ticket = await corp.ticket('agent_config');
  const nonceStr = createNonce();
  const timestamp = createTimestamp(ctx.options.now());
  const signed: AgentConfig = {
    corpid: corp.corpId,
    agentid: corp.agentId,
    timestamp,
    nonceStr,
    signature: signJssdk({ ticket, nonceStr, timestamp, url }),
    jsApiList,
  };
  rememberSigned(corp, signed.signature, url);
  return json(200, signed, NO_STORE);
}

async function diagnose(ctx: RouteContext) {
  const b = await ctx.json();
  const kind = b.kind ?? 'config';
  if (kind !== 'config' && kind !== 'agentConfig')
    throw invalidRequest({
      en: 'kind must be config or agentConfig.',
      zh: 'kind 应为 config 或 agentConfig。',
    });
  const url = readString(b.url, 'url');
  const signature = readString(b.signature, 'signature', 200);
  const nonceStr = readString(b.nonceStr ?? b.noncestr, 'nonceStr', 200);
  const ts = b.timestamp;
  if (url === undefined || signature === undefined || nonceStr === undefined || ts === undefined) {
    throw invalidRequest(
      kind === 'agentConfig'
        ? {
            en: 'Send what the page passed to wx.agentConfig: kind "agentConfig", url, corpid, agentid, signature, nonceStr, timestamp.',
            zh: '请发送页面传给 wx.agentConfig 的内容：kind "agentConfig"、url、corpid、agentid、signature、nonceStr、timestamp。',
          }
        : {
            en: "Send what the page passed to wx.config: url (the page's location.href.split('#')[0]), signature, nonceStr, timestamp (and appId, errMsg).",
            zh: "请发送页面传给 wx.config 的内容：url（页面的 location.href.split('#')[0]）、signature、nonceStr、timestamp（以及 appId、errMsg）。",
          },
    );
  }
  if (
    !(typeof ts === 'number' && Number.isSafeInteger(ts)) &&
    !(typeof ts === 'string' && /^\d{1,12}$/.test(ts))
  ) {
    throw invalidRequest({ en: 'timestamp must be integer seconds.', zh: 'timestamp 应为整数秒。' });
  }
  // wx.agentConfig names its corp `corpid`; wx.config names it `appId`.
  const appId = readAppId(kind === 'agentConfig' ? (b.corpid ?? b.corpId ?? b.appId) : b.appId);
  const pageAgentId = kind === 'agentConfig' ? (b.agentid ?? b.agentId) : undefined;
  if (
    pageAgentId !== undefined &&
    !(typeof pageAgentId === 'number' && Number.isFinite(pageAgentId)) &&
    !(typeof pageAgentId === 'string' && pageAgentId.length <= 40)
  ) {
    throw invalidRequest({
      en: 'agentid must be a number or a short string.',
      zh: 'agentid 应为数字或较短的字符串。',
    });
  }
  const realAuthUrl = readString(b.realAuthUrl, 'realAuthUrl');
  // Sent by the browser helper: without debug they name the URL WeChat checked (landing URL on iOS).
  const landingUrl = readString(b.landingUrl, 'landingUrl');
  const currentUrl = readString(b.currentUrl, 'currentUrl');
  const platform = b.platform ?? undefined;
  if (platform !== undefined && !isClientPlatform(platform))
    throw invalidRequest({
      en: 'platform must be ios, android or other.',
      zh: 'platform 应为 ios、android 或 other。',
    });
  const errMsg = readString(b.errMsg, 'errMsg', 1000);
  const account = kind === 'agentConfig' ? agentAccount(ctx, appId, pageAgentId) : configAccount(ctx, appId);
  const wecom = isWecom(account) ? account : undefined;
  const ticketType = kind === 'agentConfig' ? 'agent_config' : 'jsapi';
  const ticket = await account.ticket(ticketType);
  const others: KnownTicket[] = [];
  if (kind === 'agentConfig') {
    for (const t of await account.knownTickets('agent_config')) if (t.ticket !== ticket) others.push(t);
  } else {
    for (const a of ctx.accounts)
      for (const t of await a.knownTickets()) if (t.ticket !== ticket) others.push(t);
  }
  // WeCom: the tickets of the other kind, to name the classic mix-up (corp ticket ↔ app ticket).
  const otherKind: string[] = [];
  if (wecom) {
    if (kind === 'agentConfig') {
      for (const t of await wecom.knownTickets('jsapi')) otherKind.push(t.ticket);
    } else {
      for (const a of ctx.accounts) {
        if (isWecom(a) && a.corpId === wecom.corpId)
          for (const t of await a.knownTickets('agent_config')) otherKind.push(t.ticket);
      }
    }
  }
  const report = diagnoseSignature({
    url,
    signature,
    nonceStr,
    timestamp: ts,
    ticket,
    appId,
    ticketAppId: account.appId,
    otherTickets: others,
    realAuthUrl,
    landingUrl,
    currentUrl,
    platform,
    errMsg,
    signedUrl: recallSigned(account, signature, url),
    jsDomains: account.jsDomains,
    allowLoopback: loopbackPages(ctx, account),
    kind,
    wecom: wecom !== undefined,
    otherKindTickets: otherKind,
    agentId: pageAgentId,
    ticketAgentId: wecom?.agentId,
  });
  // A page outside the JS-safe domains gets no signature from here either (no allow-list bypass).
  const out: Record<string, unknown> = {
    appId: account.appId,
    ...(wecom ? { corpId: wecom.corpId, agentId: wecom.agentId } : {}),
    kind,
    ...report,
  };
  if (report.ok && errMsg !== undefined && /invalid signature/i.test(errMsg)) {
    Object.assign(out, await healTicket(account, ticketType, ticket));
  }
  if (
    matchJsDomain(report.expectedUrl, account.jsDomains, { allowLoopback: loopbackPages(ctx, account) }) !==
    null
  ) {
    delete out.expectedSignature;
  }
  // The diagnosis may quote string1, which holds a ticket: tickets never leave the service.
  let text = JSON.stringify(out);
  for (const t of [ticket, ...others.map((o) => o.ticket), ...otherKind])
    if (t) text = text.split(t).join('<jsapi_ticket>');
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', ...NO_STORE },
    body: text,
  };
}

/** wx.config's account: the page's appId (an Official Account or a corp) when configured, else the default. */
function configAccount(ctx: RouteContext, appId: string | undefined): Account {
  return appId !== undefined && ctx.accounts.some((a) => a.appId === appId)
    ? ctx.account(appId)
    : ctx.account();
}

/**
 * wx.agentConfig's account: the app of the page's corpid and agentid when configured; else that corp's
 * first app; else the first WeCom app here (the diagnosis then names corpid_mismatch).
 */
function agentAccount(ctx: RouteContext, corpId: string | undefined, agentId: unknown): Account {
  const apps = ctx.accounts.filter(isWecom);
  const ofCorp = apps.filter((a) => a.corpId === corpId);
  const wanted = agentId === undefined || agentId === null ? undefined : String(agentId);
  const found = ofCorp.find((a) => a.agentId === wanted) ?? ofCorp[0] ?? apps[0];
  if (found) return found;
  return wecomAccount(ctx.account(), 'wx.agentConfig diagnosis');
}

/**
 * The page signed right for its URL with the ticket wxkit holds, yet WeChat says `invalid signature`:
 * WeChat no longer takes that ticket (ended early, clocks apart). Ask WeChat again (rate-limited per
 * account, SPEC §10) so the next page signs with the ticket WeChat verifies; say what happened.
 */
async function healTicket(
  account: Account,
  type: 'jsapi' | 'agent_config',
  ticket: string,
): Promise<Record<string, unknown>> {
  if (!account.recheckTicket) return {};
  const recheck = await account.recheckTicket(type, ticket);
  if (recheck.refreshed) {
    const cause = {
      code: 'stale_ticket',
      en: 'The signature is right for this URL and the jsapi_ticket wxkit held, but WeChat no longer accepted that ticket. wxkit asked WeChat again and now holds the new one: configure again (or reload the page) and it works.',
      zh: '签名对该 URL 和 wxkit 持有的 jsapi_ticket 是正确的，但微信已不再接受该 ticket。wxkit 已重新向微信获取并持有新的 ticket：请重新配置（或刷新页面）即可。',
    };
    return { ok: false, ...cause, causes: [cause], ticketRecheck: recheck };
  }
  if (recheck.reason === 'rate_limited') {
    return {
      en: `The signature is right for this URL and wxkit's jsapi_ticket. wxkit re-checked its ticket with WeChat moments ago and re-checks at most once a minute; retry in ${recheck.retryAfter ?? 60} s if it still fails.`,
      zh: `对该 URL 与 wxkit 的 jsapi_ticket，签名正确。wxkit 刚向微信核对过 ticket，每分钟最多核对一次；若仍失败请 ${recheck.retryAfter ?? 60} 秒后重试。`,
      ticketRecheck: recheck,
    };
  }
  return { ticketRecheck: recheck };
}

/** `GET|POST /jssdk/config`, `GET|POST /jssdk/agent-config` (WeCom), `POST /jssdk/diagnose`. */
export const routes: readonly Route[] = [
  { method: 'GET', path: '/jssdk/config', handle: config },
  { method: 'POST', path: '/jssdk/config', handle: config },
  { method: 'GET', path: '/jssdk/agent-config', handle: agentConfig },
  { method: 'POST', path: '/jssdk/agent-config', handle: agentConfig },
  // A diagnosis recomputes a few hundred signatures: it costs ten requests' worth of the rate limit.
  { method: 'POST', path: '/jssdk/diagnose', handle: diagnose, rateLimitCost: 10 },
];
