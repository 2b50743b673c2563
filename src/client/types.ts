/** How the helper picks the URL to sign. */
export type UrlMode = 'auto' | 'current' | 'landing';

/** Options of {@link configure}. Every field is optional. */
export interface ConfigureOptions {
  /**
   * The wxkit service: its base URL (`https://api.example.com/wx`) or its `/jssdk/config` URL. Relative
   * URLs resolve against the page.
   * @default '' (the page's own origin)
   */
  endpoint?: string;
  /** JS-SDK APIs the page will call (`chooseImage`, `updateAppMessageShareData`, …). @default [] */
  jsApiList?: string[];
  /** Open tags the page renders (`wx-open-launch-weapp`, …). @default [] */
  openTagList?: string[];
  /** Passed to `wx.config`; WeChat then reports `realAuthUrl`, which sharpens the diagnosis. @default false */
  debug?: boolean;
  /**
   * Which URL to sign. `auto`: the landing URL on iOS WeChat (which verifies the URL a single-page app
   * was opened with), the current URL elsewhere. `current`: `location.href`. `landing`: the URL the page
   * was loaded with, before any `pushState`.
   * @default 'auto'
   */
  urlMode?: UrlMode;
  /** The JS-SDK script, loaded when `window.wx` is absent. @default 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js' */
  sdkUrl?: string;
  /** Tried when `sdkUrl` fails to load. @default 'https://res2.wx.qq.com/open/js/jweixin-1.6.0.js' */
  sdkFallbackUrl?: string;
  /** Extra request headers for the service (a CSRF token, an API key of your own gateway…). */
  headers?: Record<string, string>;
  /** `fetch` credentials mode; use `include` for a cookie-authenticated service on another origin. @default 'same-origin' */
  credentials?: RequestCredentials;
  /** The account to sign for, when the service holds several. */
  appId?: string;
  /**
   * Milliseconds to wait for WeChat's answer to `wx.config` before rejecting with `code: 'timeout'`.
   * Outside WeChat the real JS-SDK never answers; this turns that into an error. `0` waits forever.
   * @default 15000
   */
  timeout?: number;
}

/** The part of the JS-SDK's `wx` object the helper relies on; every other API is reachable by name. */
export interface Wx {
  config(config: Record<string, unknown>): void;
  ready(callback: () => void): void;
  error(callback: (res: WxResult) => void): void;
  [api: string]: unknown;
}

/** What a JS-SDK callback receives: always `errMsg`, plus the API's own fields. */
export interface WxResult {
  errMsg: string;
  [field: string]: unknown;
}

/** A media file the service downloaded from WeChat and stored (`POST /jssdk/media`). */
export interface SavedMedia {
  id: string;
  contentType: string;
  size: number;
  /** Where the service serves it (`GET /jssdk/media/:id`). */
  url: string;
}

/**
 * A failure the helper reports. `errMsg` is WeChat's own (`config:invalid signature`); `code`, `hint` and
 * `status` come from the service's error body; `diagnosis` is the service's report for a failed
 * `wx.config`.
 */
export interface WxkitClientError extends Error {
  errMsg?: string;
  realAuthUrl?: string;
  code?: string;
  hint?: string;
  status?: number;
  diagnosis?: unknown;
}
