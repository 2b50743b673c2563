import { ErrorCodes, WxkitError } from '../errors.ts';
import type { HandlerOptions } from '../http/handler.ts';

/** The service's own settings (SPEC §2), read from the environment. Account settings come from loadConfig. */
export interface ServiceSettings {
  host: string;
  port: number;
  apiKeys: string[];
  corsOrigins: string[] | '*' | undefined;
  rateLimit: HandlerOptions['rateLimit'];
  trustProxy: number;
  /** `all` logs one line per request, `errors` only failures, `off` nothing. */
  log: 'all' | 'errors' | 'off';
  publicUrl: string | undefined;
  sessionSecret: string | undefined;
}

function configError(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, message);
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `HOST`, `PORT`, `WXKIT_API_KEYS`, `WXKIT_CORS_ORIGINS`, `WXKIT_RATE_LIMIT` (requests/second per
 * client, `off`), `WXKIT_TRUST_PROXY` (hops), `WXKIT_LOG` (`all`|`errors`|`off`), `WXKIT_PUBLIC_URL`,
 * `WXKIT_SESSION_SECRET`. Flags (`--host`, `--port`) win over the environment.
 *
 * @throws {WxkitError} `config_error` naming the variable.
 */
export function readServiceSettings(
  env: NodeJS.ProcessEnv,
  flags: { host?: string | undefined; port?: string | undefined } = {},
): ServiceSettings {
  const host = flags.host ?? env.HOST ?? '127.0.0.1';
  const portText = flags.port ?? env.PORT ?? '3000';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw configError(`PORT must be a number from 0 to 65535; got ${JSON.stringify(portText.slice(0, 20))}`);
  }
  const cors = env.WXKIT_CORS_ORIGINS?.trim();
  let corsOrigins: ServiceSettings['corsOrigins'];
  if (cors === '*') corsOrigins = '*';
  else if (cors) {
    corsOrigins = list(cors);
    for (const o of corsOrigins) {
      let ok = false;
      try {
        const u = new URL(o);
        ok =
          (u.protocol === 'http:' || u.protocol === 'https:') &&
          u.origin === o.replace(/\/+$/, '').toLowerCase();
      } catch {
        ok = false;
      }
      if (!ok)
        throw configError(
          `WXKIT_CORS_ORIGINS entries must be origins like https://h5.example.com; got ${JSON.stringify(o.slice(0, 60))}`,
        );
    }
  }
  const rate = env.WXKIT_RATE_LIMIT?.trim();
  let rateLimit: ServiceSettings['rateLimit'];
  if (rate === undefined || rate === '') rateLimit = undefined;
  else if (rate === 'off' || rate === '0') rateLimit = false;
  else if (/^\d+(\.\d+)?$/.test(rate) && Number(rate) > 0)
    rateLimit = { perSecond: Number(rate), burst: Math.max(1, Number(rate) * 2) };
  else
    throw configError(
      `WXKIT_RATE_LIMIT must be requests per second per client, or off; got ${JSON.stringify(rate.slice(0, 20))}`,
    );
  const trust = env.WXKIT_TRUST_PROXY?.trim();
  let trustProxy = 0;
  if (trust === 'true') trustProxy = 1;
  else if (trust && trust !== 'false') {
    if (!/^\d{1,2}$/.test(trust))
      throw configError('WXKIT_TRUST_PROXY must be true, false or a number of proxy hops');
    trustProxy = Number(trust);
  }
  const logText = (env.WXKIT_LOG ?? 'all').trim();
  if (logText !== 'all' && logText !== 'errors' && logText !== 'off') {
    throw configError('WXKIT_LOG must be all, errors or off');
  }
  const publicUrl = env.WXKIT_PUBLIC_URL?.trim() || undefined;
  if (publicUrl) {
    let ok = false;
    try {
      const u = new URL(publicUrl);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) throw configError('WXKIT_PUBLIC_URL must be an http(s) origin like https://wx.example.com');
  }
  return {
    host,
    port: Number(portText),
    apiKeys: list(env.WXKIT_API_KEYS),
    corsOrigins,
    rateLimit,
    trustProxy,
    log: logText,
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    sessionSecret: env.WXKIT_SESSION_SECRET || undefined,
  };
}
