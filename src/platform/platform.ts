import { createHash } from 'node:crypto';
import {
  authorizerRevoked,
  createAuthorizer,
  parseRefreshRecord,
  RefreshTokens,
} from '../accounts/authorizer.ts';
import { createEngineShared, type EngineShared, isLoopbackUrl } from '../accounts/engine.ts';
import type { WxkitInstance } from '../accounts/official.ts';
import type { AccountOptions } from '../accounts/options.ts';
import { checkBaseUrl } from '../base-url.ts';
import { limitConcurrency } from '../credentials/upstream-limit.ts';
import { ErrorCodes, isWxkitError, WxkitError } from '../errors.ts';
import { Metrics } from '../metrics.ts';
import { linkedOAuthStore, type OAuthStore } from '../oauth/store.ts';
import { createPushCrypto } from '../push/crypto.ts';
import { openPush } from '../push/envelope.ts';
import { readXml } from '../push/xml.ts';
import { openStore, parseStoreSpec, type StoreSpec } from '../stores/spec.ts';
import type { IndexedStore, Store } from '../stores/types.ts';
import { type Component, createComponent } from './component.ts';
import { INDEX_SHARDS, platformKeys, requireIndexedStore } from './keys.ts';
import {
  type PlatformMessageHandler,
  PlatformMessages,
  type PlatformMessagesOptions,
  platformMessageHandler,
} from './messages.ts';
import {
  authorizerInfoRequest,
  authorizerListRequest,
  preAuthCodeRequest,
  processAuthorizerInfoResponse,
  processAuthorizerListResponse,
  processPreAuthCodeResponse,
  processQueryAuthResponse,
  queryAuthRequest,
} from './requests.ts';
import {
  readVerifyTicket,
  saveVerifyTicket,
  TICKET_EXPIRED_CAUSE,
  VERIFY_TICKET_LIFETIME_MS,
  type VerifyTicketHealth,
  verifyTicketHealth,
} from './verify-ticket.ts';

/**
 * The third-party platform (第三方平台): custody of the component and of every account that
 * authorized it, on one store shared by every process and machine.
 */

/** Options of {@link createPlatform}. */
export interface PlatformOptions extends Omit<AccountOptions, 'store' | 'jsDomains'> {
  componentAppId: string;
  componentSecret: string;
  /** The message-verification token (消息校验Token). */
  token: string;
  /** The 43-character EncodingAESKey (消息加解密Key). */
  encodingAESKey: string;
  /**
   * Where the verify ticket, the refresh tokens and the account index live: a store that keeps them
   * (Redis with AOF, or a file store). `memory` only for tests: refresh tokens must survive restarts.
   */
  store: string | Store | StoreSpec;
  /** @default 'https://api.weixin.qq.com' */
  apiBase?: string | undefined;
  /** Base of the OAuth and authorization pages. @default 'https://open.weixin.qq.com' */
  openBase?: string | undefined;
  /** Base of the authorization page (componentloginpage). @default 'https://mp.weixin.qq.com' (`openBase` when it is the simulator) */
  mpBase?: string | undefined;
  /** The platform's 公众号开发域名: the JS-safe domains of every account it serves. */
  jsDomains?: readonly string[] | string | undefined;
  /** Accounts kept in memory at once (least recently used first out). @default 1000 */
  maxAccounts?: number | undefined;
  /**
   * Upstream requests open at once, all accounts and the component together (the others wait their
   * turn): a cold burst over thousands of accounts must not open thousands of connections. @default 32
   */
  maxUpstreamRequests?: number | undefined;
}

/** Input of {@link Platform.authorizeUrl}. */
export interface AuthorizeLinkInput {
  /** Where WeChat sends the admin back (`?auth_code&expires_in`); on the 授权发起页域名. */
  redirectUri: string;
  /** 1 Official Accounts, 2 Mini Programs, 3 both. @default 1 */
  authType?: 1 | 2 | 3 | undefined;
  /** Offer only this account. */
  bizAppId?: string | undefined;
  /** The mobile link (opened inside WeChat) instead of the PC QR-code page. */
  mobile?: boolean | undefined;
}

/** What {@link Platform.status} reports. */
export interface PlatformStatus {
  componentAppId: string;
  store: string;
  verifyTicket: { health: VerifyTicketHealth; ageMs?: number | undefined; expiresAt?: number | undefined };
  componentToken: { cached: boolean; expiresAt?: number | undefined };
  /** Authorized accounts in the index. */
  authorizers: number;
  /** Accounts that took their authorization back (取消授权) and have not authorized again. */
  revoked: number;
  /** Accounts held in this process's memory now. */
  inMemory: number;
  /** A sentence for operators when something needs attention (both languages), else undefined. */
  warning?: { en: string; zh: string } | undefined;
}

/** What {@link Platform.sync} did. */
export interface SyncReport {
  pages: number;
  accounts: number;
  /** Refresh tokens written because the store lacked them or held an older one. */
  restored: number;
  /** Rows without a refresh token, completed through api_get_authorizer_info. */
  fromInfo: number;
}

export interface Platform {
  readonly componentAppId: string;
  readonly jsDomains: readonly string[];
  /** The 授权事件接收URL handler: tickets and authorization events (safe mode, XML); answers `success`. */
  handleEvents(req: Request): Promise<Response>;
  /**
   * The handler of the 消息与事件接收URL (`https://…/platform/messages/$APPID$`): verifies and decrypts
   * with the component's token and key, runs `onMessage` once per message of an authorized account,
   * answers messages of unauthorized ones `success` (logged), and passes 全网发布 (the release check)
   * by itself — its test accounts never reach `onMessage`.
   *
   * @example
   * const messages = platform.messages({ onMessage: (m) => (m.type === 'text' ? reply.text('hi') : undefined) })
   * // Next.js app/platform/messages/[appId]/route.ts
   * export const POST = (req: Request, { params }: { params: { appId: string } }) => messages(req, params.appId)
   */
  messages(options?: PlatformMessagesOptions): PlatformMessageHandler;
  /** A fresh authorization link (a new pre_auth_code each time; it is single use). */
  authorizeUrl(input: AuthorizeLinkInput): Promise<string>;
  /** The callback's `auth_code` → the account is stored and indexed. Repeating it is harmless. */
  completeAuthorization(authCode: string): Promise<{ appId: string }>;
  /**
   * The account, with the same interface as `createWxkit()`: `unknown_app` (404) for an appId that never
   * authorized the platform, `authorizer_revoked` (403) once it took its authorization back.
   */
  authorizer(appId: string): Promise<WxkitInstance>;
  /** Opens the store and the component; `accountFor()` needs it done (the service awaits it at start). */
  ready(): Promise<void>;
  /**
   * The account for `appId` without waiting (after {@link Platform.ready}), for routing by appId: each of
   * its calls first checks that the account is authorized (no upstream call for one that is not).
   */
  accountFor(appId: string): WxkitInstance;
  /** Every authorized appId (from the index). */
  authorizers(): Promise<string[]>;
  /**
   * The platform's store as OAuth uses it: the service keeps the login claims and sessions of every
   * account's users here, so any instance can finish a login another one started.
   */
  readonly oauthStore: OAuthStore;
  /** Restores every refresh token from `api_get_authorizer_list` (500 a page). */
  sync(): Promise<SyncReport>;
  /**
   * The component_access_token from custody: the cached one, else one fetched from the latest verify
   * ticket (one fetch across every process sharing the store). For the platform's own API calls and
   * `wxkit doctor`.
   *
   * @example
   * const { value, expiresAt } = await platform.componentTokenInfo()
   */
  componentTokenInfo(): Promise<{ value: string; expiresAt: number }>;
  status(): Promise<PlatformStatus>;
  readonly metrics: Metrics;
  close(): Promise<void>;
}

const DEFAULT_API_BASE = 'https://api.weixin.qq.com';
const DEFAULT_OPEN_BASE = 'https://open.weixin.qq.com';
const DEFAULT_MP_BASE = 'https://mp.weixin.qq.com';
/** An event body is small; more is not WeChat. */
const MAX_EVENT_BYTES = 64 * 1024;
/** How long an answer about revocation is trusted in memory. */
const REVOKED_CHECK_MS = 5_000;
/** How long a completed authorization code's result is kept (the callback and the event both bring it). */
const AUTH_CODE_RESULT_MS = 3600_000;
/** How long one process may hold the automatic sync before another may take over (a crashed holder). */
const AUTO_SYNC_LEASE_MS = 5 * 60_000;
/** How long a call for an account the store no longer knows waits for the sync that restores it. */
const RESTORE_WAIT_MS = 30_000;
/** How long a second arrival of an authorization code waits for the first one's result. */
const AUTH_CODE_WAIT_MS = 10_000;

/**
 * A third-party platform: the component's verify ticket and token, and an account for every appId
 * that authorized it, all kept in one store.
 *
 * @example
 * const platform = createPlatform({ componentAppId, componentSecret, token, encodingAESKey, store: 'redis://127.0.0.1:6379' })
 * // POST /platform/events → platform.handleEvents(request)
 * const wx = await platform.authorizer('wx_authorized_appid')
 * const config = await wx.jssdkConfig({ url: 'https://shop.example.com/page', jsApiList: ['chooseImage'] })
 */
export function createPlatform(options: PlatformOptions): Platform {
  const componentAppId = options.componentAppId;
  if (typeof componentAppId !== 'string' || !/^[\w-]{1,64}$/.test(componentAppId)) {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'componentAppId is missing or malformed');
  }
  if (!options.componentSecret) throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'componentSecret is missing');
  if (!options.token)
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'the component token (消息校验Token) is missing');
  const crypto = createPushCrypto({ encodingAESKey: options.encodingAESKey, receiveId: componentAppId });
  const apiBase = checkBaseUrl(options.apiBase ?? DEFAULT_API_BASE, 'apiBase (WX_API_BASE)');
  const openBase = checkBaseUrl(options.openBase ?? DEFAULT_OPEN_BASE, 'openBase (WX_OPEN_BASE)');
  // The authorization page is on mp.weixin.qq.com; on the simulator (a loopback openBase) it is there too.
  const mpBase = checkBaseUrl(
    options.mpBase ?? (isLoopbackUrl(openBase) ? openBase : DEFAULT_MP_BASE),
    'mpBase',
  );
  const jsDomains =
    typeof options.jsDomains === 'string'
      ? options.jsDomains
          .split(',')
          .map((d) => d.trim())
          .filter(Boolean)
      : [...(options.jsDomains ?? [])];
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? new Metrics();
  const maxAccounts = options.maxAccounts ?? 1000;
  const fetchLimited = limitConcurrency(
    options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    options.maxUpstreamRequests ?? 32,
  );
  const storeOption = typeof options.store === 'string' ? parseStoreSpec(options.store) : options.store;
  const ownsStore = !('get' in storeOption);

  let storePromise: Promise<IndexedStore> | undefined;
  const getStore = () => {
    storePromise ??= (
      ownsStore
        ? openStore(storeOption as StoreSpec, { cwd: options.cwd })
        : Promise.resolve(storeOption as Store)
    ).then(requireIndexedStore);
    return storePromise;
  };
  let componentPromise: Promise<Component> | undefined;
  const accountOptions = async (): Promise<AccountOptions> => ({
    ...options,
    fetch: fetchLimited,
    store: await getStore(),
    jsDomains,
    metrics,
  });
  const getComponent = () => {
    componentPromise ??= (async () =>
      createComponent({
        ...(await accountOptions()),
        componentAppId,
        componentSecret: options.componentSecret,
        apiBase,
        store: await getStore(),
      }))();
    return componentPromise;
  };

  let openedStore: IndexedStore | undefined;
  let openedComponent: Component | undefined;
  const ready = async () => {
    openedStore = await getStore();
    openedComponent = await getComponent();
  };

  // Accounts in memory, least recently used first: memory does not grow with the accounts ever seen.
  const accounts = new Map<string, ReturnType<typeof createAuthorizer>>();
  const revokedSeen = new Map<string, { state: 'ok' | 'revoked' | 'unknown'; at: number }>();
  const evict = () => {
    while (accounts.size > maxAccounts) {
      const [oldest, account] = accounts.entries().next().value as [
        string,
        ReturnType<typeof createAuthorizer>,
      ];
      accounts.delete(oldest);
      void account.close().catch(() => {});
    }
    while (revokedSeen.size > maxAccounts * 4) revokedSeen.delete(revokedSeen.keys().next().value as string);
  };

  // One store link and metrics label for all the accounts (not one each).
  let shared: EngineShared | undefined;
  /** The account (LRU), created once store and component are open. */
  const accountNow = (appId: string, store: IndexedStore, component: Component) => {
    let a = accounts.get(appId);
    if (a) {
      accounts.delete(appId);
      accounts.set(appId, a);
      return a;
    }
    shared ??= createEngineShared(store, {
      metricsId: `authorizers:${componentAppId}`,
      logger: options.logger,
      storeProbeMs: options.timing?.storeProbeMs,
    });
    a = guarded(
      appId,
      createAuthorizer({
        componentAppId,
        component,
        store,
        appId,
        apiBase,
        openBase,
        options: { ...options, fetch: fetchLimited, store, jsDomains, metrics },
        shared,
      }),
    );
    accounts.set(appId, a);
    evict();
    return a;
  };
  const account = async (appId: string) => accountNow(appId, await getStore(), await getComponent());

  /**
   * What the store says about an account, trusted for a few seconds: `ok` (a refresh token, or listed
   * in the index — a lost token recovers on first use), `revoked`, or `unknown` (never authorized).
   */
  const authorization = async (appId: string): Promise<'ok' | 'revoked' | 'unknown'> => {
    const seen = revokedSeen.get(appId);
    if (seen && now() - seen.at < REVOKED_CHECK_MS) return seen.state;
    const store = await getStore();
    let state: 'ok' | 'revoked' | 'unknown' = 'unknown';
    const read = async (): Promise<{ state: typeof state; indexLost: boolean }> => {
      if ((await store.get(platformKeys.revoked(componentAppId, appId))) !== undefined)
        return { state: 'revoked', indexLost: false };
      if ((await store.get(platformKeys.refreshToken(componentAppId, appId))) !== undefined)
        return { state: 'ok', indexLost: false };
      // Read before the shard as well as after: a sync running now may restore this account between
      // the token read and the shard read and finish before the last read — seen only at its start.
      const syncingBefore = (await store.get(syncingKey)) !== undefined;
      const shard = await store.members(platformKeys.indexShard(componentAppId, platformKeys.shardOf(appId)));
      if (shard.includes(appId)) return { state: 'ok', indexLost: false };
      // Lost: the whole index empty (an empty part says little on a small platform), or the automatic
      // sync restoring it right now (it fills the index page by page).
      const lost =
        syncingBefore ||
        (await store.get(syncingKey)) !== undefined ||
        (shard.length === 0 && (await index.all()).length === 0);
      return { state: 'unknown', indexLost: lost };
    };
    try {
      let r = await read();
      // The index lost after this process served accounts: a sync is restoring it (this process's or
      // another's). Wait for it rather than tell the caller to authorize again; a never-authorized
      // appId is refused once the index is back.
      for (
        let waited = 0;
        r.state === 'unknown' && r.indexLost && servedBefore && waited < RESTORE_WAIT_MS;
      ) {
        noteUnknown();
        if (syncing) await syncing;
        else {
          await new Promise((done) => setTimeout(done, 250));
          waited += 250;
        }
        r = await read();
      }
      state = r.state;
    } catch (e) {
      // The store did not answer: what this process last knew of the account still holds (degrade,
      // don't die: its credentials serve from memory); only an account never seen here has to wait.
      if (seen) return seen.state;
      throw e;
    }
    if (state === 'unknown') {
      noteUnknown();
      // An account this process found authorized that the store no longer knows at all (no refresh
      // token, no revocation, not indexed): the store lost its data (a flush, a restart without
      // persistence), not the account its authorization — an `unauthorized` event leaves the
      // revocation behind. Keep serving it (from memory; a token it lacks heals its refresh token
      // through api_get_authorizer_info) while the sync restores the index, rather than telling its
      // callers to authorize again.
      if (seen?.state === 'ok') state = 'ok';
    }
    // Having served an authorized account, an empty index later means the store lost its data.
    if (state === 'ok') servedBefore = true;
    revokedSeen.delete(appId); // least recently checked first out
    revokedSeen.set(appId, { state, at: now() });
    return state;
  };

  const assertAuthorized = async (appId: string) => {
    const state = await authorization(appId);
    if (state === 'revoked') throw authorizerRevoked(appId);
    if (state === 'unknown') {
      throw new WxkitError(ErrorCodes.UNKNOWN_APP, `${appId.slice(0, 64)} has not authorized this platform`, {
        hint: {
          en: 'Send the account’s admin the authorization link (GET /platform/authorize); after a store loss run `platform.sync()`.',
          zh: '请把授权链接（GET /platform/authorize）发给该公众号管理员；存储数据丢失后请执行 `platform.sync()`。',
        },
      });
    }
  };

  /** The account's calls check its authorization first: no upstream call for an appId that is not authorized. */
  function guarded(
    appId: string,
    a: ReturnType<typeof createAuthorizer>,
  ): ReturnType<typeof createAuthorizer> {
    const wrap =
      <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await assertAuthorized(appId);
        return f(...args);
      };
    return Object.assign(a, {
      jssdkConfig: wrap(a.jssdkConfig),
      accessToken: wrap(a.accessToken),
      accessTokenInfo: wrap(a.accessTokenInfo),
      ticket: wrap(a.ticket),
      ticketInfo: wrap(a.ticketInfo),
      request: wrap(a.request),
      downloadMedia: wrap(a.downloadMedia),
      chooseCardSign: wrap(a.chooseCardSign),
      cardExt: wrap(a.cardExt),
      ...(a.recheckTicket ? { recheckTicket: wrap(a.recheckTicket) } : {}),
      // Component OAuth for an account that took its authorization back: 403, and WeChat is not asked.
      oauth: {
        ...a.oauth,
        exchangeCode: wrap(a.oauth.exchangeCode),
        refresh: wrap(a.oauth.refresh),
        userinfo: wrap(a.oauth.userinfo),
        checkAccessToken: wrap(a.oauth.checkAccessToken),
      },
      /** For routes that must refuse before sending a browser to WeChat (GET /oauth/login). */
      assertAuthorized: () => assertAuthorized(appId),
    });
  }

  const syncLockKey = `wxkit:component:${componentAppId}:sync:lock`;
  /** Present while a sync runs (any process's): a partly restored index is not the truth yet. */
  const syncingKey = `wxkit:component:${componentAppId}:sync:running`;
  // An empty index while this process has served accounts means the store lost its data (a flush, a
  // restart without persistence): restore it from WeChat's list, once at a time, at most once a minute.
  let lastAutoSync = Number.NEGATIVE_INFINITY;
  let syncing: Promise<unknown> | undefined;
  let servedBefore = false;
  const noteUnknown = () => {
    if (!servedBefore || syncing || now() - lastAutoSync < 60_000) return;
    lastAutoSync = now();
    syncing = (async () => {
      // One process restores for all: the others keep answering from memory and find the index refilled.
      const store = await getStore();
      const lock = syncLockKey;
      const owner = await store.tryLock(lock, AUTO_SYNC_LEASE_MS);
      if (owner === undefined) return;
      try {
        if ((await index.all()).length > 0) return;
        const report = await sync();
        options.logger?.warn(
          `wxkit platform ${componentAppId}: the store had no accounts; restored ${report.restored} refresh tokens from ${report.pages} list pages`,
        );
      } finally {
        await store.unlock(lock, owner).catch(() => {});
      }
    })()
      .catch((e) =>
        options.logger?.warn(`wxkit platform ${componentAppId}: automatic sync failed: ${String(e)}`),
      )
      .finally(() => {
        syncing = undefined;
      });
  };

  const index = {
    async add(appId: string) {
      const store = await getStore();
      await store.addMembers(platformKeys.indexShard(componentAppId, platformKeys.shardOf(appId)), [appId]);
    },
    async remove(appId: string) {
      const store = await getStore();
      await store.removeMembers(platformKeys.indexShard(componentAppId, platformKeys.shardOf(appId)), [
        appId,
      ]);
    },
    async all(): Promise<string[]> {
      const store = await getStore();
      const shards = await Promise.all(
        Array.from({ length: INDEX_SHARDS }, (_, i) =>
          store.members(platformKeys.indexShard(componentAppId, i)),
        ),
      );
      return shards.flat().sort();
    },
  };

  /** Accounts that took their authorization back (counted by status and doctor). */
  const revokedIndex = {
    async add(appId: string) {
      const store = await getStore();
      await store.addMembers(platformKeys.revokedShard(componentAppId, platformKeys.shardOf(appId)), [appId]);
    },
    async remove(appId: string) {
      const store = await getStore();
      await store.removeMembers(platformKeys.revokedShard(componentAppId, platformKeys.shardOf(appId)), [
        appId,
      ]);
    },
    async count(): Promise<number> {
      const store = await getStore();
      const shards = await Promise.all(
        Array.from({ length: INDEX_SHARDS }, (_, i) =>
          store.members(platformKeys.revokedShard(componentAppId, i)),
        ),
      );
      return shards.reduce((n, s) => n + s.length, 0);
    },
  };

  const refreshTokensOf = async (appId: string) =>
    new RefreshTokens({
      componentAppId,
      component: await getComponent(),
      store: await getStore(),
      appId,
      apiBase,
      now,
    });

  /** Forgets an account's credentials everywhere (memory here, the store for every instance). */
  const dropCredentials = async (appId: string) => {
    const a = await account(appId);
    await a.clearCache();
  };

  const completeAuthorization = async (authCode: string): Promise<{ appId: string }> => {
    if (typeof authCode !== 'string' || authCode === '' || authCode.length > 512) {
      throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'auth_code is missing or malformed');
    }
    const store = await getStore();
    const doneKey = `wxkit:component:${componentAppId}:auth_code:${hashOf(authCode)}`;
    // The callback and the `authorized` event bring the same single-use code, often at the same moment
    // and to different instances: one exchanges it, the other waits for its result.
    for (let waited = 0; waited < AUTH_CODE_WAIT_MS; waited += 100) {
      const done = await store.get(doneKey);
      if (done) return { appId: done };
      const owner = await store.tryLock(`${doneKey}:lock`, AUTH_CODE_WAIT_MS);
      if (owner === undefined) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        const again = await store.get(doneKey);
        if (again) return { appId: again };
        return await exchangeAuthCode(authCode, doneKey);
      } finally {
        await store.unlock(`${doneKey}:lock`, owner);
      }
    }
    throw new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      'Another instance is still completing this authorization',
      {
        retryAfter: 1,
      },
    );
  };

  const exchangeAuthCode = async (authCode: string, doneKey: string): Promise<{ appId: string }> => {
    const store = await getStore();
    const component = await getComponent();
    const auth = await component.call(
      '/cgi-bin/component/api_query_auth',
      (ct) => queryAuthRequest(apiBase, ct, componentAppId, authCode),
      processQueryAuthResponse,
    );
    const appId = auth.authorizerAppId;
    const tokens = await refreshTokensOf(appId);
    const { raw } = await tokens.read();
    await tokens.replace(raw ?? null, auth.refreshToken);
    await store.delete(platformKeys.revoked(componentAppId, appId));
    await revokedIndex.remove(appId);
    revokedSeen.delete(appId);
    await index.add(appId);
    servedBefore = true;
    // Re-authorization kills the account's current token: drop what every instance cached.
    await dropCredentials(appId);
    await store.set(doneKey, appId, AUTH_CODE_RESULT_MS);
    return { appId };
  };

  const unauthorized = async (appId: string) => {
    const store = await getStore();
    await store.set(platformKeys.revoked(componentAppId, appId), String(now()));
    revokedSeen.set(appId, { state: 'revoked', at: now() });
    await index.remove(appId);
    await revokedIndex.add(appId);
    await dropCredentials(appId);
  };

  const handleEvents = async (req: Request): Promise<Response> => {
    try {
      if (req.method !== 'POST') throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'POST only');
      const length = Number(req.headers.get('content-length') ?? 0);
      if (length > MAX_EVENT_BYTES)
        throw new WxkitError(ErrorCodes.PAYLOAD_TOO_LARGE, 'event body too large');
      const body = await req.text();
      if (body.length > MAX_EVENT_BYTES)
        throw new WxkitError(ErrorCodes.PAYLOAD_TOO_LARGE, 'event body too large');
      const query = new URL(req.url).searchParams;
      const opened = openPush(body, query, { crypto, token: options.token });
      const event = readXml(opened.message) as Record<string, unknown>;
      const infoType = typeof event.InfoType === 'string' ? event.InfoType : '';
      const text = (name: string) => (typeof event[name] === 'string' ? (event[name] as string) : '');
      switch (infoType) {
        case 'component_verify_ticket': {
          const value = text('ComponentVerifyTicket');
          if (!value)
            throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'the ticket push has no ComponentVerifyTicket');
          const createTime = Number(text('CreateTime')) || Math.floor(now() / 1000);
          await saveVerifyTicket(await getStore(), componentAppId, { value, createTime });
          // A fetch that failed for want of a ticket is remembered (backoff): with one here, ask now.
          const component = await getComponent();
          if (component.engine.token.activeFailure()) await component.engine.token.clear();
          break;
        }
        case 'authorized':
        case 'updateauthorized': {
          const code = text('AuthorizationCode');
          if (code) await completeAuthorization(code);
          break;
        }
        case 'unauthorized': {
          const appId = text('AuthorizerAppid');
          if (appId) await unauthorized(appId);
          break;
        }
        default:
          break; // other InfoTypes (notify_third_fasteregister…) are acknowledged and ignored
      }
      return new Response('success', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    } catch (e) {
      const err = isWxkitError(e)
        ? e
        : new WxkitError(ErrorCodes.INTERNAL, 'event handling failed', { cause: e });
      options.logger?.warn(`wxkit platform ${componentAppId}: event refused: ${err.message}`);
      return new Response(JSON.stringify(err.toJSON()), {
        status: err.status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }
  };

  const messages = (o: PlatformMessagesOptions = {}): PlatformMessageHandler =>
    platformMessageHandler(
      new PlatformMessages(
        {
          componentAppId,
          token: options.token,
          encodingAESKey: options.encodingAESKey,
          apiBase,
          maxAccounts,
          fetch: options.fetch ?? globalThis.fetch,
          now,
          store: getStore,
          account,
          authorization,
          queryAuth: async (code) =>
            (await getComponent()).call(
              '/cgi-bin/component/api_query_auth',
              (ct) => queryAuthRequest(apiBase, ct, componentAppId, code),
              processQueryAuthResponse,
            ),
        },
        o,
      ),
    );

  return {
    componentAppId,
    jsDomains,
    metrics,
    handleEvents,
    messages,

    async authorizeUrl(input) {
      let redirect: URL;
      try {
        redirect = new URL(input.redirectUri);
        if (redirect.protocol !== 'https:' && redirect.protocol !== 'http:') throw new Error('scheme');
      } catch {
        throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'redirectUri must be an absolute http(s) URL');
      }
      const component = await getComponent();
      const { preAuthCode } = await component.call(
        '/cgi-bin/component/api_create_preauthcode',
        (ct) => preAuthCodeRequest(apiBase, ct, componentAppId),
        processPreAuthCodeResponse,
      );
      const q = new URLSearchParams({
        component_appid: componentAppId,
        pre_auth_code: preAuthCode,
        redirect_uri: redirect.href,
        auth_type: String(input.authType ?? 1),
      });
      if (input.bizAppId) q.set('biz_appid', input.bizAppId);
      if (input.mobile) {
        return `${mpBase}/safe/bindcomponent?action=bindcomponent&no_scan=1&${q.toString()}#wechat_redirect`;
      }
      return `${mpBase}/cgi-bin/componentloginpage?${q.toString()}`;
    },

    completeAuthorization,

    async authorizer(appId) {
      if (typeof appId !== 'string' || !/^[\w-]{1,64}$/.test(appId)) {
        throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'appId is missing or malformed');
      }
      await assertAuthorized(appId);
      servedBefore = true;
      return account(appId);
    },

    ready,

    accountFor(appId) {
      if (!openedStore || !openedComponent) {
        throw new WxkitError(
          ErrorCodes.CONFIG_ERROR,
          'platform.accountFor() needs `await platform.ready()` first',
        );
      }
      if (typeof appId !== 'string' || !/^[\w-]{1,64}$/.test(appId)) {
        throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'appId is missing or malformed');
      }
      return accountNow(appId, openedStore, openedComponent);
    },

    authorizers: () => index.all(),

    oauthStore: linkedOAuthStore(async (op) => ({ ok: true, value: await op(await getStore()) })),

    sync: () => sync(),

    async componentTokenInfo() {
      const { value, expiresAt } = await (await getComponent()).engine.token.get();
      return { value, expiresAt };
    },

    async status() {
      return status();
    },

    async close() {
      const all = [...accounts.values()];
      accounts.clear();
      await syncing;
      await Promise.all(all.map((a) => a.close().catch(() => {})));
      shared?.link.release();
      if (componentPromise) await (await componentPromise).engine.close();
      if (ownsStore && storePromise) await (await storePromise).close();
    },
  };

  async function sync(): Promise<SyncReport> {
    {
      const component = await getComponent();
      const store = await getStore();
      const report: SyncReport = { pages: 0, accounts: 0, restored: 0, fromInfo: 0 };
      await store.set(syncingKey, String(now()), AUTO_SYNC_LEASE_MS);
      try {
        await restoreFromList(component, store, report);
      } finally {
        await store.delete(syncingKey).catch(() => {});
      }
      return report;
    }
  }

  async function restoreFromList(
    component: Component,
    store: IndexedStore,
    report: SyncReport,
  ): Promise<void> {
    for (let offset = 0; ; offset += 500) {
      const page = await component.call(
        '/cgi-bin/component/api_get_authorizer_list',
        (ct) => authorizerListRequest(apiBase, ct, componentAppId, offset, 500),
        processAuthorizerListResponse,
      );
      report.pages++;
      for (const row of page.rows) {
        report.accounts++;
        let value = row.refreshToken;
        if (value === undefined) {
          value = await component.call(
            '/cgi-bin/component/api_get_authorizer_info',
            (ct) => authorizerInfoRequest(apiBase, ct, componentAppId, row.authorizerAppId),
            (res) => processAuthorizerInfoResponse(res),
          );
          report.fromInfo++;
        }
        await index.add(row.authorizerAppId);
        await store.delete(platformKeys.revoked(componentAppId, row.authorizerAppId));
        await revokedIndex.remove(row.authorizerAppId);
        revokedSeen.delete(row.authorizerAppId);
        if (value === undefined) continue;
        const key = platformKeys.refreshToken(componentAppId, row.authorizerAppId);
        const raw = await store.get(key);
        if (parseRefreshRecord(raw)?.value === value) continue;
        if (await store.compareAndSet(key, raw ?? null, JSON.stringify({ value, updatedAt: now() }))) {
          report.restored++;
        }
      }
      if (page.rows.length === 0 || offset + 500 >= page.total) break;
    }
  }

  async function status(): Promise<PlatformStatus> {
    {
      const store = await getStore();
      const ticket = await readVerifyTicket(store, componentAppId);
      const health = verifyTicketHealth(ticket, now());
      const component = await getComponent();
      const rec = await component.engine.token.peek();
      const authorizers = (await index.all()).length;
      const revoked = await revokedIndex.count();
      const warning: PlatformStatus['warning'] =
        health === 'missing'
          ? {
              en: 'No component_verify_ticket yet: check the 授权事件接收URL (POST /platform/events).',
              zh: '尚未收到 component_verify_ticket：请检查「授权事件接收URL」（POST /platform/events）。',
            }
          : health === 'expired'
            ? { ...TICKET_EXPIRED_CAUSE }
            : health === 'late'
              ? {
                  en: 'No ticket push for over 30 minutes (WeChat sends one every 10): check the 授权事件接收URL before the last ticket ends 12 hours after its push.',
                  zh: '超过 30 分钟未收到 ticket 推送（微信每 10 分钟推送一次）：请在最近的 ticket 12 小时过期前检查「授权事件接收URL」。',
                }
              : undefined;
      return {
        componentAppId,
        store: store.description,
        verifyTicket: {
          health,
          ...(ticket
            ? {
                ageMs: now() - ticket.createTime * 1000,
                expiresAt: ticket.createTime * 1000 + VERIFY_TICKET_LIFETIME_MS,
              }
            : {}),
        },
        componentToken: {
          cached: rec !== undefined && rec.expiresAt > now(),
          ...(rec ? { expiresAt: rec.expiresAt } : {}),
        },
        authorizers,
        revoked,
        inMemory: accounts.size,
        ...(warning ? { warning } : {}),
      };
    }
  }
}

/** Codes are single-use secrets: a store key holds a digest, never the code. */
function hashOf(value: string): string {
  return createHash('sha1').update(value).digest('hex');
}
