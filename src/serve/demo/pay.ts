import { ErrorCodes, WxkitError } from '../../errors.ts';
import { verifyForwardSignature } from '../../forward.ts';
import { json } from '../../http/reply.ts';
import type { Route } from '../../http/route.ts';
import { sessionUser } from '../../http/routes/oauth.ts';
import type { PayRouteOptions } from '../../http/routes/pay.ts';
import { placeOrder } from '../../http/routes/pay.ts';
import { createPay } from '../../pay/client.ts';

/**
 * The sandbox demo's payment: the simulator's test merchant, a "pay 0.01" button, and this
 * service itself as the forward URL so the page can show the notification arriving. Sandbox only: in
 * production orders come from the merchant's backend (`POST /v1/pay/orders`).
 */

/** Where the sandbox forwards verified notifications (a route of this service). */
export const SANDBOX_PAY_RECEIVED = '/__sandbox/pay/received';

interface Received {
  eventType: string;
  outTradeNo: string;
  tradeState: string;
}

/**
 * The pay options of the sandbox, from the simulator's test merchant (`GET /__sim/pay/keys`), or
 * `undefined` when the simulator has none.
 */
export async function sandboxPay(
  simulatorUrl: string,
  serviceBase: string,
  secret: string,
): Promise<PayRouteOptions | undefined> {
  const res = await fetch(`${simulatorUrl}/__sim/pay/keys`, { signal: AbortSignal.timeout(5_000) }).catch(
    () => undefined,
  );
  if (!res?.ok) return undefined;
  const k = (await res.json()) as {
    mchId: string;
    serialNo: string;
    privateKey: string;
    apiV3Key: string;
    publicKey: string;
    publicKeyId: string;
  };
  return {
    client: createPay({
      mchId: k.mchId,
      serialNo: k.serialNo,
      privateKey: k.privateKey,
      apiV3Key: k.apiV3Key,
      publicKey: k.publicKey,
      publicKeyId: k.publicKeyId,
      apiBase: simulatorUrl,
    }),
    forward: [`${serviceBase}${SANDBOX_PAY_RECEIVED}`],
    forwardSecret: secret,
    notifyUrl: `${serviceBase}/pay/notify`,
  };
}

/** `POST /__sandbox/pay/order` (a 0.01 order for the logged-in user) and the sandbox's forward URL. */
export function sandboxPayRoutes(secret: string): Route[] {
  const received: Received[] = [];
  return [
    {
      method: 'POST',
      path: '/__sandbox/pay/order',
      cors: false,
      async handle(ctx) {
        const user = await sessionUser(ctx);
        if (!user?.openid) {
          throw new WxkitError(
            ErrorCodes.UNAUTHORIZED,
            'Log in with WeChat first (the order is for your openid).',
            {
              hint: { en: 'Use the login button below.', zh: '请先点击下方的“用微信登录”。' },
            },
          );
        }
        const outTradeNo = `SBX${Date.now()}${Math.floor(Math.random() * 1000)}`;
        return json(
          201,
          await placeOrder(ctx, {
            outTradeNo,
            description: 'wxkit sandbox 0.01',
            total: 1,
            openid: user.openid,
          }),
        );
      },
    },
    {
      method: 'POST',
      path: SANDBOX_PAY_RECEIVED,
      cors: false,
      rateLimit: false,
      async handle(ctx) {
        const body = await ctx.body();
        if (!verifyForwardSignature(secret, body, ctx.input.header('x-wxkit-signature'))) {
          throw new WxkitError(ErrorCodes.UNAUTHORIZED, 'Bad X-Wxkit-Signature.');
        }
        const note = JSON.parse(Buffer.from(body).toString('utf8')) as {
          eventType: string;
          resource: Record<string, unknown>;
        };
        received.push({
          eventType: note.eventType,
          outTradeNo: String(note.resource.out_trade_no),
          tradeState: String(note.resource.trade_state ?? note.resource.refund_status),
        });
        if (received.length > 50) received.shift();
        return json(200, {});
      },
    },
    { method: 'GET', path: SANDBOX_PAY_RECEIVED, cors: false, handle: () => json(200, { received }) },
  ];
}

/** The demo page's payment section. Inline script, no framework; values reach the page through `textContent`. */
export function demoPaySection(): string {
  return `<section id="pay">
  <h2>微信支付 / WeChat Pay (JSAPI)</h2>
  <p>Log in first; the sandbox then creates a 0.01 order for you, the simulator's cashier takes it, and the
  verified notification is forwarded back here.</p>
  <button id="pay-001" type="button">pay 0.01 / 支付 0.01 元</button>
  <div id="pay-state" data-state="idle">wxkit.pay: not started</div>
</section>
<script>
(function () {
  var el = document.getElementById('pay-state');
  function show(state, text) { el.dataset.state = state; el.textContent = text; }
  function waitFor(no, tries) {
    return fetch('${SANDBOX_PAY_RECEIVED}').then(function (r) { return r.json(); }).then(function (d) {
      var hit = d.received.filter(function (n) { return n.outTradeNo === no; })[0];
      if (hit) return hit;
      if (tries <= 0) throw new Error('no notification yet');
      return new Promise(function (r) { setTimeout(r, 300); }).then(function () { return waitFor(no, tries - 1); });
    });
  }
  document.getElementById('pay-001').addEventListener('click', function () {
    show('pending', 'Creating a 0.01 order…');
    var no;
    fetch('/__sandbox/pay/order', { method: 'POST' })
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) throw new Error(d.error.message); return d; }); })
      .then(function (order) { no = order.outTradeNo; show('pending', 'wxkit.pay(' + no + ')…'); return window.wxkit.pay(no); })
      .then(function () { show('pending', 'Paid; waiting for the notification…'); return waitFor(no, 20); })
      .then(function (n) { show('ok', 'Paid ' + no + ': ' + n.eventType + ' (' + n.tradeState + ') reached the forward URL.'); })
      .catch(function (e) { show('error', 'wxkit.pay: ' + (e.code ? e.code + ' — ' : '') + e.message); });
  });
})();
</script>`;
}
