// The payment routes of the service (SPEC §12) over real HTTP against the simulator: orders from the
// backend only, params only for the order's own user, notifications verified, forwarded once (also
// across two instances on one real Redis and after a forward outage), hostile input refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyForwardSignature } from '../../src/forward.ts';
import type { PayClient } from '../../src/pay/index.ts';
import { loadPrivateKey, loadPublicKey } from '../../src/pay/keys.ts';
import { verifyPaySign } from '../../src/pay/pay-sign.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import type { Store } from '../../src/stores/types.ts';
import { APP, Browser, SECRET, type Service, startService } from '../oauth/stack.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { simPayClient, startReceiver } from './receiver.ts';

const MCH = '1900000109';
const API_KEY = 'pay-test-api-key-0123456789';
const FORWARD_SECRET = 'forward-secret-0123456789';

describe('pay routes', () => {
  let sim: Simulator;
  let forward: Awaited<ReturnType<typeof startReceiver>>;
  let redis: RedisServer;
  const stores: Store[] = [];
  const services: Service[] = [];
  let svc: Service;
  let alice: string;
  let bob: string;
  let n = 0;
  const outTradeNo = () => `S${Date.now()}${++n}`;

  const client = (): PayClient => simPayClient(sim);

  const start = async (store: Store) => {
    stores.push(store);
    const s = await startService(sim, store, {
      apiKeys: [API_KEY],
      now: () => sim.state.nowMs(),
      extra: { pay: { client: client(), forward: [`${forward.url}/paid`], forwardSecret: FORWARD_SECRET } },
    });
    services.push(s);
    return s;
  };
  const createOrder = (s: Service, body: Record<string, unknown>, key = API_KEY) =>
    fetch(`${s.url}/v1/pay/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const login = async (s: Service, openid: string) => {
    const b = new Browser();
    const cb = await b.toCallback(s, { openid, scope: 'snsapi_userinfo' });
    await b.fetch(cb.href);
    return b;
  };
  const params = (b: Browser, s: Service, no: string) =>
    b.fetch(`${s.url}/pay/params`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outTradeNo: no }),
    });
  /** Forwarded bodies that the forward URL accepted, per out_trade_no. */
  const delivered = () => {
    const counts = new Map<string, number>();
    for (const r of forward.received) {
      if ((r as { accepted?: boolean }).accepted !== true) continue;
      const body = JSON.parse(r.body.toString()) as { resource: { out_trade_no: string } };
      counts.set(body.resource.out_trade_no, (counts.get(body.resource.out_trade_no) ?? 0) + 1);
    }
    return counts;
  };
  let forwardUp = true;
  let forwardDelayMs = 0;

  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:${SECRET}`], mchs: [MCH] });
    sim.pay.probeEvery(0);
    const users = sim.state.app(APP)?.users ?? [];
    alice = users[0]?.openid ?? '';
    bob = users[1]?.openid ?? '';
    forward = await startReceiver(async (r) => {
      if (forwardDelayMs) await new Promise((res) => setTimeout(res, forwardDelayMs));
      if (!forwardUp) return 503;
      assert.ok(verifyForwardSignature(FORWARD_SECRET, r.body, r.headers['x-wxkit-signature'] as string));
      (r as { accepted?: boolean }).accepted = true;
      return 200;
    });
    redis = await startRedisServer();
    svc = await start(createMemoryStore());
  });
  after(async () => {
    for (const s of services) await s.close();
    for (const s of stores) await s.close();
    await sim.close();
    await forward.close();
    await redis.stop();
  });

  test('orders need the API key; amounts must be integer fen (JSON error shape)', async () => {
    const no = outTradeNo();
    const base = { outTradeNo: no, description: 'coffee', total: 1, openid: alice };
    const anonymous = await createOrder(svc, base, 'wrong-key-0000000000000');
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'unauthorized');
    for (const total of [0.01, '1', 1.5, -1, 0]) {
      const res = await createOrder(svc, { ...base, total });
      assert.equal(res.status, 400);
      const body = (await res.json()) as {
        error: { code: string; message: string; hint: string; details: { reason: string } };
      };
      assert.equal(body.error.code, 'invalid_request');
      assert.equal(body.error.details.reason, 'invalid_input');
      assert.ok(body.error.hint);
    }
    const ok = await createOrder(svc, base);
    assert.equal(ok.status, 201);
    const again = await createOrder(svc, base);
    assert.deepEqual(await again.json(), await ok.json(), 'the same order twice: the same prepay_id');
    const changed = await createOrder(svc, { ...base, total: 2 });
    assert.equal(changed.status, 409);
    assert.equal(
      ((await changed.json()) as { error: { details: { reason: string } } }).error.details.reason,
      'OUT_TRADE_NO_USED',
    );
  });

  test("params: only the order's own logged-in user gets them; others, strangers and unknown orders do not", async () => {
    const no = outTradeNo();
    const created = (await (
      await createOrder(svc, { outTradeNo: no, description: 'tea', total: 1, openid: alice })
    ).json()) as { prepayId: string };
    const a = await login(svc, alice);
    const res = await params(a, svc, no);
    assert.equal(res.status, 200);
    const p = (await res.json()) as {
      appId: string;
      timestamp: string;
      nonceStr: string;
      package: string;
      signType: string;
      paySign: string;
    };
    assert.equal(p.package, `prepay_id=${created.prepayId}`);
    assert.equal(p.appId, APP);
    const merchant = loadPublicKey(loadPrivateKey(sim.pay.keys().privateKey));
    assert.ok(
      verifyPaySign(
        { appId: p.appId, timeStamp: p.timestamp, nonceStr: p.nonceStr, package: p.package },
        p.paySign,
        merchant,
      ),
    );

    const b = await login(svc, bob);
    const stolen = await params(b, svc, no);
    assert.equal(stolen.status, 404);
    const body = (await stolen.json()) as { error: { code: string; details: { reason: string } } };
    assert.equal(body.error.code, 'not_found');
    assert.equal(JSON.stringify(body).includes(created.prepayId), false);
    assert.equal((await params(b, svc, 'NOSUCHORDER9')).status, 404);
    assert.equal((await params(new Browser(), svc, no)).status, 401);
    assert.equal((await params(a, svc, '../../x')).status, 400);

    sim.pay.payOrder(no);
    await sim.pay.settle();
    const paid = await params(a, svc, no);
    assert.equal(paid.status, 409);
    assert.equal(
      ((await paid.json()) as { error: { details: { reason: string } } }).error.details.reason,
      'ORDERPAID',
    );
  });

  test('a paid order is forwarded once, signed; a replay is harmless; forged, stale and unknown notifications are refused', async () => {
    const no = outTradeNo();
    await createOrder(svc, { outTradeNo: no, description: 'cake', total: 3, openid: alice });
    sim.pay.payOrder(no);
    await sim.pay.settle();
    const note = sim.pay.notifications().find((x) => x.outTradeNo === no);
    assert.equal(note?.status, 'delivered');
    assert.equal(delivered().get(no), 1);
    const fwd = forward.received.at(-1);
    const forwarded = JSON.parse(fwd?.body.toString() ?? '{}') as {
      eventType: string;
      resource: Record<string, unknown>;
    };
    assert.equal(forwarded.eventType, 'TRANSACTION.SUCCESS');
    assert.equal(forwarded.resource.trade_state, 'SUCCESS');
    assert.deepEqual(forwarded.resource.amount, {
      total: 3,
      payer_total: 3,
      currency: 'CNY',
      payer_currency: 'CNY',
    });

    const headers = note?.attempts.at(-1)?.headers ?? {};
    const post = (body: string, h: Record<string, string> = headers) =>
      fetch(`${svc.url}/pay/notify`, {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/json' },
        body,
      });
    const replay = await post(note?.body ?? '');
    assert.equal(replay.status, 204);
    assert.equal(delivered().get(no), 1, 'the replay was not forwarded again');

    const forged = await post((note?.body ?? '').replace('"id":"', '"id":"x'));
    assert.equal(forged.status, 401);
    const forgedBody = (await forged.json()) as { error: { code: string; details: { reason: string } } };
    assert.equal(forgedBody.error.code, 'unauthorized');
    assert.equal(forgedBody.error.details.reason, 'signature_invalid');
    const unsigned = await post(note?.body ?? '', {});
    assert.equal(
      ((await unsigned.json()) as { error: { details: { reason: string } } }).error.details.reason,
      'unsigned',
    );

    sim.advance(360);
    const stale = await post(note?.body ?? '');
    assert.equal(stale.status, 401);
    assert.equal(
      ((await stale.json()) as { error: { details: { reason: string } } }).error.details.reason,
      'timestamp_stale',
    );

    // A genuinely signed notification about an order this service never made.
    const stranger = `X${Date.now()}`;
    await client().jsapiOrder({
      appId: APP,
      description: 'elsewhere',
      outTradeNo: stranger,
      notifyUrl: `${svc.url}/pay/notify`,
      total: 1,
      openid: bob,
    });
    sim.pay.payOrder(stranger);
    await sim.pay.settle();
    const strangeNote = sim.pay.notifications().find((x) => x.outTradeNo === stranger);
    assert.equal(strangeNote?.attempts[0]?.result, 404);
    assert.equal(delivered().get(stranger), undefined);
  });

  test('forward URL down for 10 simulated minutes, then up: every paid order delivered exactly once', async () => {
    forwardUp = false;
    const orders = [outTradeNo(), outTradeNo(), outTradeNo()];
    for (const no of orders)
      await createOrder(svc, { outTradeNo: no, description: 'outage', total: 1, openid: alice });
    for (const no of orders) sim.pay.payOrder(no);
    await sim.pay.settle();
    for (let t = 0; t < 600; t += 30) {
      sim.advance(30);
      await sim.pay.settle();
    }
    for (const no of orders) assert.equal(delivered().get(no), undefined);
    forwardUp = true;
    for (let t = 0; t < 3600; t += 60) {
      sim.advance(60);
      await sim.pay.settle();
    }
    for (const no of orders) {
      assert.equal(delivered().get(no), 1, `${no} delivered once`);
      const note = sim.pay.notifications().find((x) => x.outTradeNo === no);
      assert.equal(note?.status, 'delivered');
      assert.ok((note?.attempts.length ?? 0) > 4, 'WeChat had to retry');
    }
  });

  test('two instances on one Redis receiving the same notification: delivered once', async () => {
    const a = await start(await createRedisStore({ url: redis.url }));
    const b = await start(await createRedisStore({ url: redis.url }));
    const no = outTradeNo();
    assert.equal(
      (await createOrder(a, { outTradeNo: no, description: 'twice', total: 1, openid: alice })).status,
      201,
    );
    // Capture a genuine notification: the first try goes to instance a's notify URL with the forward down.
    forwardUp = false;
    sim.pay.payOrder(no);
    await sim.pay.settle();
    forwardUp = true;
    forwardDelayMs = 300;
    try {
      const note = sim.pay.notifications().find((x) => x.outTradeNo === no);
      const headers = { ...(note?.attempts.at(-1)?.headers ?? {}), 'content-type': 'application/json' };
      const send = (s: Service) =>
        fetch(`${s.url}/pay/notify`, { method: 'POST', headers, body: note?.body ?? '' });
      const answers = await Promise.all([send(a), send(b), send(a), send(b)]);
      assert.deepEqual(answers.map((r) => r.status).sort(), [204, 204, 204, 204]);
      assert.equal(delivered().get(no), 1);
    } finally {
      forwardDelayMs = 0;
    }
  });
});
