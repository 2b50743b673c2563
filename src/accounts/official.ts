import { checkBaseUrl } from '../base-url.ts';
import { buildCardExt, buildChooseCardSign } from '../cards.ts';
import type { Fetched } from '../credentials/upstream.ts';
import {
  classicTokenRequest,
  processRemoteResponse,
  processTicketResponse,
  processTokenResponse,
  remoteCredentialRequest,
  remoteInvalidateRequest,
  stableTokenRequest,
  ticketRequest,
} from '../credentials/upstream.ts';
import { parseJsDomains } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { defaultOpenBase } from '../oauth/authorize.ts';
import { createOAuthClient } from '../oauth/client.ts';
import type { OAuthClient } from '../oauth/types.ts';
import { buildJssdkConfig, createTimestamp } from '../signature.ts';
import { parseStoreSpec } from '../stores/spec.ts';
import type { BreakerStatus, TicketType, TokenMode, TokenSource, Wxkit } from '../types.ts';
import {
  type AccountKind,
  createEngine,
  type Engine,
  type EngineShared,
  engineMembers,
  isLoopbackUrl,
  type Upstream,
  withSignal,
} from './engine.ts';
import type { AccountOptions } from './options.ts';
import { checkPageUrl, JS_DOMAIN_HINT } from './page-url.ts';

/**
 * The Official Account (公众号): its access_token from `stable_token`, the classic `token` endpoint or a
 * central wxkit (`remote`), and its `jsapi` and `wx_card` tickets from `ticket/getticket` — both signed
 * with the token, so a token errcode there drops the token and asks once more.
 */

/** Options of {@link createWxkit}. */
export interface WxkitOptions extends AccountOptions {
  /** The Official Account's AppID. */
  appId: string;
  /** The AppSecret. Required unless `tokenMode` is `remote`. Only ever sent to `apiBase`. */
  secret?: string | undefined;
  /**
   * `stable` uses POST /cgi-bin/stable_token (never force_refresh on its own); `classic` uses
   * GET /cgi-bin/token (each call replaces the previous token); `remote` asks a central wxkit.
   * @default 'stable'
   */
  tokenMode?: TokenMode | undefined;
  /** @default 'https://api.weixin.qq.com' */
  apiBase?: string | undefined;
  /**
   * Where the OAuth consent page is. The simulator serves it next to its API, so a loopback `apiBase`
   * (the simulator) is also the default here.
   * @default 'https://open.weixin.qq.com', or `apiBase` when that is a loopback URL
   */
  openBase?: string | undefined;
  /** The central wxkit (`remote` mode). */
  remoteUrl?: string | undefined;
  /** Its bearer key (`remote` mode). */
  remoteKey?: string | undefined;
}

/** What {@link createWxkit} returns: a {@link Wxkit} plus maintenance operations for the CLI. */
export interface WxkitInstance extends Wxkit {
  readonly type: 'official';
  /**
   * Forgets the cached access_token and tickets (memory and store) and fetches a fresh token. With
   * `force` in `stable` mode it sends `force_refresh` (limited by WeChat to 20 a day) — only on request.
   */
  refresh(options?: { force?: boolean | undefined }): Promise<void>;
  /** Forgets the cached access_token and tickets (memory and store); the next call fetches. */
  clearCache(): Promise<void>;
  /**
   * The upstream circuit breaker: `{ upstream, state: 'closed' | 'half-open' | 'open', since, retryAt? }`.
   *
   * @example
   * if (wx.breaker().state === 'open') console.warn('WeChat is not answering; callers get a fast 503')
   */
  breaker(): BreakerStatus;
}

const DEFAULT_API_BASE = 'https://api.weixin.qq.com';

/**
 * One Official Account with its access_token and tickets kept fresh and shared through a store: one
 * upstream fetch at a time across every process sharing the store, refresh ahead of expiry,
 * compare-and-invalidate with exactly one retry, backoff and a negative cache so a refusing WeChat
 * sees a handful of calls.
 *
 * @example
 * import { createWxkit } from 'wxkit'
 * const wx = createWxkit({ appId: 'wx123', secret: process.env.WX_APP_SECRET, store: 'file:.wxkit', jsDomains: ['h5.example.com'] })
 * const config = await wx.jssdkConfig({ url: 'https://h5.example.com/page', jsApiList: ['chooseImage'] })
 */
export function createWxkit(options: WxkitOptions): WxkitInstance {
  const o = validate(options);
  const remote = o.tokenMode === 'remote';
  const credentialBase = remote ? o.remoteUrl : o.apiBase;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let forceNext = false;
  const input = { apiBase: o.apiBase, appId: o.appId, secret: o.secret };

  const token: OfficialToken = {
    name: 'access_token',
    upstream: credentialBase,
    fetch(up) {
      if (remote) {
        return up.call(
          'remote',
          o.remoteUrl,
          () => remoteCredentialRequest(o.remoteUrl, o.remoteKey, o.appId, 'access_token'),
          (res) => processRemoteResponse(res),
        );
      }
      if (o.tokenMode === 'classic') {
        return up.call(
          '/cgi-bin/token',
          o.apiBase,
          () => classicTokenRequest(input),
          (res, sentAt) => processTokenResponse(res, sentAt, 'token'),
        );
      }
      const force = forceNext;
      forceNext = false;
      return up.call(
        '/cgi-bin/stable_token',
        o.apiBase,
        () => stableTokenRequest(input, force),
        (res, sentAt) => processTokenResponse(res, sentAt, 'stable_token'),
      );
    },
    // The central wxkit holds the token: ask it to drop the same value (compare-and-invalidate there).
    invalidated: remote
      ? async (value) => {
          await fetchImpl(remoteInvalidateRequest(o.remoteUrl, o.remoteKey, o.appId, value), {
            signal: AbortSignal.timeout(options.fetchTimeoutMs ?? 8_000),
          }).then(
            (res) => res.body?.cancel(),
            () => {},
          );
        }
      : undefined,
  };

  const remoteJsapi = remote
    ? (up: Upstream) =>
        up.call(
          'remote',
          o.remoteUrl,
          () => remoteCredentialRequest(o.remoteUrl, o.remoteKey, o.appId, 'jsapi_ticket'),
          (res) => processRemoteResponse(res),
        )
    : undefined;

  return createOfficialAccount({
    appId: o.appId,
    tokenMode: o.tokenMode,
    apiBase: o.apiBase,
    openBase: o.openBase,
    token,
    jsapiTicket: remoteJsapi,
    jsapiUpstream: credentialBase,
    oauthSecret: o.secret,
    options,
    recheckable: !remote,
    async refresh(engine, opts) {
      await engine.clearCache();
      forceNext = opts?.force === true && o.tokenMode === 'stable';
      try {
        await engine.token.get();
      } finally {
        // Another process's fresh token may have been adopted without a fetch: never leave it armed.
        forceNext = false;
      }
    },
  });
}

/** How an Official Account's access_token is obtained (the kind's token source). */
export type OfficialToken = AccountKind<TicketType>['token'];

/** What {@link createOfficialAccount} needs: the Official Account's interface over any token source. */
export interface OfficialAccountInput {
  appId: string;
  tokenMode: TokenSource;
  apiBase: string;
  openBase: string;
  token: OfficialToken;
  /** Where the jsapi ticket comes from instead of getticket (a central wxkit). */
  jsapiTicket?: ((up: Upstream) => Promise<Fetched>) | undefined;
  /** The origin the jsapi ticket is fetched from. @default apiBase */
  jsapiUpstream?: string | undefined;
  /** The AppSecret for OAuth code exchange; absent, exchanges fail clearly. */
  oauthSecret?: string | undefined;
  /** OAuth for the account, when not the secret-based one (a platform's component OAuth). */
  oauth?: ((engine: Engine<TicketType>) => OAuthClient) | undefined;
  options: AccountOptions;
  /** What it shares with accounts of the same owner (a platform's authorizers). */
  shared?: EngineShared | undefined;
  /** Whether a ticket re-check may ask WeChat (not when a central wxkit holds the ticket). */
  recheckable: boolean;
  refresh(engine: Engine<TicketType>, options?: { force?: boolean | undefined }): Promise<void>;
}

/**
 * An account with the Official Account's interface (tickets from getticket with its token, JS-SDK
 * signatures, cards, OAuth, media, status) whatever its token comes from: the account's own secret
 * (`createWxkit`) or a third-party platform's authorization (src/accounts/authorizer.ts).
 */
export function createOfficialAccount(input: OfficialAccountInput): WxkitInstance {
  const { options } = input;
  const jsDomains = parseJsDomains(options.jsDomains ?? []);
  const allowLoopback = options.allowLoopback ?? isLoopbackUrl(input.apiBase);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const apiBase = input.apiBase;

  // Both tickets are asked for with the token: a token errcode drops it and asks once more.
  const getticket = (up: Upstream, type: TicketType) =>
    up.withToken((token) =>
      up.call(
        '/cgi-bin/ticket/getticket',
        apiBase,
        () => ticketRequest(apiBase, token, type),
        (res, sentAt) => processTicketResponse(res, sentAt),
      ),
    );

  const kind: AccountKind<TicketType> = {
    id: input.appId,
    platform: 'official',
    upstreamName: 'WeChat',
    apiBase,
    token: input.token,
    tickets: {
      jsapi: {
        name: 'jsapi_ticket',
        upstream: input.jsapiUpstream ?? apiBase,
        fetch: (up) => (input.jsapiTicket ? input.jsapiTicket(up) : getticket(up, 'jsapi')),
      },
      wx_card: {
        name: 'wx_card_ticket',
        upstream: apiBase,
        fetch: (up) => getticket(up, 'wx_card'),
        reported: false,
      },
    },
  };
  const engine = createEngine(kind, options, input.shared);

  /** The account's `wx_card` ticket (card signatures), which only an open account hands out. */
  const cardTicket = async (signal: AbortSignal | undefined): Promise<string> => {
    engine.ensureOpen();
    return (await withSignal(engine.ticket('wx_card').get(), signal)).value;
  };

  const wx: WxkitInstance = {
    type: 'official',
    appId: input.appId,
    tokenMode: input.tokenMode,
    jsDomains,
    allowLoopback,
    metrics: engine.metrics,
    apiBase,
    openBase: input.openBase,
    oauth: input.oauth
      ? input.oauth(engine)
      : createOAuthClient({
          appId: input.appId,
          secret: input.oauthSecret,
          apiBase,
          openBase: input.openBase,
          fetch: fetchImpl,
          now: engine.now,
          metrics: engine.metrics,
          // Shared through the account's store (so a code is exchanged once across instances); in memory while it is down.
          store: engine.oauthStore,
        }),

    ...engineMembers(engine),

    async recheckTicket(type, expected) {
      engine.ensureOpen();
      engine.ticket(type);
      if (!input.recheckable && type === 'jsapi')
        return { rechecked: false, refreshed: false, reason: 'remote' };
      return engine.recheckTicket(type, expected);
    },

    async jssdkConfig(page) {
      engine.ensureOpen();
      const url = checkPageUrl(page?.url, jsDomains, { allowLoopback, hint: JS_DOMAIN_HINT });
      const t = await withSignal(engine.ticket('jsapi').get(), page.signal);
      return buildJssdkConfig({
        appId: input.appId,
        ticket: t.value,
        url,
        jsApiList: page.jsApiList,
        openTagList: page.openTagList,
        debug: page.debug,
        now: engine.now,
      });
    },

    async chooseCardSign(card = {}) {
      return buildChooseCardSign({
        apiTicket: await cardTicket(card.signal),
        appId: input.appId,
        cardId: card.cardId,
        cardType: card.cardType,
        locationId: card.locationId,
        timestamp: createTimestamp(engine.now()),
      });
    },

    async cardExt(card) {
      return buildCardExt({
        apiTicket: await cardTicket(card.signal),
        cardId: card.cardId,
        code: card.code,
        openid: card.openid,
        outerStr: card.outerStr,
        timestamp: createTimestamp(engine.now()),
      });
    },

    knownTickets: (type) => engine.knownTickets(type, input.appId),

    async status() {
      return { appId: input.appId, tokenMode: input.tokenMode, ...(await engine.status()) };
    },

    refresh: (opts) => input.refresh(engine, opts),
  };
  return wx;
}

interface Validated {
  appId: string;
  secret: string;
  tokenMode: TokenMode;
  apiBase: string;
  openBase: string;
  remoteUrl: string;
  remoteKey: string;
}

function validate(options: WxkitOptions): Validated {
  const fail = (message: string, hint?: { en: string; zh: string }) =>
    new WxkitError(ErrorCodes.CONFIG_ERROR, message, hint ? { hint } : {});
  if (typeof options !== 'object' || options === null) throw fail('createWxkit needs an options object');
  const { appId } = options;
  if (typeof appId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(appId)) {
    throw fail('appId is missing or malformed (letters, digits, _ or -)', {
      en: 'Set WX_APP_ID to the AppID from 设置与开发 → 基本配置.',
      zh: '请将 WX_APP_ID 设为「设置与开发 → 基本配置」中的 AppID。',
    });
  }
  const tokenMode = options.tokenMode ?? 'stable';
  if (tokenMode !== 'stable' && tokenMode !== 'classic' && tokenMode !== 'remote') {
    throw fail(
      `tokenMode must be stable, classic or remote; got ${JSON.stringify(String(tokenMode)).slice(0, 30)}`,
    );
  }
  const apiBase = checkBaseUrl(options.apiBase ?? DEFAULT_API_BASE, 'apiBase (WX_API_BASE)');
  const openBase = checkBaseUrl(options.openBase ?? defaultOpenBase(apiBase), 'openBase (WX_OPEN_BASE)');
  const secret = options.secret ?? '';
  let remoteUrl = '';
  let remoteKey = '';
  if (tokenMode === 'remote') {
    remoteUrl = checkBaseUrl(options.remoteUrl ?? '', 'remoteUrl (WXKIT_REMOTE_URL)');
    remoteKey = options.remoteKey ?? '';
    if (remoteKey === '') throw fail('remote token mode needs remoteKey (WXKIT_REMOTE_KEY)');
  } else if (typeof secret !== 'string' || secret === '') {
    throw fail(`The AppSecret of ${appId} is missing`, {
      en: 'Set WX_APP_SECRET (or use tokenMode remote to get tokens from a central wxkit).',
      zh: '请设置 WX_APP_SECRET（或使用 remote 模式从中控 wxkit 获取 token）。',
    });
  }
  if (typeof options.store === 'string') parseStoreSpec(options.store);
  return { appId, secret, tokenMode, apiBase, openBase, remoteUrl, remoteKey };
}
