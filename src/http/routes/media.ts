import { resolve } from 'node:path';
import { ErrorCodes, isWxkitError, WxkitError } from '../../errors.ts';
import type { DownloadedMedia, Wxkit } from '../../types.ts';
import {
  ClientSlots,
  mediaHeaders,
  RefusedMedia,
  refuseForeignOrigin,
  refuseOverBudget,
  tooManyDownloads,
} from '../media-guard.ts';
import { FileMediaStore, MEDIA_ID, type SavedMedia } from '../media-store.ts';
import { invalidRequest, readAppId, readString } from '../params.ts';
import { RateLimiter } from '../rate-limit.ts';
import { json, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

/**
 * Options, from the handler options' `extra`: `mediaDir` (default `WXKIT_MEDIA_DIR` or `.wxkit/media`),
 * `mediaMaxBytes` (default 10 MiB), and `media: { downloadsPerMinute, concurrentPerClient,
 * refusedTtlSeconds }` (defaults 60, 4, 600).
 */
interface MediaOptions {
  dir: string;
  maxBytes: number;
  /** Upstream `media/get` calls per account per minute. */
  downloadsPerMinute: number;
  /** Media responses one client address may be sent at once. */
  concurrentPerClient: number;
  /** How long a serverId WeChat refused (40007) is answered from memory. */
  refusedTtlSeconds: number;
}

/** What one handler keeps for its media routes. */
interface MediaState {
  opts: MediaOptions;
  store: FileMediaStore;
  inflight: Map<string, Promise<SavedMedia>>;
  refused: RefusedMedia;
  budget: RateLimiter;
  slots: ClientSlots;
}

/** WeChat media ids are URL-safe tokens; anything else never reaches WeChat or the disk. */
const SERVER_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** WeChat's "invalid media_id": unknown, expired or another account's. */
const INVALID_MEDIA_ID = 40007;
const MAX_REFUSED = 10_000;
/** A slot whose body was never consumed nor cancelled is forgotten after this long. */
const STALE_SLOT_MS = 10 * 60_000;

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function mediaOptions(extra: Readonly<Record<string, unknown>>): MediaOptions {
  const dir =
    typeof extra.mediaDir === 'string' && extra.mediaDir !== ''
      ? extra.mediaDir
      : process.env.WXKIT_MEDIA_DIR || '.wxkit/media';
  const media = (typeof extra.media === 'object' && extra.media !== null ? extra.media : {}) as Record<
    string,
    unknown
  >;
  return {
    dir: resolve(dir),
    maxBytes: positive(extra.mediaMaxBytes, DEFAULT_MAX_BYTES),
    downloadsPerMinute: positive(media.downloadsPerMinute, 60),
    concurrentPerClient: Math.floor(positive(media.concurrentPerClient, 4)),
    refusedTtlSeconds: positive(media.refusedTtlSeconds, 600),
  };
}

function mediaState(ctx: RouteContext): MediaState {
  let state = ctx.state.get('media') as MediaState | undefined;
  if (!state) {
    const opts = mediaOptions(ctx.options.extra);
    const now = ctx.options.now;
    state = {
      opts,
      store: new FileMediaStore(opts.dir),
      inflight: new Map(),
      refused: new RefusedMedia(opts.refusedTtlSeconds * 1000, MAX_REFUSED, now),
      budget: new RateLimiter(
        { perSecond: opts.downloadsPerMinute / 60, burst: opts.downloadsPerMinute },
        now,
      ),
      slots: new ClientSlots(opts.concurrentPerClient, STALE_SLOT_MS, now),
    };
    ctx.state.set('media', state);
  }
  return state;
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

async function fetchMedia(account: Wxkit, serverId: string): Promise<DownloadedMedia> {
  let media: DownloadedMedia;
  try {
    media = await account.downloadMedia(serverId);
  } catch (e) {
    throw as502(e);
  }
  rejectJsonError(media, serverId);
  return media;
}

async function download(account: Wxkit, serverId: string, media: MediaState): Promise<SavedMedia> {
  const { opts, store } = media;
  const key = `${account.appId}\0${serverId}`;
  const refused = media.refused.get(key);
  if (refused) throw refused;
  const known = await store.findByServerId(account.appId, serverId);
  if (known) return known;
  refuseOverBudget(media.budget, account.appId, opts.downloadsPerMinute);
  let file: DownloadedMedia;
  try {
    file = await fetchMedia(account, serverId);
  } catch (e) {
    if (isWxkitError(e) && e.errcode === INVALID_MEDIA_ID) media.refused.remember(key, e);
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
  return store.save(account.appId, serverId, file.bytes, contentTypeOf(file));
}

async function save(ctx: RouteContext) {
  refuseForeignOrigin(ctx.input, ctx.cors, ctx.options.publicUrl);
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
    job = download(account, serverId, media).finally(() => media.inflight.delete(key));
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

/** Streams a saved file from disk as the client reads it, at most `concurrentPerClient` at once per client. */
async function serve(ctx: RouteContext) {
  const id = ctx.params.id ?? '';
  if (!MEDIA_ID.test(id)) throw notFound();
  const media = mediaState(ctx);
  const meta = await media.store.meta(id);
  if (!meta) throw notFound();
  const etag = `"${id}"`;
  const type = MIME.test(meta.contentType) ? meta.contentType : 'application/octet-stream';
  const headers: Record<string, string> = {
    ...mediaHeaders(type, id),
    etag,
    'cache-control': 'public, max-age=31536000, immutable',
  };
  if (ctx.input.header('if-none-match') === etag) return send(304, null, type, headers);
  const client = ctx.clientIp;
  const release = client === undefined ? () => {} : media.slots.acquire(client);
  if (!release) throw tooManyDownloads(media.opts.concurrentPerClient);
  const opened = await media.store.open(id, release);
  if (!opened) {
    release();
    throw notFound();
  }
  return new Response(opened.body, {
    status: 200,
    headers: { ...headers, 'content-length': String(opened.size) },
  });
}

/** `POST /jssdk/media` (download once from WeChat, store), `GET /jssdk/media/:id` (serve). */
export const routes: readonly Route[] = [
  { method: 'POST', path: '/jssdk/media', handle: save },
  { method: 'GET', path: '/jssdk/media/:id', handle: serve },
];
