// The service's push forwarding (SPEC §11): every URL gets each message, the first URL's answer is the
// reply, and what a URL did not take waits in the store's outbox until it does.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { verifyForwardSignature } from '../../src/forward.ts';
import {
  deliverRound,
  type ForwardPlan,
  forwardMessage,
  readForwardAnswer,
} from '../../src/http/push-forward.ts';
import { backoffMs, Outbox, type OutboxEntry } from '../../src/http/push-outbox.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Store } from '../../src/stores/types.ts';

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
    ...over,
  });
  const reset = () => {
    a.got.length = 0;
    b.got.length = 0;
  };

  test('every URL gets the signed message with its id; the first URL’s reply is the answer', async () => {
    reset();
    a.answers = [[200, '{"reply":{"type":"text","content":"hi"}}']];
    b.answers = [[200, '{"reply":{"type":"text","content":"ignored"}}']];
    const kept: number[][] = [];
    const reply = await forwardMessage(plan(), 'id-1', '{"m":1}', async (p) => {
      kept.push(p);
    });
    assert.deepEqual(reply, { type: 'text', content: 'hi' });
    assert.deepEqual(kept, []);
    for (const r of [a, b]) {
      assert.equal(r.got.length, 1);
      assert.equal(r.got[0]?.id, 'id-1');
      assert.equal(r.got[0]?.signed, true);
      assert.equal(r.got[0]?.body, '{"m":1}');
    }
  });

  test('a URL that is down or answers non-2xx is handed to the outbox before the answer', async () => {
    reset();
    a.answers = [[200, '{"reply":{"type":"text","content":"hi"}}']];
    b.answers = [[503, 'down']];
    const kept: number[][] = [];
    const reply = await forwardMessage(plan(), 'id-2', '{}', async (p) => {
      kept.push(p);
    });
    assert.deepEqual(reply, { type: 'text', content: 'hi' });
    assert.deepEqual(kept, [[1]]);
    const down = plan({ urls: ['http://127.0.0.1:9/nothing-listens-here', a.url] });
    const kept2: number[][] = [];
    assert.equal(
      await forwardMessage(down, 'id-2b', '{}', async (p) => {
        kept2.push(p);
      }),
      undefined,
    );
    assert.deepEqual(kept2, [[0]]);
    b.answers = [[200, '{}']];
  });

  test('the outbox delivers when due, backs off while the URL fails, and forgets the entry once it took it', async () => {
    reset();
    let now = 1_000_000;
    const outbox = new Outbox(createMemoryStore(), () => now);
    await outbox.add({ id: 'id-3', account: 'wx1', body: '{"m":3}', pending: [1], user: 'o1', attempts: 1 });
    b.answers = [
      [503, 'still down'],
      [200, '{}'],
    ];
    const deliver = async (e: OutboxEntry) => {
      const answers = new Map<number, string>();
      return (await deliverRound(plan(), e.pending, e.id, e.body, answers)).pending;
    };
    assert.equal(await outbox.sweep(deliver, () => {}), 0);
    assert.equal(b.got.length, 0, 'not due yet');
    now += backoffMs(1);
    assert.equal(await outbox.sweep(deliver, () => {}), 0);
    assert.equal(b.got.length, 1);
    assert.equal((await outbox.pending())[0]?.attempts, 2);
    now += backoffMs(2);
    assert.equal(await outbox.sweep(deliver, () => {}), 1);
    assert.equal(b.got.length, 2);
    assert.ok(b.got.every((g) => g.id === 'id-3' && g.signed));
    assert.deepEqual(await outbox.pending(), []);
  });

  test('two instances sweeping one store deliver an entry once', async () => {
    reset();
    b.answers = [[200, '{}']];
    let now = 0;
    const store = createMemoryStore();
    const one = new Outbox(store, () => now);
    const two = new Outbox(store, () => now);
    for (let i = 0; i < 20; i++) {
      await one.add({
        id: `m${i}`,
        account: 'wx1',
        body: `{"i":${i}}`,
        pending: [1],
        user: 'o1',
        attempts: 1,
      });
    }
    now += backoffMs(1);
    const deliver = async (e: OutboxEntry) =>
      (await deliverRound(plan(), e.pending, e.id, e.body, new Map())).pending;
    const [x, y] = await Promise.all([one.sweep(deliver, () => {}), two.sweep(deliver, () => {})]);
    assert.equal(x + y, 20);
    assert.equal(b.got.length, 20);
    assert.equal(new Set(b.got.map((g) => g.id)).size, 20);
  });

  test('the index is a store set: adding to a backlog of 2,000 costs the same few commands as the first; a store without sets still works', async () => {
    const counted = (store: Store) => {
      const calls: string[] = [];
      const wrapped = new Proxy(store, {
        get(target, name, receiver) {
          const v = Reflect.get(target, name, receiver);
          return typeof v === 'function'
            ? (...args: unknown[]) => {
                calls.push(String(name));
                return v.apply(target, args);
              }
            : v;
        },
      });
      return { store: wrapped, calls };
    };
    const entry = (i: number) => ({
      id: `b${i}`,
      account: 'wx1',
      body: '{}',
      pending: [0],
      user: 'o1',
      attempts: 1,
    });
    const { store, calls } = counted(createMemoryStore());
    const outbox = new Outbox(store, () => 0);
    await outbox.add(entry(0));
    const first = calls.length;
    for (let i = 1; i < 2_000; i++) await outbox.add(entry(i));
    calls.length = 0;
    await outbox.add(entry(2_000));
    assert.equal(calls.length, first, `commands for one add: ${calls.join(', ')}`);
    assert.ok(!calls.includes('get'), 'no index read on add');
    assert.equal((await outbox.pending()).length, 2_001);
    // A custom store without sets: the JSON index under its lock, same behaviour.
    const { addMembers: _a, removeMembers: _r, members: _m, ...plain } = createMemoryStore();
    let now = 0;
    const legacy = new Outbox(plain as Store, () => now);
    for (let i = 0; i < 3; i++) await legacy.add(entry(i));
    now += backoffMs(1);
    assert.equal(
      await legacy.sweep(
        async () => [],
        () => {},
      ),
      3,
    );
    assert.deepEqual(await legacy.pending(), []);
  });

  test('entries an older version indexed in the JSON key are still delivered after the upgrade to the set', async () => {
    const shared = createMemoryStore();
    const { addMembers: _a, removeMembers: _r, members: _m, ...plain } = shared;
    let now = 0;
    await new Outbox(plain as Store, () => now).add({
      id: 'old-index',
      account: 'wx1',
      body: '{}',
      pending: [0],
      user: 'o1',
      attempts: 1,
    });
    const upgraded = new Outbox(shared, () => now);
    await upgraded.add({
      id: 'new-index',
      account: 'wx1',
      body: '{}',
      pending: [0],
      user: 'o1',
      attempts: 1,
    });
    assert.deepEqual((await upgraded.pending()).map((e) => e.id).sort(), ['new-index', 'old-index']);
    now += backoffMs(1);
    const delivered: string[] = [];
    assert.equal(
      await upgraded.sweep(
        async (e) => {
          delivered.push(e.id);
          return [];
        },
        () => {},
      ),
      2,
    );
    assert.deepEqual(delivered.sort(), ['new-index', 'old-index']);
    assert.deepEqual(await upgraded.pending(), []);
  });

  test('an entry still undelivered after 48 hours is dropped with a give-up call (no content)', async () => {
    let now = 0;
    const outbox = new Outbox(createMemoryStore(), () => now);
    await outbox.add({
      id: 'old',
      account: 'wx1',
      body: '{"secret-content":1}',
      pending: [0],
      user: 'o1',
      attempts: 1,
    });
    const gaveUp: OutboxEntry[] = [];
    for (let i = 0; i < 200 && gaveUp.length === 0; i++) {
      now += 1_800_000;
      await outbox.sweep(
        async (e) => e.pending,
        (e) => gaveUp.push(e),
      );
    }
    assert.equal(gaveUp.length, 1);
    assert.equal(gaveUp[0]?.id, 'old');
    assert.ok(now <= 49 * 3600 * 1000);
    assert.deepEqual(await outbox.pending(), []);
  });

  test('readForwardAnswer: {} and empty are no reply; non-JSON is invalid; the reply object is passed on', () => {
    assert.equal(readForwardAnswer(''), undefined);
    assert.equal(readForwardAnswer('{}'), undefined);
    assert.equal(readForwardAnswer('nope'), 'invalid');
    assert.equal(readForwardAnswer('[1]'), 'invalid');
    assert.deepEqual(readForwardAnswer('{"reply":{"type":"success"}}'), { type: 'success' });
  });
});
