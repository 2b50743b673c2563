/**
 * WeChat errcodes wxkit knows, with what they mean for a caller. The credential layer decides
 * retry / refresh / fail from `category` alone, in one place ({@link actionFor}).
 *
 * Sources: WeChat Official Account docs — global return codes (全局返回码说明), Get Access Token,
 * getStableAccessToken, JS-SDK appendix 5, web authorization; WeCom (企业微信) global error codes
 * (全局错误码, developer.work.weixin.qq.com/document/path/90313), gettoken, JS-SDK tickets; see
 * docs/wechat-facts.md.
 *
 * The two platforms share most numbers but not all meanings (WeCom's 40001 is a wrong secret, not an
 * expired token; its 45009 is an hourly or per-minute limit, not the daily quota): an errcode is read
 * in the table of the platform that answered it.
 */

/** Whose errcode it is: WeChat (Official Accounts, `api.weixin.qq.com`) or WeCom (`qyapi.weixin.qq.com`). */
export type ErrcodePlatform = 'official' | 'wecom';

/**
 * - `token-invalid`: the access_token is expired or replaced — get a new one and retry once.
 * - `config`: the account's configuration is wrong (appid, secret, IP whitelist) — no retry fixes it.
 * - `transient`: WeChat is busy or a per-minute limit hit — back off and retry.
 * - `quota`: the daily quota is spent — nothing works until tomorrow (or a quota reset).
 * - `rate-limit`: an hourly or per-minute frequency limit (WeCom's ticket limits) — back off for minutes.
 * - `user-auth`: an OAuth code/token of a user is invalid, used or lacks scope — the user must log in again.
 * - `request`: this particular request is wrong (bad media_id, missing parameter) — fix the request.
 */
export type ErrcodeCategory =
  | 'token-invalid'
  | 'config'
  | 'transient'
  | 'quota'
  | 'rate-limit'
  | 'user-auth'
  | 'request';

/** What a caller should do about an errcode. */
export type ErrcodeAction = 'refresh-token' | 'fail' | 'backoff' | 'fail-for-day' | 'reauthenticate';

export interface ErrcodeInfo {
  errcode: number;
  category: ErrcodeCategory;
  /** WeChat's own short name for it. */
  name: string;
  hint: { en: string; zh: string };
}

const table: ErrcodeInfo[] = [
  {
    errcode: -1,
    category: 'transient',
    name: 'system error',
    hint: { en: 'WeChat is busy; wxkit retries with backoff.', zh: '微信系统繁忙，wxkit 会退避重试。' },
  },
  {
    errcode: 40001,
    category: 'token-invalid',
    name: 'invalid credential, access_token is invalid or not latest',
    hint: {
      en: 'The access_token was replaced or expired — usually another program fetched a new one with the same appid. Let one service own the token (wxkit serve, or the stable token mode).',
      zh: 'access_token 已失效或不是最新——通常是其他程序用同一 appid 获取了新 token。请只让一个服务管理 token（wxkit serve，或使用 stable 模式）。',
    },
  },
  {
    errcode: 40014,
    category: 'token-invalid',
    name: 'invalid access_token',
    hint: {
      en: 'The access_token is not valid; a fresh one is fetched.',
      zh: 'access_token 不合法，将重新获取。',
    },
  },
  {
    errcode: 42001,
    category: 'token-invalid',
    name: 'access_token expired',
    hint: {
      en: 'The access_token expired; a fresh one is fetched.',
      zh: 'access_token 已过期，将重新获取。',
    },
  },
  {
    errcode: 40002,
    category: 'request',
    name: 'invalid grant_type',
    hint: { en: 'grant_type must be client_credential.', zh: 'grant_type 必须为 client_credential。' },
  },
  {
    errcode: 40013,
    category: 'config',
    name: 'invalid appid',
    hint: {
      en: 'The appId is wrong. Copy it from the Official Account platform (设置与开发 → 基本配置).',
      zh: 'AppID 不正确，请从公众平台「设置与开发 → 基本配置」复制。',
    },
  },
  {
    errcode: 40125,
    category: 'config',
    name: 'invalid appsecret',
    hint: {
      en: 'The AppSecret is wrong or was reset. Reset it on the Official Account platform and update WX_APP_SECRET.',
      zh: 'AppSecret 错误或已被重置。请在公众平台重置并更新 WX_APP_SECRET。',
    },
  },
  {
    errcode: 40164,
    category: 'config',
    name: 'invalid ip, not in whitelist',
    hint: {
      en: "This server's IP is not in the account's IP whitelist. Add it under 设置与开发 → 基本配置 → IP白名单.",
      zh: '服务器 IP 不在公众号 IP 白名单中，请在「设置与开发 → 基本配置 → IP白名单」中添加。',
    },
  },
  {
    errcode: 61024,
    category: 'config',
    name: 'this account has been authorized to a third-party platform',
    hint: {
      en: 'The account is managed by a third-party platform; get tokens from that platform instead.',
      zh: '该账号已授权给第三方平台，请通过第三方平台获取 token。',
    },
  },
  {
    errcode: 61003,
    category: 'config',
    name: 'component is not authorized by this account',
    hint: {
      en: 'The account took its authorization back (or never gave it): it must authorize the platform again.',
      zh: '该公众号已取消授权（或从未授权）第三方平台，需要重新授权。',
    },
  },
  {
    errcode: 61004,
    category: 'config',
    name: 'access clientip is not registered',
    hint: {
      en: "This server's IP is not in the platform's IP whitelist (开放平台 → 第三方平台 → 开发配置).",
      zh: '服务器 IP 不在第三方平台的白名单中（开放平台 → 第三方平台 → 开发配置）。',
    },
  },
  {
    errcode: 61005,
    category: 'config',
    name: 'component ticket is expired',
    hint: {
      en: 'The last component_verify_ticket is older than 12 hours: WeChat stopped reaching the 授权事件接收URL. Check that URL (POST /platform/events) answers "success".',
      zh: '最近的 component_verify_ticket 已超过 12 小时：微信推送未到达「授权事件接收URL」。请检查该地址（POST /platform/events）是否回复 success。',
    },
  },
  {
    errcode: 61006,
    category: 'config',
    name: 'component ticket is invalid',
    hint: {
      en: 'The component_verify_ticket is not one WeChat pushed to this platform (another platform’s, or made up).',
      zh: 'component_verify_ticket 不是微信推送给本平台的（属于其他平台或被篡改）。',
    },
  },
  {
    errcode: 61023,
    category: 'request',
    name: 'refresh_token is invalid',
    hint: {
      en: 'The authorizer_refresh_token was replaced by a re-authorization; wxkit re-reads it from api_get_authorizer_info.',
      zh: 'authorizer_refresh_token 已因重新授权而更换；wxkit 会从 api_get_authorizer_info 重新读取。',
    },
  },
  {
    errcode: 40243,
    category: 'config',
    name: 'AppSecret frozen',
    hint: {
      en: 'The AppSecret is frozen. Unfreeze it on the Official Account platform.',
      zh: 'AppSecret 已被冻结，请在公众平台解冻。',
    },
  },
  {
    errcode: 45009,
    category: 'quota',
    name: 'reach max api daily quota limit',
    hint: {
      en: 'The daily quota for this API is used up. Cache tokens (wxkit does) and find who else fetches them; an admin can reset the quota once via /cgi-bin/clear_quota.',
      zh: '接口调用超过每日限额。请缓存 token（wxkit 会缓存）并排查其他获取 token 的程序；管理员可通过 /cgi-bin/clear_quota 重置一次。',
    },
  },
  {
    errcode: 45011,
    category: 'transient',
    name: 'api minute-quota reach limit',
    hint: {
      en: 'Per-minute limit reached; wxkit backs off.',
      zh: '接口调用频率超过每分钟限制，wxkit 会退避重试。',
    },
  },
  {
    errcode: 45033,
    category: 'transient',
    name: 'force_refresh called too often',
    hint: {
      en: 'stable_token force_refresh is limited (20/day, 30 s apart). wxkit never forces a refresh on its own.',
      zh: 'stable_token 强制刷新受限（每天 20 次，间隔 30 秒）。wxkit 不会自行强制刷新。',
    },
  },
  {
    errcode: 41001,
    category: 'request',
    name: 'access_token missing',
    hint: { en: 'The request had no access_token.', zh: '请求缺少 access_token。' },
  },
  {
    errcode: 41002,
    category: 'request',
    name: 'appid missing',
    hint: { en: 'The request had no appid.', zh: '请求缺少 appid。' },
  },
  {
    errcode: 41004,
    category: 'request',
    name: 'appsecret missing',
    hint: { en: 'The request had no secret.', zh: '请求缺少 secret。' },
  },
  {
    errcode: 41008,
    category: 'request',
    name: 'missing code',
    hint: { en: 'The OAuth callback had no code.', zh: '网页授权回调缺少 code。' },
  },
  {
    errcode: 40007,
    category: 'request',
    name: 'invalid media_id',
    hint: {
      en: 'The serverId (media_id) is unknown or older than 3 days. Download media as soon as the page uploads it.',
      zh: 'serverId（media_id）无效或已超过 3 天。请在页面上传后立即下载。',
    },
  },
  {
    errcode: 40029,
    category: 'user-auth',
    name: 'invalid code',
    hint: {
      en: 'The OAuth code is invalid or older than 5 minutes. Send the user through login again.',
      zh: '网页授权 code 无效或已超过 5 分钟，请让用户重新授权。',
    },
  },
  {
    errcode: 40163,
    category: 'user-auth',
    name: 'code been used',
    hint: {
      en: 'The OAuth code was already exchanged (back button, double callback, link prefetch). Exchange each code once and reuse the result.',
      zh: '网页授权 code 已被使用（返回键、重复回调、链接预取）。每个 code 只兑换一次并复用结果。',
    },
  },
  {
    errcode: 42002,
    category: 'user-auth',
    name: 'refresh_token expired',
    hint: {
      en: 'The OAuth refresh_token expired (30 days); log in again.',
      zh: 'refresh_token 已过期（30 天），请重新授权。',
    },
  },
  {
    errcode: 42003,
    category: 'user-auth',
    name: 'code expired',
    hint: { en: 'The OAuth code expired; log in again.', zh: '网页授权 code 已过期，请重新授权。' },
  },
  {
    errcode: 40030,
    category: 'user-auth',
    name: 'invalid refresh_token',
    hint: { en: 'The OAuth refresh_token is invalid; log in again.', zh: 'refresh_token 无效，请重新授权。' },
  },
  {
    errcode: 40003,
    category: 'user-auth',
    name: 'invalid openid',
    hint: {
      en: 'The openid does not belong to this account or token.',
      zh: 'openid 不属于该公众号或 token。',
    },
  },
  {
    errcode: 48001,
    category: 'user-auth',
    name: 'api unauthorized',
    hint: {
      en: 'This API needs a scope the token lacks — /sns/userinfo needs snsapi_userinfo, not snsapi_base.',
      zh: '该接口需要的权限 token 没有——/sns/userinfo 需要 snsapi_userinfo 授权，而非 snsapi_base。',
    },
  },
  {
    errcode: 40010,
    category: 'request',
    name: 'invalid voice file',
    hint: { en: 'The voice file is not valid.', zh: '语音文件不合法。' },
  },
  {
    errcode: 40004,
    category: 'request',
    name: 'invalid media type',
    hint: { en: 'The media type is not valid.', zh: '媒体文件类型不合法。' },
  },
  {
    errcode: 41006,
    category: 'request',
    name: 'media_id missing',
    hint: { en: 'The request had no media_id.', zh: '请求缺少 media_id。' },
  },
  {
    errcode: 40097,
    category: 'request',
    name: 'invalid args',
    hint: { en: 'A parameter is invalid.', zh: '参数错误。' },
  },
];

/**
 * WeCom's entries where they differ from WeChat's or exist only in WeCom. Codes not listed here mean
 * the same on both platforms (-1, 40014, 42001, 41001, 40007, 40029) and are read in the table above.
 * Source: WeCom 全局错误码 (developer.work.weixin.qq.com/document/path/90313).
 */
const wecomTable: ErrcodeInfo[] = [
  {
    errcode: 40001,
    category: 'config',
    name: 'invalid secret',
    hint: {
      en: "WeCom refused the secret. Use the Secret of this app (应用管理 → the app → Secret) in WX_CORP_SECRET — each app has its own; the corp's contacts secret does not sign pages.",
      zh: '企业微信拒绝了 secret。请在 WX_CORP_SECRET 中填写该应用的 Secret（应用管理 → 应用 → Secret）——每个应用各有一个，通讯录 secret 不能用于网页签名。',
    },
  },
  {
    errcode: 40013,
    category: 'config',
    name: 'invalid corpid',
    hint: {
      en: 'The corpId is wrong. Copy it from the WeCom admin console (我的企业 → 企业信息 → 企业ID).',
      zh: 'corpId 不正确，请从企业微信管理后台「我的企业 → 企业信息 → 企业ID」复制。',
    },
  },
  {
    errcode: 40056,
    category: 'config',
    name: 'invalid agentid',
    hint: {
      en: 'The agentId is wrong. Copy the AgentId of the app from 应用管理 → the app.',
      zh: 'agentId 不正确，请从「应用管理 → 应用」复制 AgentId。',
    },
  },
  {
    errcode: 40091,
    category: 'config',
    name: 'secret is invalid',
    hint: {
      en: 'The secret is malformed; copy it again from the app page in the WeCom admin console.',
      zh: 'secret 格式不正确，请从企业微信管理后台的应用页面重新复制。',
    },
  },
  {
    errcode: 60020,
    category: 'config',
    name: 'not allow to access from your ip',
    hint: {
      en: "This server's IP is not one of the app's trusted IPs (企业可信IP). Add it under 应用管理 → the app → 企业可信IP.",
      zh: '服务器 IP 不在应用的「企业可信IP」中，请在「应用管理 → 应用 → 企业可信IP」中添加。',
    },
  },
  {
    errcode: 45009,
    category: 'rate-limit',
    name: 'api freq out of limit',
    hint: {
      en: "WeCom's frequency limit is reached (tickets: 400 per corp and 100 per app an hour for get_jsapi_ticket, 100 per app an hour for agent_config). wxkit backs off for minutes; find who else fetches tickets with this app.",
      zh: '已达到企业微信的频率限制（get_jsapi_ticket 每企业每小时 400 次、每应用 100 次，agent_config 每应用每小时 100 次）。wxkit 会退避数分钟；请排查还有谁在用该应用获取 ticket。',
    },
  },
  {
    errcode: 45033,
    category: 'transient',
    name: 'api concurrent out of limit',
    hint: {
      en: 'Too many concurrent calls to this WeCom API; wxkit backs off.',
      zh: '该企业微信接口并发调用超过限制，wxkit 会退避重试。',
    },
  },
  {
    errcode: 48002,
    category: 'request',
    name: 'api forbidden',
    hint: {
      en: 'This app may not call that API (its permissions in the WeCom admin console).',
      zh: '该应用无权调用此接口（请在企业微信管理后台检查应用权限）。',
    },
  },
  {
    errcode: 50001,
    category: 'config',
    name: 'redirect_url not authorised',
    hint: {
      en: "The OAuth redirect_uri's domain is not the app's trusted domain (可信域名). Set it under 应用管理 → the app → 网页授权及JS-SDK.",
      zh: 'OAuth 回调地址的域名不是应用的可信域名，请在「应用管理 → 应用 → 网页授权及JS-SDK」中设置。',
    },
  },
];

const byCode = new Map(table.map((info) => [info.errcode, info]));
const wecomByCode = new Map(wecomTable.map((info) => [info.errcode, info]));

/** Every WeChat (Official Account) errcode wxkit knows, in table order. */
export const ERRCODES: readonly ErrcodeInfo[] = table;

/** WeCom's errcodes where they differ from WeChat's (the others mean the same), in table order. */
export const WECOM_ERRCODES: readonly ErrcodeInfo[] = wecomTable;

/** Looks up an errcode in the table of `platform`. Unknown codes return `undefined`. */
export function describeErrcode(
  errcode: number,
  platform: ErrcodePlatform = 'official',
): ErrcodeInfo | undefined {
  return (platform === 'wecom' ? wecomByCode.get(errcode) : undefined) ?? byCode.get(errcode);
}

/** The category of an errcode; unknown codes count as `request` (fail, do not retry). */
export function categoryOf(errcode: number, platform: ErrcodePlatform = 'official'): ErrcodeCategory {
  return describeErrcode(errcode, platform)?.category ?? 'request';
}

/** WeChat's day starts at midnight Beijing time (UTC+8): daily quotas (45009) reset then. */
const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;

/** Seconds from `nowMs` to the next daily-quota reset (00:00 Beijing time, 16:00 UTC); at least 1. */
export function secondsUntilQuotaReset(nowMs: number): number {
  const intoDay = (nowMs + BEIJING_OFFSET_MS) % DAY_MS;
  return Math.max(1, Math.ceil((DAY_MS - intoDay) / 1000));
}

/** The one place that turns an errcode into what the caller does next. */
export function actionFor(errcode: number, platform: ErrcodePlatform = 'official'): ErrcodeAction {
  switch (categoryOf(errcode, platform)) {
    case 'token-invalid':
      return 'refresh-token';
    case 'transient':
    case 'rate-limit':
      return 'backoff';
    case 'quota':
      return 'fail-for-day';
    case 'user-auth':
      return 'reauthenticate';
    default:
      return 'fail';
  }
}
