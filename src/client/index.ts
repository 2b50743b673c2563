import { clientPlatform, landingUrl, loadSdk, signUrl } from './sdk.ts';
import type {
  ConfigureOptions,
  SavedMedia,
  Wx,
  WxApiArgsTuple,
  WxApiName,
  WxApiResult,
  WxkitClientError,
  WxResult,
} from './types.ts';

export { clientPlatform, isIOSWeChat, landingUrl, signUrl } from './sdk.ts';
export type {
  ConfigureOptions,
  SavedMedia,
  UrlMode,
  Wx,
  WxApiArgs,
  WxApiArgsTuple,
  WxApiName,
  WxApiResult,
  WxApis,
  WxkitClientError,
  WxResult,
  WxShareData,
} from './types.ts';

let last: ConfigureOptions = {};

/** An Error whose message is Chinese first, then English; `zh` and `en` hold each alone. */
function fail(zh: string, en: string, fields: Partial<WxkitClientError> = {}): WxkitClientError {
  return Object.assign(new Error(`${zh} / ${en}`), { zh, en }, fields);
}

async function post<T>(options: ConfigureOptions, path: string, body: unknown): Promise<T> {
  const base = (options.endpoint || '').replace(/\/jssdk\/config\/?$/, '').replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(base + path, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json' }, options.headers),
      credentials: options.credentials || 'same-origin',
      body: JSON.stringify(body),
    });
  } catch (cause) {
    const why = (cause as Error).message;
    throw fail(
      `无法连接 wxkit 服务 ${base + path}：${why}`,
      `wxkit service unreachable at ${base + path}: ${why}`,
    );
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || {};
    throw fail(
      e.messageZh || `wxkit 服务对 ${path} 返回了 ${res.status}`,
      e.message || `wxkit service answered ${res.status} for ${path}`,
      {
        code: e.code,
        hint: e.hint,
        status: res.status,
      },
    );
  }
  return data as T;
}

/**
 * The failure of `step` (`config` or `agentConfig`), with the service's diagnosis of what the page
 * passed: the same report for both, `kind` telling the service which ticket to diagnose against.
 */
function failure(o: ConfigureOptions, step: string, signed: object, url: string, res: WxResult) {
  const err = fail(`wx.${step} 失败：${res.errMsg}`, `wx.${step} failed: ${res.errMsg}`, {
    errMsg: res.errMsg,
    step,
  });
  if (typeof res.realAuthUrl === 'string') err.realAuthUrl = res.realAuthUrl;
  const report = Object.assign({}, signed, {
    kind: step,
    url,
    errMsg: res.errMsg,
    realAuthUrl: res.realAuthUrl,
    // Without debug WeChat reports no realAuthUrl: these let the service name the URL it checked.
    landingUrl: landingUrl(),
    currentUrl: signUrl('current'),
    platform: clientPlatform(),
  });
  return post<{ en?: string; zh?: string }>(o, '/jssdk/diagnose', report)
    .then((d) => {
      err.diagnosis = d;
      if (d.en) err.en += ` — ${d.en}`;
      if (d.zh) err.zh += `：${d.zh}`;
      err.message = `${err.zh} / ${err.en}`;
    })
    .catch(() => {})
    .then(() => err);
}

/**
 * Signs the page with the wxkit service and runs `wx.config` — and, with `agent: true` (WeCom),
 * `wx.agentConfig` after it. Resolves with `wx` once WeChat (WeCom) accepted both; rejects with an
 * Error carrying the failed `step`, WeChat's `errMsg` and the service's `diagnosis`. Loads the JS-SDK
 * first when `window.wx` is absent.
 *
 * @example
 * const wx = await wxkit.configure({ endpoint: 'https://api.example.com', jsApiList: ['chooseImage'] })
 * // A WeCom app's page: wx.config (corp ticket), then wx.agentConfig (the app's ticket)
 * await wxkit.configure({ endpoint, appId: 'ww…', agent: true, jsApiList: ['getCurExternalContact'] })
 */
export async function configure(options: ConfigureOptions = {}): Promise<Wx> {
  last = options;
  const o = options;
  const wx = await loadSdk(o.sdkUrl, o.sdkFallbackUrl);
  const url = signUrl(o.urlMode);
  const jsApiList = o.jsApiList || [];
  // Both signatures at once: one round trip to the service before WeCom sees anything.
  const [config, agent] = await Promise.all([
    post<Record<string, unknown>>(o, '/jssdk/config', {
      url,
      jsApiList,
      openTagList: o.openTagList || [],
      debug: !!o.debug,
      appId: o.appId,
      agentId: o.agentId,
    }),
    o.agent
      ? post<Record<string, unknown>>(o, '/jssdk/agent-config', {
          url,
          jsApiList: o.agentJsApiList || jsApiList,
          appId: o.appId,
          agentId: o.agentId,
        })
      : undefined,
  ]);
  return new Promise<Wx>((resolve, reject) => {
    let failed = false;
    const limit = o.timeout === undefined ? 15000 : o.timeout;
    const timer =
      limit > 0 &&
      setTimeout(() => {
        failed = true;
        reject(
          fail(
            `wx.config 在 ${limit} 毫秒内没有回应（页面是否在微信中打开？）`,
            `wx.config got no answer in ${limit} ms (is the page open inside WeChat?)`,
            { code: 'timeout' },
          ),
        );
      }, limit);
    const done = (error?: Promise<WxkitClientError>) => {
      if (timer) clearTimeout(timer);
      if (error) error.then(reject);
      else resolve(wx);
    };
    wx.config(config);
    wx.error((res) => {
      if (failed) return;
      failed = true;
      done(failure(o, 'config', config, url, res));
    });
    // jweixin also runs ready() callbacks after a failed config; the error handler has run first then.
    wx.ready(() => {
      if (failed) return;
      if (!agent) return done();
      const agentConfig = wx.agentConfig as ((c: object) => void) | undefined;
      if (typeof agentConfig !== 'function') {
        return done(
          Promise.resolve(
            fail(
              'wx.agentConfig 不可用：请在企业微信中打开页面',
              'wx.agentConfig is not available: open the page in WeCom',
              {
                step: 'agentConfig',
              },
            ),
          ),
        );
      }
      agentConfig.call(
        wx,
        Object.assign({}, agent, {
          success: () => done(),
          fail: (res: WxResult) => done(failure(o, 'agentConfig', agent, url, res)),
        }),
      );
    });
  });
}

/** Runs {@link configure} again with the last options (merged with `options`), e.g. after a route change. */
export function reconfigure(options: ConfigureOptions = {}): Promise<Wx> {
  return configure(Object.assign({}, last, options));
}

/**
 * Calls a JS-SDK API by name and turns its callbacks into a Promise. The common APIs ({@link WxApis}:
 * chooseImage, uploadImage, the share setters, getLocation, scanQRCode, chooseWXPay…) have typed
 * arguments and results; any other API is reachable as `call<Result>(name, args)`.
 *
 * @example
 * const { localIds } = await wxkit.call('chooseImage', { count: 3 }) // localIds: string[]
 * const res = await wxkit.call<WxResult & { checkResult: Record<string, boolean> }>('checkJsApi', { jsApiList })
 */
export function call<K extends WxApiName>(api: K, ...args: WxApiArgsTuple<K>): Promise<WxApiResult<K>>;
export function call<T extends WxResult = WxResult, A extends string = string>(
  api: A & (A extends WxApiName ? never : unknown),
  args?: Record<string, unknown>,
): Promise<T>;
export function call(api: string, args: object = {}): Promise<WxResult> {
  return loadSdk(last.sdkUrl, last.sdkFallbackUrl).then(
    (wx) =>
      new Promise<WxResult>((resolve, reject) => {
        const fn = wx[api];
        if (typeof fn !== 'function') throw fail(`wx.${api} 不可用`, `wx.${api} is not available`);
        const no = (res: WxResult) =>
          reject(
            fail(`wx.${api} 失败：${res.errMsg}`, `wx.${api} failed: ${res.errMsg}`, { errMsg: res.errMsg }),
          );
        fn.call(wx, Object.assign({}, args, { success: resolve, fail: no, cancel: no }));
      }),
  );
}

/**
 * Uploads local images to WeChat one at a time (WeChat refuses concurrent uploads) and returns their
 * serverIds (media ids, valid 3 days), in order.
 */
export async function uploadImages(localIds: readonly string[]): Promise<string[]> {
  const serverIds: string[] = [];
  for (const localId of localIds) {
    const res = await call('uploadImage', { localId, isShowProgressTips: 0 });
    serverIds.push(res.serverId);
  }
  return serverIds;
}

/** Asks the wxkit service to download an uploaded image from WeChat and keep it (`POST /jssdk/media`). */
export function saveMedia(serverId: string, options: ConfigureOptions = last): Promise<SavedMedia> {
  return post<SavedMedia>(options, '/jssdk/media', { serverId, appId: options.appId });
}
