import { createHash } from 'node:crypto';
import { formatJsDomains, type JsDomain, matchJsDomain } from './domains.ts';
import { normalizeSignUrl, signJssdk } from './signature.ts';

/**
 * Causes of `config:invalid signature` / `config:invalid url domain` (and WeCom's `agentConfig:…`), in
 * the order of WeChat's own checklist (JS-SDK doc, appendix 5): domain, (WeCom: corpid, agentid),
 * signature algorithm, nonceStr/timestamp, URL, ticket kind, appId, ticket.
 */
export const DIAGNOSIS_CODES = [
  'ok',
  'domain_not_bound',
  'require_subscribe',
  'app_id_invalid',
  'corpid_mismatch',
  'agentid_type',
  'agentid_mismatch',
  'signature_format',
  'string1_format',
  'nonce_timestamp_mismatch',
  'url_hash',
  'url_encoding',
  'url_scheme',
  'url_trailing_slash',
  'url_landing',
  'url_share_params',
  'wrong_ticket_kind',
  'app_id_mismatch',
  'stale_ticket',
  'api_not_ready',
  'api_permission',
  'unknown',
] as const;

export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

/** The WeChat client a page runs in, as far as the page can tell. */
export type ClientPlatform = 'ios' | 'android' | 'other';

/** True for `ios`, `android` and `other`. */
export function isClientPlatform(value: unknown): value is ClientPlatform {
  return value === 'ios' || value === 'android' || value === 'other';
}

/** A ticket the signature may have been made with. */
export interface KnownTicket {
  ticket: string;
  appId?: string | undefined;
  /** True for a ticket of the same account that has since been replaced. */
  stale?: boolean | undefined;
}

/** What the page passed to `wx.config`, what it got back, and what the service knows. */
export interface DiagnoseInput {
  /** The URL the page asked to be signed (or its location.href). */
  url: string;
  signature: string;
  nonceStr: string;
  timestamp: string | number;
  /** The current jsapi_ticket of the account the page is configured for. */
  ticket: string;
  /** The appId the page passed to wx.config. */
  appId?: string | undefined;
  /** The appId the ticket belongs to. */
  ticketAppId?: string | undefined;
  /** Other tickets to try: earlier ones of this account, other accounts'. */
  otherTickets?: readonly KnownTicket[] | undefined;
  /** The URL WeChat verified (debug mode's `realAuthUrl`); on iOS SPAs, the landing URL. */
  realAuthUrl?: string | undefined;
  /** The URL the page was loaded with, before any `pushState` (the browser helper reports it). */
  landingUrl?: string | undefined;
  /** The page's `location.href` when it called `wx.config` (the browser helper reports it). */
  currentUrl?: string | undefined;
  /**
   * The WeChat client the page runs in. iOS WeChat verifies the landing URL of a single-page app, the
   * others the current URL; with `landingUrl`/`currentUrl` this names the URL WeChat checked when no
   * `realAuthUrl` is known (debug off).
   */
  platform?: ClientPlatform | undefined;
  /**
   * The errMsg the page got. It decides what is checked: `config:invalid url domain` is about the
   * domain binding in WeChat's backend whatever the signature, `config:require subscribe` about the
   * test account, `…permission denied` / `…offline verifying` about the API list, not the signature.
   */
  errMsg?: string | undefined;
  /**
   * The URL the service itself signed for this signature, when it remembers (`POST /jssdk/diagnose`):
   * lets it name the signed URL when the page sends another one (its `location.href` after a route
   * change) instead of answering `unknown`.
   */
  signedUrl?: string | undefined;
  /**
   * What the page called: `config` (`wx.config`) or `agentConfig` (WeCom's `wx.agentConfig`, whose
   * `ticket` is the app's agent_config ticket and whose `appId` is the page's `corpid`).
   * @default 'config'
   */
  kind?: 'config' | 'agentConfig' | undefined;
  /** The account is a WeCom app: `ticketAppId` is its corpId, and a page naming another is `corpid_mismatch`. */
  wecom?: boolean | undefined;
  /**
   * WeCom: tickets of the other kind — for `agentConfig` the corp's jsapi tickets, for a WeCom page's
   * `config` the app's agent_config tickets. A signature made with one is `wrong_ticket_kind`.
   */
  otherKindTickets?: readonly string[] | undefined;
  /** `agentConfig`: the `agentid` the page passed, as it passed it (a number or a string). */
  agentId?: unknown;
  /** `agentConfig`: the account's AgentId. */
  ticketAgentId?: string | undefined;
  /** The account's JS-safe domains; checked first when given. */
  jsDomains?: readonly JsDomain[] | undefined;
  allowLoopback?: boolean | undefined;
}

export interface DiagnosisCause {
  code: DiagnosisCode;
  en: string;
  zh: string;
}

export interface Diagnosis {
  ok: boolean;
  /** The first failing item of WeChat's checklist, or `ok`. */
  code: DiagnosisCode;
  /** One or two plain sentences for the first cause. */
  en: string;
  zh: string;
  /** Every cause found, in checklist order (the first is `code`). */
  causes: DiagnosisCause[];
  /** The URL WeChat checks. */
  expectedUrl: string;
  /** The signature WeChat expects for that URL with the given nonceStr/timestamp and current ticket. */
  expectedSignature: string;
  /** The string the given signature was made from, when wxkit could reconstruct it. */
  signedString?: string;
}

type UrlVariant = { url: string; cause: DiagnosisCode | null; detail: string };
type ParamVariant = { nonceStr: string; timestamp: string; cause: DiagnosisCode | null; detail: string };
type TicketVariant = { ticket: string; cause: DiagnosisCode | null; detail: string };
type Format = {
  cause: DiagnosisCode | null;
  detail: string;
  build: (t: string, n: string, s: string, u: string) => string;
};

const SHARE_PARAMS = [
  'from',
  'isappinstalled',
  'scene',
  'clicktime',
  'enterid',
  'sharer_shareid',
  'sharer_sharetime',
];

/**
 * Recomputes the signature for the variants a page may have signed and names the first cause in
 * WeChat's checklist order. Pure and offline: the same function backs `POST /jssdk/diagnose` and
 * `wxkit doctor`.
 *
 * @example
 * const d = diagnoseSignature({ url, signature, nonceStr, timestamp, ticket })
 * if (!d.ok) console.log(d.en)
 */
export function diagnoseSignature(input: DiagnoseInput): Diagnosis {
  const said = readErrMsg(input.errMsg);
  const d = diagnoseString1(input);
  return said === undefined || said === 'signature' ? d : withErrMsg(d, said, input);
}

/** What the page's errMsg is about, as WeChat's JS-SDK doc (appendix 5) explains each one. */
type ErrMsgKind = 'domain' | 'signature' | 'subscribe' | 'app_id' | 'permission' | 'not_ready';

function readErrMsg(errMsg: string | undefined): ErrMsgKind | undefined {
  if (!errMsg) return undefined;
  const m = errMsg.toLowerCase();
  if (m.includes('invalid url domain')) return 'domain';
  if (m.includes('invalid signature') || m.includes('63002')) return 'signature';
  if (m.includes('require subscribe')) return 'subscribe';
  if (/invalid app ?id|invalid corpid/.test(m)) return 'app_id';
  if (m.includes('offline verifying')) return 'not_ready';
  if (m.includes('permission denied')) return 'permission';
  return undefined;
}

/**
 * The page's errMsg names a check other than the signature: that check is the first cause, and what
 * the signature check found follows it (a wrong signature would fail next).
 */
function withErrMsg(d: Diagnosis, said: ErrMsgKind, input: DiagnoseInput): Diagnosis {
  if (said === 'domain' && d.code === 'domain_not_bound') return d;
  if (said === 'app_id' && (d.code === 'app_id_mismatch' || d.code === 'corpid_mismatch')) return d;
  const cause = errMsgCause(said, d, input);
  const rest = d.causes.filter((c) => c.code !== 'ok');
  // Checks WeChat runs before the signature come first; API-list problems come after signature ones.
  const causes =
    said === 'permission' || said === 'not_ready' ? byChecklist([...rest, cause]) : [cause, ...rest];
  const first = causes[0] as DiagnosisCause;
  return { ...d, ok: false, code: first.code, en: first.en, zh: first.zh, causes };
}

function errMsgCause(said: ErrMsgKind, d: Diagnosis, input: DiagnoseInput): DiagnosisCause {
  const host = safeHost(d.expectedUrl);
  const wecom = input.wecom || input.kind === 'agentConfig';
  // "Signature right" leads (the page's question is answered first); a wrong one is said last.
  const lead = d.ok
    ? { en: 'The signature itself is right. ', zh: '签名本身是正确的。' }
    : { en: '', zh: '' };
  const tail = d.ok
    ? { en: '', zh: '' }
    : { en: ' The signature is wrong too (next cause).', zh: '签名也有误（见下一条原因）。' };
  switch (said) {
    case 'domain': {
      const listed =
        input.jsDomains && input.jsDomains.length > 0
          ? {
              en: ` wxkit's jsDomains (WX_JS_DOMAINS) list it; WeChat's backend does not.`,
              zh: `wxkit 的 jsDomains（WX_JS_DOMAINS）包含它，但微信后台没有。`,
            }
          : { en: '', zh: '' };
      return wecom
        ? {
            code: 'domain_not_bound',
            en: `${lead.en}WeCom refused the page's domain: ${host} is not a trusted domain of the app in the admin console (应用管理 → the app → 网页授权及JS-SDK → 可信域名; the domain must pass WeCom's ownership check, WW_verify_….txt).${listed.en}${tail.en}`,
            zh: `${lead.zh}企业微信拒绝了页面域名：${host} 未在管理后台设为应用的可信域名（应用管理 → 应用 → 网页授权及JS-SDK → 可信域名，需通过域名归属验证 WW_verify_….txt）。${listed.zh}${tail.zh}`,
          }
        : {
            code: 'domain_not_bound',
            en: `${lead.en}WeChat refused the page's domain: ${host} is not bound as a JS-safe domain in the account's backend (公众号后台 → 设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名; at most 3, no port, the MP_verify_….txt file at its root).${listed.en}${tail.en}`,
            zh: `${lead.zh}微信拒绝了页面域名：${host} 未在公众号后台绑定为 JS 接口安全域名（设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名；最多 3 个，不带端口，需在域名根目录放置 MP_verify_….txt）。${listed.zh}${tail.zh}`,
          };
    }
    case 'subscribe':
      return {
        code: 'require_subscribe',
        en: `${lead.en}WeChat answered "require subscribe": the account is a test account (测试号), which only configures for users who follow it. Follow it (scan the QR code on the test account's page) and reload; a formal account never asks this.${tail.en}`,
        zh: `${lead.zh}微信返回 require subscribe：这是测试号，只有关注了它的用户才能通过 wx.config。请扫描测试号页面上的二维码关注后刷新；正式公众号不会有此要求。${tail.zh}`,
      };
    case 'app_id':
      return {
        code: 'app_id_invalid',
        en: `WeChat does not know the ${wecom ? 'corpid' : 'appId'} the page passed${input.appId ? ` (${input.appId})` : ''}: a typo, a Mini Program's appId, or an account of another environment. Pass the id the service signed for${input.ticketAppId ? ` (${input.ticketAppId})` : ''}: GET /jssdk/config returns it.`,
        zh: `微信不认识页面传入的 ${wecom ? 'corpid' : 'appId'}${input.appId ? `（${input.appId}）` : ''}：拼写错误、小程序的 appId，或其他环境的账号。请传入服务签名所用的 id${input.ticketAppId ? `（${input.ticketAppId}）` : ''}，GET /jssdk/config 的返回值中即有。`,
      };
    case 'permission':
      return {
        code: 'api_permission',
        en: `${lead.en}"permission denied" is about the API, not wx.config: the account has no permission for it (several APIs need a verified account, 认证), or the API is missing from jsApiList.${tail.en}`,
        zh: `${lead.zh}permission denied 与 wx.config 无关，而是接口权限：该公众号没有此接口的权限（部分接口需要认证），或 jsApiList 中没有该接口。${tail.zh}`,
      };
    default:
      return {
        code: 'api_not_ready',
        en: `${lead.en}"the permission value is offline verifying": the API was called before wx.config finished (call it inside wx.ready) or after wx.config failed, or it is missing from jsApiList.${tail.en}`,
        zh: `${lead.zh}the permission value is offline verifying：在 wx.config 完成之前调用了接口（请在 wx.ready 回调中调用）、wx.config 已失败，或 jsApiList 中没有该接口。${tail.zh}`,
      };
  }
}

function diagnoseString1(input: DiagnoseInput): Diagnosis {
  const nonceStr = String(input.nonceStr);
  const timestamp = String(input.timestamp);
  const target = checkedUrl(input);
  const expectedSignature = signJssdk({ ticket: input.ticket, nonceStr, timestamp, url: target });
  const given = input.signature.trim();
  const result = (causes: DiagnosisCause[], signedString?: string): Diagnosis => {
    const first = causes[0] ?? okCause();
    const out: Diagnosis = {
      ok: causes.length === 0,
      code: first.code,
      en: first.en,
      zh: first.zh,
      causes,
      expectedUrl: target,
      expectedSignature,
    };
    if (signedString !== undefined) out.signedString = signedString;
    return out;
  };

  if (input.jsDomains && input.jsDomains.length > 0) {
    const mismatch = matchJsDomain(target, input.jsDomains, { allowLoopback: input.allowLoopback ?? false });
    if (mismatch) {
      const host = safeHost(target);
      const why =
        mismatch === 'port'
          ? `uses port ${safePort(target)}; JS-safe domains only work on ports 80 and 443`
          : mismatch === 'path'
            ? `has a path outside the bound path prefix`
            : `is not ${formatJsDomains(input.jsDomains)} or a subdomain of it`;
      return result([
        input.wecom || input.kind === 'agentConfig'
          ? {
              code: 'domain_not_bound',
              en: `The page's host ${host} ${why}. Set it as the app's trusted domain (应用管理 → the app → 网页授权及JS-SDK → 可信域名).`,
              zh: `页面域名 ${host} 不在应用的可信域名中（${formatJsDomains(input.jsDomains)}；仅支持 80/443 端口）。请在「应用管理 → 应用 → 网页授权及JS-SDK → 可信域名」中设置。`,
            }
          : {
              code: 'domain_not_bound',
              en: `The page's host ${host} ${why}. Bind it under 公众号设置 → 功能设置 → JS接口安全域名 (at most 3 domains).`,
              zh: `页面域名 ${host} 不在 JS 接口安全域名中（${formatJsDomains(input.jsDomains)}；仅支持 80/443 端口）。请在「公众号设置 → 功能设置 → JS接口安全域名」中绑定。`,
            },
      ]);
    }
  }

  if (!/^[0-9a-fA-F]{40}$/.test(given)) {
    return result([
      {
        code: 'signature_format',
        en: `The signature is not 40 hex characters (got ${given.length}); it must be sha1 of string1 in lowercase hex.`,
        zh: `签名不是 40 位十六进制（实际 ${given.length} 位）；应为 string1 的 sha1 小写十六进制。`,
      },
    ]);
  }
  const lower = given.toLowerCase();
  const caseCause: DiagnosisCause[] =
    given !== lower
      ? [
          {
            code: 'signature_format',
            en: 'The signature is in uppercase hex; WeChat compares lowercase hex.',
            zh: '签名是大写十六进制；微信比较的是小写十六进制。',
          },
        ]
      : [];
  const appCause = [
    ...(appMismatch(input)
      ? [describe(mismatchCode(input), input.ticketAppId ?? '', input, target, target)]
      : []),
    ...agentIdCauses(input),
  ];
  if (lower === expectedSignature) return result(byChecklist([...caseCause, ...appCause]));

  const found = search(input, target, nonceStr, timestamp, lower);
  if (!found) {
    return result([
      ...byChecklist([...caseCause, ...agentIdCauses(input)]),
      {
        code: 'unknown',
        en: `No variant of the URL, nonceStr, timestamp or known ticket gives this signature. It was likely made with a ticket wxkit does not know (another appId, or a ticket fetched by another program) — sign on the server that owns the ticket. WeChat checks: ${target}`,
        zh: `URL、nonceStr、timestamp 与已知 ticket 的各种变体都无法得到该签名。很可能使用了 wxkit 不知道的 ticket（其他 appId 或其他程序获取的 ticket）——请在持有 ticket 的服务上签名。微信校验的 URL：${target}`,
      },
    ]);
  }
  return result(byChecklist([...caseCause, ...agentIdCauses(input), ...found.causes]), found.string1);
}

function byChecklist(causes: DiagnosisCause[]): DiagnosisCause[] {
  return causes.sort((a, b) => DIAGNOSIS_CODES.indexOf(a.code) - DIAGNOSIS_CODES.indexOf(b.code));
}

function search(
  input: DiagnoseInput,
  target: string,
  nonceStr: string,
  timestamp: string,
  signature: string,
): { causes: DiagnosisCause[]; string1: string } | undefined {
  const urls = urlVariants(input, target);
  const params = paramVariants(nonceStr, timestamp);
  const tickets = ticketVariants(input);
  const formats = formatVariants();
  // Fewest causes first: a single wrong thing is far likelier than two.
  let best: { causes: DiagnosisCause[]; string1: string; rank: number } | undefined;
  for (const f of formats) {
    for (const t of tickets) {
      for (const p of params) {
        for (const u of urls) {
          const string1 = f.build(t.ticket, p.nonceStr, p.timestamp, u.url);
          if (sha1Hex(string1) !== signature) continue;
          const parts = [f, t, p, u].filter((v) => v.cause !== null);
          const rank = parts.length;
          if (best && best.rank <= rank) continue;
          best = {
            rank,
            string1,
            causes: parts.map((v) => describe(v.cause as DiagnosisCode, v.detail, input, target, u.url)),
          };
        }
      }
    }
  }
  return best;
}

/**
 * The URL WeChat verified: `realAuthUrl` when WeChat reported it; else, when the page said where it
 * runs, the landing URL on iOS and the current URL elsewhere; else the URL the page sent.
 */
function checkedUrl(input: DiagnoseInput): string {
  const byPlatform =
    input.platform === undefined ? undefined : input.platform === 'ios' ? input.landingUrl : input.currentUrl;
  for (const u of [input.realAuthUrl, byPlatform, input.url]) {
    const n = safeNormalize(u);
    if (n !== undefined) return n;
  }
  return input.url;
}

/** A WeCom page naming another corp (`agentConfig:invalid corpId`) is told so in WeCom's words. */
function mismatchCode(input: DiagnoseInput): 'corpid_mismatch' | 'app_id_mismatch' {
  return input.wecom || input.kind === 'agentConfig' ? 'corpid_mismatch' : 'app_id_mismatch';
}

/**
 * `wx.agentConfig`'s agentid: WeCom (and the simulator) accept it as a number or as a string of
 * digits, so its type alone never fails; anything else (`"AgentId 1000002"`, `1000002.5`, `null`) is
 * `agentid_type`, and another app's id is `agentid_mismatch` (`agentConfig:invalid agentId`).
 * The signature does not cover agentid: these causes stand next to whatever the signature says.
 */
function agentIdCauses(input: DiagnoseInput): DiagnosisCause[] {
  if (input.kind !== 'agentConfig' || input.agentId === undefined) return [];
  const a = input.agentId;
  const digits =
    typeof a === 'number' && Number.isSafeInteger(a) && a >= 0
      ? String(a)
      : typeof a === 'string' && /^[0-9]{1,20}$/.test(a)
        ? a
        : undefined;
  const shown = JSON.stringify(a)?.slice(0, 40) ?? String(a);
  if (digits === undefined) {
    return [
      {
        code: 'agentid_type',
        en: `wx.agentConfig got agentid ${shown}; it must be the app's AgentId, a number or a string of digits (${input.ticketAgentId ?? '1000002'}).`,
        zh: `wx.agentConfig 收到的 agentid 为 ${shown}；应为应用的 AgentId，数字或纯数字字符串均可（如 ${input.ticketAgentId ?? '1000002'}）。`,
      },
    ];
  }
  if (input.ticketAgentId !== undefined && digits !== input.ticketAgentId) {
    return [
      {
        code: 'agentid_mismatch',
        en: `wx.agentConfig got agentid ${digits}, but the signature is for app ${input.ticketAgentId}: WeCom answers agentConfig:invalid agentId or checks the signature against the other app's ticket. Pass the agentid the service signed for (or ask the service for agentId ${digits}).`,
        zh: `wx.agentConfig 的 agentid 为 ${digits}，但签名是为应用 ${input.ticketAgentId} 生成的：企业微信会返回 agentConfig:invalid agentId，或用另一个应用的 ticket 校验签名。请传入服务签名所用的 agentid（或向服务请求 agentId ${digits} 的签名）。`,
      },
    ];
  }
  return [];
}

/** The page passed wx.config an appId other than the account whose ticket wxkit signs with. */
function appMismatch(input: DiagnoseInput): boolean {
  return (
    input.appId !== undefined &&
    input.ticketAppId !== undefined &&
    input.appId !== '' &&
    input.appId !== input.ticketAppId
  );
}

function urlVariants(input: DiagnoseInput, target: string): UrlVariant[] {
  const out: UrlVariant[] = [{ url: target, cause: null, detail: '' }];
  const add = (url: string | undefined, cause: DiagnosisCode, detail = '') => {
    if (url !== undefined && url !== '' && !out.some((v) => v.url === url)) out.push({ url, cause, detail });
  };
  for (const raw of [input.url, input.realAuthUrl]) {
    if (raw === undefined) continue;
    if (raw.includes('#') && !/^https?%3a/i.test(raw)) add(raw, 'url_hash');
    if (/^https?%3a/i.test(raw)) add(raw, 'url_encoding', 'whole');
  }
  // The landing and the current URL of a single-page app differ after pushState; the page signed one
  // of them while WeChat checked the other (iOS checks the landing URL, Android the current one).
  const landing = safeNormalize(input.landingUrl);
  for (const raw of [input.url, input.currentUrl, input.landingUrl]) {
    const u = safeNormalize(raw);
    if (u === undefined || u === target) continue;
    add(u, 'url_landing', u === landing ? 'landing' : 'current');
  }
  add(encodeURIComponent(target), 'url_encoding', 'whole');
  add(
    safe(() => encodeURI(target)),
    'url_encoding',
    'double',
  );
  add(
    safe(() => decodeURI(target)),
    'url_encoding',
    'decoded',
  );
  add(
    safe(() => decodeURIComponent(target)),
    'url_encoding',
    'decoded',
  );
  add(
    target.replace(/^(https?)(?=:)/i, (s) => (s.toLowerCase() === 'http' ? 'https' : 'http')),
    'url_scheme',
  );
  const m = /^(https?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/i.exec(target);
  if (m) {
    const [, origin = '', path = '', query = ''] = m;
    if (path === '' || path === '/') add(`${origin}${path === '' ? '/' : ''}${query}`, 'url_trailing_slash');
    else add(`${origin}${path.endsWith('/') ? path.slice(0, -1) : `${path}/`}${query}`, 'url_trailing_slash');
    if (query !== '') {
      const kept = query
        .slice(1)
        .split('&')
        .filter((kv) => !SHARE_PARAMS.includes(kv.split('=')[0] ?? ''));
      add(`${origin}${path}${kept.length ? `?${kept.join('&')}` : ''}`, 'url_share_params');
      add(`${origin}${path}`, 'url_share_params');
    }
  }
  // Last: any closer explanation above wins. The page sent another URL than the one it had signed.
  add(safeNormalize(input.signedUrl), 'url_landing', 'signed');
  return out;
}

function paramVariants(nonceStr: string, timestamp: string): ParamVariant[] {
  const out: ParamVariant[] = [{ nonceStr, timestamp, cause: null, detail: '' }];
  const n = Number(timestamp);
  const ts = new Set<string>();
  if (Number.isFinite(n)) {
    ts.add(String(Math.floor(n / 1000)));
    ts.add(String(n * 1000));
    ts.add(String(Math.floor(n)));
  }
  ts.add(timestamp.trim());
  const nonces = new Set([nonceStr, nonceStr.trim(), nonceStr.toLowerCase(), nonceStr.toUpperCase()]);
  for (const nn of nonces) {
    for (const t of [timestamp, ...ts]) {
      if (nn === nonceStr && t === timestamp) continue;
      if (!out.some((v) => v.nonceStr === nn && v.timestamp === t)) {
        out.push({ nonceStr: nn, timestamp: t, cause: 'nonce_timestamp_mismatch', detail: `${nn}|${t}` });
      }
    }
  }
  return out;
}

function ticketVariants(input: DiagnoseInput): TicketVariant[] {
  const out: TicketVariant[] = [
    appMismatch(input)
      ? { ticket: input.ticket, cause: mismatchCode(input), detail: input.ticketAppId ?? '' }
      : { ticket: input.ticket, cause: null, detail: '' },
  ];
  // WeCom's classic mistake: the corp ticket used for wx.agentConfig, or the app ticket for wx.config.
  for (const t of input.otherKindTickets ?? []) {
    if (t === '' || out.some((v) => v.ticket === t)) continue;
    out.push({ ticket: t, cause: 'wrong_ticket_kind', detail: input.kind ?? 'config' });
  }
  // The account wx.config names: the page's appId when given, else the one whose ticket is current.
  const pageApp = input.appId || input.ticketAppId;
  for (const k of input.otherTickets ?? []) {
    if (k.ticket === input.ticket || out.some((v) => v.ticket === k.ticket)) continue;
    const otherApp = k.appId !== undefined && pageApp !== undefined && k.appId !== pageApp;
    // A current ticket of the page's own account, when wxkit's current ticket is another account's.
    const pagesOwn = !otherApp && !k.stale && appMismatch(input) && k.appId === input.appId;
    out.push({
      ticket: k.ticket,
      cause: otherApp ? 'app_id_mismatch' : k.stale ? 'stale_ticket' : pagesOwn ? null : 'app_id_mismatch',
      detail: k.appId ?? '',
    });
  }
  return out;
}

function formatVariants(): Format[] {
  return [
    {
      cause: null,
      detail: '',
      build: (t, n, s, u) => `jsapi_ticket=${t}&noncestr=${n}&timestamp=${s}&url=${u}`,
    },
    {
      cause: 'string1_format',
      detail: 'camel',
      build: (t, n, s, u) => `jsapi_ticket=${t}&nonceStr=${n}&timestamp=${s}&url=${u}`,
    },
    {
      cause: 'string1_format',
      detail: 'order',
      build: (t, n, s, u) => `noncestr=${n}&jsapi_ticket=${t}&timestamp=${s}&url=${u}`,
    },
    {
      cause: 'string1_format',
      detail: 'escaped',
      build: (t, n, s, u) => `jsapi_ticket=${t}&noncestr=${n}&timestamp=${s}&url=${encodeURIComponent(u)}`,
    },
  ];
}

function describe(
  code: DiagnosisCode,
  detail: string,
  input: DiagnoseInput,
  target: string,
  signedUrl: string,
): DiagnosisCause {
  switch (code) {
    case 'string1_format': {
      const what =
        detail === 'camel'
          ? [
              'wrote the key as "nonceStr"; in string1 it is all lowercase "noncestr"',
              '键名写成了 "nonceStr"，string1 中应全部小写为 "noncestr"',
            ]
          : detail === 'order'
            ? [
                'put the keys out of order; they must be sorted by ASCII (jsapi_ticket, noncestr, timestamp, url)',
                '参数顺序错误，必须按 ASCII 排序（jsapi_ticket、noncestr、timestamp、url）',
              ]
            : [
                'URL-escaped the url inside string1; string1 uses raw values, no escaping',
                '在 string1 中对 url 做了转义；string1 使用原始值，不做转义',
              ];
      return {
        code,
        en: `The signing code ${what[0]}.`,
        zh: `签名代码${what[1]}。`,
      };
    }
    case 'nonce_timestamp_mismatch': {
      const [n = '', t = ''] = detail.split('|');
      return {
        code,
        en: `wx.config got nonceStr=${input.nonceStr} timestamp=${input.timestamp}, but the signature was made with noncestr=${n} timestamp=${t}. Pass wx.config exactly the values that were signed (timestamp in seconds; the key is nonceStr with a capital S).`,
        zh: `wx.config 收到 nonceStr=${input.nonceStr} timestamp=${input.timestamp}，但签名使用的是 noncestr=${n} timestamp=${t}。请把签名时的值原样传给 wx.config（timestamp 为秒；键名 nonceStr 的 S 大写）。`,
      };
    }
    case 'url_hash':
      return {
        code,
        en: `The signed URL kept the #fragment (${signedUrl}). WeChat checks the URL without '#…': sign location.href.split('#')[0].`,
        zh: `签名的 URL 带了 # 后的部分（${signedUrl}）。微信校验不含 '#' 的 URL：请对 location.href.split('#')[0] 签名。`,
      };
    case 'url_encoding': {
      const how =
        detail === 'whole'
          ? [
              'was still encodeURIComponent’ed when signed; decode it once on the server',
              '签名时仍是 encodeURIComponent 编码后的形式；服务端需先解码一次',
            ]
          : detail === 'double'
            ? [
                'was percent-encoded again before signing (double encoding)',
                '签名前被再次百分号编码（重复编码）',
              ]
            : [
                'was percent-decoded before signing; WeChat checks it as the page has it',
                '签名前被百分号解码；微信按页面中的原样校验',
              ];
      return {
        code,
        en: `The signed URL ${how[0]}. Signed: ${signedUrl} — WeChat checks: ${target}.`,
        zh: `签名的 URL ${how[1]}。签名用的：${signedUrl}，微信校验的：${target}。`,
      };
    }
    case 'url_scheme':
      return {
        code,
        en: `The URL was signed with the other scheme (${signedUrl}); the page is at ${target}. Behind a proxy, take the scheme from the page, not the request.`,
        zh: `签名使用了另一种协议（${signedUrl}），页面实际为 ${target}。在反向代理后面时，请以页面 URL 为准，而非后端请求。`,
      };
    case 'url_trailing_slash':
      return {
        code,
        en: `The signed URL differs by a trailing slash (${signedUrl} vs ${target}). Sign exactly location.href.split('#')[0].`,
        zh: `签名 URL 与页面 URL 相差一个结尾斜杠（${signedUrl} 与 ${target}）。请严格对 location.href.split('#')[0] 签名。`,
      };
    case 'url_landing':
      if (detail === 'signed') {
        return {
          code,
          en: `This service signed the signature for ${signedUrl}, but the page sent ${target}: the page's URL changed between signing and wx.config (a route change, a redirect, a link from an OAuth page). WeChat checks the URL at wx.config time (on iOS the landing URL of a single-page app): sign again after each change (wxkit/client's reconfigure(), urlMode 'auto').`,
          zh: `本服务为 ${signedUrl} 生成了该签名，但页面发送的是 ${target}：签名与 wx.config 之间页面 URL 变了（路由切换、重定向、从授权页跳转而来）。微信按调用 wx.config 时的 URL 校验（iOS 单页应用为首次进入的 URL）：每次变化后重新签名（wxkit/client 的 reconfigure()，urlMode 'auto'）。`,
        };
      }
      if (detail === 'landing') {
        return {
          code,
          en: `The page signed its landing URL (${signedUrl}) but WeChat verified the current URL ${target} — outside iOS, WeChat checks the URL after pushState. Use urlMode 'auto' in wxkit/client (signs the current URL there).`,
          zh: `页面对首次进入的 URL（${signedUrl}）签名，但微信校验的是当前 URL ${target}——非 iOS 的微信校验 pushState 之后的 URL。请在 wxkit/client 中使用 urlMode 'auto'（在这些平台上对当前 URL 签名）。`,
        };
      }
      return {
        code,
        en: `The page signed its current URL (${signedUrl}) but WeChat verified ${target} — on iOS, WeChat checks the landing URL of a single-page app. Use urlMode 'auto' in wxkit/client (signs the landing URL on iOS).`,
        zh: `页面对当前 URL（${signedUrl}）签名，但微信校验的是 ${target}——iOS 微信对单页应用校验首次进入的 URL。请在 wxkit/client 中使用 urlMode 'auto'（iOS 上对落地页 URL 签名）。`,
      };
    case 'url_share_params':
      return {
        code,
        en: `The signed URL (${signedUrl}) lacks query parameters the page has (${target}); WeChat appends some (from=singlemessage…) when a link is shared. Take the URL at run time in the page.`,
        zh: `签名的 URL（${signedUrl}）缺少页面上的查询参数（${target}）；分享后微信会追加参数（from=singlemessage 等）。请在页面运行时动态获取 URL。`,
      };
    case 'app_id_mismatch':
      return {
        code,
        en: `The signature was made with the ticket of another account${detail ? ` (${detail})` : ''}${input.appId ? `, while wx.config got appId ${input.appId}` : ''}. The appId in wx.config must be the one whose jsapi_ticket signed.`,
        zh: `签名使用了其他公众号${detail ? `（${detail}）` : ''}的 ticket${input.appId ? `，而 wx.config 的 appId 是 ${input.appId}` : ''}。wx.config 的 appId 必须与签名所用 jsapi_ticket 的 appId 一致。`,
      };
    case 'wrong_ticket_kind':
      if (detail === 'agentConfig') {
        return {
          code,
          en: "wx.agentConfig was signed with the corp's jsapi_ticket (the one for wx.config). wx.agentConfig needs the app's ticket: GET /cgi-bin/ticket/get?type=agent_config with the app's token (wxkit: corp.agentConfig() or GET /jssdk/agent-config).",
          zh: 'wx.agentConfig 使用了企业的 jsapi_ticket（wx.config 用的那个）签名。wx.agentConfig 需要应用的 ticket：用应用的 access_token 调用 GET /cgi-bin/ticket/get?type=agent_config（wxkit：corp.agentConfig() 或 GET /jssdk/agent-config）。',
        };
      }
      return {
        code,
        en: "wx.config was signed with the app's agent_config ticket (the one for wx.agentConfig). A WeCom page's wx.config needs the corp's ticket: GET /cgi-bin/get_jsapi_ticket (wxkit: corp.jssdkConfig() or GET /jssdk/config?appId=<corpId>).",
        zh: 'wx.config 使用了应用的 agent_config ticket（wx.agentConfig 用的那个）签名。企业微信页面的 wx.config 需要企业的 ticket：GET /cgi-bin/get_jsapi_ticket（wxkit：corp.jssdkConfig() 或 GET /jssdk/config?appId=<corpId>）。',
      };
    case 'corpid_mismatch':
      return {
        code,
        en: `The page passed ${input.kind === 'agentConfig' ? 'wx.agentConfig corpid' : 'wx.config appId'} ${input.appId ?? '(none)'}, but the signature is for corp ${detail || input.ticketAppId || '?'}. In WeCom both wx.config's appId and wx.agentConfig's corpid are the corpId of the signing corp (agentConfig:invalid corpId otherwise).`,
        zh: `页面传给${input.kind === 'agentConfig' ? ' wx.agentConfig 的 corpid' : ' wx.config 的 appId'} 为 ${input.appId ?? '（无）'}，但签名属于企业 ${detail || input.ticketAppId || '?'}。企业微信中 wx.config 的 appId 与 wx.agentConfig 的 corpid 都必须是签名企业的 corpId（否则返回 agentConfig:invalid corpId）。`,
      };
    case 'stale_ticket':
      return {
        code,
        en: 'The signature was made with an older jsapi_ticket of this account. Something caches the ticket separately (or another program fetches its own); share one cache.',
        zh: '签名使用了该公众号较早的 jsapi_ticket。有程序单独缓存了 ticket（或其他程序自行获取）；请共用一个缓存。',
      };
    default:
      return okCause();
  }
}

function okCause(): DiagnosisCause {
  return {
    code: 'ok',
    en: 'The signature is right for this URL, nonceStr, timestamp and ticket.',
    zh: '对该 URL、nonceStr、timestamp 与 ticket，签名正确。',
  };
}

function sha1Hex(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function safeNormalize(url: string | undefined): string | undefined {
  return url === undefined ? undefined : safe(() => normalizeSignUrl(url));
}

function safeHost(url: string): string {
  return safe(() => new URL(url).host) ?? url;
}

function safePort(url: string): string {
  return safe(() => new URL(url).port) ?? '';
}
