import { withSignal } from '../accounts/engine.ts';
import type { Metrics } from '../metrics.ts';
import { buildAuthorizeUrl } from '../oauth/authorize.ts';
import { createOAuthClient } from '../oauth/client.ts';
import { exchangeOnce, type RefusedCodes, unusableCode } from '../oauth/exchange.ts';
import { processTokenResponse } from '../oauth/responses.ts';
import type { OAuthStore } from '../oauth/store.ts';
import type { OAuthClient, OAuthToken } from '../oauth/types.ts';
import type { Component } from './component.ts';

/**
 * Web OAuth on behalf of an authorized account (代公众号发起网页授权): the authorize URL carries
 * `component_appid`, and the code is exchanged at `sns/oauth2/component/access_token` with the
 * platform's component_access_token instead of the account's secret, which a platform never holds.
 * The component token comes from custody (src/platform/component.ts): a 40001/42001 on it drops that
 * token (if still current) and the exchange is asked once more. Userinfo and `/sns/auth` take the
 * user's own token, as for any account.
 */

/** `GET /sns/oauth2/component/access_token`: a code → the user's token, with the component token. */
export function componentCodeExchangeRequest(
  apiBase: string,
  componentToken: string,
  input: { appId: string; componentAppId: string; code: string },
): Request {
  return get(apiBase, '/sns/oauth2/component/access_token', {
    appid: input.appId,
    code: input.code,
    grant_type: 'authorization_code',
    component_appid: input.componentAppId,
    component_access_token: componentToken,
  });
}

/** `GET /sns/oauth2/component/refresh_token`: renews a user's token, with the component token. */
export function componentRefreshTokenRequest(
  apiBase: string,
  componentToken: string,
  input: { appId: string; componentAppId: string; refreshToken: string },
): Request {
  return get(apiBase, '/sns/oauth2/component/refresh_token', {
    appid: input.appId,
    grant_type: 'refresh_token',
    component_appid: input.componentAppId,
    component_access_token: componentToken,
    refresh_token: input.refreshToken,
  });
}

function get(apiBase: string, path: string, params: Record<string, string>): Request {
  return new Request(`${apiBase.replace(/\/+$/, '')}${path}?${new URLSearchParams(params)}`, {
    headers: { accept: 'application/json' },
  });
}

export interface ComponentOAuthOptions {
  appId: string;
  componentAppId: string;
  component: Component;
  apiBase: string;
  openBase: string;
  /** Where code-exchange results are shared (the account's store), so a code is exchanged once. */
  store: OAuthStore;
  now: () => number;
  metrics?: Metrics | undefined;
  fetch?: typeof fetch | undefined;
}

/** The authorizer account's `oauth`: the {@link OAuthClient} interface, no secret anywhere. */
export function createComponentOAuthClient(o: ComponentOAuthOptions): OAuthClient {
  const plain = createOAuthClient({
    appId: o.appId,
    apiBase: o.apiBase,
    openBase: o.openBase,
    store: o.store,
    now: o.now,
    metrics: o.metrics,
    fetch: o.fetch,
  });
  const inflight = new Map<string, Promise<OAuthToken>>();
  const refused: RefusedCodes = new Map();
  const { appId, componentAppId, apiBase } = o;
  return {
    ...plain,
    authorizeUrl: (input) => buildAuthorizeUrl({ ...input, appId, openBase: o.openBase, componentAppId }),
    exchangeCode(code, call) {
      const unusable = unusableCode(code);
      if (unusable) return Promise.reject(unusable);
      const exchange = () =>
        o.component.call(
          '/sns/oauth2/component/access_token',
          (ct) => componentCodeExchangeRequest(apiBase, ct, { appId, componentAppId, code }),
          (res) => processTokenResponse(res, o.now),
        );
      return withSignal(
        exchangeOnce(code, exchange, { store: o.store, appId, inflight, refused, now: o.now }),
        call?.signal,
      );
    },
    refresh(refreshToken, call) {
      return withSignal(
        o.component.call(
          '/sns/oauth2/component/refresh_token',
          (ct) => componentRefreshTokenRequest(apiBase, ct, { appId, componentAppId, refreshToken }),
          (res) => processTokenResponse(res, o.now),
        ),
        call?.signal,
      );
    },
  };
}
