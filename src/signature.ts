import { createHash } from 'node:crypto';
import { ErrorCodes, WxkitError } from './errors.ts';
import { randomByte } from './random.ts';

/** What `wx.config` needs, as returned by `jssdkConfig()` and `GET /jssdk/config`. */
export interface JssdkConfig {
  appId: string;
  /** Integer seconds since the epoch, as signed. */
  timestamp: number;
  /** 16 characters of [A-Za-z0-9], as signed. */
  nonceStr: string;
  /** Lowercase hex sha1 of string1. */
  signature: string;
  jsApiList: string[];
  openTagList: string[];
  debug: boolean;
}

/** The four values WeChat's signature covers. */
export interface SignInput {
  ticket: string;
  nonceStr: string;
  timestamp: number | string;
  /** The page URL exactly as WeChat checks it (see {@link normalizeSignUrl}). */
  url: string;
}

const WHOLE_ENCODED = /^https?%3a/i;
const SCHEME = /^https?:\/\/[^/?#\\]/i;
// Characters location.href never contains raw; their presence means the URL is not a page URL.
const FORBIDDEN = /[\u0000-\u0020\u007f]/;

/**
 * Turns what a page sent into the URL WeChat verifies: an absolute http(s) URL, everything from the
 * first `#` dropped, decoded once when it arrived `encodeURIComponent`'ed as a whole (`http%3A%2F%2F…`).
 * Nothing else is changed — no re-encoding, no trailing slash, no lowercasing — because WeChat compares
 * the exact string.
 *
 * @throws {WxkitError} `invalid_url` for empty, relative, non-http(s) or malformed URLs.
 * @example
 * normalizeSignUrl('https://h5.example.com/a?b=1#/route') // 'https://h5.example.com/a?b=1'
 * normalizeSignUrl('https%3A%2F%2Fh5.example.com%2Fa')     // 'https://h5.example.com/a'
 */
export function normalizeSignUrl(url: unknown): string {
  // Normalizing is idempotent: the URL returned last time (the service normalizes a page URL, then
  // buildJssdkConfig normalizes it again) is returned without parsing it a second time.
  if (url === lastNormalized && url !== '') return url;
  if (typeof url !== 'string' || url.length === 0) {
    throw invalidUrl(
      'The URL to sign is empty; send the page’s location.href.split("#")[0].',
      '要签名的 URL 为空；请发送页面的 location.href.split("#")[0]。',
    );
  }
  let value = url;
  if (WHOLE_ENCODED.test(value)) {
    try {
      value = decodeURIComponent(value);
    } catch (cause) {
      throw invalidUrl(
        'The URL looks encodeURIComponent’ed but does not decode.',
        'URL 看起来经过 encodeURIComponent 编码，但无法解码。',
        cause,
      );
    }
  }
  const hash = value.indexOf('#');
  if (hash !== -1) value = value.slice(0, hash);
  if (!SCHEME.test(value)) {
    throw invalidUrl(
      `The URL to sign must be absolute http(s), like https://h5.example.com/page; got ${preview(url)}`,
      `要签名的 URL 必须是完整的 http(s) 地址，如 https://h5.example.com/page；收到 ${preview(url)}`,
    );
  }
  if (FORBIDDEN.test(value)) {
    throw invalidUrl(
      'The URL contains spaces or control characters; location.href never does.',
      'URL 含有空格或控制字符；location.href 不会含有这些字符。',
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (cause) {
    throw invalidUrl(
      `The URL to sign is not a valid URL: ${preview(url)}`,
      `要签名的 URL 无效：${preview(url)}`,
      cause,
    );
  }
  if (parsed.hostname === '' || parsed.username !== '' || parsed.password !== '') {
    throw invalidUrl(
      'The URL to sign must have a host and no user:password part.',
      '要签名的 URL 必须有主机名，且不能含 user:password 部分。',
    );
  }
  lastNormalized = value;
  lastParsed = parsed;
  return value;
}

let lastNormalized = '';
let lastParsed: URL | undefined;

/**
 * A page URL parsed, without parsing it again when it is the URL {@link normalizeSignUrl} returned last
 * (the domain check of /jssdk/config reads the same URL right after). The object is shared: read only.
 */
export function parsePageUrl(url: string): URL {
  return url === lastNormalized && lastParsed !== undefined ? lastParsed : new URL(url);
}

/** The string WeChat hashes: `jsapi_ticket=T&noncestr=N&timestamp=S&url=U`, raw values, no escaping. */
export function jssdkString1(input: SignInput): string {
  return `jsapi_ticket=${input.ticket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${input.url}`;
}

/**
 * The `wx.config` signature: lowercase hex sha1 of {@link jssdkString1}. Pure; the URL is used as given
 * (normalize it first with {@link normalizeSignUrl}).
 *
 * @example
 * signJssdk({ ticket, nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1414587457, url: 'http://mp.weixin.qq.com?params=value' })
 */
export function signJssdk(input: SignInput): string {
  return createHash('sha1').update(jssdkString1(input)).digest('hex');
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 16 characters of [A-Za-z0-9] from the CSPRNG, without modulo bias. */
export function createNonce(length = 16): string {
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    // 248 = 4 * 62: bytes at or above it would favour the first characters.
    if (byte < 248) out += NONCE_ALPHABET[byte % 62];
  }
  return out;
}

/** Integer seconds since the epoch. */
export function createTimestamp(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

/** Options for {@link buildJssdkConfig}. */
export interface BuildJssdkConfigInput {
  appId: string;
  ticket: string;
  /** The page URL; normalized with {@link normalizeSignUrl}. */
  url: string;
  jsApiList?: readonly string[] | undefined;
  openTagList?: readonly string[] | undefined;
  debug?: boolean | undefined;
  /** @default createNonce() */
  nonceStr?: string | undefined;
  /** @default createTimestamp(now()) */
  timestamp?: number | undefined;
  /** Clock in milliseconds. @default Date.now */
  now?: (() => number) | undefined;
}

/** Signs a page URL and returns the object to pass to `wx.config`. */
export function buildJssdkConfig(input: BuildJssdkConfigInput): JssdkConfig {
  const url = normalizeSignUrl(input.url);
  const nonceStr = input.nonceStr ?? createNonce();
  const timestamp = input.timestamp ?? createTimestamp((input.now ?? Date.now)());
  return {
    appId: input.appId,
    timestamp,
    nonceStr,
    signature: signJssdk({ ticket: input.ticket, nonceStr, timestamp, url }),
    jsApiList: [...(input.jsApiList ?? [])],
    openTagList: [...(input.openTagList ?? [])],
    debug: input.debug ?? false,
  };
}

function invalidUrl(message: string, zh: string, cause?: unknown): WxkitError {
  return new WxkitError(ErrorCodes.INVALID_URL, message, {
    zh,
    cause,
    hint: {
      en: 'Send location.href.split("#")[0] from the page, encodeURIComponent’ed once in a query string.',
      zh: '请在页面上取 location.href.split("#")[0]，放入查询参数时 encodeURIComponent 一次。',
    },
  });
}

function preview(value: string): string {
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean);
}
