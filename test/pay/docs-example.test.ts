// docs/pay.md's library example (test/api/examples/pay-library.ts) runs against the simulator, with the
// environment variables a merchant would set.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.ts';
import { payOf } from '../../src/simulator/pay/registry.ts';

const APP = 'wxdocpay000000001';
const MCH = '1900000109';

test('docs/pay.md: order, payParams and a verified notification', async () => {
  const sim = await startSimulator({ apps: [`${APP}:secret`], mchs: [MCH] });
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-pay-doc-'));
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const k = sim.pay.keys();
  writeFileSync(join(dir, 'apiclient_key.pem'), k.privateKey);
  writeFileSync(join(dir, 'pub_key.pem'), k.publicKey);
  const openid = sim.state.app(APP)?.users[0]?.openid ?? '';
  Object.assign(process.env, {
    WX_APP_ID: APP,
    WXPAY_MCH_ID: MCH,
    WXPAY_SERIAL_NO: k.serialNo,
    WXPAY_PRIVATE_KEY: join(dir, 'apiclient_key.pem'),
    WXPAY_API_V3_KEY: k.apiV3Key,
    WXPAY_PUBLIC_KEY: join(dir, 'pub_key.pem'),
    WXPAY_PUBLIC_KEY_ID: k.publicKeyId,
    WXPAY_API_BASE: sim.url,
    PAYER_OPENID: openid,
  });
  const ex = await import('../api/examples/pay-library.ts');
  assert.equal(ex.params.package, `prepay_id=${ex.prepayId}`);
  assert.equal(ex.params.signType, 'RSA');
  // Pay it, capture the notification as the merchant's server receives it, and hand it to onNotify.
  sim.pay.probeEvery(0);
  const outTradeNo = [...(payOf(sim.state)?.pay.mch(MCH)?.orders.keys() ?? [])][0] ?? '';
  const tx = await ex.pay.queryOrder(outTradeNo);
  assert.equal(tx.trade_state, 'NOTPAY');
  sim.pay.payOrder(tx.out_trade_no);
  await sim.pay.settle();
  const note = sim.pay.notifications()[0];
  assert.ok(note);
  const verified = await ex.onNotify(note.attempts[0]?.headers ?? {}, Buffer.from(note.body));
  assert.equal(verified.resource.out_trade_no, tx.out_trade_no);
});
