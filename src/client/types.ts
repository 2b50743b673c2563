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
  /** The account to sign for, when the service holds several: an Official Account's appId or a WeCom corpId. */
  appId?: string;
  /**
   * WeCom: after `wx.config` (signed with the corp's ticket) run `wx.agentConfig` (signed with the
   * app's ticket by `/jssdk/agent-config`), and resolve once both succeeded. Needed for the agent-only
   * APIs (`wx.invoke('getCurExternalContact')`, `selectExternalContact`, `openUserProfile`…).
   * @default false
   */
  agent?: boolean;
  /** WeCom: the APIs to name in `wx.agentConfig`. @default jsApiList */
  agentJsApiList?: string[];
  /** WeCom: which app of the corp (its AgentId), when the service holds several apps of one corp. */
  agentId?: string | number;
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

/** What the share setters take. `link` must be on a JS-safe domain. */
export interface WxShareData {
  /** 分享标题 */
  title: string;
  link: string;
  /** The thumbnail, an absolute URL. */
  imgUrl?: string;
}

/**
 * Arguments and results of the common JS-SDK APIs, by name: {@link call} types these. Results are what
 * the `success` callback receives (`errMsg` is `<api>:ok`); other APIs go through `call<T>(name)`.
 */
export interface WxApis {
  chooseImage: {
    args: {
      /** @default 9 */
      count?: number;
      sizeType?: Array<'original' | 'compressed'>;
      sourceType?: Array<'album' | 'camera'>;
    };
    result: { localIds: string[] };
  };
  /** One image at a time: WeChat refuses a second upload while one runs (see `uploadImages`). */
  uploadImage: {
    args: { localId: string /** @default 1 */; isShowProgressTips?: 0 | 1 };
    /** The media id (valid 3 days) the server downloads with `POST /jssdk/media`. */
    result: { serverId: string };
  };
  downloadImage: {
    args: { serverId: string /** @default 1 */; isShowProgressTips?: 0 | 1 };
    result: { localId: string };
  };
  getLocalImgData: {
    args: { localId: string };
    /** Base64 image data (iOS prefixes it with `data:image/…;base64,`). */
    result: { localData: string };
  };
  previewImage: {
    args: { current: string; urls: string[] };
    result: object;
  };
  updateAppMessageShareData: {
    args: WxShareData & { desc?: string };
    result: object;
  };
  updateTimelineShareData: {
    args: WxShareData;
    result: object;
  };
  getLocation: {
    args: { /** @default 'wgs84' */ type?: 'wgs84' | 'gcj02' };
    result: { latitude: number; longitude: number; speed: number; accuracy: number };
  };
  openLocation: {
    args: {
      latitude: number;
      longitude: number;
      name?: string;
      address?: string;
      /** 1 to 28. @default 28 */
      scale?: number;
      infoUrl?: string;
    };
    result: object;
  };
  scanQRCode: {
    args: {
      /** 1: return the result to the page; 0: WeChat handles it. @default 0 */
      needResult?: 0 | 1;
      scanType?: Array<'qrCode' | 'barCode'>;
    };
    /** The scanned text, with `needResult: 1`. */
    result: { resultStr?: string };
  };
  getNetworkType: {
    args: object;
    result: { networkType: '2g' | '3g' | '4g' | '5g' | 'wifi' | 'none' | (string & {}) };
  };
  /** WeChat Pay (JSAPI): the fields come from your payment backend's unified order, signed there. */
  chooseWXPay: {
    args: {
      /** Lowercase `timestamp`, as everywhere in the JS-SDK. */
      timestamp: number | string;
      nonceStr: string;
      /** `prepay_id=…` */
      package: string;
      signType: 'RSA' | 'MD5' | 'HMAC-SHA256';
      paySign: string;
    };
    /** Resolves once paid; a cancel or failure rejects with `errMsg` (`chooseWXPay:cancel`, `…:fail`). */
    result: object;
  };
}

/** A JS-SDK API {@link call} knows the types of. */
export type WxApiName = keyof WxApis;

/** The arguments of `api`. */
export type WxApiArgs<K extends WxApiName> = WxApis[K]['args'];

/** What `call(api)` resolves with. */
export type WxApiResult<K extends WxApiName> = WxResult & { errMsg: `${K}:ok` } & WxApis[K]['result'];

/** `call`'s arguments after the name: optional when every field is. */
export type WxApiArgsTuple<K extends WxApiName> =
  object extends WxApiArgs<K> ? [args?: WxApiArgs<K>] : [args: WxApiArgs<K>];

/** A media file the service downloaded from WeChat and stored (`POST /jssdk/media`). */
export interface SavedMedia {
  id: string;
  contentType: string;
  size: number;
  /** Where the service serves it (`GET /jssdk/media/:id`). */
  url: string;
}

/**
 * A failure the helper reports. `message` is Chinese first, then English (`中文 / English`); `zh` and
 * `en` hold each alone. `step` says which call failed; `errMsg` is WeChat's own
 * (`config:invalid signature`, `agentConfig:invalid signature`); `code`, `hint` and `status` come from
 * the service's error body; `diagnosis` is the service's report for a failed `wx.config` or
 * `wx.agentConfig` (its `code` names the cause, e.g. `wrong_ticket_kind`).
 */
export interface WxkitClientError extends Error {
  /** The message in Chinese (with the diagnosis, when there is one). */
  zh?: string;
  /** The message in English (with the diagnosis, when there is one). */
  en?: string;
  /** Which call failed: `config` (`wx.config`) or `agentConfig` (WeCom's `wx.agentConfig`). */
  step?: 'config' | 'agentConfig' | (string & {});
  errMsg?: string;
  realAuthUrl?: string;
  code?: string;
  hint?: string;
  status?: number;
  diagnosis?: unknown;
}
