import { ErrorCodes, type Hint, type WxkitError } from '../errors.ts';

/**
 * The error body an HTTP caller gets: SPEC §3's shape with the stable `code`, the message in English
 * (`message`) and Chinese (`messageZh`), WeChat's errcode and a hint — and nothing of the service's internals. Callers of the public routes are anonymous (any page,
 * any script on the internet); what WeChat tells the service about its own configuration stays in the
 * service's log, in `/readyz` for internal callers, and in `wxkit doctor` / `wxkit token status`.
 * Library users keep the full error (`WxkitError` properties, `toJSON()`).
 */
export function publicErrorBody(error: WxkitError): { error: Record<string, unknown> } {
  const body: Record<string, unknown> = {
    code: error.code,
    message: error.message,
    messageZh: error.messageZh,
    hint: joinHint(error.hint),
  };
  if (error.errcode !== undefined) body.wechat = { errcode: error.errcode, errmsg: error.errmsg ?? '' };
  if (error.details) {
    const details = withoutCacheMarker(error.details);
    if (Object.keys(details).length > 0) body.details = details;
  }
  return {
    error: hidesServiceInternals(error) ? { ...genericBody(error), ...withoutWechatText(body.wechat) } : body,
  };
}

/**
 * True for errors about the service rather than the request: WeChat refusing the account's credentials
 * or configuration (40013, 40125, 40164 …, 45009, token errors), WeChat or the store unreachable, the
 * central wxkit refusing the service (remote mode).
 *
 * Stops: an anonymous caller learning the server's egress IP (40164's errmsg quotes it), that the
 * AppSecret is wrong and how it gets reset (40125's text and hint), the upstream base URL (`Cannot reach
 * http://10.0.0.5:8080` — `WX_API_BASE` may be an internal proxy), or the store's address.
 */
export function hidesServiceInternals(error: WxkitError): boolean {
  switch (error.code) {
    case ErrorCodes.UPSTREAM_UNAVAILABLE:
    case ErrorCodes.STORE_UNAVAILABLE:
    case ErrorCodes.INTERNAL:
      return true;
    case ErrorCodes.CONFIG_ERROR:
      // 502: an upstream (the central wxkit in remote mode) refused the service's key or account. Other
      // configuration errors say what to build or set and name nothing of the deployment.
      return error.status === 502;
    case ErrorCodes.WECHAT_ERROR: {
      // A bad media_id or OAuth code is the caller's own input: its wording helps and reveals nothing.
      const category = error.category;
      return category !== 'request' && category !== 'user-auth';
    }
    default:
      return false;
  }
}

/**
 * Drops `details.cachedFailure` (set when custody answers from its negative cache).
 *
 * Stops: a caller telling from the body whether the service asked WeChat just now or remembered an
 * earlier refusal — timing of the service's upstream calls is not the caller's business, and the field
 * was never documented.
 */
export function withoutCacheMarker(details: Record<string, unknown>): Record<string, unknown> {
  const { cachedFailure: _, ...rest } = details;
  return rest;
}

/** WeChat's errcode without its errmsg (the errmsg may quote the egress IP; its `rid` is in the log). */
function withoutWechatText(wechat: unknown): { wechat?: { errcode: unknown } } {
  const errcode = (wechat as { errcode?: unknown } | undefined)?.errcode;
  return errcode === undefined ? {} : { wechat: { errcode } };
}

function genericBody(error: WxkitError): Record<string, unknown> {
  const g = GENERIC[error.code] ?? (GENERIC.internal as Generic);
  const quota = error.category === 'quota';
  const text = quota ? QUOTA : g;
  return { code: error.code, message: text.message, messageZh: text.messageZh, hint: joinHint(text.hint) };
}

interface Generic {
  message: string;
  messageZh: string;
  hint: Hint;
}

const OPERATOR: Hint = {
  en: 'This is about the service, not the page: retrying does not help. Its operator finds the details in the service log, in /readyz (from inside) and with `wxkit token status`.',
  zh: '这是服务端的问题，与页面无关，重试无效。运维人员可在服务日志、/readyz（内网访问）及 `wxkit token status` 中查看详情。',
};

const QUOTA: Generic = {
  message: "WeChat's daily quota for this account is used up.",
  messageZh: '该账号今天的微信接口配额已用完。',
  hint: {
    en: 'Retry after Retry-After: WeChat resets daily quotas at midnight Beijing time (16:00 UTC).',
    zh: '请在 Retry-After 之后重试：微信每日配额在北京时间零点（UTC 16:00）重置。',
  },
};

const GENERIC: Partial<Record<WxkitError['code'], Generic>> = {
  wechat_error: {
    message: "WeChat refused the service's request.",
    messageZh: '微信拒绝了本服务的请求。',
    hint: OPERATOR,
  },
  upstream_unavailable: {
    message: 'WeChat cannot be reached or is busy right now.',
    messageZh: '暂时无法连接微信，或微信繁忙。',
    hint: { en: 'Retry after Retry-After.', zh: '请在 Retry-After 之后重试。' },
  },
  store_unavailable: {
    message: "The service's store cannot be reached right now.",
    messageZh: '本服务的存储暂时无法连接。',
    hint: { en: 'Retry after Retry-After.', zh: '请在 Retry-After 之后重试。' },
  },
  config_error: { message: 'The service is misconfigured.', messageZh: '本服务配置有误。', hint: OPERATOR },
  internal: {
    message: 'Internal error; the service logged the details.',
    messageZh: '内部错误，详情已记录在服务日志中。',
    hint: {
      en: 'An unexpected error in wxkit; it is logged. Please report it.',
      zh: 'wxkit 内部错误，已记录日志，请反馈。',
    },
  },
};

function joinHint(hint: Hint): string {
  return hint.en && hint.zh ? `${hint.en} / ${hint.zh}` : hint.en || hint.zh;
}
