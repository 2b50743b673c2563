// The service's push forwarding (SPEC §11): every URL gets each message; a failure before WeChat's
// deadline is "not acknowledged", after it the delivery is retried here; the first URL's answer is the reply.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { verifyForwardSignature } from '../../src/forward.ts';
import {
  ForwardNotAcknowledged,
  type ForwardPlan,
  forwardMessage,
  readForwardAnswer,
} from '../../src/http/push-forward.ts';

const SECRET = 'forward-secret-0123456789';

interface Receiver {
  url: string;
  got: Array<{ body: string; id: string | undefined; signed: boolean }>;
  /** Answers to give, in order (then the last one again): a status and a body. */
  answers: Array<[number, string]>;
  server: Server;
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', got: [], answers: [[200, '{}']], server: undefined as unknown as Server };
  r.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      r.got.push({
        body,
        id: req.headers['x-wxkit-message-id'] as string | undefined,
        signed: verifyForwardSignature(SECRET, body, req.headers['x-wxkit-signature'] as string),
      });
      const [status, text] = (r.answers.length > 1 ? r.answers.shift() : r.answers[0]) as [number, string];
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  return r;
}

describe('push forwarding', () => {
  let a: Receiver;
  let b: Receiver;
  before(async () => {
    a = await receiver();
    b = await receiver();
  });
  after(() => {
    for (const r of [a, b]) {
      r.server.closeAllConnections();
      r.server.close();
    }
  });

  const plan = (over: Partial<ForwardPlan> = {}): ForwardPlan => ({
    urls: [a.url, b.url],
    secret: SECRET,
    timeoutMs: 2_000,
    deadlineMs: 4_500,
    retryDelaysMs: [10, 10, 10],
    ...over,
  });

  test('every URL gets the signed message with its id; the first URL’s reply is the answer', async () => {
    a.got.length = 0;
    b.got.length = 0;
    a.answers = [[200, '{"reply":{"type":"text","content":"hi"}}']];
    b.answers = [[200, '{"reply":{"type":"text","content":"ignored"}}']];
    const reply = await forwardMessage(plan(), 'id-1', '{"m":1}');
    assert.deepEqual(reply, { type: 'text', content: 'hi' });
    for (const r of [a, b]) {
      assert.equal(r.got.length, 1);
      assert.equal(r.got[0]?.id, 'id-1');
      assert.equal(r.got[0]?.signed, true);
      assert.equal(r.got[0]?.body, '{"m":1}');
    }
  });

  test('a URL that fails before the deadline: not acknowledged (WeChat will try again)', async () => {
    b.answers = [[503, 'down']];
    await assert.rejects(forwardMessage(plan(), 'id-2', '{}'), (e: unknown) => {
      assert.ok(e instanceof ForwardNotAcknowledged);
      assert.equal(e.failures[0]?.status, 503);
      return true;
    });
    b.answers = [[200, '{}']];
  });

  test('a URL that fails after the deadline is retried until it takes the message; the reply waits for URL 1 only', async () => {
    a.got.length = 0;
    b.got.length = 0;
    a.answers = [
      [503, 'busy'],
      [503, 'busy'],
      [200, '{"reply":{"type":"text","content":"late"}}'],
    ];
    b.answers = [[200, '{}']];
    // The clock says the deadline has passed by the time the first round fails.
    let t = 0;
    const reply = await forwardMessage(plan({ now: () => (t += 5_000) }), 'id-3', '{"m":3}');
    assert.deepEqual(reply, { type: 'text', content: 'late' });
    assert.equal(a.got.length, 3);
    assert.ok(a.got.every((g) => g.id === 'id-3'));
    assert.equal(b.got.length, 1);
  });

  test('retries after the deadline end after the last delay, with an error line naming no content', async () => {
    a.answers = [[200, '{}']];
    b.answers = [[500, 'no']];
    b.got.length = 0;
    const lines: Array<Record<string, unknown>> = [];
    let t = 0;
    const reply = await forwardMessage(
      plan({ now: () => (t += 5_000), log: (e) => lines.push(e) }),
      'id-4',
      '{"secret-content":1}',
    );
    assert.equal(reply, undefined);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(b.got.length, 4);
    const last = lines.at(-1);
    assert.equal(last?.msg, 'push forward gave up after the deadline');
    assert.equal(last?.messageId, 'id-4');
    assert.ok(!JSON.stringify(lines).includes('secret-content'));
    b.answers = [[200, '{}']];
  });

  test('readForwardAnswer: {} and empty are no reply; non-JSON is invalid; the reply object is passed on', () => {
    assert.equal(readForwardAnswer(''), undefined);
    assert.equal(readForwardAnswer('{}'), undefined);
    assert.equal(readForwardAnswer('nope'), 'invalid');
    assert.equal(readForwardAnswer('[1]'), 'invalid');
    assert.deepEqual(readForwardAnswer('{"reply":{"type":"success"}}'), { type: 'success' });
  });
});
