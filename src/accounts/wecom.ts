import { checkBaseUrl } from '../base-url.ts';
import type { Fetched } from '../credentials/upstream.ts';
import { parseJsDomains } from '../domains.ts';
import { ErrorCodes, type Hint, WxkitError } from '../errors.ts';
import { defaultOpenBase } from '../oauth/authorize.ts';
import { buildJssdkConfig, createNonce, createTimestamp, signJssdk } from '../signature.ts';
import { parseStoreSpec } from '../stores/spec.ts';
import type { BreakerStatus, Wecom, WecomTicketType } from '../types.ts';
import {
  type AccountKind,
  createEngine,
  engineMembers,
  isLoopbackUrl,
  type Upstream,
  withSignal,
} from './engine.ts';
import type { AccountOptions } from './options.ts';
import { checkPageUrl } from './page-url.ts';
import { createWecomOAuthClient } from './wecom-oauth.ts';
import { readWecomJson, wecomErrcode, wecomError } from './wecom-response.ts';

/**
 * A WeCom (企业微信) app. Its three credentials, each kept by the shared custody (one upstream fetch per
 * credential across processes, refresh ahead, negative cache and backoff):
 *
 * - the **corp token**, one per corp + app secret: `GET /cgi-bin/gettoken?corpid=&corpsecret=`;
 * - the **corp ticket** (`jsapi`), signs `wx.config`: `GET /cgi-bin/get_jsapi_ticket?access_token=`
 *   (at most 400 an hour per corp and 100 per app);
 * - the **app ticket** (`agent_config`), signs `wx.agentConfig`:
 *   `GET /cgi-bin/ticket/get?access_token=&type=agent_config` (at most 100 an hour per app).
 *
 * Both tickets are asked for with the token: 40014/42001 there drop the token (if still held) and ask
 * once more. WeCom's errcodes are read in its own table: at gettoken 40001 is a wrong
 * secret and 40013 a wrong corpId (remembered, not retried), 60020 an IP outside the app's trusted IPs,
 * 45009 a frequency limit (backed off for minutes).
 */

/** Options of {@link createWecom}. */
export interface WecomOptions extends AccountOptions {
  /** The corp's ID (我的企业 → 企业信息 → 企业ID); pages call `wx.config` with it as `appId`. */
  corpId: string;
  /** The app's AgentId (应用管理 → the app). */
  agentId: string | number;
  /** The app's Secret (each app has its own, so its own token). Only ever sent to `apiBase`. */
  secret: string;
  /** @default 'https://qyapi.weixin.qq.com' */
  apiBase?: string | undefined;
  /**
   * Base of the OAuth authorize page (the simulator serves it next to its API).
   * @default 'https://open.weixin.qq.com', or `apiBase` when that is a loopback URL
   */
  openBase?: string | undefined;
}

/** What {@link createWecom} returns: a {@link Wecom} plus maintenance operations for the CLI. */
export interface WecomInstance extends Wecom {
  /** Forgets the cached token and tickets (memory and store) and fetches a fresh token. */
  refresh(): Promise<void>;
  /** Forgets the cached token and tickets (memory and store); the next call fetches. */
  clearCache(): Promise<void>;
  /** The upstream circuit breaker (see {@link BreakerStatus}). */
  breaker(): BreakerStatus;
}

const DEFAULT_API_BASE = 'https://qyapi.weixin.qq.com';

/** `GET /cgi-bin/gettoken?corpid=&corpsecret=` (the URL carries the secret: never logged). */
export function gettokenRequest(apiBase: string, corpId: string, secret: string): Request {
  const url = new URL('/cgi-bin/gettoken', apiBase);
  url.searchParams.set('corpid', corpId);
  url.searchParams.set('corpsecret', secret);
  return new Request(url);
}

/** `GET /cgi-bin/get_jsapi_ticket?access_token=`: the corp's ticket, for `wx.config`. */
export function corpTicketRequest(apiBase: string, accessToken: string): Request {
  const url = new URL('/cgi-bin/get_jsapi_ticket', apiBase);
  url.searchParams.set('access_token', accessToken);
  return new Request(url);
}

/** `GET /cgi-bin/ticket/get?access_token=&type=agent_config`: the app's ticket, for `wx.agentConfig`. */
export function agentTicketRequest(apiBase: string, accessToken: string): Request {
  const url = new URL('/cgi-bin/ticket/get', apiBase);
  url.searchParams.set('access_token', accessToken);
  url.searchParams.set('type', 'agent_config');
  return new Request(url);
}

/**
 * Turns a WeCom credential answer (`{errcode:0, access_token|ticket, expires_in}`) into a credential,
 * or throws a {@link WxkitError} read in WeCom's errcode table.
 */
export async function processWecomCredential(
  res: Response,
  sentAt: number,
  field: 'access_token' | 'ticket',
  source: string,
): Promise<Fetched> {
  const body = await readWecomJson(res, source);
  const value = body[field];
  if (wecomErrcode(body) === undefined && typeof value === 'string' && value !== '') {
    const s = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 7200;
    return { value, expiresAt: sentAt + s * 1000, source };
  }
  throw wecomError(body, source);
}

/**
 * One WeCom app with its corp token, corp ticket and app ticket kept fresh and shared through a store,
 * under the same custody rules as an Official Account (see {@link createWxkit}).
 *
 * @example
 * import { createWecom } from 'wxkit'
 * const corp = createWecom({ corpId: 'ww123', agentId: '1000002', secret: process.env.WX_CORP_SECRET!, store: 'file:.wxkit' })
 * const config = await corp.jssdkConfig({ url, jsApiList: ['selectExternalContact'] }) // wx.config
 * const agent = await corp.agentConfig({ url, jsApiList: ['selectExternalContact'] }) // wx.agentConfig
 */
export function createWecom(options: WecomOptions): WecomInstance {
  const o = validate(options);
  const jsDomains = parseJsDomains(options.jsDomains ?? []);
  const allowLoopback = options.allowLoopback ?? isLoopbackUrl(o.apiBase);

  const withToken = (up: Upstream, endpoint: string, request: (token: string) => Request, source: string) =>
    up.withToken((token) =>
      up.call(
        endpoint,
        o.apiBase,
        () => request(token),
        (res, sentAt) => processWecomCredential(res, sentAt, 'ticket', source),
      ),
    );

  const kind: AccountKind<WecomTicketType> = {
    // Never an Official Account's appId (those have no ':'), so both kinds share a store safely.
    id: `wecom:${o.corpId}:${o.agentId}`,
    platform: 'wecom',
    upstreamName: 'WeCom',
    apiBase: o.apiBase,
    token: {
      name: 'access_token',
      upstream: o.apiBase,
      fetch: (up) =>
        up.call(
          '/cgi-bin/gettoken',
          o.apiBase,
          () => gettokenRequest(o.apiBase, o.corpId, o.secret),
          (res, sentAt) => processWecomCredential(res, sentAt, 'access_token', 'gettoken'),
        ),
    },
    tickets: {
      jsapi: {
        name: 'jsapi_ticket',
        upstream: o.apiBase,
        fetch: (up) =>
          withToken(
            up,
            '/cgi-bin/get_jsapi_ticket',
            (t) => corpTicketRequest(o.apiBase, t),
            'get_jsapi_ticket',
          ),
      },
      agent_config: {
        name: 'agent_config_ticket',
        upstream: o.apiBase,
        fetch: (up) =>
          withToken(up, '/cgi-bin/ticket/get', (t) => agentTicketRequest(o.apiBase, t), 'ticket/get'),
      },
    },
  };
  const engine = createEngine(kind, options);
  const pageUrl = (url: unknown) =>
    checkPageUrl(url, jsDomains, { allowLoopback, hint: TRUSTED_DOMAIN_HINT });

  const corp: WecomInstance = {
    type: 'wecom',
    appId: o.corpId,
    corpId: o.corpId,
    agentId: o.agentId,
    jsDomains,
    allowLoopback,
    metrics: engine.metrics,
    apiBase: o.apiBase,
    openBase: o.openBase,
    oauth: createWecomOAuthClient({
      corpId: o.corpId,
      agentId: o.agentId,
      id: kind.id,
      apiBase: o.apiBase,
      openBase: o.openBase,
      store: engine.oauthStore,
      upstream: engine,
    }),

    ...engineMembers(engine),
    recheckTicket: (type, expected) => engine.recheckTicket(type, expected),

    async jssdkConfig(input) {
      engine.ensureOpen();
      const url = pageUrl(input?.url);
      const t = await withSignal(engine.ticket('jsapi').get(), input.signal);
      const config = buildJssdkConfig({
        appId: o.corpId,
        ticket: t.value,
        url,
        jsApiList: input.jsApiList,
        openTagList: input.openTagList,
        debug: input.debug,
        now: engine.now,
      });
      return { beta: true, ...config };
    },

    async agentConfig(input) {
      engine.ensureOpen();
      const url = pageUrl(input?.url);
      const t = await withSignal(engine.ticket('agent_config').get(), input.signal);
      const nonceStr = createNonce();
      const timestamp = createTimestamp(engine.now());
      return {
        corpid: o.corpId,
        agentid: o.agentId,
        timestamp,
        nonceStr,
        signature: signJssdk({ ticket: t.value, nonceStr, timestamp, url }),
        jsApiList: [...(input.jsApiList ?? [])],
      };
    },

    knownTickets: (type) => engine.knownTickets(type, o.corpId),

    async status() {
      return {
        type: 'wecom',
        appId: o.corpId,
        corpId: o.corpId,
        agentId: o.agentId,
        ...(await engine.status()),
      };
    },
    async refresh() {
      await engine.clearCache();
      await engine.token.get();
    },
  };
  return corp;
}

/** Where a WeCom app's trusted domain is set. */
const TRUSTED_DOMAIN_HINT: Hint = {
  en: "Set the page's domain as the app's trusted domain (应用管理 → the app → 网页授权及JS-SDK → 可信域名) and in the account's jsDomains; serve the page on port 80/443.",
  zh: '请在「应用管理 → 应用 → 网页授权及JS-SDK → 可信域名」中设置页面域名，并写入账号的 jsDomains；页面须使用 80/443 端口。',
};

interface Validated {
  corpId: string;
  agentId: string;
  secret: string;
  apiBase: string;
  openBase: string;
}

function validate(options: WecomOptions): Validated {
  const fail = (message: string, hint?: Hint) =>
    new WxkitError(ErrorCodes.CONFIG_ERROR, message, hint ? { hint } : {});
  if (typeof options !== 'object' || options === null) throw fail('createWecom needs an options object');
  const { corpId, secret } = options;
  if (typeof corpId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(corpId)) {
    throw fail('corpId is missing or malformed (letters, digits, _ or -)', {
      en: 'Set WX_CORP_ID to the corp ID from 我的企业 → 企业信息 → 企业ID.',
      zh: '请将 WX_CORP_ID 设为「我的企业 → 企业信息 → 企业ID」中的企业 ID。',
    });
  }
  const agentId = typeof options.agentId === 'number' ? String(options.agentId) : options.agentId;
  if (typeof agentId !== 'string' || !/^[0-9]{1,20}$/.test(agentId)) {
    throw fail('agentId is missing or malformed (the digits of the app’s AgentId)', {
      en: 'Set WX_CORP_AGENT_ID to the AgentId shown on the app page (应用管理 → the app).',
      zh: '请将 WX_CORP_AGENT_ID 设为应用页面（应用管理 → 应用）中显示的 AgentId。',
    });
  }
  if (typeof secret !== 'string' || secret === '') {
    throw fail(`The Secret of WeCom app ${corpId}/${agentId} is missing`, {
      en: 'Set WX_CORP_SECRET to the Secret of this app (应用管理 → the app → Secret).',
      zh: '请将 WX_CORP_SECRET 设为该应用的 Secret（应用管理 → 应用 → Secret）。',
    });
  }
  const apiBase = checkBaseUrl(options.apiBase ?? DEFAULT_API_BASE, 'apiBase (WX_WORK_API_BASE)');
  const openBase = checkBaseUrl(options.openBase ?? defaultOpenBase(apiBase), 'openBase (WX_OPEN_BASE)');
  if (typeof options.store === 'string') parseStoreSpec(options.store);
  return { corpId, agentId, secret, apiBase, openBase };
}
