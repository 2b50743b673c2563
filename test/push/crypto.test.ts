import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isWxkitError } from '../../src/errors.ts';
import {
  createPushCrypto,
  openPush,
  openReply,
  PushError,
  type PushErrorReason,
  pushSignature,
  sealPush,
  sealReply,
  verifyUrl,
  verifyWecomUrl,
} from '../../src/push/index.ts';

interface Vector {
  source: string;
  kind: string;
  token?: string;
  encodingAESKey?: string;
  receiveId?: string;
  timestamp?: string;
  nonce?: string;
  signature?: string;
  msgSignature?: string;
  encrypt?: string;
  echostr?: string;
  answer?: string;
  message?: string;
  random?: string;
  step?: string;
  padByte?: number;
}

// A copy of ../shared/vectors/push.json: a user's clone has no ../shared.
const vectors = (
  JSON.parse(readFileSync(new URL('./fixtures/push.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
).vectors;

function vector(match: (v: Vector) => boolean): Vector {
  const v = vectors.find(match);
  assert.ok(v, 'vector present');
  return v;
}

/** The raw plaintext of a ciphertext, decrypted without any padding logic (to look at the pad byte). */
function rawPlain(encodingAESKey: string, encrypt: string): Buffer {
  const key = Buffer.from(`${encodingAESKey}=`, 'base64');
  const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([d.update(Buffer.from(encrypt, 'base64')), d.final()]);
}

function rejects(fn: () => unknown, reason: PushErrorReason): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PushError, `a PushError, got ${String(e)}`);
    assert.ok(isWxkitError(e), 'a WxkitError too');
    assert.equal(e.reason, reason);
    assert.deepEqual(e.toJSON().error.details, { reason });
    return true;
  });
}

describe('push vectors (../shared/vectors/push.json)', () => {
  test('every vector in the file is one of the cases below', () => {
    assert.equal(vectors.length, 5);
  });

  test('Official Account, Python sample: signature, msg_signature, decryption, pad byte 2', () => {
    const v = vector((x) => x.kind === 'official-account' && x.signature !== undefined);
    const token = v.token as string;
    assert.equal(pushSignature(token, v.timestamp as string, v.nonce as string), v.signature);
    assert.equal(pushSignature(token, v.timestamp as string, v.nonce as string, v.encrypt), v.msgSignature);
    const crypto = createPushCrypto({
      encodingAESKey: v.encodingAESKey as string,
      receiveId: v.receiveId as string,
    });
    assert.deepEqual(crypto.decrypt(v.encrypt as string), { message: v.message, receiveId: v.receiveId });
    const plain = rawPlain(v.encodingAESKey as string, v.encrypt as string);
    assert.equal(plain[plain.length - 1], v.padByte);
    // The same random bytes give the same ciphertext: encryption is exactly WeChat's.
    assert.equal(crypto.encrypt(v.message as string, { random: plain.subarray(0, 16) }), v.encrypt);
  });

  test('open platform (第三方平台) Java sample, WXBizMsgCryptTest: encrypt with the given random', () => {
    const v = vector((x) => x.random !== undefined);
    const crypto = createPushCrypto({
      encodingAESKey: v.encodingAESKey as string,
      receiveId: v.receiveId as string,
    });
    assert.equal(crypto.encrypt(v.message as string, { random: v.random }), v.encrypt);
    assert.equal(crypto.decrypt(v.encrypt as string).message, v.message);
  });

  test('WeCom URL verification: msg_signature over the encrypted echostr, answer its plaintext', () => {
    const v = vector((x) => x.step === 'verify-url');
    const crypto = createPushCrypto({
      encodingAESKey: v.encodingAESKey as string,
      receiveId: v.receiveId as string,
    });
    const query = new URLSearchParams({
      msg_signature: v.msgSignature as string,
      timestamp: v.timestamp as string,
      nonce: v.nonce as string,
      echostr: v.echostr as string,
    });
    assert.equal(verifyWecomUrl(query, { token: v.token as string, crypto }), v.answer);
    query.set('msg_signature', '0'.repeat(40));
    rejects(() => verifyWecomUrl(query, { token: v.token as string, crypto }), 'bad_signature');
  });

  test('WeCom message with pad byte 30: decrypts (Node’s own 16-byte padding cannot)', () => {
    const v = vector((x) => x.step === 'message');
    assert.equal(v.padByte, 30);
    const key = v.encodingAESKey as string;
    const plain = rawPlain(key, v.encrypt as string);
    assert.equal(plain[plain.length - 1], 30);
    const k = Buffer.from(`${key}=`, 'base64');
    assert.throws(() => {
      const d = createDecipheriv('aes-256-cbc', k, k.subarray(0, 16));
      Buffer.concat([d.update(Buffer.from(v.encrypt as string, 'base64')), d.final()]);
    }, /bad decrypt/i);
    const crypto = createPushCrypto({ encodingAESKey: key, receiveId: v.receiveId as string });
    const query = {
      timestamp: v.timestamp,
      nonce: v.nonce,
      msg_signature: v.msgSignature,
      encrypt_type: 'aes',
    };
    const body = `<xml><ToUserName><![CDATA[${v.receiveId}]]></ToUserName><Encrypt><![CDATA[${v.encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`;
    assert.deepEqual(openPush(body, query, { token: v.token as string, crypto }), {
      message: v.message,
      format: 'xml',
    });
    assert.equal(crypto.encrypt(v.message as string, { random: plain.subarray(0, 16) }), v.encrypt);
  });

  test('plaintext URL verification (message push doc): answer echostr verbatim', () => {
    const v = vector((x) => x.kind === 'plaintext');
    const query = {
      signature: v.signature,
      timestamp: v.timestamp,
      nonce: v.nonce,
      echostr: v.echostr,
    };
    assert.equal(verifyUrl(query, { token: v.token as string }), v.echostr);
    rejects(
      () => verifyUrl({ ...query, signature: v.signature?.replace(/^./, 'e') }, { token: 'AAAAA' }),
      'bad_signature',
    );
    rejects(() => verifyUrl(query, { token: 'AAAAB' }), 'bad_signature');
    rejects(() => verifyUrl({ ...query, echostr: undefined }, { token: 'AAAAA' }), 'missing_parameter');
  });
});

describe('createPushCrypto — bad input names its cause', () => {
  const v = vector((x) => x.kind === 'official-account' && x.signature !== undefined);
  const key = v.encodingAESKey as string;
  const crypto = createPushCrypto({ encodingAESKey: key, receiveId: v.receiveId as string });
  const encrypt = v.encrypt as string;

  test('a message encrypted for another appId: wrong_receive_id', () => {
    const other = createPushCrypto({ encodingAESKey: key, receiveId: 'wx0000000000000000' });
    rejects(() => other.decrypt(encrypt), 'wrong_receive_id');
    // A prefix of the right id is not the id.
    rejects(
      () => createPushCrypto({ encodingAESKey: key, receiveId: 'wx2c2769f8efd9abc' }).decrypt(encrypt),
      'wrong_receive_id',
    );
  });

  test('truncated and non-base64 ciphertexts', () => {
    rejects(() => crypto.decrypt(''), 'truncated');
    rejects(() => crypto.decrypt(encrypt.slice(0, 40)), 'truncated'); // whole base64, 30 bytes
    rejects(() => crypto.decrypt(encrypt.slice(0, 41)), 'bad_base64'); // cut mid-quantum
    rejects(() => crypto.decrypt(`${encrypt.slice(0, -4)}!!!!`), 'bad_base64');
    rejects(() => crypto.decrypt(encrypt.replaceAll('+', '-')), 'bad_base64'); // URL-safe alphabet
    rejects(() => crypto.decrypt(` ${encrypt}`), 'bad_base64');
  });

  test('a ciphertext under another key: bad_padding', () => {
    const other = createPushCrypto({ encodingAESKey: 'A'.repeat(43), receiveId: v.receiveId as string });
    // The last block decrypts to noise: WeChat's 32-byte pad cannot be 0 or above 32; both ends are refused.
    for (const cipher of [encrypt, crypto.encrypt('x'), crypto.encrypt('y'.repeat(100))]) {
      assert.throws(
        () => other.decrypt(cipher),
        (e: unknown) =>
          e instanceof PushError &&
          ['bad_padding', 'bad_length', 'wrong_receive_id', 'bad_utf8'].includes(e.reason),
      );
    }
  });

  test('pad bytes that are not all equal to their count: bad_padding', async () => {
    const { createCipheriv } = await import('node:crypto');
    const k = Buffer.from(`${key}=`, 'base64');
    const seal = (plain: Buffer) => {
      const c = createCipheriv('aes-256-cbc', k, k.subarray(0, 16)).setAutoPadding(false);
      return Buffer.concat([c.update(plain), c.final()]).toString('base64');
    };
    const body = Buffer.concat([
      Buffer.alloc(16, 1),
      Buffer.from([0, 0, 0, 2]),
      Buffer.from('hi'),
      Buffer.from(v.receiveId as string),
    ]);
    const n = 32 - (body.length % 32);
    const good = Buffer.concat([body, Buffer.alloc(n, n)]);
    assert.equal(crypto.decrypt(seal(good)).message, 'hi');
    const mixed = Buffer.from(good);
    mixed[mixed.length - 2] = 7;
    rejects(() => crypto.decrypt(seal(mixed)), 'bad_padding');
    const tooBig = Buffer.from(good);
    tooBig[tooBig.length - 1] = 33;
    rejects(() => crypto.decrypt(seal(tooBig)), 'bad_padding');
    const zero = Buffer.concat([body, Buffer.alloc(n, 0)]);
    rejects(() => crypto.decrypt(seal(zero)), 'bad_padding');
    const longLength = Buffer.from(good);
    longLength.writeUInt32BE(1000, 16);
    rejects(() => crypto.decrypt(seal(longLength)), 'bad_length');
  });

  test('a 43-character key with a bad character, or the wrong length: bad_key at once', () => {
    rejects(() => createPushCrypto({ encodingAESKey: `${key.slice(0, 42)}-`, receiveId: 'wx' }), 'bad_key');
    rejects(
      () => createPushCrypto({ encodingAESKey: `${key.slice(0, 20)} ${key.slice(21)}`, receiveId: 'wx' }),
      'bad_key',
    );
    rejects(() => createPushCrypto({ encodingAESKey: key.slice(0, 42), receiveId: 'wx' }), 'bad_key');
    rejects(() => createPushCrypto({ encodingAESKey: `${key}=`, receiveId: 'wx' }), 'bad_key');
    assert.throws(
      () => createPushCrypto({ encodingAESKey: `${key.slice(0, 42)}-`, receiveId: 'wx' }),
      (e: unknown) =>
        e instanceof PushError && e.message.includes('character') && !e.message.includes(key.slice(0, 10)),
    );
  });
});

describe('createPushCrypto — round trip (property)', () => {
  const keyArb = fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((b) => Buffer.from(b).toString('base64').slice(0, 43));
  const idArb = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^wx[0-9a-f]{16}$/),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
  );

  test('random keys, receiveIds and messages of 0–64 KiB decrypt to themselves', () => {
    const messageArb = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 2000 }),
      // Sizes spread evenly over 0–64 KiB (fast-check alone prefers small arrays).
      fc
        .integer({ min: 0, max: 65536 })
        .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
        .map((b) => Buffer.from(b).toString('latin1')),
    );
    fc.assert(
      fc.property(keyArb, idArb, messageArb, (encodingAESKey, receiveId, message) => {
        const crypto = createPushCrypto({ encodingAESKey, receiveId });
        const encrypt = crypto.encrypt(message);
        assert.equal(Buffer.from(encrypt, 'base64').length % 32, 0);
        assert.deepEqual(crypto.decrypt(encrypt), { message, receiveId });
      }),
      { numRuns: 150 },
    );
  });

  test('every pad length 1–32 round-trips and is written as WeChat writes it', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 0, max: 8 }),
        (encodingAESKey, padding, blocks) => {
          const receiveId = 'wx2c2769f8efd9abc2';
          // 16 random + 4 length + message + receiveId + pad = a multiple of 32.
          const length = blocks * 32 + ((32 - ((20 + receiveId.length + padding) % 32)) % 32);
          const message = 'm'.repeat(length);
          const crypto = createPushCrypto({ encodingAESKey, receiveId });
          const encrypt = crypto.encrypt(message);
          const plain = rawPlain(encodingAESKey, encrypt);
          assert.equal(plain[plain.length - 1], padding);
          assert.deepEqual([...plain.subarray(plain.length - padding)], new Array(padding).fill(padding));
          assert.equal(crypto.decrypt(encrypt).message, message);
        },
      ),
      { numRuns: 200 },
    );
    // And each length at least once, whatever the generator picked.
    const crypto = createPushCrypto({
      encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      receiveId: 'id',
    });
    for (let n = 0; n < 64; n++)
      assert.equal(crypto.decrypt(crypto.encrypt('é'.repeat(n))).message, 'é'.repeat(n));
  });
});

describe('encrypted envelopes', () => {
  const v = vector((x) => x.kind === 'official-account' && x.signature !== undefined);
  const crypto = createPushCrypto({
    encodingAESKey: v.encodingAESKey as string,
    receiveId: v.receiveId as string,
  });
  const token = v.token as string;

  test('sealReply → openReply, XML and JSON, signed over the reply’s own timestamp and nonce', () => {
    for (const format of ['xml', 'json'] as const) {
      const body = sealReply('<xml><Content>hi</Content></xml>', {
        crypto,
        token,
        format,
        timestamp: '1700000000',
        nonce: '42',
      });
      if (format === 'xml')
        assert.match(
          body,
          /^<xml><Encrypt><!\[CDATA\[.+\]\]><\/Encrypt><MsgSignature><!\[CDATA\[[0-9a-f]{40}\]\]><\/MsgSignature><TimeStamp>1700000000<\/TimeStamp><Nonce><!\[CDATA\[42\]\]><\/Nonce><\/xml>$/,
        );
      else assert.deepEqual(Object.keys(JSON.parse(body)), ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
      assert.deepEqual(openReply(body, { crypto, token }), {
        message: '<xml><Content>hi</Content></xml>',
        timestamp: '1700000000',
        nonce: '42',
        format,
      });
      rejects(() => openReply(body.replace('1700000000', '1700000001'), { crypto, token }), 'bad_signature');
      rejects(() => openReply(body, { crypto, token: 'other' }), 'bad_signature');
    }
  });

  test('sealPush → openPush checks msg_signature, not the three-field signature', () => {
    const sealed = sealPush(v.message as string, {
      crypto,
      token,
      toUserName: 'gh_10f6c3c3ac5a',
      timestamp: '1409735669',
      nonce: '1320562132',
    });
    assert.equal(sealed.query.signature, v.signature);
    assert.equal(openPush(sealed.body, sealed.query, { crypto, token }).message, v.message);
    // A forger who copies a valid `signature` (it covers no body) but cannot sign the Encrypt value.
    rejects(
      () =>
        openPush(sealed.body, { ...sealed.query, msg_signature: sealed.query.signature }, { crypto, token }),
      'bad_signature',
    );
    rejects(
      () => openPush(sealed.body, { ...sealed.query, msg_signature: undefined }, { crypto, token }),
      'bad_signature',
    );
    rejects(
      () => openPush('<xml><ToUserName>x</ToUserName></xml>', sealed.query, { crypto, token }),
      'missing_field',
    );
    const json = sealPush('{"MsgType":"text"}', { crypto, token, toUserName: 'gh', format: 'json' });
    assert.deepEqual(openPush(json.body, json.query, { crypto, token }), {
      message: '{"MsgType":"text"}',
      format: 'json',
    });
  });
});
