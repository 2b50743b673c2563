import { ErrorCodes, WxkitError } from './errors.ts';
import { parsePageUrl } from './signature.ts';

/** One JS-safe domain entry: a host, optionally with a path prefix (`example.com/h5`). */
export interface JsDomain {
  host: string;
  /** Path prefix without trailing slash, or '' for the whole host. */
  path: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return LOOPBACK.has(h) || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Parses JS-safe domain entries as they are typed into the Official Account platform (`h5.example.com`,
 * `example.com/h5`; a scheme is tolerated and ignored). WeChat allows at most 3 per account.
 *
 * @throws {WxkitError} `config_error` for an entry that is not a host name.
 */
export function parseJsDomains(entries: readonly string[] | string): JsDomain[] {
  const list = typeof entries === 'string' ? entries.split(',') : [...entries];
  const out: JsDomain[] = [];
  for (const raw of list) {
    const entry = raw.trim().replace(/^https?:\/\//i, '');
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const hostPart = (slash === -1 ? entry : entry.slice(0, slash)).toLowerCase();
    let path = slash === -1 ? '' : entry.slice(slash).replace(/\/+$/, '');
    let parsed: URL;
    try {
      parsed = new URL(`http://${hostPart}/`);
    } catch (cause) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `JS-safe domain entry ${JSON.stringify(raw)} is not a host name.`,
        {
          cause,
        },
      );
    }
    if (parsed.port !== '' || parsed.username !== '' || /[?#@\\]/.test(entry)) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `JS-safe domain entry ${JSON.stringify(raw)} must be a host or host/path, without port, user or query.`,
      );
    }
    if (path === '/') path = '';
    out.push({ host: parsed.hostname, path });
  }
  return out;
}

/** Options for {@link matchJsDomain}. */
export interface MatchJsDomainOptions {
  /** Accept loopback hosts on any port (sandbox mode). @default false */
  allowLoopback?: boolean;
}

/** Why a URL is refused, or `null` when WeChat would accept its domain. */
export type DomainMismatch = 'port' | 'host' | 'path';

/**
 * Checks a page URL against JS-safe domains the way WeChat does: the host equals an entry or is a
 * subdomain of it, the path starts with the entry's path prefix, and the port is 80 or 443.
 * Returns `null` when allowed, else the reason.
 */
export function matchJsDomain(
  url: string,
  domains: readonly JsDomain[],
  options: MatchJsDomainOptions = {},
): DomainMismatch | null {
  let parsed: URL;
  try {
    parsed = parsePageUrl(url);
  } catch {
    return 'host';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'host';
  const host = parsed.hostname.toLowerCase();
  if (options.allowLoopback && isLoopbackHost(host)) return null;
  const port = parsed.port;
  if (port !== '' && port !== '80' && port !== '443') return 'port';
  let hostMatched = false;
  for (const d of domains) {
    if (host !== d.host && !host.endsWith(`.${d.host}`)) continue;
    hostMatched = true;
    if (d.path === '') return null;
    const p = parsed.pathname;
    if (p === d.path || p.startsWith(`${d.path}/`)) return null;
  }
  return hostMatched ? 'path' : 'host';
}

/** Renders entries back to the form they are configured in. */
export function formatJsDomains(domains: readonly JsDomain[]): string {
  return domains.map((d) => d.host + d.path).join(', ');
}
