import { describeErrcode, type ErrcodeCategory, type ErrcodePlatform } from './errcodes.ts';

/** Stable, machine-readable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCodes = {
  /** The URL to sign is not an absolute http(s) URL. */
  INVALID_URL: 'invalid_url',
  /** The page's host/path is not one of the account's JS-safe domains. */
  URL_NOT_ALLOWED: 'url_not_allowed',
  /** No account with that appId is configured. */
  UNKNOWN_APP: 'unknown_app',
  /** WeChat answered with an errcode that retrying will not fix. */
  WECHAT_ERROR: 'wechat_error',
  /** WeChat (or the network to it) is unavailable right now; retry later. */
  UPSTREAM_UNAVAILABLE: 'upstream_unavailable',
  /** The request or the options are malformed. */
  INVALID_REQUEST: 'invalid_request',
  /** The configuration is wrong (missing secret, bad store URL…). */
  CONFIG_ERROR: 'config_error',
  /** The shared store (file system, Redis) cannot be reached. */
  STORE_UNAVAILABLE: 'store_unavailable',
  /** Authentication failed (bearer key, session, OAuth state). */
  UNAUTHORIZED: 'unauthorized',
  /** The caller is not allowed to do this. */
  FORBIDDEN: 'forbidden',
  /** The resource does not exist. */
  NOT_FOUND: 'not_found',
  /** Too many requests from this client. */
  RATE_LIMITED: 'rate_limited',
  /** The request body or URL is larger than allowed. */
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  /** The operation was aborted or timed out. */
  ABORTED: 'aborted',
  /** The account took back its authorization of the third-party platform (取消授权): it must authorize again. */
  AUTHORIZER_REVOKED: 'authorizer_revoked',
  /** A bug in wxkit. Reported as 500 without details. */
  INTERNAL: 'internal',
} as const;

/** One of the {@link ErrorCodes} values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** A hint in the two languages wxkit's users read. */
export interface Hint {
  en: string;
  zh: string;
}

/** Options for {@link WxkitError}. */
export interface WxkitErrorOptions {
  /** WeChat's numeric errcode, when the error comes from WeChat. */
  errcode?: number;
  /** WeChat's errmsg, verbatim (it never contains secrets; its `rid` helps WeChat support). */
  errmsg?: string;
  /** Whose errcode it is (WeCom reads some numbers differently). @default 'official' */
  platform?: ErrcodePlatform;
  /**
   * The message in Chinese. Defaults to a sentence naming the kind of error (its `code`), with WeChat's
   * errcode and its meaning when there is one.
   */
  zh?: string;
  /** What to do about it, in plain words. Defaults to the errcode table's hint, if any. */
  hint?: Hint;
  /** HTTP status this error maps to when it reaches an HTTP client. */
  status?: number;
  /** Seconds after which a retry may succeed (sent as `Retry-After`). */
  retryAfter?: number;
  /** The underlying error. */
  cause?: unknown;
  /** Extra, non-secret facts for machines (e.g. the configured domains). */
  details?: Record<string, unknown>;
}

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  invalid_url: 400,
  url_not_allowed: 403,
  unknown_app: 404,
  wechat_error: 502,
  upstream_unavailable: 503,
  invalid_request: 400,
  config_error: 500,
  store_unavailable: 503,
  unauthorized: 401,
  forbidden: 403,
  authorizer_revoked: 403,
  not_found: 404,
  rate_limited: 429,
  payload_too_large: 413,
  aborted: 504,
  internal: 500,
};

// What the error is, in Chinese, when the thrower had nothing more specific to say: every error has a
// message in both languages (the English one is the thrower's).
const DEFAULT_MESSAGE_ZH: Record<ErrorCode, string> = {
  invalid_url: '要签名的 URL 无效：应为页面完整的 http(s) 地址，即 location.href.split("#")[0]。',
  url_not_allowed: '页面域名不在该账号的 JS 接口安全域名（或可信域名）中。',
  unknown_app: '本服务没有配置该账号。',
  wechat_error: '微信拒绝了该请求。',
  upstream_unavailable: '暂时无法连接微信，或微信繁忙。',
  invalid_request: '请求有误，本服务无法处理。',
  config_error: '配置有误。',
  store_unavailable: '暂时无法连接存储。',
  unauthorized: '身份验证失败。',
  forbidden: '无权执行此操作。',
  authorizer_revoked: '该公众号已取消对本第三方平台的授权。',
  not_found: '请求的资源不存在。',
  rate_limited: '该客户端的请求过于频繁。',
  payload_too_large: '请求过大。',
  aborted: '操作被取消或超时。',
  internal: 'wxkit 内部错误，详情已记录在服务日志中。',
};

// What to do when the thrower had nothing more specific to say: every error carries a hint.
const DEFAULT_HINT: Record<ErrorCode, Hint> = {
  invalid_url: {
    en: 'Send location.href.split("#")[0] from the page.',
    zh: '请发送页面的 location.href.split("#")[0]。',
  },
  url_not_allowed: {
    en: "Add the page's domain to the account's JS-safe domains (WX_JS_DOMAINS).",
    zh: '请把页面域名加入公众号的 JS 接口安全域名（WX_JS_DOMAINS）。',
  },
  unknown_app: { en: 'Use an appId this service is configured for.', zh: '请使用本服务已配置的 appId。' },
  wechat_error: { en: "See WeChat's errcode and errmsg.", zh: '请查看微信返回的 errcode 与 errmsg。' },
  upstream_unavailable: {
    en: 'Retry after the time given in Retry-After.',
    zh: '请在 Retry-After 指定的时间后重试。',
  },
  invalid_request: {
    en: 'Check the request against the API reference (docs/service.md).',
    zh: '请对照接口文档（docs/service.md）检查请求。',
  },
  config_error: { en: 'Fix the configuration and start again.', zh: '请修正配置后重新启动。' },
  store_unavailable: {
    en: 'Check that the store (WXKIT_STORE) is reachable; wxkit serves from memory meanwhile.',
    zh: '请检查存储（WXKIT_STORE）是否可达；期间 wxkit 使用内存中的副本。',
  },
  unauthorized: { en: 'Send valid credentials.', zh: '请提供有效的凭据。' },
  forbidden: { en: 'This caller may not do this.', zh: '该调用方无权执行此操作。' },
  not_found: { en: 'Check the path (docs/service.md).', zh: '请检查路径（docs/service.md）。' },
  rate_limited: {
    en: 'Slow down; retry after Retry-After.',
    zh: '请求过于频繁，请在 Retry-After 之后重试。',
  },
  payload_too_large: { en: 'Send a smaller request.', zh: '请减小请求大小。' },
  aborted: { en: 'The operation was cancelled or timed out; retry.', zh: '操作被取消或超时，请重试。' },
  authorizer_revoked: {
    en: 'The account cancelled its authorization of this platform (取消授权); send its admin the authorization link again.',
    zh: '该公众号已取消对本第三方平台的授权，请把授权链接再次发给其管理员。',
  },
  internal: {
    en: 'An unexpected error in wxkit; it is logged. Please report it.',
    zh: 'wxkit 内部错误，已记录日志，请反馈。',
  },
};

/**
 * The one error class wxkit throws. `code` is stable; `errcode`/`errmsg` carry WeChat's answer when
 * there is one; `hint` says what to do, in English and Chinese.
 *
 * @example
 * try { await wx.jssdkConfig({ url }) } catch (e) {
 *   if (e instanceof WxkitError && e.code === 'url_not_allowed') console.error(e.hint.en)
 * }
 */
export class WxkitError extends Error {
  override readonly name = 'WxkitError';
  readonly code: ErrorCode;
  readonly errcode: number | undefined;
  readonly errmsg: string | undefined;
  /** Whose errcode `errcode` is: `official` (WeChat) or `wecom`. */
  readonly platform: ErrcodePlatform;
  /** The message in Chinese (`message` is English). */
  readonly messageZh: string;
  readonly hint: Hint;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: WxkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errcode = options.errcode;
    this.errmsg = options.errmsg;
    this.platform = options.platform ?? 'official';
    const known = options.errcode === undefined ? undefined : describeErrcode(options.errcode, this.platform);
    this.hint = options.hint ?? known?.hint ?? DEFAULT_HINT[code];
    this.messageZh =
      options.zh ??
      (options.errcode === undefined
        ? DEFAULT_MESSAGE_ZH[code]
        : `${DEFAULT_MESSAGE_ZH[code]}errcode ${options.errcode}${known ? `（${known.name}）` : ''}。`);
    // 45009 is WeChat saying "not today": unavailable until the quota resets, not a bad gateway.
    this.status =
      options.status ??
      (code === ErrorCodes.WECHAT_ERROR && known?.category === 'quota' ? 503 : DEFAULT_STATUS[code]);
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }

  /** The errcode's category from the table, if this error carries a WeChat errcode. */
  get category(): ErrcodeCategory | undefined {
    return this.errcode === undefined ? undefined : describeErrcode(this.errcode, this.platform)?.category;
  }

  /** The JSON error body of the HTTP API: `{error:{code,message,messageZh,hint,wechat?}}`. */
  toJSON(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = {
      code: this.code,
      message: this.message,
      messageZh: this.messageZh,
      hint: this.hint.en && this.hint.zh ? `${this.hint.en} / ${this.hint.zh}` : this.hint.en || this.hint.zh,
    };
    if (this.errcode !== undefined) error.wechat = { errcode: this.errcode, errmsg: this.errmsg ?? '' };
    if (this.details) Object.assign(error, { details: this.details });
    return { error };
  }
}

/** True when `value` is a {@link WxkitError} (also across duplicated copies of the package). */
export function isWxkitError(value: unknown): value is WxkitError {
  return (
    value instanceof WxkitError ||
    (value instanceof Error && value.name === 'WxkitError' && typeof (value as WxkitError).code === 'string')
  );
}
