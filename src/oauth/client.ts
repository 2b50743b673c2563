import { ErrorCodes, isWxkitError, WxkitError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { CallOptions } from '../types.ts';
import { buildAuthorizeUrl, defaultOpenBase } from './authorize.ts';
import { exchangeOnce, type RefusedCodes, unusableCode } from './exchange.ts';
import {
  authCheckRequest,
  codeExchangeRequest,
  DEFAULT_API_BASE,
  type OAuthRequestContext,
  refreshTokenRequest,
  userinfoRequest,
} from './requests.ts';
import { processAuthCheckResponse, processTokenResponse, processUserinfoResponse } from './responses.ts';
import { createMemoryOAuthStore, type OAuthStore } from './store.ts';
import type { OAuthClient, OAuthToken } from './types.ts';

/** Options of {@link createOAuthClient}. */
export interface OAuthClientOptions {
  appId: string;
  /** The account's AppSecret; only ever sent to `apiBase`. Needed for exchange and refresh. */
  secret?: string | undefined;
  /** @default 'https://api.weixin.qq.com' */
  apiBase?: string | undefined;
  /** Base of the authorize page. @default 'https://open.weixin.qq.com', or `apiBase` when that is a loopback URL (the simulator) */
  openBase?: string | undefined;
  /**
   * Where code-exchange results are shared so a code is exchanged once across processes. Use the
   * same store as the rest of wxkit when several instances serve the callback.
   * @default an in-process memory store
   */
  store?: OAuthStore | undefined;
  /** @default globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** Clock in milliseconds. @default Date.now */
  now?: (() => number) | undefined;
  /** Counts calls to WeChat as `wxkit_upstream_calls_total{endpoint, errcode}` (what createWxkit shares with /metrics). */
  metrics?: Metrics | undefined;
  /** How long an exchange result is kept for a repeated callback. @default 300_000 (a code's lifetime) */
  exchangeResultTtlMs?: number | undefined;
}

/**
 * Web authorization (网页授权) for one account. `createWxkit()` builds one as `wx.oauth`; use this
 * directly when you only need OAuth.
 *
 * @example
 * const oauth = createOAuthClient({ appId: 'wx123', secret: process.env.WX_APP_SECRET! })
 * res.redirect(oauth.authorizeUrl({ redirectUri: 'https://h5.example.com/cb', scope: 'snsapi_userinfo', state }))
 * const token = await oauth.exchangeCode(code)
 */
export function createOAuthClient(options: OAuthClientOptions): OAuthClient {
  if (!options.appId) throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'OAuth needs the account’s appId.');
  // Without a secret (remote token mode) the authorize URL still works; exchanges fail clearly.
  const secret = (): string => {
    if (options.secret) return options.secret;
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'OAuth code exchange needs the account’s AppSecret.', {
      hint: {
        en: 'Set WX_APP_SECRET on the instance that runs /oauth/callback (remote token mode has no secret).',
        zh: '请在处理 /oauth/callback 的实例上设置 WX_APP_SECRET（remote 模式没有 secret）。',
      },
    });
  };
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemoryOAuthStore({ now });
  const inflight = new Map<string, Promise<OAuthToken>>();
  const refused: RefusedCodes = new Map();
  const counted = async <T>(endpoint: string, run: () => Promise<T>): Promise<T> => {
    try {
      const value = await run();
      options.metrics?.inc(UPSTREAM, { endpoint, errcode: 0 }, 1, UPSTREAM_HELP);
      return value;
    } catch (e) {
      const errcode = isWxkitError(e) && e.errcode !== undefined ? e.errcode : 'network';
      options.metrics?.inc(UPSTREAM, { endpoint, errcode }, 1, UPSTREAM_HELP);
      throw e;
    }
  };
  const ctx = (call?: CallOptions): OAuthRequestContext => ({
    apiBase: options.apiBase ?? DEFAULT_API_BASE,
    fetch: options.fetch,
    signal: call?.signal,
  });
  return {
    appId: options.appId,
    store,
    authorizeUrl(input) {
      return buildAuthorizeUrl({
        ...input,
        appId: options.appId,
        openBase: options.openBase ?? defaultOpenBase(options.apiBase),
      });
    },
    exchangeCode(code, call) {
      const unusable = unusableCode(code);
      if (unusable) return Promise.reject(unusable);
      return exchangeOnce(
        code,
        () =>
          counted('/sns/oauth2/access_token', async () =>
            processTokenResponse(
              await codeExchangeRequest(ctx(call), { appId: options.appId, secret: secret(), code }),
              now,
            ),
          ),
        { store, appId: options.appId, resultTtlMs: options.exchangeResultTtlMs, inflight, refused, now },
      );
    },
    async refresh(refreshToken, call) {
      return counted('/sns/oauth2/refresh_token', async () =>
        processTokenResponse(
          await refreshTokenRequest(ctx(call), { appId: options.appId, refreshToken }),
          now,
        ),
      );
    },
    async userinfo(input) {
      return counted('/sns/userinfo', async () =>
        processUserinfoResponse(await userinfoRequest(ctx(input), input)),
      );
    },
    async checkAccessToken(input) {
      return counted('/sns/auth', async () =>
        processAuthCheckResponse(await authCheckRequest(ctx(input), input)),
      );
    },
  };
}

const UPSTREAM = 'wxkit_upstream_calls_total';
const UPSTREAM_HELP = 'Calls to WeChat (or the central wxkit) by endpoint and errcode (0 = success).';
