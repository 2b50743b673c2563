import { randomBytes } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { OAuthScope } from '../oauth/types.ts';
import { mac, sameMac } from './session.ts';

/**
 * The OAuth `state`: `id(24 hex) + expiry(8 hex, seconds) + mac(32 hex)` — 64 characters of [0-9a-f],
 * inside WeChat's 128-byte [A-Za-z0-9] limit. The MAC covers id, expiry and the browser's nonce cookie,
 * so a state is useless in another browser (login CSRF) and cannot be forged or extended; where to go
 * afterwards is kept in the store under the id, and the id is claimed once.
 */

/** What the login step remembers for the callback. */
export interface LoginRecord {
  appId: string;
  scope: OAuthScope;
  returnTo: string;
}

const STATE = /^([0-9a-f]{24})([0-9a-f]{8})([0-9a-f]{32})$/;
const NONCE = /^[0-9a-f]{32}$/;

/** A new browser nonce (the value of the nonce cookie). */
export function createNonceValue(): string {
  return randomBytes(16).toString('hex');
}

/** True when a nonce cookie value is well-formed (so it can be reused by a second login tab). */
export function isNonceValue(value: string | undefined): value is string {
  return value !== undefined && NONCE.test(value);
}

/** Issues a state bound to `nonce`, valid until `expiresAtMs`. */
export function createState(
  secret: string,
  nonce: string,
  expiresAtMs: number,
): { id: string; state: string } {
  const id = randomBytes(12).toString('hex');
  const exp = Math.floor(expiresAtMs / 1000)
    .toString(16)
    .padStart(8, '0');
  const sig = mac(secret, 'oauth-state', `${id}${exp}\n${nonce}`).subarray(0, 16).toString('hex');
  return { id, state: `${id}${exp}${sig}` };
}

/**
 * Checks a state against the browser's nonce and the clock: its id, or an error that says why it is
 * refused — malformed (400), not this browser's or forged (403), expired (401).
 */
export function verifyState(secret: string, state: string, nonce: string | undefined, nowMs: number): string {
  const m = STATE.exec(state);
  if (!m) throw stateError(ErrorCodes.INVALID_REQUEST, 'state_malformed', 'The OAuth state is malformed.');
  const [, id = '', exp = '', sig = ''] = m;
  if (!isNonceValue(nonce)) {
    throw stateError(
      ErrorCodes.FORBIDDEN,
      'state_no_nonce',
      'This browser did not start this login (its login cookie is missing — cookies blocked, another browser, or the login took too long).',
    );
  }
  const expected = mac(secret, 'oauth-state', `${id}${exp}\n${nonce}`).subarray(0, 16);
  if (!sameMac(Buffer.from(sig, 'hex'), expected)) {
    throw stateError(
      ErrorCodes.FORBIDDEN,
      'state_mismatch',
      'The OAuth state was not issued to this browser (forged, or started in another browser).',
    );
  }
  if (Number.parseInt(exp, 16) * 1000 <= nowMs) {
    throw stateError(
      ErrorCodes.UNAUTHORIZED,
      'state_expired',
      'The OAuth state expired (logins must finish within 10 minutes).',
    );
  }
  return id;
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
