import { ErrorCodes, WxkitError } from '../errors.ts';
import { createFileStore } from './file.ts';
import { createMemoryStore } from './memory.ts';
import { createRedisStore, describeRedisTopology, describeRedisUrl, type RedisTopology } from './redis.ts';
import type { Store } from './types.ts';

/** A parsed `WXKIT_STORE` value. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; url: string }
  | { kind: 'redis'; topology: RedisTopology };

/**
 * Parses `memory`, `file:<dir>` or `redis://…`/`rediss://…`.
 *
 * @throws {WxkitError} `config_error` naming the accepted forms (never echoing a Redis password).
 */
export function parseStoreSpec(spec: string): StoreSpec {
  const s = spec.trim();
  if (s === 'memory') return { kind: 'memory' };
  const found = parseFileOrRedis(s, badSpec, 'file:.wxkit');
  if (found) return found;
  throw badSpec(`unknown store "${maskedSpec(s)}"`);
}

/**
 * `file:<dir>` or `redis://…`/`rediss://…`, as both `WXKIT_STORE` and `WXKIT_MEDIA_STORE` take them;
 * `undefined` for any other form. `fail` makes the variable's own error; `fileExample` shows a directory.
 */
export function parseFileOrRedis(
  s: string,
  fail: (message: string) => WxkitError,
  fileExample: string,
): { kind: 'file'; dir: string } | { kind: 'redis'; url: string } | undefined {
  if (s.startsWith('file:')) {
    const dir = s.slice('file:'.length);
    if (dir === '') throw fail(`file: needs a directory, e.g. ${fileExample}`);
    return { kind: 'file', dir };
  }
  if (/^rediss?:\/\//i.test(s)) {
    try {
      new URL(s);
    } catch {
      throw fail(`${describeRedisUrl(s)} is not a valid Redis URL`);
    }
    return { kind: 'redis', url: s };
  }
  return undefined;
}

/**
 * A store string fit for an error, 40 characters at most: whatever precedes an '@' may be a password,
 * however the scheme was mistyped (redis:pw@host).
 */
export function maskedSpec(s: string): string {
  const at = s.lastIndexOf('@');
  const shown = at === -1 ? s : `${s.slice(0, s.indexOf(':') + 1)}***${s.slice(at)}`;
  return shown.slice(0, 40);
}

/** The store description shown in status output, without credentials. */
export function describeStoreSpec(spec: StoreSpec, cwd = process.cwd()): string {
  if (spec.kind === 'memory') return 'memory';
  if (spec.kind === 'file') return createFileStore({ dir: spec.dir, cwd }).description;
  return 'topology' in spec ? describeRedisTopology(spec.topology) : describeRedisUrl(spec.url);
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Base for relative `file:` directories. @default process.cwd() */
  cwd?: string | undefined;
}

/**
 * Opens the store a `WXKIT_STORE` string names.
 *
 * @example
 * const store = await openStore('file:.wxkit');
 */
export async function openStore(spec: string | StoreSpec, options: OpenStoreOptions = {}): Promise<Store> {
  const parsed = typeof spec === 'string' ? parseStoreSpec(spec) : spec;
  switch (parsed.kind) {
    case 'memory':
      return createMemoryStore();
    case 'file':
      return createFileStore({ dir: parsed.dir, cwd: options.cwd });
    case 'redis':
      return 'topology' in parsed
        ? createRedisStore({ topology: parsed.topology })
        : createRedisStore({ url: parsed.url });
  }
}

function badSpec(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, `WXKIT_STORE: ${message}`, {
    hint: {
      en: 'Use memory, file:<dir> or redis://host:port (rediss:// for TLS).',
      zh: '可用值：memory、file:<目录>、redis://host:port（TLS 用 rediss://）。',
    },
  });
}
