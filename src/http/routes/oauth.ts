import { createHash } from 'node:crypto';
import { isLoopbackHost } from '../../domains.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { createMemoryOAuthStore, type OAuthStore } from '../../oauth/store.ts';
import { OAUTH_SCOPES, type OAuthClient, type OAuthScope } from '../../oauth/types.ts';
import type { Wxkit } from '../../types.ts';
import { readAppId, readQuery } from '../params.ts';
import { errorReply, json, type Reply, send } from '../reply.ts';
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
import {
  createNonceValue,
  createState,
  isNonceValue,
  type LoginRecord,
  stateError,
  verifyState,
} from '../session-state.ts';

/**
 * Web OAuth for pages (SPEC §3): `GET /oauth/login` → WeChat's authorize page with a signed,
 * browser-bound, single-use, 10-minute `state`; `GET /oauth/callback` → the code exchanged once, a
 * session cookie, back to `returnTo`; `GET /oauth/me`; `POST /oauth/logout`.
 *
 * Options (in `createHandler(…, { extra: { oauth: {…} } })`): `sessionTtlSeconds` (default 86400),
 * `defaultScope` (default `snsapi_base`).
 */

const LOGIN_QUERY = new Set(['returnTo', 'scope', 'appId']);
const STATE_TTL_MS = 10 * 60_000;
// Records outlive the state a little so an expired state is reported as expired, not unknown.
const RECORD_TTL_MS = 20 * 60_000;
const CODE_SESSION_TTL_MS = 5 * 60_000;
const NO_STORE = { 'cache-control': 'no-store' };
const RETURN_TO_MAX = 2048;
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;

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

/** The signing secret: WXKIT_SESSION_SECRET, else a random one for this handler's lifetime. */
function secretOf(ctx: RouteContext): string {
  if (ctx.options.sessionSecret) return ctx.options.sessionSecret;
  let secret = ctx.state.get('oauth:secret') as string | undefined;
  if (secret === undefined) {
    secret = createNonceValue() + createNonceValue();
    ctx.state.set('oauth:secret', secret);
    ctx.log({
      level: 'warn',
      msg: 'WXKIT_SESSION_SECRET is not set: OAuth sessions are signed with a random key and end when this process restarts, and other instances cannot read them.',
    });
  }
  return secret;
}

function oauthOf(account: Wxkit): OAuthClient {
  const client = (account as Wxkit & { oauth?: OAuthClient }).oauth;
  if (client) return client;
  throw new WxkitError(ErrorCodes.CONFIG_ERROR, `Account ${account.appId} has no OAuth client.`, {
    hint: {
      en: 'Create the account with createWxkit(), which provides wx.oauth.',
      zh: '请用 createWxkit() 创建账号（它提供 wx.oauth）。',
    },
  });
}

/** Sessions and login state live in the default account's store, so every instance sees them. */
function storeOf(ctx: RouteContext): OAuthStore {
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

/** Where WeChat sends the browser back: WXKIT_PUBLIC_URL (set it in production), else the request's origin. */
function publicBase(ctx: RouteContext): string {
  const base = ctx.options.publicUrl ?? requestOrigin(ctx);
  if (!base) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'The service does not know its public URL for the OAuth callback.',
      {
        hint: { en: 'Set WXKIT_PUBLIC_URL (publicUrl).', zh: '请设置 WXKIT_PUBLIC_URL（publicUrl）。' },
      },
    );
  }
  return base.replace(/\/+$/, '');
}

function cookieSettings(ctx: RouteContext): CookieSettings {
  return { secure: publicBase(ctx).startsWith('https:') };
}

/**
 * A same-origin path to return to after login. Refuses absolute and protocol-relative URLs
 * (`https://evil.example`, `//evil.example`, `/\evil.example`), backslashes, control characters and
 * their percent-encoded forms — browsers read `/\host` and `/%09/host` as another site.
 */
export function safeReturnTo(value: string | undefined): string {
  if (value === undefined || value === '') return '/';
  const refuse = (why: string) =>
    new WxkitError(
      ErrorCodes.INVALID_REQUEST,
      `returnTo must be a path on this site, like /account (${why}).`,
      {
        hint: {
          en: 'Pass a path that starts with a single /, without scheme, host, backslashes or control characters.',
          zh: 'returnTo 必须是以单个 / 开头的站内路径，不能含协议、主机、反斜杠或控制字符。',
        },
        details: { reason: 'return_to_not_allowed' },
      },
    );
  if (value.length > RETURN_TO_MAX) throw refuse('too long');
  let decoded = value;
  for (let i = 0; ; i++) {
    if (BAD_CHARS.test(decoded)) throw refuse('backslash or control character');
    if (!decoded.startsWith('/') || decoded.startsWith('//')) throw refuse('not a same-origin path');
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      throw refuse('bad percent-encoding');
    }
    if (next === decoded) break;
    // Every level is checked: a value still changing after four decodings is refused, not passed.
    if (i === 4) throw refuse('percent-encoded too many times');
    decoded = next;
  }
  const probe = new URL(value, 'http://wxkit.invalid');
  if (probe.origin !== 'http://wxkit.invalid') throw refuse('not a same-origin path');
  return probe.pathname + probe.search + probe.hash;
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

const stateKey = (id: string) => `wxkit:oauth:state:${id}`;

async function login(ctx: RouteContext): Promise<Reply> {
  // Sandbox: a page opened as 127.0.0.1 while the public URL says localhost would set the login cookie
  // on one host and receive the callback on the other; send the browser to the public host first.
  const publicOrigin = ctx.options.publicUrl ? new URL(ctx.options.publicUrl).origin : undefined;
  const origin = requestOrigin(ctx);
  if (
    ctx.options.sandbox &&
    publicOrigin !== undefined &&
    origin !== undefined &&
    publicOrigin !== origin &&
    isLoopbackHost(new URL(publicOrigin).hostname) &&
    isLoopbackHost(new URL(origin).hostname)
  ) {
    return redirect(`${publicOrigin}${ctx.options.basePath}${ctx.url.pathname}${ctx.url.search}`);
  }
  const q = readQuery(ctx.url.search, LOGIN_QUERY);
  const returnTo = safeReturnTo(q.get('returnTo'));
  const opts = routeOptions(ctx);
  const scope = (q.get('scope') || opts.defaultScope) as OAuthScope;
  if (!OAUTH_SCOPES.includes(scope)) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'scope must be snsapi_base or snsapi_userinfo.');
  }
  const account = ctx.account(readAppId(q.get('appId')));
  const client = oauthOf(account);
  const settings = cookieSettings(ctx);
  const existing = readCookie(ctx.input.header('cookie'), nonceCookieName(settings));
  // Reusing a live nonce keeps a login started in another tab valid.
  const nonce = isNonceValue(existing) ? existing : createNonceValue();
  const now = ctx.options.now();
  const { id, state } = createState(secretOf(ctx), nonce, now + STATE_TTL_MS);
  const record: LoginRecord = { appId: account.appId, scope, returnTo };
  await storeOf(ctx).set(stateKey(id), JSON.stringify(record), RECORD_TTL_MS);
  const location = client.authorizeUrl({
    redirectUri: `${publicBase(ctx)}${ctx.options.basePath}/oauth/callback`,
    scope,
    state,
  });
  return redirect(location, [
    serializeCookie(nonceCookieName(settings), nonce, STATE_TTL_MS / 1000, settings),
  ]);
}

/** Single use: the first callback claims the state for its code; a repeat with the same code is the same login. */
async function claimState(store: OAuthStore, id: string, codeHash: string): Promise<void> {
  const owner = await store.tryLock(`wxkit:oauth:state-claim:${id}`, RECORD_TTL_MS);
  if (owner !== undefined) {
    await store.set(`wxkit:oauth:state-code:${id}`, codeHash, RECORD_TTL_MS);
    return;
  }
  for (let i = 0; i < 20; i++) {
    const claimed = await store.get(`wxkit:oauth:state-code:${id}`);
    if (claimed === codeHash) return;
    if (claimed !== undefined) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw stateError(
    ErrorCodes.UNAUTHORIZED,
    'state_used',
    'This OAuth state was already used for another login.',
  );
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
  const id = verifyState(
    secret,
    state,
    readCookie(ctx.input.header('cookie'), nonceCookieName(settings)),
    now,
  );
  const store = storeOf(ctx);
  const raw = await store.get(stateKey(id));
  if (raw === undefined)
    throw stateError(ErrorCodes.UNAUTHORIZED, 'state_unknown', 'The OAuth state is unknown or expired.');
  let record: LoginRecord;
  try {
    record = JSON.parse(raw) as LoginRecord;
  } catch {
    throw stateError(ErrorCodes.UNAUTHORIZED, 'state_unknown', 'The OAuth state is unknown or expired.');
  }
  const code = q.get('code');
  if (!code) {
    // The user pressed 拒绝 / Deny on the consent page: WeChat comes back with the state only.
    await claimState(store, id, 'denied');
    countLogin(ctx, 'denied');
    return redirect(withQuery(record.returnTo, 'oauth_error', 'access_denied'));
  }
  if (code.length > 512) throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The OAuth code is too long.');
  const codeHash = createHash('sha256').update(`${record.appId}\n${code}`).digest('hex').slice(0, 40);
  await claimState(store, id, codeHash);
  const client = oauthOf(ctx.account(record.appId));
  const token = await client.exchangeCode(code);
  if (token.isSnapshotUser) {
    countLogin(ctx, 'snapshot_user');
    return snapshotRefusal(ctx);
  }

  const opts = routeOptions(ctx);
  const codeSessionKey = `wxkit:oauth:code-session:${codeHash}`;
  const previous = await store.get(codeSessionKey);
  let sid = previous !== undefined && (await readSession(store, previous, now)) ? previous : undefined;
  if (sid === undefined) {
    const data: SessionData = {
      appId: record.appId,
      openid: token.openid,
      scope: token.scope,
      createdAt: now,
      expiresAt: now + opts.sessionTtlMs,
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
    sid = await createSession(store, data, opts.sessionTtlMs);
    await store.set(codeSessionKey, sid, CODE_SESSION_TTL_MS);
    countLogin(ctx, 'ok');
  } else countLogin(ctx, 'replayed_callback');
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

async function logout(ctx: RouteContext): Promise<Reply> {
  const settings = cookieSettings(ctx);
  const value = readCookie(ctx.input.header('cookie'), sessionCookieName(settings));
  if (value) {
    try {
      await deleteSession(storeOf(ctx), verifySessionCookie(secretOf(ctx), value));
    } catch (e) {
      if (!(e instanceof WxkitError) || e.code !== ErrorCodes.UNAUTHORIZED) throw e;
    }
  }
  return json(200, { loggedOut: true }, { ...NO_STORE, 'set-cookie': clearCookie(settings) });
}

export const routes: readonly Route[] = [
  { method: 'GET', path: '/oauth/login', handle: login, cors: false },
  { method: 'GET', path: '/oauth/callback', handle: callback, cors: false },
  { method: 'GET', path: '/oauth/me', handle: me, cors: false },
  { method: 'POST', path: '/oauth/logout', handle: logout, cors: false },
];
