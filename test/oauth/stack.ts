// A real stack for OAuth tests: the simulator, createWxkit accounts and the service over HTTP, plus a
// tiny cookie jar so each test is one "browser".
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Store } from '../../src/stores/types.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

export const APP = 'wxoauthsvc0000001';
export const SECRET = 'oauth-svc-secret';
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';

export interface Service {
  url: string;
  wx: Wxkit;
  server: RunningServer;
  close(): Promise<void>;
}

/** Starts the service for the simulator's account over HTTP; `now` is the service's clock. */
export async function startService(
  sim: Simulator,
  store: Store,
  options: {
    now?: () => number;
    sessionSecret?: string;
    extra?: Record<string, unknown>;
    apiKeys?: string[];
  } = {},
): Promise<Service> {
  const wx = createWxkit({
    appId: APP,
    secret: SECRET,
    apiBase: sim.url,
    openBase: sim.url,
    store,
    jsDomains: ['localhost'],
  });
  let handler: WxkitHandler | undefined;
  // The handler needs the bound port (its public URL); it is built once, on the first request.
  const server: RunningServer = await listen(
    () => {
      handler ??= createHandler(wx, {
        sandbox: true,
        publicUrl: server.url,
        sessionSecret: options.sessionSecret ?? SESSION_SECRET,
        log: false,
        rateLimit: false,
        ...(options.now ? { now: options.now } : {}),
        ...(options.extra ? { extra: options.extra } : {}),
        ...(options.apiKeys ? { apiKeys: options.apiKeys } : {}),
      });
      return handler;
    },
    '127.0.0.1',
    0,
  );
  const url = server.url;
  return {
    url,
    wx,
    server,
    close: async () => {
      await server.close(100);
      await wx.close();
    },
  };
}

/** A cookie jar that keeps name=value pairs per host:port, ignoring paths (all wxkit cookies are Path=/). */
export class Browser {
  readonly cookies = new Map<string, Map<string, string>>();

  cookieHeader(url: string): string {
    const jar = this.cookies.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    const host = new URL(url).host;
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let jar = this.cookies.get(host);
      if (!jar) {
        jar = new Map();
        this.cookies.set(host, jar);
      }
      if (/max-age=0/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** Follows the login to WeChat's page; returns the callback URL WeChat sends the browser to. */
  async toCallback(
    service: Service,
    options: {
      scope?: 'snsapi_base' | 'snsapi_userinfo';
      returnTo?: string;
      openid?: string;
      action?: string;
    } = {},
  ): Promise<URL> {
    const q = new URLSearchParams();
    if (options.returnTo !== undefined) q.set('returnTo', options.returnTo);
    if (options.scope) q.set('scope', options.scope);
    const login = await this.fetch(`${service.url}/oauth/login?${q}`);
    if (login.status !== 302) throw new Error(`login answered ${login.status}: ${await login.text()}`);
    const authorize = new URL(login.headers.get('location') ?? '');
    const page = await this.fetch(authorize.href);
    if (page.status === 302) return new URL(page.headers.get('location') ?? '');
    const html = await page.text();
    if (!html.includes('id="allow"')) throw new Error(`no consent page: ${html.slice(0, 300)}`);
    const p = authorize.searchParams;
    const form = new URLSearchParams({
      appid: p.get('appid') ?? '',
      redirect_uri: p.get('redirect_uri') ?? '',
      response_type: 'code',
      scope: p.get('scope') ?? '',
      state: p.get('state') ?? '',
      openid: options.openid ?? /name="openid" id="user-0" value="([^"]+)"/.exec(html)?.[1] ?? '',
      action: options.action ?? 'allow',
    });
    const confirmed = await this.fetch(`${authorize.origin}/connect/oauth2/authorize/confirm`, {
      method: 'POST',
      body: form,
    });
    if (confirmed.status !== 302) throw new Error(`consent answered ${confirmed.status}`);
    return new URL(confirmed.headers.get('location') ?? '');
  }

  /**
   * Asks WeChat's authorize page (snsapi_base, no consent) for a code for `state`, as WeChat does when
   * the page is opened again; returns the callback URL it redirects to.
   */
  async codeFor(simUrl: string, appId: string, service: Service, state: string): Promise<URL> {
    const authorize = new URL(`${simUrl}/connect/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      appid: appId,
      redirect_uri: `${service.url}/oauth/callback`,
      response_type: 'code',
      scope: 'snsapi_base',
      state,
    }).toString();
    return new URL((await this.fetch(authorize.href)).headers.get('location') ?? '');
  }

  async me(service: Service): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.fetch(`${service.url}/oauth/me`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
}
