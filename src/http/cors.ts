import { isLoopbackHost, type JsDomain } from '../domains.ts';
import type { Reply } from './reply.ts';
import type { Route } from './route.ts';

/** Which page origins may call the service from a browser. */
export interface CorsPolicy {
  allows(origin: string): boolean;
  /**
   * Whether allowed origins may send cookies (`credentials: 'include'`). True for listed or derived
   * origins; never for `'*'`, which would let any site read a logged-in user's `/oauth/me`.
   */
  readonly credentials: boolean;
}

/**
 * `'*'`, a list of exact origins, or (default) the http and https origins of the accounts' JS-safe
 * domains and their subdomains on the default ports — the pages that can use the JS-SDK at all.
 * Sandbox mode adds loopback origins on any port.
 */
export function corsPolicy(
  origins: readonly string[] | '*' | undefined,
  domains: readonly JsDomain[],
  sandbox: boolean,
): CorsPolicy {
  if (origins === '*') return { allows: () => true, credentials: false };
  const exact = new Set((origins ?? []).map((o) => o.trim().replace(/\/+$/, '').toLowerCase()));
  const hosts = origins === undefined ? [...new Set(domains.map((d) => d.host))] : [];
  const cache = new Map<string, boolean>();
  return {
    credentials: true,
    allows(origin) {
      const known = cache.get(origin);
      if (known !== undefined) return known;
      const ok = decide(origin);
      if (cache.size < 1000) cache.set(origin, ok);
      return ok;
    },
  };
  function decide(origin: string): boolean {
    if (exact.has(origin.toLowerCase())) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== origin.toLowerCase())
      return false;
    if (sandbox && isLoopbackHost(u.hostname)) return true;
    if (u.port !== '') return false;
    return hosts.some((h) => u.hostname === h || u.hostname.endsWith(`.${h}`));
  }
}

export const CORS_ALLOW_HEADERS = 'Content-Type, Authorization';

const HEADER_LIST = /^[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+){0,19}$/;

/**
 * The headers a preflight allows: those the page asks for (custom CSRF headers, for instance) when they
 * are plain header names, else the defaults.
 */
export function allowedRequestHeaders(requested: string | undefined): string {
  const list = requested?.trim();
  return list && list.length <= 400 && HEADER_LIST.test(list) ? list : CORS_ALLOW_HEADERS;
}

/**
 * The answer to a preflight (`OPTIONS`) for the routes at one path.
 *
 * Stops a page on another site from being told it may call, with the user's cookies and an
 * `Authorization` header, routes that are never meant for browsers (`/v1/*`, `/oauth/logout`,
 * `/metrics`): only routes with CORS enabled are approved, only for allowed origins, and only
 * with the methods those routes have.
 */
export function preflight(
  routes: readonly Route[],
  origin: string | undefined,
  requestedHeaders: string | undefined,
  policy: CorsPolicy,
): Reply {
  const reply: Reply = { status: 204, headers: {}, body: null };
  const open = routes.filter((r) => r.cors !== false);
  if (open.length === 0) return reply;
  reply.headers.vary = 'Origin';
  if (origin === undefined || !policy.allows(origin)) return reply;
  const methods = new Set<string>(open.map((r) => r.method));
  if (methods.has('GET')) methods.add('HEAD');
  reply.headers['access-control-allow-origin'] = origin;
  if (policy.credentials) reply.headers['access-control-allow-credentials'] = 'true';
  reply.headers['access-control-allow-methods'] = [...methods, 'OPTIONS'].join(', ');
  reply.headers['access-control-allow-headers'] = allowedRequestHeaders(requestedHeaders);
  reply.headers['access-control-max-age'] = '600';
  return reply;
}
