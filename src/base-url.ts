import { ErrorCodes, WxkitError } from './errors.ts';

/**
 * Checks a configured base URL (WX_API_BASE, WX_OPEN_BASE, WXKIT_REMOTE_URL, WXKIT_PUBLIC_URL): http(s)
 * and no `user:password@` (which would end up in logs). Returns it without trailing slashes.
 *
 * @throws {WxkitError} `config_error` naming `where`.
 */
export function checkBaseUrl(value: string, where: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) {
    throw new WxkitError(ErrorCodes.CONFIG_ERROR, `${where} must be an http(s) URL without credentials`);
  }
  return value.replace(/\/+$/, '');
}
