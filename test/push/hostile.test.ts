// Hostile input against the push URL: each case is an attack or a broken request, answered with a 4xx and
// the JSON error shape (or `success` for a harmless duplicate), onMessage never reached, the server up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPushCrypto, pushSignature, sealPush, writeXml } from '../../src/push/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Account } from '../../src/types.ts';
import { AES_KEY, type PushServer, pushServer, simAccount, TOKEN } from './stack.ts';

const APP = 'wxpushhostile0001';
const SECRET = 'pushhostilesecret';
const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: APP });

function now(): string {
  return String(Math.floor(Date.now() / 1000));
}

function text(content: string, msgId = String(Date.now())): string {
  return writeXml({
    ToUserName: 'gh_123456789abc',
    FromUserName: 'o_user_0000000000000000000001',
    CreateTime: Number(now()),
    MsgType: 'text',
    Content: content,
    MsgId: msgId,
  });
}

function plainQuery(token = TOKEN, timestamp = now()): string {
  return new URLSearchParams({
    signature: pushSignature(token, timestamp, '42'),
    timestamp,
    nonce: '42',
  }).toString();
}

async function errorOf(
  res: Response,
  status: number,
): Promise<{ code: string; message: string; hint: string; details?: { reason?: string } }> {
  assert.equal(res.status, status, `status ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string; hint: string } };
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.hint, 'string');
  assert.doesNotMatch(JSON.stringify(body), /at \w+ \(|\.ts:\d+/, 'no stack trace');
  return body.error;
}

describe('push URL under hostile input', () => {
  let sim: Simulator;
  let account: Account;
  let plain: PushServer;
  let safe: PushServer;
  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:${SECRET}`] });
    account = simAccount(sim, APP, SECRET);
    plain = await pushServer({ account, onMessage: () => undefined, maxBodyBytes: 4096 });
    safe = await pushServer({ account, encodingAESKey: AES_KEY, onMessage: () => undefined });
  });
  after(async () => {
    // The service stays up: a genuine push still works after every attack.
    for (const server of [plain, safe]) {
      const before = server.calls.length;
      const res = await fetch(`${server.url}?${plainQuery()}`, { method: 'POST', body: text('still here') });
      if (server === plain) {
        assert.equal(res.status, 200);
        assert.equal(server.calls.length, before + 1);
      }
      await server.close();
    }
    await account.close();
    await sim.close();
  });

  test('a forged or missing signature: 401, nothing handled', async () => {
    for (const query of [plainQuery('guessedToken'), '', `timestamp=${now()}&nonce=42`, `${plainQuery()}x`]) {
      const e = await errorOf(
        await fetch(`${plain.url}?${query}`, { method: 'POST', body: text('forged') }),
        401,
      );
      assert.equal(e.details?.reason, 'bad_signature');
    }
    assert.equal(plain.calls.length, 0);
  });

  test('safe mode: a valid three-field signature does not stand in for msg_signature over the Encrypt value', async () => {
    const sealed = sealPush(text('hi'), { crypto, token: TOKEN, toUserName: 'gh_123456789abc' });
    const forged = { ...sealed.query, msg_signature: sealed.query.signature };
    const e = await errorOf(
      await fetch(`${safe.url}?${new URLSearchParams(forged)}`, { method: 'POST', body: sealed.body }),
      401,
    );
    assert.equal(e.details?.reason, 'bad_signature');
    // Another Encrypt under the same (copied) msg_signature.
    const other = sealPush(text('other'), { crypto, token: TOKEN, toUserName: 'gh_123456789abc' });
    await errorOf(
      await fetch(`${safe.url}?${new URLSearchParams(sealed.query)}`, { method: 'POST', body: other.body }),
      401,
    );
    assert.equal(safe.calls.length, 0);
  });

  test('compatible mode: the plaintext copy beside <Encrypt> (which no signature covers) is never read', async () => {
    const timestamp = now();
    const genuine = text('genuine');
    const sealed = sealPush(genuine, { crypto, token: TOKEN, toUserName: 'gh_123456789abc', timestamp });
    const tampered = sealed.body.replace('</xml>', `${text('tampered').slice(5, -6)}</xml>`);
    const res = await fetch(`${safe.url}?${new URLSearchParams(sealed.query)}`, {
      method: 'POST',
      body: tampered,
    });
    assert.equal(res.status, 200);
    const last = safe.calls.at(-1);
    assert.ok(last?.type === 'text' && last.Content === 'genuine');
  });

  test('a plaintext push to a handler with an EncodingAESKey (downgrade): 403', async () => {
    const before = safe.calls.length;
    const e = await errorOf(
      await fetch(`${safe.url}?${plainQuery()}`, { method: 'POST', body: text('downgrade') }),
      403,
    );
    assert.equal(e.details?.reason, 'plaintext_refused');
    assert.equal(safe.calls.length, before);
  });

  test('an oversized body, announced or streamed: 413', async () => {
    const big = text('x'.repeat(10_000));
    await errorOf(await fetch(`${plain.url}?${plainQuery()}`, { method: 'POST', body: big }), 413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('<xml>'.repeat(200)));
        c.close();
      },
    });
    const res = await fetch(`${plain.url}?${plainQuery()}`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    await errorOf(res, 413);
    assert.equal(plain.calls.length, 0);
  });

  test('XML bombs, DOCTYPEs and external entities, plain or inside the ciphertext: 400', async () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&c;</Content></xml>';
    const xxe = '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>';
    for (const body of [bomb, xxe, `<xml>${'<a>'.repeat(1000)}</xml>`]) {
      const e = await errorOf(await fetch(`${plain.url}?${plainQuery()}`, { method: 'POST', body }), 400);
      assert.equal(e.details?.reason, 'bad_xml');
      const sealed = sealPush(body, { crypto, token: TOKEN, toUserName: 'gh' });
      const e2 = await errorOf(
        await fetch(`${safe.url}?${new URLSearchParams(sealed.query)}`, {
          method: 'POST',
          body: sealed.body,
        }),
        400,
      );
      assert.equal(e2.details?.reason, 'bad_xml');
    }
    assert.equal(plain.calls.length, 0);
  });

  test('a ciphertext for another appId, truncated or under another key: one answer for all (no padding oracle), the reason in the log', async () => {
    const otherApp = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: 'wxsomeoneelse0001' });
    const otherKey = createPushCrypto({ encodingAESKey: 'B'.repeat(43), receiveId: APP });
    const valid = crypto.encrypt(text('x'));
    const cases = [
      otherApp.encrypt(text('for another account')),
      otherKey.encrypt(text('another key')),
      valid.slice(0, 64),
      `${valid.slice(0, -8)}AAAAAAA=`,
    ];
    const bodies: string[] = [];
    const before = safe.calls.length;
    for (const encrypt of cases) {
      const timestamp = now();
      const query = new URLSearchParams({
        signature: pushSignature(TOKEN, timestamp, '7'),
        timestamp,
        nonce: '7',
        encrypt_type: 'aes',
        msg_signature: pushSignature(TOKEN, timestamp, '7', encrypt),
      });
      const res = await fetch(`${safe.url}?${query}`, {
        method: 'POST',
        body: writeXml({ ToUserName: 'gh', Encrypt: encrypt }),
      });
      assert.equal(res.status, 400);
      bodies.push(await res.text());
    }
    assert.equal(new Set(bodies).size, 1, bodies.join('\n'));
    assert.match(bodies[0] as string, /cannot be decrypted/);
    assert.equal(safe.calls.length, before);
    const reasons = safe.logs.filter((l) => l.msg === 'push refused').map((l) => l.reason);
    assert.ok(reasons.includes('wrong_receive_id'), JSON.stringify(reasons));
  });

  test('a validly signed push replayed later (timestamp outside the window): 401; within it, answered from the record', async () => {
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    const e = await errorOf(
      await fetch(`${plain.url}?${plainQuery(TOKEN, old)}`, { method: 'POST', body: text('old') }),
      401,
    );
    assert.equal(e.details?.reason, 'stale_timestamp');
    const future = String(Math.floor(Date.now() / 1000) + 3600);
    await errorOf(
      await fetch(`${plain.url}?${plainQuery(TOKEN, future)}`, { method: 'POST', body: text('future') }),
      401,
    );
    const query = plainQuery();
    const body = text('replayed', '9990001');
    const before = plain.calls.length;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${plain.url}?${query}`, { method: 'POST', body });
      assert.equal(res.status, 200);
    }
    assert.equal(plain.calls.length, before + 1, 'the replays did not run the handler');
  });

  test('URL verification: a forged signature 401, a missing echostr 400, the genuine one answered verbatim', async () => {
    const timestamp = now();
    const good = new URLSearchParams({
      signature: pushSignature(TOKEN, timestamp, '1'),
      timestamp,
      nonce: '1',
      echostr: '8675309',
    });
    const res = await fetch(`${plain.url}?${good}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '8675309');
    good.set('signature', pushSignature('wrong', timestamp, '1'));
    await errorOf(await fetch(`${plain.url}?${good}`), 401);
    good.delete('echostr');
    await errorOf(await fetch(`${plain.url}?${good}`), 400);
  });

  test('other methods 405 (with Allow), other paths 404, bodies that are not UTF-8, JSON with __proto__: 400', async () => {
    const put = await fetch(plain.url, { method: 'PUT', body: 'x' });
    await errorOf(put, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST');
    await errorOf(await fetch(`${plain.url}/../other`), 404);
    await errorOf(
      await fetch(`${plain.url}?${plainQuery()}`, {
        method: 'POST',
        body: new Uint8Array([0x3c, 0xff, 0xfe]),
      }),
      400,
    );
    const proto =
      '{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"text","__proto__":{"polluted":1}}';
    const e = await errorOf(
      await fetch(`${plain.url}?${plainQuery()}`, { method: 'POST', body: proto }),
      400,
    );
    assert.equal(e.details?.reason, 'bad_json');
    assert.equal(({} as { polluted?: number }).polluted, undefined);
    await errorOf(
      await fetch(`${plain.url}?${plainQuery()}`, {
        method: 'POST',
        body: '<xml><MsgType>text</MsgType></xml>',
      }),
      400,
    );
  });

  test('onMessage that throws: an error answer (WeChat tries again), no stack; a non-reply: success and a log line', async () => {
    const server = await pushServer({
      account,
      onMessage(m) {
        if (m.type === 'text' && m.Content === 'throw') throw new Error('handler bug at /srv/app.js:12');
        return { type: 'nonsense' } as never;
      },
    });
    try {
      const failed = await fetch(`${server.url}?${plainQuery()}`, { method: 'POST', body: text('throw') });
      assert.equal(failed.status, 500);
      const body = await failed.text();
      assert.match(body, /"code":"internal"/);
      assert.doesNotMatch(body, /handler bug|app\.js|at /);
      const nonsense = await fetch(`${server.url}?${plainQuery()}`, {
        method: 'POST',
        body: text('nonsense'),
      });
      assert.equal(nonsense.status, 200);
      assert.equal(await nonsense.text(), 'success');
      assert.deepEqual(
        server.logs.filter((l) => l.level === 'error').map((l) => l.msg),
        ['onMessage failed', 'push reply is invalid'],
      );
    } finally {
      await server.close();
    }
  });
});
