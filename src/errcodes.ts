/**
 * WeChat errcodes wxkit knows, with what they mean for a caller. The credential layer decides
 * retry / refresh / fail from `category` alone, in one place ({@link actionFor}).
 *
 * Sources: WeChat Official Account docs — global return codes (全局返回码说明), Get Access Token,
 * getStableAccessToken, JS-SDK appendix 5, web authorization; see docs/wechat-facts.md.
 */

/**
 * - `token-invalid`: the access_token is expired or replaced — get a new one and retry once.
 * - `config`: the account's configuration is wrong (appid, secret, IP whitelist) — no retry fixes it.
 * - `transient`: WeChat is busy or a per-minute limit hit — back off and retry.
 * - `quota`: the daily quota is spent — nothing works until tomorrow (or a quota reset).
 * - `user-auth`: an OAuth code/token of a user is invalid, used or lacks scope — the user must log in again.
 * - `request`: this particular request is wrong (bad media_id, missing parameter) — fix the request.
 */
export type ErrcodeCategory = 'token-invalid' | 'config' | 'transient' | 'quota' | 'user-auth' | 'request';

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

const byCode = new Map(table.map((info) => [info.errcode, info]));

/** Every errcode wxkit knows, in table order. */
export const ERRCODES: readonly ErrcodeInfo[] = table;

/** Looks up an errcode. Unknown codes return `undefined`. */
export function describeErrcode(errcode: number): ErrcodeInfo | undefined {
  return byCode.get(errcode);
}

/** The category of an errcode; unknown codes count as `request` (fail, do not retry). */
export function categoryOf(errcode: number): ErrcodeCategory {
  return byCode.get(errcode)?.category ?? 'request';
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
export function actionFor(errcode: number): ErrcodeAction {
  switch (categoryOf(errcode)) {
    case 'token-invalid':
      return 'refresh-token';
    case 'transient':
      return 'backoff';
    case 'quota':
      return 'fail-for-day';
    case 'user-auth':
      return 'reauthenticate';
    default:
      return 'fail';
  }
}
