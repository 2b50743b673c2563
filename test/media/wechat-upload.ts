import assert from 'node:assert/strict';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';

/** The uploaded file's content type and name; image/png and photo.png when left out. */
export interface UploadOptions {
  type?: string | undefined;
  filename?: string | undefined;
}

/**
 * Puts bytes into WeChat's temporary media through the simulator's real /cgi-bin/media/upload, as
 * wx.uploadImage / the JS bridge would, with `account`'s access token; returns the serverId (media_id).
 */
export async function uploadToWechat(
  sim: Simulator,
  account: Pick<Wxkit, 'accessToken'>,
  bytes: Uint8Array,
  { type = 'image/png', filename = 'photo.png' }: UploadOptions = {},
): Promise<string> {
  const form = new FormData();
  form.set('media', new Blob([new Uint8Array(bytes)], { type }), filename);
  const token = await account.accessToken();
  const res = await fetch(`${sim.url}/cgi-bin/media/upload?access_token=${token}&type=image`, {
    method: 'POST',
    body: form,
  });
  const body = (await res.json()) as { media_id?: string };
  assert.ok(body.media_id, JSON.stringify(body));
  return body.media_id;
}
