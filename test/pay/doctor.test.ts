// `wxkit doctor --pay` against the simulated gateway and a live wxkit service (SPEC §12).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { type Service, startService } from '../../src/serve/service.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { startReceiver } from './receiver.ts';

const APP = 'wxpaydoc000000001';
const MCH = '1900000109';

async function doctor(env: Record<string, string>, extra: string[] = []) {
  const out: string[] = [];
  const code = await main(['doctor', '--pay', ...extra], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    env,
    cwd: process.cwd(),
  });
  return { code, out: out.join('\n') };
}

describe('wxkit doctor --pay', () => {
  let sim: Simulator;
  let svc: Service;
  let env: Record<string, string>;
  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:secret`], mchs: [MCH] });
    const k = sim.pay.keys();
    env = {
      WXPAY_MCH_ID: MCH,
      WXPAY_SERIAL_NO: k.serialNo,
      WXPAY_PRIVATE_KEY: k.privateKey,
      WXPAY_API_V3_KEY: k.apiV3Key,
      WXPAY_PUBLIC_KEY: k.publicKey,
      WXPAY_PUBLIC_KEY_ID: k.publicKeyId,
      WXPAY_API_BASE: sim.url,
      WXPAY_NOTIFY_FORWARD: 'http://127.0.0.1:1/paid',
    };
    svc = await startService({
      env: {
        ...env,
        WX_APP_ID: APP,
        WX_APP_SECRET: 'secret',
        WX_API_BASE: sim.url,
        WX_OPEN_BASE: sim.url,
        WX_JS_DOMAINS: 'localhost',
        WXKIT_STORE: 'memory',
        PORT: '0',
        WXKIT_LOG: 'off',
      },
      cwd: process.cwd(),
      logLine: () => {},
    });
  });
  after(async () => {
    await svc.close();
    await sim.close();
  });

  test('a right set-up and a verifying notify URL: exit 0', async () => {
    const r = await doctor({ ...env, WXPAY_NOTIFY_URL: `${svc.url}/pay/notify` });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /✓ merchant key, serial and clock accepted/);
    assert.match(r.out, /✓ notify URL .* refuses unsigned notifications and probes/);
  });

  test('a wrong serial, a wrong public key id, a notify URL that accepts anything: exit 1, each named', async () => {
    const serial = await doctor({ ...env, WXPAY_SERIAL_NO: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01' }, [
      '--notify-url',
      `${svc.url}/pay/notify`,
    ]);
    assert.equal(serial.code, 1);
    assert.match(serial.out, /✗ merchant key or serial refused/);
    const keyId = await doctor({ ...env, WXPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0000000000' }, [
      '--notify-url',
      `${svc.url}/pay/notify`,
    ]);
    assert.match(keyId.out, /✗ the answer names a key wxkit does not have/);
    const careless = await startReceiver(() => 200);
    try {
      const r = await doctor(env, ['--notify-url', `${careless.url}/notify`]);
      assert.equal(r.code, 1);
      assert.match(r.out, /✗ notify URL accepted an unsigned notification/);
    } finally {
      await careless.close();
    }
  });

  test('a clock 10 minutes off the gateway is named as the clock', async () => {
    const skewed = await startSimulator({
      apps: [`${APP}:secret`],
      mchs: [MCH],
      now: Math.floor(Date.now() / 1000) - 600,
    });
    try {
      const k = skewed.pay.keys();
      const r = await doctor(
        {
          ...env,
          WXPAY_SERIAL_NO: k.serialNo,
          WXPAY_PRIVATE_KEY: k.privateKey,
          WXPAY_API_V3_KEY: k.apiV3Key,
          WXPAY_PUBLIC_KEY: k.publicKey,
          WXPAY_PUBLIC_KEY_ID: k.publicKeyId,
          WXPAY_API_BASE: skewed.url,
        },
        ['--notify-url', `${svc.url}/pay/notify`],
      );
      assert.equal(r.code, 1);
      assert.match(r.out, /✗ clock: 60\d s off WeChat Pay's/);
    } finally {
      await skewed.close();
    }
  });

  test('without WXPAY_MCH_ID: exit 1 naming it', async () => {
    const r = await doctor({});
    assert.equal(r.code, 1);
    assert.match(r.out, /WXPAY_MCH_ID is not set/);
  });
});
