// JSAPI payment end to end in Chromium (SPEC §12): the backend orders, the page calls wxkit.pay(), the
// simulator's cashier checks paySign and the pay directory, the notification reaches the merchant's
// forward URL once, verified; cancel, fail, an unregistered directory and a paid order reject with
// their diagnosis.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { verifyForwardSignature } from '../../src/forward.ts';
import { simPayClient, startReceiver } from '../pay/receiver.ts';
import { openPage } from './page.ts';
import { APP_ID, setUpStack } from './stack.ts';

const MCH = '1900000109';
const API_KEY = 'browser-pay-api-key-0123456789';
const FORWARD_SECRET = 'browser-pay-forward-secret';
const payOptions: Record<string, unknown> = {};
const env = setUpStack({
  mchs: [MCH],
  pageRoutes: ['/jssdk/', '/pay/', '/oauth/'],
  handlerOptions: {
    apiKeys: [API_KEY],
    sessionSecret: 'browser-pay-session-secret-0123456789',
    extra: { pay: payOptions },
  },
});
let forward: Awaited<ReturnType<typeof startReceiver>>;
let n = 0;

/** Fills in the pay options once the stack runs (the stack's own `before` starts it). */
async function ready(): Promise<void> {
  if (payOptions.client) return;
  forward = await startReceiver((r) =>
    verifyForwardSignature(FORWARD_SECRET, r.body, r.headers['x-wxkit-signature'] as string) ? 200 : 401,
  );
  const { sim, pagePort } = env.stack;
  Object.assign(payOptions, {
    client: simPayClient(sim),
    forward: [`${forward.url}/paid`],
    forwardSecret: FORWARD_SECRET,
    notifyUrl: `http://127.0.0.1:${pagePort}/pay/notify`,
  });
  sim.pay.setDirectories(['http://h5.example.com/shop/']);
}
after(() => forward?.close());

/** The merchant's backend creates an order for the simulator's first user (the one snsapi_base logs in). */
async function order(total = 1): Promise<string> {
  await ready();
  const outTradeNo = `B${Date.now()}${++n}`;
  const openid = env.stack.sim.state.app(APP_ID)?.users[0]?.openid;
  const res = await env.stack.handler(
    new Request('http://h5.example.com/v1/pay/orders', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ outTradeNo, description: 'wxkit e2e', total, openid }),
    }),
  );
  assert.equal(res.status, 201, await res.clone().text());
  return outTradeNo;
}

interface PayOutcome {
  ok?: string;
  code?: string;
  message?: string;
  errMsg?: string;
  diagnosis?: { reason: string; en: string; zh: string };
}

/** Logs in through OAuth (landing on `path`), configures the JS-SDK and pays. */
async function payOn(path: string, outTradeNo: string): Promise<PayOutcome> {
  const { context, page } = await openPage(
    env.browser,
    `http://h5.example.com/oauth/login?returnTo=${encodeURIComponent(path)}`,
  );
  try {
    assert.equal(new URL(page.url()).pathname, path);
    return await payIn(page, outTradeNo);
  } finally {
    await context.close();
  }
}

function payIn(page: Page, outTradeNo: string): Promise<PayOutcome> {
  // A string, not a function: the test's transpiler would add helpers the page does not have.
  return page.evaluate(`(async () => {
    await wxkit.configure({ sdkUrl: 'http://sim.example/jweixin.js', jsApiList: ['chooseWXPay'] });
    try { return { ok: await wxkit.pay(${JSON.stringify(outTradeNo)}) }; }
    catch (e) { return { code: e.code, message: e.message, errMsg: e.errMsg, diagnosis: e.diagnosis }; }
  })()`) as Promise<PayOutcome>;
}

function forwardedFor(outTradeNo: string): number {
  return forward.received.filter((r) => {
    const body = JSON.parse(r.body.toString()) as { resource?: { out_trade_no?: string } };
    return body.resource?.out_trade_no === outTradeNo;
  }).length;
}

test('order → wxkit.pay() → cashier → ok → the notification reaches the forward URL once, verified', async () => {
  const { sim } = env.stack;
  sim.pay.setOutcome('ok');
  const paid: string[] = [];
  for (let i = 0; i < 3; i++) {
    const no = await order();
    assert.deepEqual(await payOn('/shop/pay.html', no), { ok: 'ok' });
    paid.push(no);
  }
  await sim.pay.settle();
  for (const no of paid) {
    assert.equal(forwardedFor(no), 1);
    const note = sim.pay.notifications().find((x) => x.outTradeNo === no);
    assert.equal(note?.status, 'delivered');
    assert.equal(note?.probeAccepted, false, 'the service refused the SIGNTEST probe');
  }
  assert.ok(
    sim.pay.notifications().some((x) => x.attempts.some((a) => a.probe)),
    'a probe was sent',
  );
  // Paying the same order again: the service says it is paid, before WeChat is asked.
  const again = await payOn('/shop/pay.html', paid[0] as string);
  assert.equal(again.code, 'fail');
  assert.equal(again.diagnosis?.reason, 'order_paid');
});

test('cancel and fail reject with their code and WeChat’s errMsg', async () => {
  const { sim } = env.stack;
  try {
    sim.pay.setOutcome('cancel');
    const cancelled = await payOn('/shop/pay.html', await order());
    assert.equal(cancelled.code, 'cancel');
    assert.equal(cancelled.errMsg, 'chooseWXPay:cancel');
    sim.pay.setOutcome('fail');
    const failed = await payOn('/shop/pay.html', await order());
    assert.equal(failed.code, 'fail');
    assert.match(failed.errMsg ?? '', /^chooseWXPay:fail/);
  } finally {
    sim.pay.setOutcome('ok');
  }
});

test('a page outside the pay directory gets "当前页面的URL未注册" and the directory to register', async () => {
  const no = await order();
  const outcome = await payOn('/other/pay.html', no);
  assert.equal(outcome.code, 'fail');
  assert.match(outcome.errMsg ?? '', /当前页面的URL未注册/);
  assert.equal(outcome.diagnosis?.reason, 'pay_directory');
  assert.match(outcome.diagnosis?.zh ?? '', /http:\/\/h5\.example\.com\/other\//);
  assert.equal(forwardedFor(no), 0);
  // The same order, from the registered directory, still pays.
  assert.deepEqual(await payOn('/shop/pay.html', no), { ok: 'ok' });
});
