import { actionFor, describeErrcode, type ErrcodePlatform } from '../errcodes.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { CallOptions, DownloadedMedia } from '../types.ts';

/** What a media download needs from its account. */
export interface MediaSource {
  /** The account's `request()` (token added, one retry on a token errcode). */
  request(path: string, init?: RequestInit & CallOptions): Promise<Response>;
  platform: ErrcodePlatform;
  /** `WeChat`, `WeCom`: in messages. */
  upstreamName: string;
}

/**
 * Downloads a temporary media file (`GET /cgi-bin/media/get?media_id=`, the same path in WeChat and
 * WeCom). The platform answers the bytes, or a JSON error with HTTP 200, which throws.
 */
export async function downloadMedia(
  serverId: string,
  source: MediaSource,
  call?: CallOptions,
): Promise<DownloadedMedia> {
  if (typeof serverId !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(serverId)) {
    throw new WxkitError(
      ErrorCodes.INVALID_REQUEST,
      'serverId must be the media id from wx.uploadImage (letters, digits, _ or -)',
    );
  }
  const res = await source.request(`/cgi-bin/media/get?media_id=${encodeURIComponent(serverId)}`, {
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  const type = res.headers.get('content-type') ?? 'application/octet-stream';
  if (isTextual(type) || !res.ok) {
    const text = await readBody(res.text(), source, call);
    let body: { errcode?: unknown; errmsg?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON
    }
    if (typeof body.errcode === 'number' && body.errcode !== 0) {
      const errcode = body.errcode;
      const info = describeErrcode(errcode, source.platform);
      const clientFault = info?.category === 'request' && actionFor(errcode, source.platform) === 'fail';
      throw new WxkitError(
        ErrorCodes.WECHAT_ERROR,
        `${source.upstreamName} refused media ${serverId}: ${errcode} ${info?.name ?? ''}`.trim(),
        {
          errcode,
          errmsg: typeof body.errmsg === 'string' ? body.errmsg.slice(0, 300) : '',
          platform: source.platform,
          ...(clientFault ? { status: 400 } : {}),
        },
      );
    }
    if (!res.ok) {
      throw new WxkitError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `${source.upstreamName} answered media/get with HTTP ${res.status}`,
        { retryAfter: 1 },
      );
    }
    const bytes = new TextEncoder().encode(text);
    return { bytes, contentType: type, ...filenameOf(res) };
  }
  const bytes = new Uint8Array(await readBody(res.arrayBuffer(), source, call));
  return { bytes, contentType: type, ...filenameOf(res) };
}

/** The body, or a typed error when it stalled past the request's deadline or broke off. */
async function readBody<T>(body: Promise<T>, source: MediaSource, call?: CallOptions): Promise<T> {
  try {
    return await body;
  } catch (cause) {
    if (call?.signal?.aborted) {
      throw new WxkitError(ErrorCodes.ABORTED, 'The media download was aborted', { cause });
    }
    const why = (cause as { name?: unknown })?.name === 'TimeoutError' ? 'timed out' : 'broke off';
    throw new WxkitError(
      ErrorCodes.UPSTREAM_UNAVAILABLE,
      `${source.upstreamName} began answering media/get, then the body ${why}`,
      { cause, retryAfter: 1 },
    );
  }
}

function isTextual(contentType: string): boolean {
  return /json|text\/plain/i.test(contentType);
}

function filenameOf(res: Response): { filename?: string } {
  const cd = res.headers.get('content-disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return m?.[1] ? { filename: m[1] } : {};
}
