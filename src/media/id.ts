import { createHash } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../errors.ts';

/** Stored ids are the sha256 of the bytes: content-addressed, never a user-supplied name. */
export const MEDIA_ID = /^[a-f0-9]{64}$/;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Aliases (`appId\0serverId`) are hashed into names: never a user-supplied path or key. */
export function aliasName(alias: string): string {
  return sha256(alias);
}

/**
 * What every store checks before writing: the id is the bytes' sha256 (so a file can never be saved
 * under another file's id) and the size is within the store's limit.
 */
export function checkPut(id: string, bytes: Uint8Array, maxBytes: number, store: string): void {
  if (!MEDIA_ID.test(id) || sha256(bytes) !== id) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'A media id must be the sha256 of the bytes.');
  }
  if (bytes.length > maxBytes) {
    throw new WxkitError(
      ErrorCodes.PAYLOAD_TOO_LARGE,
      `The file is ${bytes.length} bytes; the media store ${store} accepts at most ${maxBytes}.`,
      {
        hint: {
          en: 'Use a file: or s3:// media store (WXKIT_MEDIA_STORE) for larger files, or lower extra.mediaMaxBytes.',
          zh: '较大的文件请使用 file: 或 s3:// 媒体存储（WXKIT_MEDIA_STORE），或调低 extra.mediaMaxBytes。',
        },
      },
    );
  }
}

/** The media store cannot be reached or refused the operation (503). */
export function mediaUnavailable(
  message: string,
  cause?: unknown,
  hint?: { en: string; zh: string },
): WxkitError {
  return new WxkitError(ErrorCodes.STORE_UNAVAILABLE, message, {
    cause,
    hint: hint ?? {
      en: 'Check that the media store (WXKIT_MEDIA_STORE) is reachable and writable.',
      zh: '请检查媒体存储（WXKIT_MEDIA_STORE）是否可达、可写。',
    },
  });
}

/** A file is older than the TTL at `now`. */
export function expired(savedAt: number, ttlMs: number, now: number): boolean {
  return now - savedAt >= ttlMs;
}
