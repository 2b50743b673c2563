import { json, type SimContext, type SimRoute, wechatError } from './http.ts';
import type { SimApp } from './state.ts';

/**
 * Temporary media: `/cgi-bin/media/upload` (multipart field `media`), `/cgi-bin/media/get` (the
 * bytes as an attachment, or a JSON error with HTTP 200) and `/cgi-bin/media/get/jssdk` (HD voice
 * as `voice/speex`). Files live 3 virtual days.
 */

/** WeChat's size limits per media type, and the file extensions it accepts. */
const KINDS: Record<string, { maxBytes: number; ext: string[] }> = {
  image: { maxBytes: 10 * 1024 * 1024, ext: ['jpg', 'jpeg', 'png', 'gif', 'bmp'] },
  voice: { maxBytes: 2 * 1024 * 1024, ext: ['amr', 'mp3', 'speex'] },
  video: { maxBytes: 10 * 1024 * 1024, ext: ['mp4'] },
  thumb: { maxBytes: 64 * 1024, ext: ['jpg', 'jpeg'] },
};

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  bmp: 'image/bmp',
  amr: 'audio/amr',
  mp3: 'audio/mpeg',
  speex: 'voice/speex',
  mp4: 'video/mp4',
};

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'audio/amr': 'amr',
  'audio/mpeg': 'mp3',
  'voice/speex': 'speex',
  'video/mp4': 'mp4',
};

function extOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot === -1 ? '' : filename.slice(dot + 1).toLowerCase();
}

function authorize(ctx: SimContext): SimApp | Response {
  const check = ctx.state.validateAccessToken(ctx.url.searchParams.get('access_token'));
  if ('errcode' in check) return wechatError(ctx.state, check.errcode);
  return ctx.state.app(check.appId) ?? wechatError(ctx.state, 40001);
}

const upload: SimRoute = {
  path: '/cgi-bin/media/upload',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const { state } = ctx;
    const app = authorize(ctx);
    if (app instanceof Response) return app;
    const type = ctx.url.searchParams.get('type') ?? '';
    const kind = KINDS[type];
    if (!kind) return wechatError(state, 40004);
    let file: File | undefined;
    try {
      const part = (await req.formData()).get('media');
      if (part instanceof File) file = part;
    } catch {
      file = undefined;
    }
    if (!file || file.size === 0) return wechatError(state, 41005);
    const ext = extOf(file.name);
    if (ext !== '' && !kind.ext.includes(ext)) return wechatError(state, 40005);
    if (file.size > kind.maxBytes) return wechatError(state, 40006);
    const contentType =
      file.type && file.type !== 'application/octet-stream'
        ? file.type
        : (CONTENT_TYPES[ext] ??
          (type === 'voice' ? 'audio/amr' : type === 'video' ? 'video/mp4' : 'image/jpeg'));
    const bytes = new Uint8Array(await file.arrayBuffer());
    const mediaId = state.addMedia(app.appId, {
      bytes,
      contentType,
      type,
      ...(file.name ? { filename: file.name } : {}),
    });
    return json({ type, media_id: mediaId, created_at: state.now() });
  },
};

function serve(ctx: SimContext, jssdk: boolean): Response {
  const { state } = ctx;
  const app = authorize(ctx);
  if (app instanceof Response) return app;
  const mediaId = ctx.url.searchParams.get('media_id');
  if (!mediaId) return wechatError(state, 41006);
  const media = state.getMedia(app.appId, mediaId);
  if (!media || (jssdk && media.type !== 'voice')) return wechatError(state, 40007);
  const contentType = jssdk ? 'voice/speex' : media.contentType;
  const ext = EXTENSIONS[contentType] ?? 'jpg';
  return new Response(new Uint8Array(media.bytes) as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: {
      'content-type': contentType,
      'content-disposition': `attachment; filename="${media.mediaId}.${ext}"`,
      'content-length': String(media.bytes.byteLength),
      'cache-control': 'no-cache, must-revalidate',
    },
  });
}

const get: SimRoute = {
  path: '/cgi-bin/media/get',
  methods: ['GET'],
  handler: (_req, ctx) => serve(ctx, false),
};
const getJssdk: SimRoute = {
  path: '/cgi-bin/media/get/jssdk',
  methods: ['GET'],
  handler: (_req, ctx) => serve(ctx, true),
};

export const mediaRoutes: SimRoute[] = [upload, get, getJssdk];
