import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, isWxkitError, WxkitError } from '../../errors.ts';
import type { DownloadedMedia, Wxkit } from '../../types.ts';
import { invalidRequest, readAppId, readString } from '../params.ts';
import { json, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

/** Where saved media live and how large one may be; read from the handler options' `extra`. */
interface MediaOptions {
  dir: string;
  maxBytes: number;
}

interface Meta {
  contentType: string;
  size: number;
}

/** WeChat media ids are URL-safe tokens; anything else never reaches WeChat or the disk. */
const SERVER_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Stored ids are the sha256 of the bytes: content-addressed, never a user-supplied name. */
const MEDIA_ID = /^[a-f0-9]{64}$/;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

function mediaOptions(ctx: RouteContext): MediaOptions {
  const extra = ctx.options.extra;
  const dir =
    typeof extra.mediaDir === 'string' && extra.mediaDir !== ''
      ? extra.mediaDir
      : process.env.WXKIT_MEDIA_DIR || '.wxkit/media';
  const max = extra.mediaMaxBytes;
  return {
    dir: resolve(dir),
    maxBytes: typeof max === 'number' && Number.isFinite(max) && max > 0 ? max : DEFAULT_MAX_BYTES,
  };
}

function inflight(ctx: RouteContext): Map<string, Promise<{ id: string } & Meta>> {
  let map = ctx.state.get('media.inflight') as Map<string, Promise<{ id: string } & Meta>> | undefined;
  if (!map) {
    map = new Map();
    ctx.state.set('media.inflight', map);
  }
  return map;
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
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

async function download(
  account: Wxkit,
  serverId: string,
  opts: MediaOptions,
): Promise<{ id: string } & Meta> {
  const indexDir = join(opts.dir, 'by-server');
  const indexPath = join(indexDir, sha256(`${account.appId}\0${serverId}`));
  const known = await readJson<{ id: string }>(indexPath);
  if (known && MEDIA_ID.test(known.id)) {
    const meta = await readJson<Meta>(join(opts.dir, `${known.id}.json`));
    if (meta) return { id: known.id, ...meta };
  }
  const media = await account.downloadMedia(serverId).catch((e: unknown) => {
    // SPEC §3: WeChat refusing the media is a 502 `wechat_error` here, whatever status the library chose.
    if (isWxkitError(e) && e.code === ErrorCodes.WECHAT_ERROR && e.status !== 502) {
      throw new WxkitError(ErrorCodes.WECHAT_ERROR, e.message, {
        ...(e.errcode === undefined ? {} : { errcode: e.errcode }),
        ...(e.errmsg === undefined ? {} : { errmsg: e.errmsg }),
        hint: e.hint,
        status: 502,
        cause: e,
      });
    }
    throw e;
  });
  rejectJsonError(media, serverId);
  if (media.bytes.length === 0) {
    throw new WxkitError(ErrorCodes.WECHAT_ERROR, `WeChat returned an empty file for media ${serverId}.`);
  }
  if (media.bytes.length > opts.maxBytes) {
    throw new WxkitError(
      ErrorCodes.PAYLOAD_TOO_LARGE,
      `Media ${serverId} is ${media.bytes.length} bytes; the limit is ${opts.maxBytes} (mediaMaxBytes).`,
    );
  }
  const id = sha256(media.bytes);
  const meta: Meta = { contentType: contentTypeOf(media), size: media.bytes.length };
  await mkdir(indexDir, { recursive: true });
  await writeAtomic(join(opts.dir, id), media.bytes);
  await writeAtomic(join(opts.dir, `${id}.json`), JSON.stringify(meta));
  await writeAtomic(indexPath, JSON.stringify({ id }));
  return { id, ...meta };
}

async function save(ctx: RouteContext) {
  const b = await ctx.json();
  const serverId = readString(b.serverId, 'serverId', 256);
  if (serverId === undefined || !SERVER_ID.test(serverId)) {
    throw invalidRequest('serverId must be the media id wx.uploadImage returned (letters, digits, _ or -).');
  }
  const account = ctx.account(readAppId(b.appId));
  const opts = mediaOptions(ctx);
  const key = `${account.appId}\0${serverId}`;
  const running = inflight(ctx);
  let job = running.get(key);
  if (!job) {
    job = download(account, serverId, opts).finally(() => running.delete(key));
    running.set(key, job);
  }
  const saved = await job;
  const url = `${ctx.options.publicUrl?.replace(/\/+$/, '') ?? ''}${ctx.options.basePath}/jssdk/media/${saved.id}`;
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

async function serve(ctx: RouteContext) {
  const id = ctx.params.id ?? '';
  if (!MEDIA_ID.test(id)) throw notFound();
  const opts = mediaOptions(ctx);
  const meta = await readJson<Meta>(join(opts.dir, `${id}.json`));
  if (!meta) throw notFound();
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(opts.dir, id));
  } catch {
    throw notFound();
  }
  const etag = `"${id}"`;
  const headers = {
    etag,
    'cache-control': 'public, max-age=31536000, immutable',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  };
  if (ctx.input.header('if-none-match') === etag) return send(304, null, meta.contentType, headers);
  return send(
    200,
    bytes,
    MIME.test(meta.contentType) ? meta.contentType : 'application/octet-stream',
    headers,
  );
}

/** `POST /jssdk/media` (download once from WeChat, store), `GET /jssdk/media/:id` (serve). */
export const routes: readonly Route[] = [
  { method: 'POST', path: '/jssdk/media', handle: save },
  { method: 'GET', path: '/jssdk/media/:id', handle: serve },
];
