// `s3://…&redirect=SECONDS`: inline types go to a signed object-store URL; anything else is still
// streamed by wxkit with the media-guard headers (the object store cannot send nosniff or the CSP).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHandler } from '../../src/http/handler.ts';
import { sha256 } from '../../src/media/id.ts';
import { createS3MediaStore } from '../../src/media/s3.ts';
import type { MediaStore } from '../../src/media/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type S3Server, startS3Server } from './s3-server.ts';

let s3: S3Server;
let store: MediaStore;
const account = createWxkit({ appId: 'wxredirect00000001', secret: 'redirect-secret', store: 'memory' });
before(async () => {
  s3 = await startS3Server();
  store = await createS3MediaStore({
    bucket: s3.bucket,
    prefix: 'redirect',
    endpoint: s3.endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
});
after(async () => {
  await account.close();
  await s3?.stop();
});

const handler = (redirectSeconds: number) =>
  createHandler(account, {
    log: false,
    rateLimit: false,
    extra: { mediaStore: store, media: { redirectSeconds } },
  });

test('an image is redirected (302, no-store) to a signed URL that expires; HTML is streamed as an attachment', async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  const html = new TextEncoder().encode('<script>alert(document.cookie)</script>');
  await store.put(sha256(png), png, 'image/png');
  await store.put(sha256(html), html, 'text/html');
  const h = handler(120);

  const img = await h(new Request(`http://svc.test/jssdk/media/${sha256(png)}`));
  assert.equal(img.status, 302);
  assert.equal(img.headers.get('cache-control'), 'no-store');
  const location = new URL(img.headers.get('location') ?? '');
  assert.equal(location.searchParams.get('X-Amz-Expires'), '120');
  assert.equal(location.searchParams.get('response-content-type'), 'image/png');
  assert.equal(location.searchParams.get('response-content-disposition'), 'inline');
  const direct = await fetch(location);
  assert.equal(direct.status, 200);
  assert.deepEqual(new Uint8Array(await direct.arrayBuffer()), png);

  const page = await h(new Request(`http://svc.test/jssdk/media/${sha256(html)}`));
  assert.equal(page.status, 200, 'not redirected: the object store would serve it without nosniff/CSP');
  assert.equal(page.headers.get('content-disposition'), `attachment; filename="${sha256(html)}"`);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(await page.text(), '<script>alert(document.cookie)</script>');

  // If-None-Match still answers 304 before any redirect; an unknown id is 404, not a redirect.
  const cached = await h(
    new Request(`http://svc.test/jssdk/media/${sha256(png)}`, {
      headers: { 'if-none-match': `"${sha256(png)}"` },
    }),
  );
  assert.equal(cached.status, 304);
  assert.equal((await h(new Request(`http://svc.test/jssdk/media/${'0'.repeat(64)}`))).status, 404);

  // Without the option the image is streamed by wxkit.
  const streamed = await handler(0)(new Request(`http://svc.test/jssdk/media/${sha256(png)}`));
  assert.equal(streamed.status, 200);
  assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), png);
});
