import { createHash } from 'node:crypto';
import type { ErrcodePlatform } from '../errcodes.ts';
import { type ErrorCode, ErrorCodes, isWxkitError, WxkitError } from '../errors.ts';
import type { OAuthStore } from './store.ts';
import type { OAuthToken } from './types.ts';

/** How {@link exchangeOnce} shares one code exchange between callers. */
export interface ExchangeOnceOptions<T = OAuthToken> {
  store: OAuthStore;
  /** Namespaces keys per account. */
  appId: string;
  /** How long the first result is kept for repeated callbacks (a code lives 5 minutes). @default 300_000 */
  resultTtlMs?: number | undefined;
  /** Lease of the cross-process lock; bounds how long a crashed holder blocks others. @default 15_000 */
  lockTtlMs?: number | undefined;
  /** How long a second process waits for the first one's result. @default 15_000 */
  waitMs?: number | undefined;
  /** @default 50 */
  pollMs?: number | undefined;
  /** @default setTimeout-based */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** In-process single-flight table, one per client (so two clients behave like two processes). */
  inflight: Map<string, Promise<T>>;
  /** Codes WeChat refused, remembered in this process only (one per client, like `inflight`). */
  refused?: RefusedCodes | undefined;
  /** @default Date.now */
  now?: (() => number) | undefined;
}

/** What {@link exchangeOnce} remembers of refused codes: the refusal and until when, by code key. */
export type RefusedCodes = Map<string, { refusal: Refusal; until: number }>;

/** Refused codes remembered per client at most; the oldest is forgotten first. */
const MAX_REFUSED = 1_000;

type Refusal = {
  ok: false;
  error: {
    code: ErrorCode;
    message: string;
    errcode?: number;
    errmsg?: string;
    platform?: ErrcodePlatform;
    status: number;
  };
};

type Stored<T> = { ok: true; token: T } | Refusal;

/** The store key part for a code: hashed, so codes never appear in keys (file names, Redis keys). */
/** A code that cannot be one WeChat or WeCom issued (not a string, empty, longer than 512): refused before any call. */
export function unusableCode(code: unknown): WxkitError | undefined {
  if (typeof code === 'string' && code !== '' && code.length <= 512) return undefined;
  return new WxkitError(ErrorCodes.INVALID_REQUEST, 'The OAuth callback has no usable code.', {
    errcode: 41008,
  });
}

export function codeKey(appId: string, code: string): string {
  return createHash('sha256').update(`${appId}\n${code}`).digest('hex').slice(0, 40);
}

/**
 * Runs `exchange` at most once per (appId, code): concurrent callers in this process share one promise;
 * callers in other processes wait on a lock in the store and read the first result from it. WeChat
 * errors (40029, 40163…) are remembered in this process (`refused`), so a repeat gets the same answer;
 * network errors are not (the code may still be good).
 *
 * Only an accepted code is written to the store. Stops store filling with made-up codes: anyone can
 * send `/oauth/callback` a fresh invented code, and a remembered refusal per code would be one store
 * entry each (for 5 minutes) at the caller's pace.
 */
export function exchangeOnce<T = OAuthToken>(
  code: string,
  exchange: () => Promise<T>,
  options: ExchangeOnceOptions<T>,
): Promise<T> {
  const key = codeKey(options.appId, code);
  const running = options.inflight.get(key);
  if (running) return running;
  const promise = run(key, exchange, options).finally(() => options.inflight.delete(key));
  options.inflight.set(key, promise);
  return promise;
}

async function run<T>(key: string, exchange: () => Promise<T>, o: ExchangeOnceOptions<T>): Promise<T> {
  const resultKey = `oauth:code:${key}`;
  const lockKey = `oauth:code-lock:${key}`;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const waitMs = o.waitMs ?? 15_000;
  const pollMs = o.pollMs ?? 50;
  const now = o.now ?? Date.now;
  const refused = o.refused?.get(key);
  if (refused !== undefined) {
    if (refused.until > now()) return settle(refused.refusal);
    o.refused?.delete(key);
  }
  let waited = 0;
  for (;;) {
    const cached = await read<T>(o.store, resultKey);
    if (cached) return settle(cached);
    const owner = await o.store.tryLock(lockKey, o.lockTtlMs ?? 15_000);
    if (owner !== undefined) {
      try {
        // Another process may have finished between our read and our lock.
        const again = await read<T>(o.store, resultKey);
        if (again) return settle(again);
        let token: T;
        try {
          token = await exchange();
        } catch (e) {
          if (!isWxkitError(e) || e.errcode === undefined) throw e;
          const refusal: Refusal = {
            ok: false,
            error: {
              code: e.code,
              message: e.message,
              errcode: e.errcode,
              ...(e.errmsg === undefined ? {} : { errmsg: e.errmsg }),
              ...(e.platform === 'wecom' ? { platform: e.platform } : {}),
              status: e.status,
            },
          };
          remember(o, key, refusal, now() + (o.resultTtlMs ?? 300_000));
          return settle(refusal);
        }
        const stored: Stored<T> = { ok: true, token };
        await o.store.set(resultKey, JSON.stringify(stored), o.resultTtlMs ?? 300_000);
        return settle(stored);
      } finally {
        await o.store.unlock(lockKey, owner).catch(() => false);
      }
    }
    if (waited >= waitMs) {
      throw new WxkitError('upstream_unavailable', 'Another instance is still exchanging this OAuth code.', {
        retryAfter: 1,
      });
    }
    await sleep(pollMs);
    waited += pollMs;
  }
}

function remember<T>(o: ExchangeOnceOptions<T>, key: string, refusal: Refusal, until: number): void {
  const refused = o.refused;
  if (refused === undefined) return;
  refused.delete(key);
  while (refused.size >= MAX_REFUSED) {
    const oldest = refused.keys().next().value;
    if (oldest === undefined) break;
    refused.delete(oldest);
  }
  refused.set(key, { refusal, until });
}

async function read<T>(store: OAuthStore, key: string): Promise<Stored<T> | undefined> {
  const raw = await store.get(key);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as Stored<T>;
  } catch {
    return undefined;
  }
}

function settle<T>(stored: Stored<T>): T {
  if (stored.ok) return stored.token;
  const { code, message, errcode, errmsg, platform, status } = stored.error;
  throw new WxkitError(code, message, {
    status,
    ...(platform === undefined ? {} : { platform }),
    ...(errcode === undefined ? {} : { errcode }),
    ...(errmsg === undefined ? {} : { errmsg }),
  });
}
