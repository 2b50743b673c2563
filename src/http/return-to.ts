import { ErrorCodes, WxkitError } from '../errors.ts';

/**
 * Where `/oauth/login?returnTo=` may send the browser afterwards: a path on this site, never another
 * origin. Each rule is one function below; {@link safeReturnTo} runs them all and returns the
 * normalized path that becomes the `Location`.
 */

const RETURN_TO_MAX = 2048;
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;
const MAX_DECODINGS = 4;
// Only the path, query and fragment of this origin's URLs are ever used.
const PROBE_ORIGIN = 'http://wxkit.invalid';

type Refuse = (why: string) => WxkitError;

/**
 * Stops `/\evil.example` and `/%09/evil.example`: browsers read a backslash as `/` and drop tabs and
 * newlines, so both become `//evil.example`. A CR/LF would also split the `Location` header.
 */
function refuseBackslashAndControl(value: string, refuse: Refuse): void {
  if (BAD_CHARS.test(value)) throw refuse('backslash or control character');
}

/**
 * Stops `https://evil.example`, `javascript:…` and `//evil.example` (protocol-relative): only a path
 * that starts with exactly one `/` stays on this origin.
 */
function refuseNonPath(value: string, refuse: Refuse): void {
  if (!value.startsWith('/') || value.startsWith('//')) throw refuse('not a same-origin path');
}

/**
 * Stops `%2F%2Fevil.example` and deeper encodings that a server or framework down the line decodes
 * again: every decoding level is checked, and a value still changing after four decodings is refused.
 */
function refuseEncodedEscape(value: string, refuse: Refuse): void {
  let decoded = value;
  for (let i = 0; ; i++) {
    refuseBackslashAndControl(decoded, refuse);
    refuseNonPath(decoded, refuse);
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      throw refuse('bad percent-encoding');
    }
    if (next === decoded) return;
    if (i === MAX_DECODINGS) throw refuse('percent-encoded too many times');
    decoded = next;
  }
}

/**
 * Stops `/.//evil.example`, `/x/..//evil.example` and `/%2e//evil.example`: URL resolution removes dot
 * segments, so a path that looked like `/…` becomes `//evil.example`. The value is resolved the way a
 * browser resolves a `Location` (WHATWG URL) and the *result* must still be a path on this origin.
 */
function normalizedSameOriginPath(value: string, refuse: Refuse): string {
  const probe = new URL(value, PROBE_ORIGIN);
  if (probe.origin !== PROBE_ORIGIN) throw refuse('not a same-origin path');
  const path = probe.pathname + probe.search + probe.hash;
  if (!isSameOriginPath(path)) throw refuse('not a same-origin path after removing dot segments');
  return path;
}

/**
 * True for a value that a browser resolves on the current origin whatever that origin is: one leading
 * `/`, no `//` or `/\` after it, no backslash or control character anywhere.
 */
export function isSameOriginPath(path: string): boolean {
  return (
    path.startsWith('/') &&
    !path.startsWith('//') &&
    !BAD_CHARS.test(path) &&
    new URL(path, PROBE_ORIGIN).origin === PROBE_ORIGIN
  );
}

/**
 * A same-origin path to return to after login, normalized (dot segments resolved), or an
 * `invalid_request` error with `details.reason: 'return_to_not_allowed'`. Empty → `/`.
 */
export function safeReturnTo(value: string | undefined): string {
  if (value === undefined || value === '') return '/';
  const refuse: Refuse = (why) =>
    new WxkitError(
      ErrorCodes.INVALID_REQUEST,
      `returnTo must be a path on this site, like /account (${why}).`,
      {
        zh: `returnTo 必须是本站的路径，如 /account（${why}）。`,
        hint: {
          en: 'Pass a path that starts with a single /, without scheme, host, backslashes or control characters.',
          zh: 'returnTo 必须是以单个 / 开头的站内路径，不能含协议、主机、反斜杠或控制字符。',
        },
        details: { reason: 'return_to_not_allowed' },
      },
    );
  if (value.length > RETURN_TO_MAX) throw refuse('too long');
  refuseEncodedEscape(value, refuse);
  const path = normalizedSameOriginPath(value, refuse);
  // `/%2e%2e/%2f%2fevil.example` normalizes to `/%2f%2fevil.example`: check the result's encodings too.
  refuseEncodedEscape(path, refuse);
  // The path travels in the login cookie (4 KB at most in browsers): bound it after percent-encoding.
  if (path.length > RETURN_TO_MAX) throw refuse('too long');
  return path;
}
