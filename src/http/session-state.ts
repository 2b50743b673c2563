import { randomBytes } from 'node:crypto';
import type { WecomOAuthScope } from '../accounts/wecom-oauth.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { OAUTH_SCOPES, type OAuthScope } from '../oauth/types.ts';
import { isSameOriginPath } from './return-to.ts';
import { mac, sameMac } from './session.ts';

/**
 * A login in progress lives in the browser, not in the store, so anonymous `/oauth/login` requests
 * cost the service nothing to remember:
 *
 * - the OAuth `state` (through WeChat): `id(24 hex) + expiry(8 hex, seconds) + mac(32 hex)` — 64
 *   characters of [0-9a-f], inside WeChat's 128-byte [A-Za-z0-9] limit;
 * - the login cookie: `nonce(32 hex) "." base64url(record)`, where the record says which account,
 *   scope and `returnTo` the login is for (`returnTo` never travels through WeChat).
 *
 * The state's MAC covers id, expiry, nonce and record: the pair only works together, in the browser
 * that started the login (login CSRF), and neither can be forged, extended or edited. A new login in
 * the same browser replaces the cookie, so an older tab's callback is refused and starts again.
 */

/** What the login step remembers for the callback. */
export interface LoginRecord {
  appId: string;
  /** WeCom: the app (agentId) of the corp `appId` the login runs through. */
  agentId?: string | undefined;
  scope: OAuthScope | WecomOAuthScope;
  returnTo: string;
}

const SCOPES: readonly string[] = [...OAUTH_SCOPES, 'snsapi_privateinfo'];

/** A started login: the `state` for WeChat and the login cookie's value. */
export interface StartedLogin {
  /** Identifies the login; the callback claims it once in the store. */
  id: string;
  state: string;
  cookie: string;
}

const STATE = /^([0-9a-f]{24})([0-9a-f]{8})([0-9a-f]{32})$/;
// Strict before decoding: 32 hex, a dot, unpadded base64url (a normalized returnTo is ≤ 2048 chars).
const COOKIE = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{1,3600})$/;

/** Random hex, for nonces and the handler's fallback secret. */
export function createNonceValue(): string {
  return randomBytes(16).toString('hex');
}

function stateMac(secret: string, id: string, exp: string, nonce: string, payload: string): Buffer {
  return mac(secret, 'oauth-state', `${id}${exp}\n${nonce}\n${payload}`).subarray(0, 16);
}

/** Issues a state and a fresh login cookie for `record`, valid until `expiresAtMs`. */
export function startLogin(secret: string, record: LoginRecord, expiresAtMs: number): StartedLogin {
  const id = randomBytes(12).toString('hex');
  const nonce = createNonceValue();
  const payload = Buffer.from(
    JSON.stringify({
      a: record.appId,
      s: record.scope,
      r: record.returnTo,
      ...(record.agentId === undefined ? {} : { g: record.agentId }),
    }),
  ).toString('base64url');
  const exp = Math.floor(expiresAtMs / 1000)
    .toString(16)
    .padStart(8, '0');
  const sig = stateMac(secret, id, exp, nonce, payload).toString('hex');
  return { id, state: `${id}${exp}${sig}`, cookie: `${nonce}.${payload}` };
}

/**
 * Checks a state against the browser's login cookie and the clock: the login's id and record, or an
 * error that says why it is refused — malformed (400), not this browser's current login or forged
 * (403), expired (401).
 */
export function finishLogin(
  secret: string,
  state: string,
  cookie: string | undefined,
  nowMs: number,
): { id: string; record: LoginRecord } {
  const m = STATE.exec(state);
  if (!m) throw stateError(ErrorCodes.INVALID_REQUEST, 'state_malformed', 'The OAuth state is malformed.');
  const [, id = '', exp = '', sig = ''] = m;
  const c = cookie === undefined ? null : COOKIE.exec(cookie);
  if (!c) {
    throw stateError(
      ErrorCodes.FORBIDDEN,
      'state_no_nonce',
      'This browser did not start this login (its login cookie is missing — cookies blocked, another browser, or the login took too long).',
    );
  }
  const [, nonce = '', payload = ''] = c;
  if (!sameMac(Buffer.from(sig, 'hex'), stateMac(secret, id, exp, nonce, payload))) {
    throw stateError(
      ErrorCodes.FORBIDDEN,
      'state_mismatch',
      'The OAuth state is not this browser’s current login: it was forged, started in another browser, or a newer login was started in another tab (only the latest one can finish).',
    );
  }
  if (Number.parseInt(exp, 16) * 1000 <= nowMs) {
    throw stateError(
      ErrorCodes.UNAUTHORIZED,
      'state_expired',
      'The OAuth state expired (logins must finish within 10 minutes).',
    );
  }
  return { id, record: parseRecord(payload) };
}

/** The record is authenticated by the MAC; still, only a well-formed one is used. */
function parseRecord(payload: string): LoginRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    raw = undefined;
  }
  const r = raw as { a?: unknown; s?: unknown; r?: unknown; g?: unknown } | undefined;
  if (
    typeof r?.a === 'string' &&
    SCOPES.includes(r.s as string) &&
    typeof r.r === 'string' &&
    isSameOriginPath(r.r) &&
    (r.g === undefined || (typeof r.g === 'string' && /^[0-9]{1,20}$/.test(r.g)))
  ) {
    return {
      appId: r.a,
      scope: r.s as OAuthScope | WecomOAuthScope,
      returnTo: r.r,
      ...(r.g === undefined ? {} : { agentId: r.g as string }),
    };
  }
  throw stateError(ErrorCodes.INVALID_REQUEST, 'state_malformed', 'The OAuth login cookie is malformed.');
}

/** The refusal for a bad state, with a hint and a stable `details.reason`. */
export function stateError(
  code: 'invalid_request' | 'forbidden' | 'unauthorized',
  reason: string,
  message: string,
): WxkitError {
  return new WxkitError(code, message, {
    hint: {
      en: 'Start the login again from the page (GET /oauth/login).',
      zh: '请从页面重新发起登录（GET /oauth/login）。',
    },
    details: { reason },
  });
}
