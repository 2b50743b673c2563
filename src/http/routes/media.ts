import { ErrorCodes, isWxkitError, WxkitError } from '../../errors.ts';
import { MEDIA_ID, sha256 } from '../../media/id.ts';
import { DEFAULT_MEDIA_STORE, openMediaStore, parseMediaStoreSpec } from '../../media/spec.ts';
import { DEFAULT_MEDIA_TTL_SECONDS, type MediaStore, type StoredMedia } from '../../media/types.ts';
import type { Account, DownloadedMedia } from '../../types.ts';
import { clientKey } from '../client-address.ts';
import {
  ClientMediaBudget,
  ClientSlots,
  mediaHeaders,
  RefusedMedia,
  refuseForeignOrigin,
  refuseOverBudget,
  tooManyDownloads,
} from '../media-guard.ts';
import { invalidRequest, readAppId, readString } from '../params.ts';
import { RateLimiter } from '../rate-limit.ts';
import { json, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

/**
 * Options, from the handler options' `extra`: `mediaStore` (a {@link MediaStore}, or a
 * `WXKIT_MEDIA_STORE`-style string; default `mediaDir` as `file:<dir>`, else `file:.wxkit/media`),
 * `mediaTtlSeconds` (default 30 days) — never the environment (`wxkit serve` maps it to these),
 * `mediaMaxBytes` (default 10 MiB), and `media: { downloadsPerMinute, downloadsPerClientPerMinute,
 * concurrentPerClient, refusedTtlSeconds, redirectSeconds }` (defaults 60, 20, 4, 600, and the `s3://`
 * spec's `redirect=` or 0).
 */
interface MediaOptions {
  store: MediaStore | string;
  ttlSeconds: number;
  maxBytes: number;
  /** Upstream `media/get` calls per account per minute. */
  downloadsPerMinute: number;
  /** Upstream `media/get` calls one client may cause per minute (a 40007 refusal counts 1 + 5). */
  downloadsPerClientPerMinute: number;
  /** Media responses one client address may be sent at once. */
  concurrentPerClient: number;
  /** How long a serverId WeChat refused (40007) is answered from memory. */
  refusedTtlSeconds: number;
  /** When > 0 and the store signs URLs: GET answers 302 to a URL valid this many seconds. */
  redirectSeconds: number;
}

/** What one handler keeps for its media routes. */
interface MediaState {
  opts: MediaOptions;
  store: Promise<MediaStore>;
  inflight: Map<string, Promise<StoredMedia>>;
  refused: RefusedMedia;
  budget: RateLimiter;
  clientBudget: ClientMediaBudget;
  slots: ClientSlots;
}

/** WeChat media ids are URL-safe tokens; anything else never reaches WeChat or the disk. */
const SERVER_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** WeChat's "invalid media_id": unknown, expired or another account's. */
const INVALID_MEDIA_ID = 40007;
const MAX_REFUSED = 10_000;
/** What a serverId WeChat refused costs its client on top of the download (6 in all). */
const REFUSED_COST = 5;
/** A slot whose body was never consumed nor cancelled is forgotten after this long. */
const STALE_SLOT_MS = 10 * 60_000;

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function mediaOptions(extra: Readonly<Record<string, unknown>>): MediaOptions {
  const given = extra.mediaStore;
  const store: MediaStore | string =
    typeof given === 'object' && given !== null
      ? (given as MediaStore)
      : typeof given === 'string' && given !== ''
        ? given
        : typeof extra.mediaDir === 'string' && extra.mediaDir !== ''
          ? `file:${extra.mediaDir}`
          : DEFAULT_MEDIA_STORE; // never WXKIT_MEDIA_STORE: the handler reads no environment (wxkit serve passes it)
  const media = (typeof extra.media === 'object' && extra.media !== null ? extra.media : {}) as Record<
    string,
    unknown
  >;
  let specRedirect = 0;
  if (typeof store === 'string') {
    const spec = parseMediaStoreSpec(store);
    if (spec.kind === 's3') specRedirect = spec.redirect;
  }
  return {
    store,
    ttlSeconds: positive(extra.mediaTtlSeconds, DEFAULT_MEDIA_TTL_SECONDS),
    maxBytes: positive(extra.mediaMaxBytes, DEFAULT_MAX_BYTES),
    downloadsPerMinute: positive(media.downloadsPerMinute, 60),
    downloadsPerClientPerMinute: positive(media.downloadsPerClientPerMinute, 20),
    concurrentPerClient: Math.floor(positive(media.concurrentPerClient, 4)),
    refusedTtlSeconds: positive(media.refusedTtlSeconds, 600),
    redirectSeconds: Math.floor(positive(media.redirectSeconds, specRedirect)),
  };
}

function mediaState(ctx: RouteContext): MediaState {
  let state = ctx.state.get('media') as MediaState | undefined;
  if (!state) {
    const opts = mediaOptions(ctx.options.extra);
    const now = ctx.options.now;
    state = {
      opts,
      store:
        typeof opts.store === 'string'
          ? openMediaStore(opts.store, { ttlSeconds: opts.ttlSeconds })
          : Promise.resolve(opts.store),
      inflight: new Map(),
      refused: new RefusedMedia(opts.refusedTtlSeconds * 1000, MAX_REFUSED, now),
      budget: new RateLimiter(
        { perSecond: opts.downloadsPerMinute / 60, burst: opts.downloadsPerMinute },
        now,
      ),
      clientBudget: new ClientMediaBudget(opts.downloadsPerClientPerMinute, REFUSED_COST, now),
      slots: new ClientSlots(opts.concurrentPerClient, STALE_SLOT_MS, now),
    };
    ctx.state.set('media', state);
  }
  return state;
}

/**
 * The media store `/readyz` checks: the one the handler was given, or the one a media request already
 * opened. A store named only by the environment is not opened for a health check (it would create
 * `.wxkit/media` in an app that never saves media).
 */
export function openedMediaStore(ctx: RouteContext): Promise<MediaStore> | undefined {
  const given = ctx.options.extra.mediaStore;
  if (typeof given === 'object' && given !== null) return mediaState(ctx).store;
  return (ctx.state.get('media') as MediaState | undefined)?.store;
}

function contentTypeOf(media: DownloadedMedia): string {
  const type = (media.contentType.split(';')[0] ?? '').trim().toLowerCase();
  return MIME.test(type) ? type : 'application/octet-stream';
}

/** WeChat answers an unknown or expired media_id with HTTP 200 and a JSON error body: never a file. */
function rejectJsonError(media: DownloadedMedia, serverId: string): void {
  const type = contentTypeOf(media);
  if (type !== 'application/json' && type !== 'text/plain' && media.bytes.length > 4096) return;
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(media.bytes));
  } catch {
    return;
  }
  const errcode = (body as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== 'number') return;
  const errmsg = String((body as { errmsg?: unknown }).errmsg ?? '');
  throw new WxkitError(ErrorCodes.WECHAT_ERROR, `WeChat refused media ${serverId}: ${errcode} ${errmsg}`, {
    errcode,
    errmsg,
  });
}

/** SPEC §3: WeChat refusing the media is a 502 `wechat_error` here, whatever status the library chose. */
function as502(e: unknown): unknown {
  if (isWxkitError(e) && e.code === ErrorCodes.WECHAT_ERROR && e.status !== 502) {
    return new WxkitError(ErrorCodes.WECHAT_ERROR, e.message, {
      ...(e.errcode === undefined ? {} : { errcode: e.errcode }),
      ...(e.errmsg === undefined ? {} : { errmsg: e.errmsg }),
      hint: e.hint,
      status: 502,
      cause: e,
    });
  }
  return e;
}

async function fetchMedia(account: Account, serverId: string): Promise<DownloadedMedia> {
  let media: DownloadedMedia;
  try {
    media = await account.downloadMedia(serverId);
  } catch (e) {
    throw as502(e);
  }
  rejectJsonError(media, serverId);
  return media;
}

/** The file a serverId of this account was saved as, while both are kept. */
async function known(store: MediaStore, key: string): Promise<StoredMedia | undefined> {
  const id = await store.alias(key);
  return id === undefined ? undefined : store.head(id);
}

/**
 * `client` (its {@link clientKey}; undefined when the address is unknown) is the one who pays for an
 * upstream call: the caller that started the download, not those that joined it.
 */
async function download(
  account: Account,
  serverId: string,
  media: MediaState,
  client: string | undefined,
): Promise<StoredMedia> {
  const { opts } = media;
  const key = `${account.appId}\0${serverId}`;
  const refused = media.refused.get(key);
  if (refused) throw refused;
  const store = await media.store;
  const saved = await known(store, key);
  if (saved) return saved;
  if (client !== undefined) media.clientBudget.take(client);
  refuseOverBudget(media.budget, account.appId, opts.downloadsPerMinute);
  let file: DownloadedMedia;
  try {
    file = await fetchMedia(account, serverId);
  } catch (e) {
    if (isWxkitError(e) && e.errcode === INVALID_MEDIA_ID) {
      media.refused.remember(key, e);
      if (client !== undefined) media.clientBudget.refused(client);
    }
    throw e;
  }
  if (file.bytes.length === 0) {
    throw new WxkitError(ErrorCodes.WECHAT_ERROR, `WeChat returned an empty file for media ${serverId}.`);
  }
  if (file.bytes.length > opts.maxBytes) {
    throw new WxkitError(
      ErrorCodes.PAYLOAD_TOO_LARGE,
      `Media ${serverId} is ${file.bytes.length} bytes; the limit is ${opts.maxBytes} (mediaMaxBytes).`,
    );
  }
  // The file first, then the alias: a failed save leaves no alias pointing at nothing.
  const stored = await store.put(sha256(file.bytes), file.bytes, contentTypeOf(file));
  await store.setAlias(key, stored.id);
  return stored;
}

async function save(ctx: RouteContext) {
  refuseForeignOrigin(ctx.input, ctx.cors, ctx.options.publicUrl, ctx.options.settingNames);
  const b = await ctx.json();
  const serverId = readString(b.serverId, 'serverId', 256);
  if (serverId === undefined || !SERVER_ID.test(serverId)) {
    throw invalidRequest('serverId must be the media id wx.uploadImage returned (letters, digits, _ or -).');
  }
  const account = ctx.account(readAppId(b.appId));
  const media = mediaState(ctx);
  const key = `${account.appId}\0${serverId}`;
  let job = media.inflight.get(key);
  if (!job) {
    const client = ctx.clientIp === undefined ? undefined : clientKey(ctx.clientIp);
    job = download(account, serverId, media, client).finally(() => media.inflight.delete(key));
    media.inflight.set(key, job);
  }
  const saved = await job;
  const url = `${ctx.options.publicUrl?.replace(/\/+$/, '') ?? ''}${ctx.prefix}/jssdk/media/${saved.id}`;
  ctx.log({ event: 'media.saved', appId: account.appId, size: saved.size, contentType: saved.contentType });
  return json(
    201,
    { id: saved.id, contentType: saved.contentType, size: saved.size, url },
    { 'cache-control': 'no-store' },
  );
}

function notFound(): WxkitError {
  return new WxkitError(ErrorCodes.NOT_FOUND, 'No saved media with that id.', {
    hint: {
      en: 'Save it first with POST /jssdk/media {serverId}.',
      zh: '请先通过 POST /jssdk/media {serverId} 保存。',
    },
  });
}

/**
 * Redirect only files a browser shows inline without running script (the media-guard allow-list): the
 * object store cannot send nosniff or CSP, so anything else is streamed through wxkit with them.
 */
function redirectable(type: string, id: string): boolean {
  return mediaHeaders(type, id)['content-disposition'] === 'inline';
}

/**
 * Streams a saved file from the store as the client reads it, at most `concurrentPerClient` at once per
 * client; or, for a store that signs URLs and `redirectSeconds` > 0, redirects (302) to a short-lived URL.
 */
async function serve(ctx: RouteContext) {
  const id = ctx.params.id ?? '';
  if (!MEDIA_ID.test(id)) throw notFound();
  const media = mediaState(ctx);
  const store = await media.store;
  const etag = `"${id}"`;
  const conditional = ctx.input.header('if-none-match') !== undefined;
  const redirect = media.opts.redirectSeconds > 0 && store.signedUrl !== undefined;
  // One backend round trip when nothing needs the metadata first (open answers it too).
  const meta = conditional || redirect ? await store.head(id) : undefined;
  if ((conditional || redirect) && !meta) throw notFound();
  const headersFor = (m: StoredMedia) => {
    const type = MIME.test(m.contentType) ? m.contentType : 'application/octet-stream';
    return {
      type,
      headers: {
        ...mediaHeaders(type, id),
        etag,
        'cache-control': 'public, max-age=31536000, immutable',
      } as Record<string, string>,
    };
  };
  if (meta) {
    const { type, headers } = headersFor(meta);
    if (ctx.input.header('if-none-match') === etag) return send(304, null, type, headers);
    if (redirect && redirectable(type, id)) {
      const location = await store.signedUrl?.(meta, {
        expiresIn: media.opts.redirectSeconds,
        contentDisposition: 'inline',
      });
      if (location) {
        // Not cached: the signed URL ends before the file does.
        return new Response(null, { status: 302, headers: { location, 'cache-control': 'no-store' } });
      }
    }
  }
  const client = ctx.clientIp === undefined ? undefined : clientKey(ctx.clientIp);
  const release = client === undefined ? () => {} : media.slots.acquire(client);
  if (!release) throw tooManyDownloads(media.opts.concurrentPerClient);
  let opened: Awaited<ReturnType<MediaStore['open']>>;
  try {
    opened = await store.open(id, { onClose: release });
  } catch (e) {
    release();
    throw e;
  }
  if (!opened) throw notFound();
  const { headers } = headersFor(opened.media);
  return new Response(opened.body, {
    status: 200,
    headers: { ...headers, 'content-length': String(opened.media.size) },
  });
}

/** `POST /jssdk/media` (download once from WeChat, store), `GET /jssdk/media/:id` (serve). */
export const routes: readonly Route[] = [
  { method: 'POST', path: '/jssdk/media', handle: save },
  { method: 'GET', path: '/jssdk/media/:id', handle: serve },
];
