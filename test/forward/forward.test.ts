// Forwarding to the team's services (SPEC §11/§12): signed, bounded in time, 2xx only counts.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ForwardFailure, forwardJson, forwardSignature, verifyForwardSignature } from '../../src/forward.ts';

describe('forwardJson', () => {
  let server: Server;
  let base: string;
  const seen: { body: string; sig: string | undefined }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ body, sig: req.headers['x-wxkit-signature'] as string | undefined });
        if (req.url === '/ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"reply":{}}');
        else if (req.url === '/fail') res.writeHead(503).end('down');
        else if (req.url === '/stall-body') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"rep');
          // never ends
        } else if (req.url === '/hang') {
          // never answers
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a 2xx answer resolves with its body; the body is signed with HMAC-SHA256', async () => {
    const body = JSON.stringify({ a: 1, text: '中文' });
    const answer = await forwardJson(`${base}/ok`, body, { secret: 's3cret' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '{"reply":{}}');
    const last = seen.at(-1);
    assert.equal(last?.body, body);
    assert.equal(last?.sig, forwardSignature('s3cret', body));
    assert.ok(verifyForwardSignature('s3cret', body, last?.sig));
    assert.ok(!verifyForwardSignature('other', body, last?.sig));
    assert.ok(!verifyForwardSignature('s3cret', `${body} `, last?.sig));
    assert.ok(!verifyForwardSignature('s3cret', body, undefined));
  });

  test('a non-2xx answer is a status failure', async () => {
    await assert.rejects(forwardJson(`${base}/fail`, '{}'), (e: unknown) => {
      assert.ok(e instanceof ForwardFailure);
      assert.equal(e.reason, 'status');
      assert.equal(e.status, 503);
      return true;
    });
  });

  test('a receiver that never answers, or stalls its body, times out', async () => {
    for (const path of ['/hang', '/stall-body']) {
      await assert.rejects(
        forwardJson(`${base}${path}?key=secret`, '{}', { timeoutMs: 300 }),
        (e: unknown) => {
          assert.ok(e instanceof ForwardFailure);
          assert.equal(e.reason, 'timeout');
          assert.ok(!e.message.includes('secret'), 'the query never reaches the message');
          return true;
        },
      );
    }
  });

  test('an unreachable URL is a network failure', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    await assert.rejects(forwardJson(`http://127.0.0.1:${port}/x`, '{}'), (e: unknown) => {
      assert.ok(e instanceof ForwardFailure);
      assert.equal(e.reason, 'network');
      return true;
    });
  });
});
