import type { Fetched } from '../credentials/upstream.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { Component } from '../platform/component.ts';
import { platformKeys } from '../platform/keys.ts';
import { createComponentOAuthClient } from '../platform/oauth.ts';
import {
  authorizerInfoRequest,
  authorizerTokenRequest,
  processAuthorizerInfoResponse,
  processAuthorizerTokenResponse,
} from '../platform/requests.ts';
import type { IndexedStore } from '../stores/types.ts';
import type { EngineShared } from './engine.ts';
import { createOfficialAccount, type WxkitInstance } from './official.ts';
import type { AccountOptions } from './options.ts';

/**
 * An Official Account served by a third-party platform: the account kind of
 * `createOfficialAccount` whose access token comes from `api_authorizer_token` with the account's
 * refresh token, never from a secret. The refresh token lives in the store without TTL and changes only
 * by compare-and-set. Self-healing: 61023 (the token was replaced by a re-authorization, or lost) →
 * the current one is read from `api_get_authorizer_info`, stored by compare-and-set and used once more;
 * 61003 (no longer authorized) → the account is marked revoked and answered at once from then on.
 */

export interface AuthorizerDeps {
  componentAppId: string;
  component: Component;
  store: IndexedStore;
  appId: string;
  apiBase: string;
  openBase: string;
  /** The account options (store object, clock, metrics, logger…) shared by every authorizer. */
  options: AccountOptions;
  /** The store link, breakers and metrics label every authorizer of the platform shares. */
  shared?: EngineShared | undefined;
}

/** A refresh token as kept in the store. */
interface RefreshRecord {
  value: string;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

export function parseRefreshRecord(raw: string | undefined): RefreshRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw) as RefreshRecord;
    return typeof r.value === 'string' && r.value !== '' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The error an account that took its authorization back gets, at once and without asking WeChat. */
export function authorizerRevoked(appId: string, cause?: unknown): WxkitError {
  return new WxkitError(ErrorCodes.AUTHORIZER_REVOKED, `${appId} is no longer authorized to this platform`, {
    ...(cause === undefined ? {} : { cause }),
    details: { appId },
  });
}

function errcodeOf(e: unknown): number | undefined {
  return e instanceof WxkitError ? e.errcode : undefined;
}

/** The refresh-token rules of one account: read, store by compare-and-set, recover, revoke. */
export class RefreshTokens {
  constructor(private readonly d: Omit<AuthorizerDeps, 'options' | 'openBase'> & { now: () => number }) {}

  private get key() {
    return platformKeys.refreshToken(this.d.componentAppId, this.d.appId);
  }

  async read(): Promise<{ raw: string | undefined; record: RefreshRecord | undefined }> {
    const raw = await this.d.store.get(this.key);
    return { raw, record: parseRefreshRecord(raw) };
  }

  /**
   * Stores `value` if the store still holds `expectedRaw` (or nothing, for null). When another writer
   * got there first, its value is the one to use: returns what the store holds afterwards.
   */
  async replace(expectedRaw: string | null, value: string): Promise<string> {
    const text = JSON.stringify({ value, updatedAt: this.d.now() } satisfies RefreshRecord);
    if (await this.d.store.compareAndSet(this.key, expectedRaw, text)) return value;
    return (await this.read()).record?.value ?? value;
  }

  /** The account's current refresh token from `api_get_authorizer_info` (undefined when WeChat leaves it out). */
  async fromWechat(): Promise<string | undefined> {
    const { apiBase, componentAppId, appId } = this.d;
    return this.d.component.call(
      '/cgi-bin/component/api_get_authorizer_info',
      (ct) => authorizerInfoRequest(apiBase, ct, componentAppId, appId),
      (res) => processAuthorizerInfoResponse(res),
    );
  }

  async isRevoked(): Promise<boolean> {
    return (await this.d.store.get(platformKeys.revoked(this.d.componentAppId, this.d.appId))) !== undefined;
  }

  async markRevoked(): Promise<void> {
    const { store, componentAppId, appId } = this.d;
    await store.set(platformKeys.revoked(componentAppId, appId), String(this.d.now()));
    const shard = platformKeys.shardOf(appId);
    await store.addMembers(platformKeys.revokedShard(componentAppId, shard), [appId]);
    await store.removeMembers(platformKeys.indexShard(componentAppId, shard), [appId]);
  }

  /** A new access token: from the stored refresh token, healed once through get_authorizer_info on 61023. */
  async fetchToken(): Promise<Fetched> {
    if (await this.isRevoked()) throw authorizerRevoked(this.d.appId);
    let { raw, record } = await this.read();
    let value = record?.value;
    if (value === undefined) {
      // Lost (a flushed store): WeChat still knows it.
      value = await this.recover(raw ?? null);
      ({ raw } = await this.read());
    }
    try {
      return await this.exchange(value, raw ?? null);
    } catch (e) {
      const errcode = errcodeOf(e);
      if (errcode === 61003) {
        await this.markRevoked();
        throw authorizerRevoked(this.d.appId, e);
      }
      if (errcode !== 61023) throw e;
      const fresh = await this.recover(raw ?? null);
      if (fresh === value) throw e;
      const now = await this.read();
      return this.exchange(fresh, now.raw ?? null);
    }
  }

  private async recover(expectedRaw: string | null): Promise<string> {
    let fresh: string | undefined;
    try {
      fresh = await this.fromWechat();
    } catch (e) {
      if (errcodeOf(e) === 61003) {
        await this.markRevoked();
        throw authorizerRevoked(this.d.appId, e);
      }
      throw e;
    }
    if (fresh === undefined) {
      throw new WxkitError(ErrorCodes.WECHAT_ERROR, `WeChat gave no refresh token for ${this.d.appId}`, {
        hint: {
          en: 'Run `wxkit platform sync`; if the account stays missing, send its admin the authorization link again.',
          zh: '请执行 `wxkit platform sync`；若仍缺失，请把授权链接重新发给该公众号管理员。',
        },
      });
    }
    return this.replace(expectedRaw, fresh);
  }

  private async exchange(refreshToken: string, raw: string | null): Promise<Fetched> {
    const { apiBase, componentAppId, appId } = this.d;
    const r = await this.d.component.call(
      '/cgi-bin/component/api_authorizer_token',
      (ct) => authorizerTokenRequest(apiBase, ct, { componentAppId, authorizerAppId: appId, refreshToken }),
      processAuthorizerTokenResponse,
    );
    if (r.refreshToken !== undefined && r.refreshToken !== refreshToken)
      await this.replace(raw, r.refreshToken);
    return { value: r.value, expiresAt: r.expiresAt, source: r.source };
  }
}

/**
 * The account: the Official Account's interface (JS-SDK signatures, tickets, media, `request()`),
 * the custody rules of docs/custody.md for its token and tickets, the token from {@link RefreshTokens.fetchToken}.
 */
export function createAuthorizer(
  deps: AuthorizerDeps,
): WxkitInstance & { readonly refreshTokens: RefreshTokens } {
  const refreshTokens = new RefreshTokens({ ...deps, now: deps.options.now ?? Date.now });
  const account = createOfficialAccount({
    appId: deps.appId,
    tokenMode: 'component',
    apiBase: deps.apiBase,
    openBase: deps.openBase,
    token: { name: 'access_token', upstream: deps.apiBase, fetch: () => refreshTokens.fetchToken() },
    options: deps.options,
    // Web OAuth on the account's behalf: component_appid and the component token, never a secret.
    oauth: (engine) =>
      createComponentOAuthClient({
        appId: deps.appId,
        componentAppId: deps.componentAppId,
        component: deps.component,
        apiBase: deps.apiBase,
        openBase: deps.openBase,
        store: engine.oauthStore,
        now: engine.now,
        metrics: engine.metrics,
        fetch: deps.options.fetch,
      }),
    shared: deps.shared,
    recheckable: true,
    async refresh(engine) {
      await engine.clearCache();
      await engine.token.get();
    },
  });
  return Object.assign(account, { refreshTokens });
}
