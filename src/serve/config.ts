import { ErrorCodes, WxkitError } from '../errors.ts';
import type { HandlerOptions } from '../http/handler.ts';
import { mediaStoreFromEnv, mediaTtlFromEnv, parseMediaStoreSpec } from '../media/spec.ts';

/** What `wxkit serve` runs with: loadConfig's listen address, keys and URLs plus the service-only variables. */
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
  /** `WXKIT_MEDIA_STORE` (or `file:` + `WXKIT_MEDIA_DIR`, or `file:.wxkit/media`); may hold a password: never print it. */
  mediaStore: string;
  /** `WXKIT_MEDIA_TTL`, seconds. */
  mediaTtl: number;
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

/** The shortest `WXKIT_API_KEYS` entry accepted. */
export const MIN_API_KEY_LENGTH = 16;

/**
 * Each token-API key is at least {@link MIN_API_KEY_LENGTH} characters.
 *
 * Stops a guessable key (`1`, `test`) from handing out the accounts' access tokens to whoever tries a
 * few values on `/v1`. The error names the entry's position and length, never the key.
 *
 * @throws {WxkitError} `config_error`.
 */
export function checkApiKeys(keys: readonly string[]): void {
  for (const [i, key] of keys.entries()) {
    if (key.length < MIN_API_KEY_LENGTH) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        `WXKIT_API_KEYS entry ${i + 1} of ${keys.length} is ${key.length} characters; each key needs at least ${MIN_API_KEY_LENGTH}`,
        {
          hint: {
            en: 'Use long random keys, e.g. openssl rand -hex 24, separated by commas.',
            zh: '请使用足够长的随机密钥（如 openssl rand -hex 24 生成），多个以逗号分隔。',
          },
        },
      );
    }
  }
}

/** The service-only settings (the rest comes from loadConfig). */
export type ServiceOnlySettings = Pick<
  ServiceSettings,
  'corsOrigins' | 'rateLimit' | 'trustProxy' | 'log' | 'mediaStore' | 'mediaTtl'
>;

/**
 * `WXKIT_CORS_ORIGINS`, `WXKIT_RATE_LIMIT` (requests/second per client, or `off`), `WXKIT_TRUST_PROXY`
 * (proxy hops), `WXKIT_LOG` (`all`|`errors`|`off`) and the media store (`WXKIT_MEDIA_STORE`,
 * `WXKIT_MEDIA_DIR`, `WXKIT_MEDIA_TTL`): what `wxkit serve` reads beyond loadConfig.
 *
 * @throws {WxkitError} `config_error` naming the variable.
 */
export function readServiceSettings(env: NodeJS.ProcessEnv): ServiceOnlySettings {
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
  const mediaStore = mediaStoreFromEnv(env);
  parseMediaStoreSpec(mediaStore); // a wrong value stops the start, naming WXKIT_MEDIA_STORE
  return { corsOrigins, rateLimit, trustProxy, log: logText, mediaStore, mediaTtl: mediaTtlFromEnv(env) };
}
