import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { decryptAead, encryptAead } from '../../src/pay/aead.ts';
import { readCertificates } from '../../src/pay/certificates.ts';
import { PayError } from '../../src/pay/errors.ts';
import { loadApiV3Key, loadPrivateKey, loadPublicKey } from '../../src/pay/keys.ts';
import { openNotification } from '../../src/pay/notification.ts';
import { paySign, verifyPaySign } from '../../src/pay/pay-sign.ts';
import {
  authorization,
  parseAuthorization,
  requestMessage,
  rsaSign,
  rsaVerify,
  signatureMessage,
} from '../../src/pay/signing.ts';
import { verifyWechatpaySignature } from '../../src/pay/verify.ts';

interface Vector {
  kind: string;
  [k: string]: string;
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/pay.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};
const vector = (kind: string) => fixtures.vectors.find((v) => v.kind === kind) as Vector;
const platform = JSON.parse(
  readFileSync(new URL('./fixtures/platform-certificate.json', import.meta.url), 'utf8'),
) as { serial: string; certificatePem: string; privateKeyPem: string };

describe('pay.json vectors', () => {
  test('AEAD_AES_256_GCM (wechatpay-java AeadAesCipherTest) decrypts to "message"', () => {
    const v = vector('aead-aes-256-gcm');
    const plain = decryptAead(loadApiV3Key(v.apiV3Key as string), {
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext: v.ciphertext as string,
      nonce: v.nonce as string,
      associated_data: v.associatedData,
    });
    assert.equal(plain.toString('utf8'), v.plaintext);
  });

  test('AES-GCM: a changed byte, associated data or key fails with decrypt_failed', () => {
    const v = vector('aead-aes-256-gcm');
    const key = loadApiV3Key(v.apiV3Key as string);
    const bytes = Buffer.from(v.ciphertext as string, 'base64');
    bytes[0] = (bytes[0] as number) ^ 1;
    const cases = [
      { ciphertext: bytes.toString('base64'), nonce: v.nonce as string, associated_data: v.associatedData },
      { ciphertext: v.ciphertext as string, nonce: v.nonce as string, associated_data: 'other' },
    ];
    for (const c of cases) {
      assert.throws(
        () => decryptAead(key, c),
        (e: unknown) => e instanceof PayError && e.reason === 'decrypt_failed',
      );
    }
    const wrong = loadApiV3Key('b'.repeat(32));
    assert.throws(
      () => decryptAead(wrong, { ciphertext: v.ciphertext as string, nonce: v.nonce as string }),
      (e: unknown) => e instanceof PayError && e.reason === 'decrypt_failed',
    );
  });

  test('paySign (published wechatpay-java test key) matches the vector and verifies', () => {
    const v = vector('paySign');
    const key = loadPrivateKey(v.merchantPrivateKeyPem as string);
    const input = {
      appId: v.appId as string,
      timeStamp: v.timeStamp as string,
      nonceStr: v.nonceStr as string,
      package: v.package as string,
    };
    assert.equal(
      signatureMessage([input.appId, input.timeStamp, input.nonceStr, input.package]).toString(),
      v.message,
    );
    assert.equal(paySign(input, key), v.paySign);
    const pub = loadPublicKey(key);
    assert.equal(verifyPaySign(input, v.paySign as string, pub), true);
    assert.equal(verifyPaySign({ ...input, package: 'prepay_id=wx2' }, v.paySign as string, pub), false);
  });

  test('the APIv3 key must be 32 bytes; keys that are not PEM are config errors without the key text', () => {
    assert.throws(
      () => loadApiV3Key('short'),
      (e: unknown) => e instanceof PayError && e.reason === 'config',
    );
    assert.throws(
      () => loadPrivateKey('not a key secret123'),
      (e: unknown) => e instanceof PayError && e.code === 'config_error' && !e.message.includes('secret123'),
    );
  });
});

describe('request signing', () => {
  const merchant = loadPrivateKey(vector('paySign').merchantPrivateKeyPem as string);
  test('Authorization covers METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n and parses back', () => {
    const req = {
      method: 'post',
      pathAndQuery: '/v3/pay/transactions/jsapi',
      body: '{"a":1}',
      timestamp: 1554208460,
      nonce: '593BEC0C930BF1AFEB40B4A08C8FB242',
    };
    assert.equal(
      requestMessage(req).toString(),
      'POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"a":1}\n',
    );
    const header = authorization(
      { mchId: '1900009191', serialNo: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C', privateKey: merchant },
      req,
    );
    assert.match(
      header,
      /^WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",signature="[A-Za-z0-9+/=]+"$/,
    );
    const fields = parseAuthorization(header);
    assert.ok(fields);
    assert.equal(rsaVerify(loadPublicKey(merchant), requestMessage(req), fields.signature), true);
    assert.equal(
      rsaVerify(loadPublicKey(merchant), requestMessage({ ...req, body: '{"a":2}' }), fields.signature),
      false,
    );
  });

  test('parseAuthorization refuses other schemes and trailing garbage', () => {
    assert.equal(parseAuthorization('Bearer x'), undefined);
    assert.equal(parseAuthorization('WECHATPAY2-SHA256-RSA2048 mchid="1"'), undefined);
    assert.equal(
      parseAuthorization(
        'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s",signature="x" junk',
      ),
      undefined,
    );
  });
});

describe('answer and notification verification (hand-made fixtures)', () => {
  const wechat = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serial = 'PUB_KEY_ID_0114232134912410000000000000';
  const nowMs = 1_700_000_000_000;
  const ts = String(nowMs / 1000);
  const body = '{"id":"EV-2018022511223320873","event_type":"TRANSACTION.SUCCESS","amount":{"total":1}}';
  const sign = (
    bytes: string | Uint8Array,
    t = ts,
    nonce = 'fdasflkja484w',
    key: KeyObject = wechat.privateKey,
  ) => rsaSign(key, signatureMessage([t, nonce, bytes]));
  const headers = (over: Record<string, string> = {}) => ({
    'Wechatpay-Timestamp': ts,
    'Wechatpay-Nonce': 'fdasflkja484w',
    'Wechatpay-Serial': serial,
    'Wechatpay-Signature': sign(body),
    ...over,
  });
  const resolveKey = (s: string) => (s === serial ? wechat.publicKey : undefined);
  const rejects = (
    input: { headers: Record<string, string>; body: string | Uint8Array; now?: number },
    reason: string,
  ) =>
    assert.rejects(
      verifyWechatpaySignature({ now: nowMs, resolveKey, ...input }),
      (e: unknown) => e instanceof PayError && e.reason === reason,
    );

  test('the genuine bytes verify (Headers and plain objects alike)', async () => {
    await verifyWechatpaySignature({ headers: headers(), body, resolveKey, now: nowMs });
    await verifyWechatpaySignature({
      headers: new Headers(headers()),
      body: Buffer.from(body),
      resolveKey,
      now: nowMs,
    });
  });
  test('a tampered byte fails', () =>
    rejects({ headers: headers(), body: body.replace('"total":1', '"total":9') }, 'signature_invalid'));
  test('whitespace changes in the body fail', () =>
    rejects({ headers: headers(), body: JSON.stringify(JSON.parse(body), null, 1) }, 'signature_invalid'));
  test('reordered JSON keys fail: the bytes changed though the object is equal', () => {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse()));
    assert.deepEqual(JSON.parse(reordered), parsed);
    return rejects({ headers: headers(), body: reordered }, 'signature_invalid');
  });
  test('a signature by another key with the right serial fails', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return rejects(
      {
        headers: headers({ 'Wechatpay-Signature': sign(body, ts, 'fdasflkja484w', other.privateKey) }),
        body,
      },
      'signature_invalid',
    );
  });
  test('a stale timestamp (301 s old) and a future one (301 s ahead) fail, signed or not', async () => {
    for (const t of [String(nowMs / 1000 - 301), String(nowMs / 1000 + 301)]) {
      await rejects(
        { headers: headers({ 'Wechatpay-Timestamp': t, 'Wechatpay-Signature': sign(body, t) }), body },
        'timestamp_stale',
      );
    }
    const edge = String(nowMs / 1000 - 300);
    await verifyWechatpaySignature({
      headers: headers({ 'Wechatpay-Timestamp': edge, 'Wechatpay-Signature': sign(body, edge) }),
      body,
      resolveKey,
      now: nowMs,
    });
  });
  test('a millisecond timestamp is named as such', () => {
    const t = String(nowMs);
    return rejects(
      { headers: headers({ 'Wechatpay-Timestamp': t, 'Wechatpay-Signature': sign(body, t) }), body },
      'timestamp_milliseconds',
    );
  });
  test('an unknown serial fails even when its own key signed', () => {
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return rejects(
      {
        headers: headers({
          'Wechatpay-Serial': 'PUB_KEY_ID_FORGED',
          'Wechatpay-Signature': sign(body, ts, 'fdasflkja484w', forger.privateKey),
        }),
        body,
      },
      'unknown_serial',
    );
  });
  test('a WECHATPAY/SIGNTEST/ probe is refused', () =>
    rejects(
      { headers: headers({ 'Wechatpay-Signature': `WECHATPAY/SIGNTEST/${sign(body)}` }), body },
      'signtest_probe',
    ));
  test('missing signature headers: unsigned', async () => {
    for (const name of [
      'Wechatpay-Timestamp',
      'Wechatpay-Nonce',
      'Wechatpay-Serial',
      'Wechatpay-Signature',
    ]) {
      const h = headers();
      delete (h as Record<string, string>)[name];
      await rejects({ headers: h, body }, 'unsigned');
    }
  });
});

describe('notifications and platform certificates', () => {
  const apiV3Key = loadApiV3Key('0123456789abcdef0123456789abcdef');
  test('openNotification decrypts the resource of a notification', () => {
    const resource = encryptAead(
      apiV3Key,
      JSON.stringify({ out_trade_no: 'T1', trade_state: 'SUCCESS' }),
      'transaction',
    );
    const note = openNotification(
      JSON.stringify({
        id: 'N1',
        create_time: '2026-12-07T20:00:00+08:00',
        event_type: 'TRANSACTION.SUCCESS',
        resource_type: 'encrypt-resource',
        summary: '支付成功',
        resource,
      }),
      apiV3Key,
    );
    assert.equal(note.eventType, 'TRANSACTION.SUCCESS');
    assert.deepEqual(note.resource, { out_trade_no: 'T1', trade_state: 'SUCCESS' });
    assert.throws(
      () => openNotification('{"id":"x"}', apiV3Key),
      (e: unknown) => e instanceof PayError && e.reason === 'malformed_response',
    );
  });

  test('readCertificates decrypts certificates and checks their serials', () => {
    const encrypt_certificate = encryptAead(apiV3Key, platform.certificatePem, 'certificate');
    const [cert] = readCertificates(
      { data: [{ serial_no: platform.serial, encrypt_certificate }] },
      apiV3Key,
    );
    assert.ok(cert);
    assert.equal(cert.serial, platform.serial);
    const msg = signatureMessage(['1', 'n', 'b']);
    assert.equal(rsaVerify(cert.publicKey, msg, rsaSign(loadPrivateKey(platform.privateKeyPem), msg)), true);
    assert.throws(
      () => readCertificates({ data: [{ serial_no: 'ABCDEF', encrypt_certificate }] }, apiV3Key),
      (e: unknown) => e instanceof PayError && e.reason === 'malformed_response',
    );
    assert.throws(
      () =>
        readCertificates(
          { data: [{ serial_no: platform.serial, encrypt_certificate }] },
          loadApiV3Key('x'.repeat(32)),
        ),
      (e: unknown) => e instanceof PayError && e.reason === 'decrypt_failed',
    );
  });
});
