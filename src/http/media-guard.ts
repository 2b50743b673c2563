import { ErrorCodes, WxkitError } from '../errors.ts';
import type { CorsPolicy } from './cors.ts';
import { RateLimiter } from './rate-limit.ts';
import type { HttpInput } from './route.ts';
import { type SettingNames, settingName } from './setting-names.ts';

/**
 * The rules that keep `/jssdk/media` from being turned against the service: one function or class
 * per rule, each naming the attack it stops.
 */

function originOf(value: string): string | undefined {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The service's own pages (its public origin). Not the Host header: under DNS rebinding an attacker's
 * name points at this service, and Host then equals the attacker's Origin.
 */
function ownOrigin(origin: string, publicUrl: string | undefined): boolean {
  const own = publicUrl === undefined ? undefined : originOf(publicUrl);
  return own !== undefined && own === originOf(origin);
}

/**
 * Refuses a browser request to download media from a page outside the JS-safe domains (the CORS rule,
 * checked on the request, before any upstream call).
 *
 * Stops quota burning by proxy: any web page can make its visitors' browsers `POST /jssdk/media` as
 * `text/plain` (a "simple" request, no preflight), so each visitor spends the account's `media/get`
 * quota from their own address; CORS only hides the answer. `Origin` (or, when a browser leaves it
 * out, a cross-site `Referer`) names the page; requests with neither (server-to-server, curl) pass.
 */
export function refuseForeignOrigin(
  input: HttpInput,
  cors: CorsPolicy,
  publicUrl: string | undefined,
  names: SettingNames = 'options',
): void {
  let page = input.header('origin');
  if (page === undefined) {
    const site = input.header('sec-fetch-site');
    if (site !== 'cross-site' && site !== 'same-site') return;
    const referer = input.header('referer');
    page = referer === undefined ? undefined : originOf(referer);
    if (page === undefined && site === 'same-site') return;
  }
  if (page !== undefined && (cors.allows(page) || ownOrigin(page, publicUrl))) return;
  const shown = page === undefined ? 'another site' : JSON.stringify(page.slice(0, 100));
  throw new WxkitError(
    ErrorCodes.URL_NOT_ALLOWED,
    `Pages on ${shown} may not save media here: only pages on the JS-safe domains may.`,
    {
      hint: {
        en: `Call POST /jssdk/media from a page on a JS-safe domain (${settingName('jsDomains', names)} or ${settingName('corsOrigins', names)}), or from a server without an Origin header.`,
        zh: `请在 JS 接口安全域名（${settingName('jsDomains', names)} 或 ${settingName('corsOrigins', names)}）下的页面调用 POST /jssdk/media，或由服务器端（不带 Origin 头）调用。`,
      },
    },
  );
}

/**
 * serverIds WeChat refused (40007 invalid media_id), remembered for a while: a repeat gets the same
 * error without an upstream call. Bounded: the oldest entries go first.
 *
 * Stops quota burning by repetition: the same unknown serverId posted again and again would otherwise
 * cost one `media/get` call each time.
 */
export class RefusedMedia {
  private readonly refused = new Map<string, { error: WxkitError; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  /** The error WeChat gave for this key, while it is remembered. */
  get(key: string): WxkitError | undefined {
    const hit = this.refused.get(key);
    if (hit === undefined) return undefined;
    if (hit.until > this.now()) return hit.error;
    this.refused.delete(key);
    return undefined;
  }

  remember(key: string, error: WxkitError): void {
    this.refused.delete(key);
    while (this.refused.size >= this.max) {
      const oldest = this.refused.keys().next().value;
      if (oldest === undefined) break;
      this.refused.delete(oldest);
    }
    this.refused.set(key, { error, until: this.now() + this.ttlMs });
  }
}

/**
 * Caps the upstream media downloads each client may cause (a token bucket per client key), checked
 * before the account's cap; a serverId WeChat refused (40007) costs its client `refusedCost` more.
 *
 * Stops one client draining the account's budget: made-up serverIds from a single address would
 * otherwise spend the account-wide `media/get` cap, and every other user's save would get 429. A client
 * that keeps sending ids WeChat refuses runs out of its own budget after a few.
 */
export class ClientMediaBudget {
  private readonly buckets: RateLimiter;

  constructor(
    readonly perMinute: number,
    private readonly refusedCost: number,
    now: () => number,
  ) {
    this.buckets = new RateLimiter({ perSecond: perMinute / 60, burst: perMinute }, now);
  }

  /** Takes one download from `client`'s budget, or throws 429 with Retry-After. */
  take(client: string): void {
    const wait = this.buckets.take(client);
    if (wait === 0) return;
    throw new WxkitError(
      ErrorCodes.RATE_LIMITED,
      `This client may have at most ${this.perMinute} media files fetched from WeChat per minute.`,
      {
        retryAfter: wait,
        hint: {
          en: 'Retry after Retry-After seconds with serverIds that wx.uploadImage returned on this account; unknown or expired ids use up the budget faster.',
          zh: '请在 Retry-After 秒后重试，并只提交本公众号 wx.uploadImage 返回的 serverId；无效或过期的 id 会更快耗尽额度。',
        },
      },
    );
  }

  /** Charges `client` for a serverId WeChat refused. */
  refused(client: string): void {
    this.buckets.charge(client, this.refusedCost);
  }
}

/**
 * Caps upstream media downloads per account (a token bucket per appId).
 *
 * Stops quota burning with fresh ids: distinct made-up serverIds each miss every cache, so without a
 * cap a script (which sends no Origin) spends one `media/get` call per request.
 */
export function refuseOverBudget(budget: RateLimiter, appId: string, perMinute: number): void {
  const wait = budget.take(appId);
  if (wait === 0) return;
  throw new WxkitError(
    ErrorCodes.RATE_LIMITED,
    `Media downloads from WeChat for ${appId} are capped at ${perMinute} per minute.`,
    {
      retryAfter: wait,
      hint: {
        en: 'Retry after Retry-After seconds; raise extra.media.downloadsPerMinute if real traffic needs more.',
        zh: '请在 Retry-After 秒后重试；如确有需要，可调高 extra.media.downloadsPerMinute。',
      },
    },
  );
}

/**
 * Counts the media responses each client is being sent; past `max`, the next one is refused.
 *
 * Stops memory and socket exhaustion by slow readers: a client that opens many downloads and never
 * reads them keeps each response (a file handle, buffers, a socket) alive until the write timeout.
 */
export class ClientSlots {
  private readonly held = new Map<string, Map<number, number>>();
  private next = 0;

  constructor(
    private readonly max: number,
    /** A slot older than this is forgotten: a body nobody consumed or cancelled must not lock a client out. */
    private readonly staleMs: number,
    private readonly now: () => number,
  ) {}

  /** A release function (idempotent) when the client has a free slot, else undefined. */
  acquire(client: string): (() => void) | undefined {
    const now = this.now();
    let slots = this.held.get(client);
    if (slots) {
      for (const [k, at] of slots) if (now - at > this.staleMs) slots.delete(k);
    } else {
      slots = new Map();
      this.held.set(client, slots);
    }
    if (slots.size >= this.max) return undefined;
    const key = this.next++;
    slots.set(key, now);
    const mine = slots;
    return () => {
      mine.delete(key);
      if (mine.size === 0 && this.held.get(client) === mine) this.held.delete(client);
    };
  }
}

/** Too many media responses to this client at once (429). */
export function tooManyDownloads(max: number): WxkitError {
  return new WxkitError(
    ErrorCodes.RATE_LIMITED,
    `This client is already being sent ${max} media files; finish reading them first.`,
    {
      retryAfter: 1,
      hint: {
        en: 'Read the media responses you opened (or close them), then retry.',
        zh: '请先读完（或关闭）已打开的媒体响应，再重试。',
      },
    },
  );
}

/** Types a browser shows inline without running script: images (no SVG or other XML), audio, video. */
const INLINE = /^(?:image|audio|video)\/[a-z0-9!#$&^_.+-]+$/;

/**
 * The headers of a served media file.
 *
 * Stops stored cross-site scripting from the service's origin: an uploaded HTML or SVG file served
 * inline would run its script as the wxkit origin (and read `/oauth/me`). Only image, audio and video
 * types (not SVG, not `+xml`) are inline; anything else is an attachment. Every answer is `nosniff`
 * and sandboxed by CSP, so even a mislabelled file cannot run.
 */
export function mediaHeaders(contentType: string, id: string): Record<string, string> {
  const inline = INLINE.test(contentType) && contentType !== 'image/svg+xml' && !contentType.endsWith('+xml');
  return {
    'content-type': contentType,
    'content-disposition': inline ? 'inline' : `attachment; filename="${id}"`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  };
}
