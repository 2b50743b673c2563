import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPushCrypto, pushSignature, sealPush, writeXml } from '../../src/push/index.ts';
import { originalIdOf } from '../../src/simulator/index.ts';
import { APP, PLAIN_APP, type PushStack, startPushStack } from '../serve/push-helpers.ts';
import { AES_KEY, TOKEN } from '../simulator/push-helpers.ts';

/**
 * Hostile input on `wxkit serve`'s /wechat/push (SPEC §11): each attack gets a 4xx in the JSON error
 * shape (or WeChat's expected answer), nothing reaches the forward URL, and the service keeps serving.
 */

let stack: PushStack;
before(async () => {
  stack = await startPushStack();
});
after(() => stack.close());

const now = () => String(Math.floor(Date.now() / 1000));
let n = 0;
const message = (content: string) =>
  writeXml({
    ToUserName: originalIdOf(APP),
    FromUserName: 'oHOSTILE000000000000000000',
    CreateTime: Number(now()),
    MsgType: 'text',
    Content: content,
    MsgId: String(7_000_000_000_000_000_000n + BigInt(++n)),
  });

/** A correctly signed safe-mode push of `text` encrypted for `receiveId`. */
function sealed(text: string, receiveId = APP, timestamp = now()) {
  const s = sealPush(text, {
    crypto: createPushCrypto({ encodingAESKey: AES_KEY, receiveId }),
    token: TOKEN,
    toUserName: originalIdOf(APP),
    timestamp,
  });
  return {
    query: new URLSearchParams(s.query as unknown as Record<string, string>).toString(),
    body: s.body,
  };
}

async function post(appId: string, query: string, body: string | Uint8Array<ArrayBuffer>) {
  const res = await fetch(`${stack.service.url}/wechat/push/${appId}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: () => JSON.parse(text) as { error: { code: string; message: string } },
  };
}

/** Nothing new reached the forward URL during `fn`, and the service still answers afterwards. */
async function refused(fn: () => Promise<void>) {
  const before = stack.receiver.deliveries.length;
  await fn();
  assert.equal(stack.receiver.deliveries.length, before, 'nothing forwarded');
  assert.equal((await fetch(`${stack.service.url}/healthz`)).status, 200, 'the service stays up');
}

function assertErrorShape(
  r: { status: number; json: () => { error: { code: string; message: string } } },
  status: number,
) {
  assert.equal(r.status, status);
  const e = r.json().error;
  assert.equal(typeof e.code, 'string');
  assert.equal(typeof e.message, 'string');
  assert.ok(!/at .*\.ts:\d+/.test(e.message), 'no stack trace');
}

describe('hostile pushes on wxkit serve', () => {
  test('a forged msg_signature: 401, nothing forwarded', () =>
    refused(async () => {
      const s = sealed(message('forged'));
      const q = new URLSearchParams(s.query);
      q.set('msg_signature', '0'.repeat(40));
      assertErrorShape(await post(APP, q.toString(), s.body), 401);
    }));

  test('a body swapped under a valid signature (signature of another Encrypt): 401', () =>
    refused(async () => {
      const a = sealed(message('one'));
      const b = sealed(message('two'));
      assertErrorShape(await post(APP, a.query, b.body), 401);
    }));

  test('a forged plaintext signature on the plaintext account, and a plaintext push to the safe account: refused', () =>
    refused(async () => {
      const q = new URLSearchParams({ signature: '1'.repeat(40), timestamp: now(), nonce: '123' });
      assertErrorShape(await post(PLAIN_APP, q.toString(), message('forged plain')), 401);
      // Downgrade: the Token alone (a valid plaintext signature) must not get a message past a safe-mode account.
      const ts = now();
      const ok = new URLSearchParams({ signature: pushSignature(TOKEN, ts, '9'), timestamp: ts, nonce: '9' });
      assertErrorShape(await post(APP, ok.toString(), message('downgrade')), 403);
    }));

  test('a replayed request: answered the same, forwarded once', async () => {
    const s = sealed(message('replay me'));
    const first = await post(APP, s.query, s.body);
    assert.equal(first.status, 200);
    const before = stack.receiver.deliveries.length;
    const again = await post(APP, s.query, s.body);
    assert.equal(again.status, 200);
    assert.equal(stack.receiver.deliveries.length, before);
    assert.equal(stack.receiver.deliveries.filter((d) => d.message.Content === 'replay me').length, 1);
  });

  test('a replay from outside the time window (10 minutes old, correctly signed): 401', () =>
    refused(async () => {
      const s = sealed(message('old'), APP, String(Math.floor(Date.now() / 1000) - 600));
      assertErrorShape(await post(APP, s.query, s.body), 401);
    }));

  test('an oversized body: 413, nothing forwarded', () =>
    refused(async () => {
      const s = sealed(message('x'.repeat(200_000)));
      assertErrorShape(await post(APP, s.query, s.body), 413);
    }));

  test('XML bombs and DOCTYPEs (plaintext, correctly signed; and inside the ciphertext): 400', () =>
    refused(async () => {
      const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol2;</Content></xml>`;
      const xxe = `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>`;
      for (const body of [bomb, xxe]) {
        const ts = now();
        const q = new URLSearchParams({
          signature: pushSignature(TOKEN, ts, '42'),
          timestamp: ts,
          nonce: '42',
        });
        assertErrorShape(await post(PLAIN_APP, q.toString(), body), 400);
        const s = sealed(body);
        assertErrorShape(await post(APP, s.query, s.body), 400);
      }
      const deep = `${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`;
      const s = sealed(`<xml>${deep}</xml>`);
      assertErrorShape(await post(APP, s.query, s.body), 400);
    }));

  test('a message encrypted for another appId (same key, valid signature): 400 "cannot be decrypted"', () =>
    refused(async () => {
      const s = sealed(message('for someone else'), 'wxanother00000001');
      const r = await post(APP, s.query, s.body);
      assertErrorShape(r, 400);
      assert.match(r.json().error.message, /cannot be decrypted/);
    }));

  test('garbage: a non-base64 Encrypt, an empty body, binary bytes: 4xx, never 5xx', () =>
    refused(async () => {
      const ts = now();
      for (const encrypt of ['!!!not base64!!!', 'AAAA']) {
        const body = writeXml({ ToUserName: 'x', Encrypt: encrypt });
        const q = new URLSearchParams({
          signature: pushSignature(TOKEN, ts, '7'),
          timestamp: ts,
          nonce: '7',
          encrypt_type: 'aes',
          msg_signature: pushSignature(TOKEN, ts, '7', encrypt),
        });
        const r = await post(APP, q.toString(), body);
        assert.ok(r.status >= 400 && r.status < 500, `${encrypt}: ${r.status}`);
      }
      const empty = await post(APP, 'timestamp=1', '');
      assert.ok(empty.status >= 400 && empty.status < 500);
      const binary = await post(
        APP,
        'timestamp=1',
        new Uint8Array([0xff, 0xfe, 0x00, 0x81]) as Uint8Array<ArrayBuffer>,
      );
      assert.ok(binary.status >= 400 && binary.status < 500);
    }));

  test('after all of it a genuine push is still answered', async () => {
    const s = sealed(message('still here'));
    const r = await post(APP, s.query, s.body);
    assert.equal(r.status, 200);
    assert.match(r.text, /<Encrypt>/);
    assert.ok(stack.receiver.deliveries.some((d) => d.message.Content === 'still here'));
  });
});
