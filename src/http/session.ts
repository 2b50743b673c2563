import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { OAuthStore } from '../oauth/store.ts';

/**
 * Browser sessions after web OAuth. The cookie holds only a random session id and an HMAC of it; the
 * user (openid, profile) lives in the store under the id's hash, so any instance sharing the store can
 * serve it, the openid never travels in clear, and logging out really ends the session.
 */

/** What a session remembers about the user. */
export interface SessionData {
  /** The Official Account's appId, or the WeCom corpId. */
  appId: string;
  /** `wecom` for a WeCom login (then `corpId`, `agentId` and `userid` or `openid`). */
  type?: 'wecom' | undefined;
  /** An Official Account user's openid; a WeCom non-member's openid (corp-scoped). */
  openid?: string | undefined;
  /** WeCom: the corp and app the user logged in through. */
  corpId?: string | undefined;
  agentId?: string | undefined;
  /** WeCom: a member's userid. */
  userid?: string | undefined;
  /** WeCom: a non-member who is one of the corp's external contacts. */
  external_userid?: string | undefined;
  unionid?: string | undefined;
  scope: string;
  nickname?: string | undefined;
  headimgurl?: string | undefined;
  sex?: number | undefined;
  province?: string | undefined;
  city?: string | undefined;
  country?: string | undefined;
  /** Milliseconds since the epoch. */
  createdAt: number;
  expiresAt: number;
}

/** Cookie attributes that depend on where the service runs. */
export interface CookieSettings {
  /** Send `Secure` (and use the `__Host-` name prefix): true when the public URL is https. */
  secure: boolean;
}

/** The session cookie's name; `__Host-` pins it to this host, https only. */
export function sessionCookieName(settings: CookieSettings): string {
  return settings.secure ? '__Host-wxkit_session' : 'wxkit_session';
}

/** The login cookie's name: a nonce and the login's record, bound to the OAuth `state` by its MAC. */
export function nonceCookieName(settings: CookieSettings): string {
  return settings.secure ? '__Host-wxkit_oauth_nonce' : 'wxkit_oauth_nonce';
}

/** HMAC-SHA256 under a purpose label, so a value signed for one use is never valid for another. */
export function mac(secret: string, purpose: string, value: string): Buffer {
  return createHmac('sha256', secret).update(`wxkit:${purpose}\n${value}`).digest();
}

/** Constant-time comparison of two equal-purpose MACs. */
export function sameMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads one cookie from a `Cookie` header (the first occurrence). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A `Set-Cookie` value: HttpOnly, SameSite=Lax (sent on WeChat's top-level redirect back), Path=/. */
export function serializeCookie(
  name: string,
  value: string,
  maxAgeSeconds: number,
  settings: CookieSettings,
): string {
  return `${name}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; SameSite=Lax${settings.secure ? '; Secure' : ''}`;
}

/** The cookie value for a session id: `sid.mac`. */
export function signSessionId(secret: string, sid: string): string {
  return `${sid}.${mac(secret, 'session', sid).toString('base64url')}`;
}

/**
 * The session id from a cookie value, or an `unauthorized` error saying what is wrong with it
 * (a tampered or foreign cookie is refused before the store is asked).
 */
export function verifySessionCookie(secret: string, value: string): string {
  const m = wellFormedSessionCookie(value);
  if (!m) throw sessionError('The session cookie is malformed.');
  const [sid, sig] = m;
  if (!sameMac(Buffer.from(sig, 'base64url'), mac(secret, 'session', sid))) {
    throw sessionError(
      'The session cookie’s signature is invalid (tampered, or signed with another WXKIT_SESSION_SECRET).',
    );
  }
  return sid;
}

// 32 hex, a dot, 43 characters of unpadded base64url (a SHA-256 MAC) and nothing else.
const SESSION_COOKIE = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

/**
 * Stops variants of a cookie from being accepted as the same cookie (`…==`, `+/` for `-_`, trailing
 * junk): Node's base64 decoder skips what it does not understand, so the value is checked against the
 * one encoding wxkit writes — unpadded base64url with canonical last character — before decoding.
 */
function wellFormedSessionCookie(value: string): [sid: string, sig: string] | undefined {
  const m = SESSION_COOKIE.exec(value);
  return m ? [m[1] ?? '', m[2] ?? ''] : undefined;
}

function sessionKey(sid: string): string {
  // The id is a bearer secret: only its hash becomes a key (a file name, a Redis key).
  return `wxkit:oauth:session:${createHash('sha256').update(sid).digest('hex').slice(0, 40)}`;
}

/** Creates a session in the store; returns its id (for {@link signSessionId}). */
export async function createSession(store: OAuthStore, data: SessionData, ttlMs: number): Promise<string> {
  const sid = randomBytes(16).toString('hex');
  await store.set(sessionKey(sid), JSON.stringify(data), ttlMs);
  return sid;
}

/** The session's data, or `undefined` when it ended (logged out, expired). */
export async function readSession(
  store: OAuthStore,
  sid: string,
  now: number,
): Promise<SessionData | undefined> {
  const raw = await store.get(sessionKey(sid));
  if (raw === undefined) return undefined;
  try {
    const data = JSON.parse(raw) as SessionData;
    const who = typeof data.openid === 'string' || typeof data.userid === 'string';
    return who && data.expiresAt > now ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Ends a session. */
export async function deleteSession(store: OAuthStore, sid: string): Promise<void> {
  await store.delete(sessionKey(sid));
}

function sessionError(message: string): WxkitError {
  return new WxkitError(ErrorCodes.UNAUTHORIZED, message, {
    hint: { en: 'Log in again: GET /oauth/login.', zh: '请重新登录：GET /oauth/login。' },
    details: { reason: 'invalid_session_cookie' },
  });
}
