import { createHash } from 'node:crypto';
import type { WecomOAuthScope } from '../../accounts/wecom-oauth.ts';
import { isLoopbackHost } from '../../domains.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { createMemoryOAuthStore, type OAuthStore } from '../../oauth/store.ts';
import { OAUTH_SCOPES, type OAuthClient, type OAuthScope } from '../../oauth/types.ts';
import type { Account, Wecom, Wxkit } from '../../types.ts';
import { isWecom, readAgentId } from '../account-kind.ts';
import { readAppId, readQuery } from '../params.ts';
import { errorReply, json, type Reply, send } from '../reply.ts';
import { safeReturnTo } from '../return-to.ts';
import type { Route, RouteContext } from '../route.ts';
import {
  type CookieSettings,
  createSession,
  deleteSession,
  nonceCookieName,
  readCookie,
  readSession,
  type SessionData,
  serializeCookie,
  sessionCookieName,
  signSessionId,
  verifySessionCookie,
} from '../session.ts';
import { createNonceValue, finishLogin, type LoginRecord, startLogin, stateError } from '../session-state.ts';
import { settingName } from '../setting-names.ts';

/**
 * Web OAuth for pages (SPEC §3): `GET /oauth/login` → WeChat's authorize page with a signed,
 * browser-bound, single-use, 10-minute `state` (nothing stored: the login lives in the browser's
 * login cookie); `GET /oauth/callback` → the state and the code claimed for each other, the code
 * exchanged once, a session cookie, back to `returnTo`; `GET /oauth/me`; `POST /oauth/logout`
 * (same-origin only).
 *
 * WeCom apps run the same flow with `appId=<corpId>` (and `agentId` when the corp has several apps):
 * WeCom's authorize URL carries `agentid`, the callback exchanges the code once with
 * `/cgi-bin/auth/getuserinfo`, and the session holds the member's `userid` or a non-member's `openid`.
 *
 * Options (in `createHandler(…, { extra: { oauth: {…} } })`): `sessionTtlSeconds` (default 86400),
 * `defaultScope` (default `snsapi_base`).
 */

const LOGIN_QUERY = new Set(['returnTo', 'scope', 'appId', 'agentId']);
const WECOM_SCOPES: readonly WecomOAuthScope[] = ['snsapi_base', 'snsapi_privateinfo'];
const STATE_TTL_MS = 10 * 60_000;
// Claims outlive the state (10 min) and the code's cached exchange (5 min), so a claimed code or
// state can never be claimed again while either is still usable.
const CLAIM_TTL_MS = 20 * 60_000;
const CLAIM_WAIT_MS = 500;
const NO_STORE = { 'cache-control': 'no-store' };
// A login costs this many rate-limit tokens (signing a page costs 1).
const LOGIN_RATE_COST = 5;

interface OAuthRouteOptions {
  sessionTtlMs: number;
  defaultScope: OAuthScope;
}

function routeOptions(ctx: RouteContext): OAuthRouteOptions {
  const raw = ctx.options.extra.oauth as { sessionTtlSeconds?: unknown; defaultScope?: unknown } | undefined;
  const ttl =
    typeof raw?.sessionTtlSeconds === 'number' && raw.sessionTtlSeconds > 0 ? raw.sessionTtlSeconds : 86_400;
  const scope = OAUTH_SCOPES.includes(raw?.defaultScope as OAuthScope)
    ? (raw?.defaultScope as OAuthScope)
    : 'snsapi_base';
  return { sessionTtlMs: ttl * 1000, defaultScope: scope };
}

/** The signing secret: the `sessionSecret` option (WXKIT_SESSION_SECRET), else a random one for this handler's lifetime. */
function secretOf(ctx: RouteContext): string {
  if (ctx.options.sessionSecret) return ctx.options.sessionSecret;
  let secret = ctx.state.get('oauth:secret') as string | undefined;
  if (secret === undefined) {
    secret = createNonceValue() + createNonceValue();
    ctx.state.set('oauth:secret', secret);
    ctx.log({
      level: 'warn',
      msg: `${settingName('sessionSecret', ctx.options.settingNames)} is not set: OAuth sessions are signed with a random key and end when this process restarts, and other instances cannot read them.`,
    });
  }
  return secret;
}

function oauthOf(account: Account): OAuthClient {
  const client = (account as Wxkit & { oauth?: OAuthClient }).oauth;
  if (client) return client;
  throw new WxkitError(ErrorCodes.CONFIG_ERROR, `Account ${account.appId} has no OAuth client.`, {
    hint: {
      en: 'Create the account with createWxkit(), which provides wx.oauth.',
      zh: '请用 createWxkit() 创建账号（它提供 wx.oauth）。',
    },
  });
}

/** Sessions and the callback claims live in the default account's store, so every instance sees them. */
export function storeOf(ctx: RouteContext): OAuthStore {
  // A platform-only service has no default account: its platform's store is the shared one.
  const platform = ctx.options.extra.platform as { oauthStore?: OAuthStore } | undefined;
  if (ctx.accounts.length === 0 && platform?.oauthStore) return platform.oauthStore;
  const client = (ctx.account() as Wxkit & { oauth?: OAuthClient }).oauth;
  if (client) return client.store;
  let store = ctx.state.get('oauth:store') as OAuthStore | undefined;
  if (!store) {
    store = createMemoryOAuthStore({ now: ctx.options.now });
    ctx.state.set('oauth:store', store);
  }
  return store;
}

/** The origin the browser used: the web Request's, else the Host header (http). */
function requestOrigin(ctx: RouteContext): string | undefined {
  const url = ctx.input.request?.url;
  if (url) {
    try {
      return new URL(url).origin;
    } catch {
      // fall through to the Host header
    }
  }
  const host = ctx.input.header('host');
  if (!host || !/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(host))
    return undefined;
  return `http://${host}`;
}

/**
 * Where WeChat sends the browser back: WXKIT_PUBLIC_URL (set it in production), else the request's
 * origin. In sandbox mode a loopback alias of a loopback public URL (127.0.0.1 for localhost, same
 * port) is the same service on the same machine: the browser comes back to the host it opened, with
 * the login cookie that host holds, instead of landing on the other name and logged out there.
 */
function publicBase(ctx: RouteContext): string {
  const base = loopbackAlias(ctx) ?? ctx.options.publicUrl ?? requestOrigin(ctx);
  if (!base) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'The service does not know its public URL for the OAuth callback.',
      {
        zh: '服务不知道自己用于网页授权回调的公开地址。',
        hint: {
          en: `Set ${settingName('publicUrl', ctx.options.settingNames)}.`,
          zh: `请设置 ${settingName('publicUrl', ctx.options.settingNames)}。`,
        },
      },
    );
  }
  return base.replace(/\/+$/, '');
}

function cookieSettings(ctx: RouteContext): CookieSettings {
  return { secure: publicBase(ctx).startsWith('https:') };
}

function redirect(location: string, cookies: string[] = []): Reply {
  const headers: Record<string, string | string[]> = { location, ...NO_STORE };
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  return { status: 302, headers, body: null };
}

function countLogin(ctx: RouteContext, result: string): void {
  ctx.metrics.inc(
    'wxkit_oauth_logins_total',
    { result },
    1,
    'OAuth callbacks by result (ok, replayed_callback, denied, snapshot_user).',
  );
}

/** The request's origin when it is, in sandbox mode, a loopback alias of a loopback public URL. */
function loopbackAlias(ctx: RouteContext): string | undefined {
  if (!ctx.options.sandbox || !ctx.options.publicUrl) return undefined;
  const own = new URL(ctx.options.publicUrl);
  const origin = requestOrigin(ctx);
  if (origin === undefined || origin === own.origin) return undefined;
  const opened = new URL(origin);
  const sameService = opened.protocol === own.protocol && opened.port === own.port;
  return sameService && isLoopbackHost(own.hostname) && isLoopbackHost(opened.hostname) ? origin : undefined;
}

async function login(ctx: RouteContext): Promise<Reply> {
  const q = readQuery(ctx.url.search, LOGIN_QUERY);
  const returnTo = safeReturnTo(q.get('returnTo'));
  const opts = routeOptions(ctx);
  const account = ctx.account(readAppId(q.get('appId')), readAgentId(q.get('agentId')));
  // A platform's account that never authorized it, or took it back: refused here, not on WeChat's page.
  await (account as { assertAuthorized?: () => Promise<void> }).assertAuthorized?.();
  if (isWecom(account)) return wecomLogin(ctx, account, q.get('scope'), returnTo);
  const scope = (q.get('scope') || opts.defaultScope) as OAuthScope;
  if (!OAUTH_SCOPES.includes(scope)) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'scope must be snsapi_base or snsapi_userinfo.', {
      zh: 'scope 应为 snsapi_base 或 snsapi_userinfo。',
    });
  }
  const client = oauthOf(account);
  const settings = cookieSettings(ctx);
  // Nothing is written to the store: the record travels in a fresh login cookie, authenticated by the
  // state's MAC (an anonymous flood of logins costs no disk or memory). A new cookie every time: a
  // nonce that outlives its login would let an old state be finished later.
  const record: LoginRecord = { appId: account.appId, scope, returnTo };
  const started = startLogin(secretOf(ctx), record, ctx.options.now() + STATE_TTL_MS);
  const location = client.authorizeUrl({
    redirectUri: `${publicBase(ctx)}${ctx.prefix}/oauth/callback`,
    scope,
    state: started.state,
  });
  return redirect(location, [
    serializeCookie(nonceCookieName(settings), started.cookie, STATE_TTL_MS / 1000, settings),
  ]);
}

/**
 * WeCom OAuth: the same signed, browser-bound, single-use state and login cookie as the Official
 * Account's, and WeCom's authorize URL (corpId as appid, the app's agentid). Inside WeCom,
 * `snsapi_base` has no consent page: WeCom redirects back at once.
 */
function wecomLogin(ctx: RouteContext, corp: Wecom, scopeParam: string | undefined, returnTo: string): Reply {
  const scope = (scopeParam || 'snsapi_base') as WecomOAuthScope;
  if (!WECOM_SCOPES.includes(scope)) {
    throw new WxkitError(
      ErrorCodes.INVALID_REQUEST,
      'scope must be snsapi_base or snsapi_privateinfo for a WeCom app.',
      { zh: '企业微信应用的 scope 应为 snsapi_base 或 snsapi_privateinfo。' },
    );
  }
  const settings = cookieSettings(ctx);
  const record: LoginRecord = { appId: corp.corpId, agentId: corp.agentId, scope, returnTo };
  const started = startLogin(secretOf(ctx), record, ctx.options.now() + STATE_TTL_MS);
  const location = corp.oauth.authorizeUrl({
    redirectUri: `${publicBase(ctx)}${ctx.prefix}/oauth/callback`,
    scope,
    state: started.state,
  });
  return redirect(location, [
    serializeCookie(nonceCookieName(settings), started.cookie, STATE_TTL_MS / 1000, settings),
  ]);
}

/** Who a WeCom code names, as a session: the member's userid, or a non-member's openid. */
async function wecomSession(
  corp: Wecom,
  code: string,
  scope: string,
  now: number,
  ttlMs: number,
): Promise<SessionData> {
  const user = await corp.oauth.getUserInfo(code);
  const base: SessionData = {
    appId: corp.corpId,
    type: 'wecom',
    corpId: corp.corpId,
    agentId: corp.agentId,
    scope,
    createdAt: now,
    expiresAt: now + ttlMs,
  };
  // user_ticket (snsapi_privateinfo) is a credential for getuserdetail: it is not kept in the session.
  if ('userid' in user) return { ...base, userid: user.userid };
  return {
    ...base,
    openid: user.openid,
    ...(user.external_userid ? { external_userid: user.external_userid } : {}),
  };
}

/** An Official Account's code, exchanged once: the openid (and the profile with snsapi_userinfo). */
async function officialSession(
  account: Account,
  code: string,
  now: number,
  ttlMs: number,
): Promise<SessionData | 'snapshot'> {
  const client = oauthOf(account);
  const token = await client.exchangeCode(code);
  // A timeline snapshot page (朋友圈快照页): a virtual openid and no profile, so no session.
  if (token.isSnapshotUser) return 'snapshot';
  const data: SessionData = {
    appId: account.appId,
    openid: token.openid,
    scope: token.scope,
    createdAt: now,
    expiresAt: now + ttlMs,
    ...(token.unionid ? { unionid: token.unionid } : {}),
  };
  if (token.scope.split(',').includes('snsapi_userinfo')) {
    const user = await client.userinfo({ accessToken: token.accessToken, openid: token.openid });
    Object.assign(data, {
      nickname: user.nickname,
      headimgurl: user.headimgurl,
      sex: user.sex,
      province: user.province,
      city: user.city,
      country: user.country,
      ...(user.unionid ? { unionid: user.unionid } : {}),
    });
  }
  return data;
}

/**
 * Set-if-absent: the first caller's `value` becomes the key's value for `CLAIM_TTL_MS`. Returns the
 * value the key holds afterwards (the caller's own when it came first), or `undefined` when the
 * first caller took the claim but never wrote (it crashed) — which counts as someone else's.
 */
async function claimOnce(store: OAuthStore, key: string, value: string): Promise<string | undefined> {
  const owner = await store.tryLock(`${key}:claim`, CLAIM_TTL_MS);
  if (owner !== undefined) {
    await store.set(key, value, CLAIM_TTL_MS);
    return value;
  }
  for (let waited = 0; ; waited += 25) {
    const held = await store.get(key);
    if (held !== undefined || waited >= CLAIM_WAIT_MS) return held;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Stops reusing a state for a second login: the first callback binds the state to its code (or to
 * "denied"). A repeat with the same code is the same login (back button, double redirect).
 */
async function claimState(store: OAuthStore, id: string, codeHash: string): Promise<void> {
  if ((await claimOnce(store, `wxkit:oauth:state-code:${id}`, codeHash)) === codeHash) return;
  throw stateUsed();
}

function stateUsed(): WxkitError {
  return stateError(
    ErrorCodes.UNAUTHORIZED,
    'state_used',
    'This OAuth state was already used for another login.',
  );
}

/**
 * Stops code replay → session takeover: a browser that starts its own login and calls back with
 * someone else's already used code (from a log, a Referer, a shared link) would otherwise be handed
 * that person's session. A code belongs to the first login (state, hence browser) that presents it;
 * any other pairing is refused before anything is exchanged or looked up.
 */
async function claimCode(store: OAuthStore, codeHash: string, id: string): Promise<void> {
  if ((await claimOnce(store, `wxkit:oauth:code-state:${codeHash}`, id)) === id) return;
  throw codeUsed('This OAuth code was already used by another login.');
}

/**
 * Reads the claims before anything is exchanged or written, and refuses a state already bound to
 * another code, or a code already bound to another login.
 *
 * Stops store filling with made-up codes: an anonymous visitor can get a valid state and nonce cookie
 * from `/oauth/login` at will, so claims written before the exchange would let every callback with an
 * invented code leave entries behind. Claims are written only after WeChat accepted the code; the claim
 * itself stays atomic (claimState, claimCode), so two logins racing with one code still get one winner.
 */
async function refuseClaimedElsewhere(store: OAuthStore, id: string, codeHash: string): Promise<void> {
  const [stateCode, codeState] = await Promise.all([
    store.get(`wxkit:oauth:state-code:${id}`),
    store.get(`wxkit:oauth:code-state:${codeHash}`),
  ]);
  if (stateCode !== undefined && stateCode !== codeHash) throw stateUsed();
  if (codeState !== undefined && codeState !== id)
    throw codeUsed('This OAuth code was already used by another login.');
}

function codeUsed(message: string): WxkitError {
  return new WxkitError(ErrorCodes.UNAUTHORIZED, message, {
    hint: {
      en: 'Start the login again from the page (GET /oauth/login).',
      zh: '请从页面重新发起登录（GET /oauth/login）。',
    },
    details: { reason: 'code_used' },
  });
}

function withQuery(path: string, name: string, value: string): string {
  const hash = path.indexOf('#');
  const base = hash === -1 ? path : path.slice(0, hash);
  const tail = hash === -1 ? '' : path.slice(hash);
  return `${base}${base.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}${tail}`;
}

function snapshotRefusal(ctx: RouteContext): Reply {
  const error = new WxkitError(
    ErrorCodes.FORBIDDEN,
    'This visitor is on a WeChat timeline snapshot page (朋友圈快照页): WeChat gives it a virtual openid and no profile, so no session is created.',
    {
      zh: '该访客位于朋友圈快照页：微信只给它一个虚拟 openid，没有用户资料，因此不创建会话。',
      hint: {
        en: 'Tap “使用完整服务” (use the full service) at the bottom of the page to open the real page, then log in.',
        zh: '请点击页面底部「使用完整服务」打开完整页面后再登录。',
      },
      details: { reason: 'snapshot_user', snapshotUser: true },
    },
  );
  if (!(ctx.input.header('accept') ?? '').includes('text/html')) return errorReply(error);
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>请打开完整页面</title></head><body><h1 id="snapshot-user">请打开完整页面 / Open the full page</h1><p>${error.hint.zh}</p><p>${error.hint.en.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p></body></html>`;
  return send(403, html, 'text/html; charset=utf-8', NO_STORE);
}

async function callback(ctx: RouteContext): Promise<Reply> {
  const q = ctx.url.searchParams;
  const state = q.get('state');
  if (!state)
    throw stateError(ErrorCodes.INVALID_REQUEST, 'state_missing', 'The OAuth callback has no state.');
  const settings = cookieSettings(ctx);
  const secret = secretOf(ctx);
  const now = ctx.options.now();
  const { id, record } = finishLogin(
    secret,
    state,
    readCookie(ctx.input.header('cookie'), nonceCookieName(settings)),
    now,
  );
  const store = storeOf(ctx);
  const code = q.get('code');
  if (!code) {
    // The user pressed 拒绝 / Deny on the consent page: WeChat comes back with the state only.
    await claimState(store, id, 'denied');
    countLogin(ctx, 'denied');
    return redirect(withQuery(record.returnTo, 'oauth_error', 'access_denied'));
  }
  if (code.length > 512) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The OAuth code is too long.', {
      zh: 'OAuth code 过长。',
    });
  }
  const codeHash = createHash('sha256').update(`${record.appId}\n${code}`).digest('hex').slice(0, 40);
  await refuseClaimedElsewhere(store, id, codeHash);

  const opts = routeOptions(ctx);
  const loginSessionKey = `wxkit:oauth:login-session:${id}`;
  const previous = await store.get(loginSessionKey);
  let sid: string | undefined;
  if (previous !== undefined) {
    // This login already owns the code (its claims came before its session): a repeat gets its session.
    // A session that was ended (logout) is not revived by replaying its callback from history.
    if (!(await readSession(store, previous, now))) {
      throw codeUsed('This login already finished and its session has ended (logged out or expired).');
    }
    sid = previous;
    countLogin(ctx, 'replayed_callback');
  } else {
    // Exchange first: only a code WeChat accepted is worth a store entry (see refuseClaimedElsewhere).
    const account = ctx.account(record.appId, record.agentId);
    let data: SessionData;
    if (isWecom(account)) {
      data = await wecomSession(account, code, record.scope, now, opts.sessionTtlMs);
    } else {
      const built = await officialSession(account, code, now, opts.sessionTtlMs);
      if (built === 'snapshot') {
        countLogin(ctx, 'snapshot_user');
        return snapshotRefusal(ctx);
      }
      data = built;
    }
    // From here on this is the one login that owns the code: a repeat gets its session, never another's.
    await claimState(store, id, codeHash);
    await claimCode(store, codeHash, id);
    const mine = await createSession(store, data, opts.sessionTtlMs);
    // Two callbacks of this login at once: both created a session, the first to claim wins.
    sid = await claimOnce(store, loginSessionKey, mine);
    if (sid !== mine) await deleteSession(store, mine);
    if (sid === undefined) throw codeUsed('This OAuth code was already used by another login.');
    countLogin(ctx, sid === mine ? 'ok' : 'replayed_callback');
  }
  const cookie = serializeCookie(
    sessionCookieName(settings),
    signSessionId(secret, sid),
    opts.sessionTtlMs / 1000,
    settings,
  );
  return redirect(record.returnTo, [cookie]);
}

function clearCookie(settings: CookieSettings): string {
  return serializeCookie(sessionCookieName(settings), '', 0, settings);
}

/**
 * The logged-in Official Account user of this request (a valid, unexpired session cookie), or
 * undefined. For routes that act for the user (card signatures bound to their openid).
 */
export async function sessionUser(ctx: RouteContext): Promise<SessionData | undefined> {
  const value = readCookie(ctx.input.header('cookie'), sessionCookieName(cookieSettings(ctx)));
  if (!value) return undefined;
  let sid: string;
  try {
    sid = verifySessionCookie(secretOf(ctx), value);
  } catch (e) {
    if (e instanceof WxkitError) return undefined;
    throw e;
  }
  const data = await readSession(storeOf(ctx), sid, ctx.options.now());
  // A WeCom login's openid is the corp's, not an Official Account's: never act for it on OA routes.
  return data?.type === 'wecom' ? undefined : data;
}

async function me(ctx: RouteContext): Promise<Reply> {
  const settings = cookieSettings(ctx);
  const value = readCookie(ctx.input.header('cookie'), sessionCookieName(settings));
  const notLoggedIn = (message: string, reason: string) => {
    const reply = errorReply(
      new WxkitError(ErrorCodes.UNAUTHORIZED, message, {
        hint: {
          en: 'Log in: GET /oauth/login?returnTo=/your/page.',
          zh: '请登录：GET /oauth/login?returnTo=/你的页面。',
        },
        details: { reason },
      }),
    );
    if (value !== undefined) reply.headers['set-cookie'] = clearCookie(settings);
    return reply;
  };
  if (!value) return notLoggedIn('Not logged in.', 'not_logged_in');
  let sid: string;
  try {
    sid = verifySessionCookie(secretOf(ctx), value);
  } catch (e) {
    if (e instanceof WxkitError) return notLoggedIn(e.message, 'invalid_session_cookie');
    throw e;
  }
  const data = await readSession(storeOf(ctx), sid, ctx.options.now());
  if (!data) return notLoggedIn('The session ended (logged out or expired).', 'session_ended');
  const { createdAt: _created, ...user } = data;
  return json(200, user, NO_STORE);
}

/**
 * Stops cross-site logout (CSRF): a form or `fetch` on any other site posting to `/oauth/logout`
 * would sign the visitor out. Browsers say where a request comes from: `Sec-Fetch-Site` must be
 * `same-origin` (or `none`, typed by the user); without it, `Origin` must be this service's origin. A
 * request with neither header is not a browser acting for a page (curl, a server) and is let through.
 */
function requireSameOrigin(ctx: RouteContext): void {
  const site = ctx.input.header('sec-fetch-site');
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    throw crossSite('Sec-Fetch-Site is not same-origin');
  }
  const origin = ctx.input.header('origin');
  if (origin === undefined) return;
  const own = ctx.options.publicUrl ? new URL(ctx.options.publicUrl).origin : undefined;
  if (origin === own || origin === requestOrigin(ctx)) return;
  throw crossSite('Origin is another site');
}

function crossSite(why: string): WxkitError {
  return new WxkitError(ErrorCodes.FORBIDDEN, `Cross-site requests cannot log out (${why}).`, {
    zh: `跨站请求不能退出登录（${why}）。`,
    hint: {
      en: 'Log out from a page of this site (fetch or form on the same origin).',
      zh: '请从本站页面发起退出登录（同源的 fetch 或表单）。',
    },
    details: { reason: 'cross_site_request' },
  });
}

async function logout(ctx: RouteContext): Promise<Reply> {
  requireSameOrigin(ctx);
  const settings = cookieSettings(ctx);
  const value = readCookie(ctx.input.header('cookie'), sessionCookieName(settings));
  if (value) {
    try {
      await deleteSession(storeOf(ctx), verifySessionCookie(secretOf(ctx), value));
    } catch (e) {
      if (!(e instanceof WxkitError) || e.code !== ErrorCodes.UNAUTHORIZED) throw e;
    }
  }
  // The login cookie goes too, so the back button cannot replay the callback into a new session.
  return json(
    200,
    { loggedOut: true },
    {
      ...NO_STORE,
      'set-cookie': [clearCookie(settings), serializeCookie(nonceCookieName(settings), '', 0, settings)],
    },
  );
}

export const routes: readonly Route[] = [
  { method: 'GET', path: '/oauth/login', handle: login, cors: false, rateLimitCost: LOGIN_RATE_COST },
  { method: 'GET', path: '/oauth/callback', handle: callback, cors: false },
  { method: 'GET', path: '/oauth/me', handle: me, cors: false },
  { method: 'POST', path: '/oauth/logout', handle: logout, cors: false },
];
