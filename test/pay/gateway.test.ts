// The library (wxkit/pay) against the simulator's WeChat Pay gateway (SPEC §12): signed requests,
// verified answers, idempotent orders, typed errors, certificates, notifications on the retry schedule.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type createPay, isPayError, type PayClient } from '../../src/pay/index.ts';
import { loadPrivateKey, loadPublicKey } from '../../src/pay/keys.ts';
import { verifyPaySign } from '../../src/pay/pay-sign.ts';
import { authorization, payNonce } from '../../src/pay/signing.ts';
import { NOTIFY_RETRY_SCHEDULE, type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { simPayClient, startReceiver } from './receiver.ts';

const MCH = '1900000109';
const OLD_MCH = '1230000109';
const APP = 'wxpaytest00000001';

describe('wxkit/pay against the simulated gateway', () => {
  let sim: Simulator;
  let pay: PayClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const openid = 'oPAYUSER0000000000000001';
  let n = 0;
  const order = (over: Record<string, unknown> = {}) => ({
    appId: APP,
    description: 'wxkit test 0.01',
    outTradeNo: `T${Date.now()}${++n}`,
    notifyUrl: `${receiver.url}/notify`,
    total: 1,
    openid,
    ...over,
  });
  const clientFor = (over: Partial<Parameters<typeof createPay>[0]> = {}, mchId = MCH) =>
    simPayClient(sim, over, mchId);

  before(async () => {
    sim = await startSimulator({
      apps: [`${APP}:secret`],
      mchs: [MCH, { mchId: OLD_MCH, keyMode: 'certificate' }],
    });
    sim.pay.probeEvery(0);
    receiver = await startReceiver();
    pay = clientFor();
  });
  after(async () => {
    await sim.close();
    await receiver.close();
  });

  test('an order gives a prepay_id; the same order again gives the same one, never a second order', async () => {
    const o = order();
    const first = await pay.jsapiOrder(o);
    assert.match(first.prepayId, /^wx\w+/);
    assert.deepEqual(await pay.jsapiOrder(o), first);
    const tx = await pay.queryOrder(o.outTradeNo);
    assert.equal(tx.trade_state, 'NOTPAY');
    assert.deepEqual(tx.amount, { total: 1, currency: 'CNY' });
  });

  test('the same out_trade_no with another amount fails OUT_TRADE_NO_USED; after payment ORDERPAID', async () => {
    const o = order();
    await pay.jsapiOrder(o);
    await assert.rejects(
      pay.jsapiOrder({ ...o, total: 2 }),
      (e: unknown) => isPayError(e, 'OUT_TRADE_NO_USED') && e.status === 409,
    );
    sim.pay.payOrder(o.outTradeNo);
    await assert.rejects(pay.jsapiOrder(o), (e: unknown) => isPayError(e, 'ORDERPAID'));
    await assert.rejects(pay.closeOrder(o.outTradeNo), (e: unknown) => isPayError(e, 'ORDERPAID'));
    assert.equal((await pay.queryOrder(o.outTradeNo)).trade_state, 'SUCCESS');
  });

  test('amounts that are not positive integer fen are refused before any call', async () => {
    sim.reset();
    for (const total of [0.01, 1.5, '1', -1, 0, Number.NaN, 2 ** 60]) {
      await assert.rejects(
        pay.jsapiOrder(order({ total })),
        (e: unknown) => isPayError(e, 'invalid_input') && e.status === 400,
      );
    }
    assert.equal(sim.stats().calls['/v3/pay/transactions/jsapi'], undefined);
  });

  test('close then query: CLOSED; ordering it again fails ORDER_CLOSED; unknown orders ORDER_NOT_EXIST', async () => {
    const o = order();
    await pay.jsapiOrder(o);
    await pay.closeOrder(o.outTradeNo);
    assert.equal((await pay.queryOrder(o.outTradeNo)).trade_state, 'CLOSED');
    await assert.rejects(pay.jsapiOrder(o), (e: unknown) => isPayError(e, 'ORDER_CLOSED'));
    await assert.rejects(
      pay.queryOrder('NOSUCHORDER1'),
      (e: unknown) => isPayError(e, 'ORDER_NOT_EXIST') && e.status === 404,
    );
  });

  test('payParams: timestamp lower case, signType RSA, paySign verifies with the merchant key', async () => {
    const { prepayId } = await pay.jsapiOrder(order());
    const p = pay.payParams({ appId: APP, prepayId });
    assert.deepEqual(Object.keys(p).sort(), [
      'appId',
      'nonceStr',
      'package',
      'paySign',
      'signType',
      'timestamp',
    ]);
    assert.equal(p.package, `prepay_id=${prepayId}`);
    assert.equal(p.timestamp, String(sim.now()));
    const merchantPublic = loadPublicKey(loadPrivateKey(sim.pay.keys().privateKey));
    assert.ok(
      verifyPaySign(
        { appId: p.appId, timeStamp: p.timestamp, nonceStr: p.nonceStr, package: p.package },
        p.paySign,
        merchantPublic,
      ),
    );
  });

  test("a clock 6 minutes off: WeChat's SIGN_ERROR, named with the skew", async () => {
    const skewed = clientFor({ now: () => sim.state.nowMs() + 360_000 });
    await assert.rejects(skewed.jsapiOrder(order()), (e: unknown) => {
      assert.ok(isPayError(e, 'SIGN_ERROR'), String(e));
      assert.match(e.message, /360 s off/);
      assert.match(e.hint.en, /clock/);
      return true;
    });
  });

  test('the gateway refuses a millisecond timestamp, a wrong serial and a wrong key with SIGN_ERROR', async () => {
    const k = sim.pay.keys();
    const key = loadPrivateKey(k.privateKey);
    const send = async (ts: number, serialNo: string, privateKey = key) => {
      const path = `/v3/pay/transactions/out-trade-no/NOSUCHORDER1?mchid=${MCH}`;
      const auth = authorization(
        { mchId: MCH, serialNo, privateKey },
        { method: 'GET', pathAndQuery: path, body: '', timestamp: ts, nonce: payNonce() },
      );
      const res = await fetch(`${sim.url}${path}`, { headers: { authorization: auth } });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    };
    const ms = await send(sim.state.nowMs(), k.serialNo);
    assert.equal(ms.status, 401);
    assert.match(ms.body.message, /milliseconds/);
    assert.equal((await send(sim.now(), '0'.repeat(40))).body.code, 'SIGN_ERROR');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.equal((await send(sim.now(), k.serialNo, other)).body.code, 'SIGN_ERROR');
    assert.equal((await send(sim.now() - 301, k.serialNo)).body.code, 'SIGN_ERROR');
    assert.equal((await send(sim.now(), k.serialNo)).body.code, 'ORDER_NOT_EXIST');
  });

  test('answers are verified: a wrong public key, an unknown PUB_KEY_ID, an unsigned or replayed 2xx are refused', async () => {
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    await assert.rejects(clientFor({ publicKey: wrongKey }).jsapiOrder(order()), (e: unknown) =>
      isPayError(e, 'signature_invalid'),
    );
    await assert.rejects(clientFor({ publicKeyId: 'PUB_KEY_ID_0000' }).jsapiOrder(order()), (e: unknown) =>
      isPayError(e, 'unknown_serial'),
    );
    const stripping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      return new Response(await res.arrayBuffer(), {
        status: res.status,
        headers: { 'content-type': 'application/json' },
      });
    };
    await assert.rejects(clientFor({ fetch: stripping }).jsapiOrder(order()), (e: unknown) =>
      isPayError(e, 'unsigned'),
    );
    // A genuine answer recorded now and played back 6 minutes later.
    let recorded: { body: ArrayBuffer; headers: Headers; status: number } | undefined;
    const recording: typeof fetch = async (input, init) => {
      if (recorded)
        return new Response(recorded.body, { status: recorded.status, headers: recorded.headers });
      const res = await fetch(input, init);
      recorded = { body: await res.arrayBuffer(), headers: res.headers, status: res.status };
      return new Response(recorded.body, { status: res.status, headers: res.headers });
    };
    const replaying = clientFor({ fetch: recording });
    const o = order();
    await replaying.jsapiOrder(o);
    sim.advance(360);
    await assert.rejects(replaying.jsapiOrder(o), (e: unknown) => isPayError(e, 'timestamp_stale'));
  });

  test('older merchants: platform certificates are downloaded once, kept in the store, and verify answers', async () => {
    const store = createMemoryStore();
    sim.reset();
    const old = clientFor({ store }, OLD_MCH);
    await old.jsapiOrder(order());
    assert.equal(sim.stats().calls['/v3/certificates'], 1);
    const second = clientFor({ store }, OLD_MCH);
    await second.jsapiOrder(order());
    assert.equal(sim.stats().calls['/v3/certificates'], 1, 'the second process used the stored certificate');
    assert.ok(await store.get(`wxkit:pay:${OLD_MCH}:certificates`));
  });

  test('every network call has a deadline and takes an AbortSignal', async () => {
    sim.setFaults({ path: '/v3/pay/transactions/jsapi', latencyMs: 2000, times: 2 });
    try {
      await assert.rejects(
        clientFor({ timeoutMs: 100 }).jsapiOrder(order()),
        (e: unknown) => isPayError(e, 'network') && e.code === 'upstream_unavailable',
      );
      await assert.rejects(
        pay.jsapiOrder({ ...order(), signal: AbortSignal.abort() }),
        (e: unknown) => isPayError(e, 'network') && e.code === 'aborted',
      );
    } finally {
      sim.clearFaults();
    }
  });

  test('a paid order notifies; verifyNotification decrypts it; the retry schedule follows the virtual clock', async () => {
    let fails = 4;
    receiver.setAnswer(() => (fails-- > 0 ? 500 : 200));
    const o = order();
    await pay.jsapiOrder(o);
    const start = sim.now();
    sim.pay.payOrder(o.outTradeNo);
    await sim.pay.settle();
    // 15 s, 15 s, 30 s, 3 min: the fifth try succeeds.
    for (const step of NOTIFY_RETRY_SCHEDULE.slice(0, 4)) {
      sim.advance(step - 1);
      await sim.pay.settle();
      const mine = sim.pay.notifications().find((x) => x.outTradeNo === o.outTradeNo);
      assert.equal(mine?.status, 'pending', 'not before its time');
      sim.advance(1);
      await sim.pay.settle();
    }
    const mine = sim.pay.notifications().find((x) => x.outTradeNo === o.outTradeNo);
    assert.equal(mine?.status, 'delivered');
    assert.deepEqual(
      mine?.attempts.map((a) => a.at - start),
      [0, 15, 30, 60, 240],
    );
    const last = receiver.received.at(-1);
    assert.ok(last);
    const note = await pay.verifyNotification(last.headers, last.body);
    assert.equal(note.eventType, 'TRANSACTION.SUCCESS');
    assert.equal(note.resource.out_trade_no, o.outTradeNo);
    assert.equal(note.resource.trade_state, 'SUCCESS');
    receiver.setAnswer(() => 200);
  });

  test('a notification nobody answers is abandoned after the 15 retries (about 24 h)', async () => {
    receiver.setAnswer(() => 503);
    const o = order();
    await pay.jsapiOrder(o);
    sim.pay.payOrder(o.outTradeNo);
    await sim.pay.settle();
    for (const step of NOTIFY_RETRY_SCHEDULE) {
      sim.advance(step);
      await sim.pay.settle();
    }
    const mine = sim.pay.notifications().find((x) => x.outTradeNo === o.outTradeNo);
    assert.equal(mine?.status, 'abandoned');
    assert.equal(mine?.attempts.length, 16);
    assert.equal(
      NOTIFY_RETRY_SCHEDULE.reduce((a, b) => a + b, 0),
      24 * 3600 + 4 * 60,
    );
    receiver.setAnswer(() => 200);
  });

  test('SIGNTEST probes come before some notifications; a verifying receiver refuses them', async () => {
    sim.pay.probeEvery(1);
    receiver.setAnswer(async (r) => {
      try {
        await pay.verifyNotification(r.headers, r.body);
        return 204;
      } catch (e) {
        return isPayError(e, 'signtest_probe') ? 401 : 400;
      }
    });
    try {
      const o = order();
      await pay.jsapiOrder(o);
      sim.pay.payOrder(o.outTradeNo);
      await sim.pay.settle();
      const mine = sim.pay.notifications().find((x) => x.outTradeNo === o.outTradeNo);
      assert.deepEqual(
        mine?.attempts.map((a) => [a.probe === true, a.result]),
        [
          [true, 401],
          [false, 204],
        ],
      );
      assert.equal(mine?.probeAccepted, false);
      assert.equal(mine?.status, 'delivered');
    } finally {
      sim.pay.probeEvery(0);
      receiver.setAnswer(() => 200);
    }
  });

  test('refunds: idempotent on out_refund_no, bounded by the total, and notified', async () => {
    const o = order({ total: 300 });
    await pay.jsapiOrder(o);
    await assert.rejects(
      pay.refund({ outTradeNo: o.outTradeNo, outRefundNo: `R${o.outTradeNo}`, refund: 100, total: 300 }),
      (e: unknown) => isPayError(e, 'INVALID_REQUEST'),
    );
    sim.pay.payOrder(o.outTradeNo);
    await sim.pay.settle();
    const before = receiver.received.length;
    const r = await pay.refund({
      outTradeNo: o.outTradeNo,
      outRefundNo: `R${o.outTradeNo}`,
      refund: 100,
      total: 300,
    });
    assert.equal(r.status, 'PROCESSING');
    const again = await pay.refund({
      outTradeNo: o.outTradeNo,
      outRefundNo: `R${o.outTradeNo}`,
      refund: 100,
      total: 300,
    });
    assert.equal(again.refund_id, r.refund_id);
    await assert.rejects(
      pay.refund({ outTradeNo: o.outTradeNo, outRefundNo: `R2${o.outTradeNo}`, refund: 201, total: 300 }),
      (e: unknown) => isPayError(e, 'NOT_ENOUGH'),
    );
    await sim.pay.settle();
    const notes = receiver.received.slice(before);
    assert.equal(notes.length, 1);
    const note = await pay.verifyNotification(notes[0]?.headers ?? {}, notes[0]?.body ?? '');
    assert.equal(note.eventType, 'REFUND.SUCCESS');
    assert.equal(note.resource.refund_status, 'SUCCESS');
    assert.equal((await pay.queryOrder(o.outTradeNo)).trade_state, 'REFUND');
  });
});
