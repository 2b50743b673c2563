import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Simulator } from '../../src/simulator/index.ts';
import { APP, APP2, classicToken, getJson, isWechatError, start, ticket } from './helpers.ts';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

async function upload(
  sim: Simulator,
  token: unknown,
  type: string,
  file: { bytes: Uint8Array; name: string; type?: string } | undefined,
): Promise<Record<string, unknown>> {
  const form = new FormData();
  if (file)
    form.append(
      'media',
      new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type ?? '' }),
      file.name,
    );
  else form.append('other', 'x');
  return getJson(`${sim.url}/cgi-bin/media/upload?access_token=${String(token)}&type=${type}`, {
    method: 'POST',
    body: form,
  });
}

describe('getticket', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start();
  });
  after(() => sim.close());

  test('the same ticket while valid, with the remaining lifetime; a new one after 7200 s', async () => {
    const t = await classicToken(sim);
    const a = await ticket(sim, t.access_token);
    assert.equal(a.errcode, 0);
    assert.equal(a.errmsg, 'ok');
    assert.equal(a.expires_in, 7200);
    assert.match(String(a.ticket), /^[A-Za-z0-9_-]{40,}$/);
    assert.equal(sim.state.currentTicket(APP, 'jsapi'), a.ticket);
    sim.advance(600);
    const t2 = await classicToken(sim);
    const b = await ticket(sim, t2.access_token);
    assert.equal(b.ticket, a.ticket, 'a new access_token does not change the ticket');
    assert.equal(b.expires_in, 6600);
    const card = await ticket(sim, t2.access_token, 'wx_card');
    assert.notEqual(card.ticket, a.ticket, 'wx_card is a separate ticket');
    sim.advance(6600);
    assert.equal(sim.state.currentTicket(APP, 'jsapi'), undefined, 'expired');
    const t3 = await classicToken(sim);
    const c = await ticket(sim, t3.access_token);
    assert.notEqual(c.ticket, a.ticket);
    assert.equal(c.expires_in, 7200);
    assert.equal(sim.state.currentTicket(APP, 'jsapi'), c.ticket);
  });

  test('an unknown type is 40097; tickets are per account', async () => {
    const t = await classicToken(sim);
    assert.ok(isWechatError(await ticket(sim, t.access_token, 'nope'), 40097, 'invalid args'));
    const other = await classicToken(sim, APP2, 'simtestsecret2');
    const mine = await ticket(sim, t.access_token);
    const theirs = await ticket(sim, other.access_token);
    assert.notEqual(mine.ticket, theirs.ticket);
  });
});

describe('temporary media', () => {
  let sim: Simulator;
  let token: unknown;
  before(async () => {
    sim = await start();
    token = (await classicToken(sim)).access_token;
  });
  after(() => sim.close());

  test('upload then get returns the bytes as an attachment named MEDIA_ID.ext', async () => {
    const up = await upload(sim, token, 'image', { bytes: PNG, name: 'photo.png', type: 'image/png' });
    assert.equal(up.type, 'image');
    assert.match(String(up.media_id), /^[A-Za-z0-9_-]{20,}$/);
    assert.equal(up.created_at, sim.now());
    const res = await fetch(
      `${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=${up.media_id}`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${up.media_id}.png"`);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), PNG);
  });

  test('a JPEG without content type is served as image/jpeg with .jpg', async () => {
    const up = await upload(sim, token, 'image', { bytes: PNG, name: 'x.jpg' });
    const res = await fetch(
      `${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=${up.media_id}`,
    );
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${up.media_id}.jpg"`);
  });

  test('media lives 3 virtual days, then 40007 as JSON with HTTP 200', async () => {
    const id = sim.state.addMedia(APP, { bytes: PNG, contentType: 'image/jpeg' });
    const url = `${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=${id}`;
    sim.advance(3 * 86400 - 1);
    const fresh = (await classicToken(sim)).access_token;
    const ok = await fetch(url.replace(String(token), String(fresh)));
    assert.equal(ok.headers.get('content-type'), 'image/jpeg');
    await ok.arrayBuffer();
    sim.advance(1);
    const res = await fetch(url.replace(String(token), String(fresh)));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /json/);
    assert.ok(isWechatError((await res.json()) as Record<string, unknown>, 40007, 'invalid media_id'));
    token = fresh;
  });

  test('unknown media_id, another account’s media and a missing media_id are errors', async () => {
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=nope`),
        40007,
      ),
    );
    const other = sim.state.addMedia(APP2, { bytes: PNG, contentType: 'image/jpeg' });
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=${other}`),
        40007,
      ),
    );
    assert.ok(
      isWechatError(await getJson(`${sim.url}/cgi-bin/media/get?access_token=${String(token)}`), 41006),
    );
    assert.ok(isWechatError(await getJson(`${sim.url}/cgi-bin/media/get?media_id=${other}`), 41001));
  });

  test('media/get/jssdk returns HD voice as voice/speex; non-voice media is 40007', async () => {
    const voice = await upload(sim, token, 'voice', { bytes: new Uint8Array([7, 7, 7]), name: 'v.amr' });
    assert.equal(voice.type, 'voice');
    const res = await fetch(
      `${sim.url}/cgi-bin/media/get/jssdk?access_token=${String(token)}&media_id=${voice.media_id}`,
    );
    assert.equal(res.headers.get('content-type'), 'voice/speex');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${voice.media_id}.speex"`);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), new Uint8Array([7, 7, 7]));
    const plain = await fetch(
      `${sim.url}/cgi-bin/media/get?access_token=${String(token)}&media_id=${voice.media_id}`,
    );
    assert.equal(plain.headers.get('content-type'), 'audio/amr');
    await plain.arrayBuffer();
    const img = sim.state.addMedia(APP, { bytes: PNG, contentType: 'image/jpeg' });
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/media/get/jssdk?access_token=${String(token)}&media_id=${img}`),
        40007,
      ),
    );
  });

  test('upload errors: bad type 40004, no file 41005, wrong extension 40005, too big 40006, bad token 40001', async () => {
    assert.ok(isWechatError(await upload(sim, token, 'pdf', { bytes: PNG, name: 'a.png' }), 40004));
    assert.ok(isWechatError(await upload(sim, token, 'image', undefined), 41005, 'media data missing'));
    assert.ok(isWechatError(await upload(sim, token, 'image', { bytes: PNG, name: 'a.exe' }), 40005));
    const thumb = new Uint8Array(65 * 1024);
    assert.ok(isWechatError(await upload(sim, token, 'thumb', { bytes: thumb, name: 't.jpg' }), 40006));
    assert.ok(isWechatError(await upload(sim, 'bad', 'image', { bytes: PNG, name: 'a.png' }), 40001));
    const notMultipart = await getJson(
      `${sim.url}/cgi-bin/media/upload?access_token=${String(token)}&type=image`,
      {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
        body: 'garbage without boundaries',
      },
    );
    assert.ok(isWechatError(notMultipart, 41005));
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/media/upload?access_token=${String(token)}&type=image`),
        43002,
      ),
    );
  });
});
