import { ErrorCodes, WxkitError } from '../errors.ts';
import { describeRedisUrl, type RedisTopology } from '../stores/redis.ts';
import { maskedSpec, parseFileOrRedis } from '../stores/spec.ts';
import { createFileMediaStore } from './file.ts';
import { createRedisMediaStore } from './redis.ts';
import { createS3MediaStore } from './s3.ts';
import { DEFAULT_MEDIA_TTL_SECONDS, type MediaStore } from './types.ts';

/** A parsed `WXKIT_MEDIA_STORE` value. */
export type MediaStoreSpec =
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; url: string }
  /** `redis`: the Sentinel/Cluster of wxkit.config.json (`mediaRedis`, else `redis`). */
  | { kind: 'redis-config' }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      endpoint: string | undefined;
      region: string | undefined;
      style: 'path' | 'virtual' | undefined;
      /** Seconds a signed redirect URL lives; 0: stream through wxkit. */
      redirect: number;
    };

/** `WXKIT_MEDIA_STORE`'s default. */
export const DEFAULT_MEDIA_STORE = 'file:.wxkit/media';

/**
 * Parses `file:<dir>`, `redis://…`/`rediss://…`, `redis` (the Sentinel/Cluster of wxkit.config.json) or
 * `s3://BUCKET/PREFIX?endpoint=…&region=…&style=path|virtual&redirect=SECONDS`.
 *
 * @throws {WxkitError} `config_error` naming the accepted forms (never echoing a password).
 */
export function parseMediaStoreSpec(spec: string): MediaStoreSpec {
  const s = spec.trim();
  if (s === 'redis') return { kind: 'redis-config' };
  const found = parseFileOrRedis(s, badSpec, 'file:.wxkit/media');
  if (found) return found;
  if (/^s3:\/\//i.test(s)) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw badSpec('not a valid s3:// URL');
    }
    if (u.username || u.password) {
      throw badSpec('s3:// takes no credentials in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    }
    const known = new Set(['endpoint', 'region', 'style', 'redirect']);
    for (const k of u.searchParams.keys()) {
      if (!known.has(k))
        throw badSpec(`unknown s3:// option "${k.slice(0, 20)}" (endpoint, region, style, redirect)`);
    }
    const style = u.searchParams.get('style') ?? undefined;
    if (style !== undefined && style !== 'path' && style !== 'virtual')
      throw badSpec('style must be path or virtual');
    const redirectText = u.searchParams.get('redirect') ?? '0';
    if (!/^\d{1,5}$/.test(redirectText) || Number(redirectText) > 86_400) {
      throw badSpec('redirect must be the signed URL lifetime in seconds (0 to 86400)');
    }
    if (u.hostname === '') throw badSpec('s3:// needs a bucket, e.g. s3://my-bucket/wx-media');
    return {
      kind: 's3',
      bucket: u.hostname,
      prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''),
      endpoint: u.searchParams.get('endpoint') ?? undefined,
      region: u.searchParams.get('region') ?? undefined,
      style,
      redirect: Number(redirectText),
    };
  }
  throw badSpec(`unknown media store "${maskedSpec(s)}"`);
}

/**
 * The media store the environment names: `WXKIT_MEDIA_STORE`, else `WXKIT_MEDIA_DIR` as `file:<dir>`
 * (the older name), else `file:.wxkit/media`.
 */
export function mediaStoreFromEnv(env: NodeJS.ProcessEnv): string {
  const store = env.WXKIT_MEDIA_STORE?.trim();
  if (store) return store;
  const dir = env.WXKIT_MEDIA_DIR?.trim();
  return dir ? `file:${dir}` : DEFAULT_MEDIA_STORE;
}

/**
 * `WXKIT_MEDIA_TTL`: how long saved media are kept, in whole seconds (default 30 days).
 *
 * @throws {WxkitError} `config_error` naming the variable.
 */
export function mediaTtlFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env.WXKIT_MEDIA_TTL?.trim();
  if (text === undefined || text === '') return DEFAULT_MEDIA_TTL_SECONDS;
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `WXKIT_MEDIA_TTL must be a number of seconds (at least 1); got ${JSON.stringify(text.slice(0, 20))}`,
      {
        hint: {
          en: 'E.g. WXKIT_MEDIA_TTL=604800 keeps saved media for 7 days (default 2592000, 30 days).',
          zh: '例如 WXKIT_MEDIA_TTL=604800 表示保存 7 天（默认 2592000，即 30 天）。',
        },
      },
    );
  }
  return Number(text);
}

/** The store description shown in logs, without credentials. */
export function describeMediaStoreSpec(spec: MediaStoreSpec): string {
  if (spec.kind === 'file') return `file:${spec.dir}`;
  if (spec.kind === 's3') return `s3://${spec.bucket}/${spec.prefix}`;
  if (spec.kind === 'redis-config') return 'redis (wxkit.config.json)';
  return describeRedisUrl(spec.url);
}

/** Options for {@link openMediaStore}. */
export interface OpenMediaStoreOptions {
  /** @default 2592000 (30 days) */
  ttlSeconds?: number | undefined;
  /** Base for a relative `file:` directory. @default process.cwd() */
  cwd?: string | undefined;
  /** Clock for retention. @default Date.now */
  now?: (() => number) | undefined;
  /** Where `s3://` reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
  /** The Sentinel/Cluster the spec `redis` stands for (wxkit.config.json's `mediaRedis`, else `redis`). */
  redis?: RedisTopology | undefined;
}

/**
 * Opens the media store a `WXKIT_MEDIA_STORE` string names.
 *
 * @example
 * const store = await openMediaStore('redis://127.0.0.1:6379', { ttlSeconds: 86400 });
 */
export async function openMediaStore(
  spec: string | MediaStoreSpec,
  options: OpenMediaStoreOptions = {},
): Promise<MediaStore> {
  const parsed = typeof spec === 'string' ? parseMediaStoreSpec(spec) : spec;
  const common = { ttlSeconds: options.ttlSeconds, now: options.now };
  switch (parsed.kind) {
    case 'file':
      return createFileMediaStore({ ...common, dir: parsed.dir, cwd: options.cwd });
    case 'redis':
      return createRedisMediaStore({ ...common, url: parsed.url });
    case 'redis-config':
      if (!options.redis) {
        throw badSpec(
          'redis names the Sentinel or Cluster of wxkit.config.json ("mediaRedis", else "redis"), and neither is set',
        );
      }
      return createRedisMediaStore({ ...common, topology: options.redis });
    case 's3':
      return createS3MediaStore({
        ...common,
        bucket: parsed.bucket,
        prefix: parsed.prefix,
        endpoint: parsed.endpoint,
        region: parsed.region,
        style: parsed.style,
        ...(options.env
          ? {
              accessKeyId: options.env.AWS_ACCESS_KEY_ID,
              secretAccessKey: options.env.AWS_SECRET_ACCESS_KEY,
              sessionToken: options.env.AWS_SESSION_TOKEN,
            }
          : {}),
      });
  }
}

function badSpec(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, `WXKIT_MEDIA_STORE: ${message}`, {
    hint: {
      en: 'Use file:<dir>, redis://host:port or s3://BUCKET/PREFIX?endpoint=…&region=… (docs/service.md).',
      zh: '可用值：file:<目录>、redis://host:port 或 s3://桶名/前缀?endpoint=…&region=…（见 docs/service.md）。',
    },
  });
}
