// WXPAY_* for `wxkit serve` (SPEC §12): read, checked without quoting secrets, and wired to the routes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readPaySettings } from '../../src/serve/pay-config.ts';
import { startService } from '../../src/serve/service.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

const APP = 'wxpaycfg000000001';
const MCH = '1900000109';
const API_KEY = 'pay-config-api-key-0123456789';

describe('WXPAY_* settings', () => {
  let sim: Simulator;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:secret`], mchs: [MCH] });
    dir = mkdtempSync(join(tmpdir(), 'wxkit-pay-config-'));
    const k = sim.pay.keys();
    writeFileSync(join(dir, 'apiclient_key.pem'), k.privateKey);
    env = {
      WXPAY_MCH_ID: MCH,
      WXPAY_SERIAL_NO: k.serialNo,
      WXPAY_PRIVATE_KEY: 'apiclient_key.pem',
      WXPAY_API_V3_KEY: k.apiV3Key,
      WXPAY_PUBLIC_KEY: k.publicKey.replace(/\n/g, '\\n'),
      WXPAY_PUBLIC_KEY_ID: k.publicKeyId,
      WXPAY_API_BASE: sim.url,
      WXPAY_NOTIFY_FORWARD: 'http://127.0.0.1:1/paid',
      WXPAY_NOTIFY_FORWARD_SECRET: 'forward-secret-0123456789',
    };
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('unset: payment off; a key path and one-line PEM are read', () => {
    assert.equal(readPaySettings({}, dir), undefined);
    const s = readPaySettings(env, dir);
    assert.match(s?.privateKey ?? '', /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(s?.publicKey ?? '', /^-----BEGIN PUBLIC KEY-----\n/);
    assert.deepEqual(s?.forward, ['http://127.0.0.1:1/paid']);
  });

  test('mistakes name the variable, never a secret value', () => {
    const bad = (over: Record<string, string | undefined>, pattern: RegExp) => {
      const e = { ...env, ...over } as Record<string, string>;
      for (const [k, v] of Object.entries(over)) if (v === undefined) delete e[k];
      assert.throws(
        () => readPaySettings(e, dir),
        (err: Error & { code?: string }) =>
          err.code === 'config_error' &&
          pattern.test(err.message) &&
          !err.message.includes(env.WXPAY_API_V3_KEY as string),
      );
    };
    bad({ WXPAY_MCH_ID: undefined }, /WXPAY_SERIAL_NO is set but WXPAY_MCH_ID is not/);
    bad({ WXPAY_MCH_ID: 'abc' }, /WXPAY_MCH_ID/);
    bad({ WXPAY_API_V3_KEY: undefined }, /WXPAY_API_V3_KEY is required/);
    bad({ WXPAY_NOTIFY_FORWARD: undefined }, /WXPAY_NOTIFY_FORWARD is required/);
    bad({ WXPAY_PUBLIC_KEY_ID: undefined }, /go together/);
    bad({ WXPAY_PRIVATE_KEY: 'missing.pem' }, /WXPAY_PRIVATE_KEY is neither PEM text nor a readable file/);
    bad({ WXPAY_NOTIFY_FORWARD_SECRET: 'short' }, /at least 16/);
  });

  test('wxkit serve with WXPAY_* creates orders on the gateway; a bad APIv3 key stops the start', async () => {
    const base = {
      WX_APP_ID: APP,
      WX_APP_SECRET: 'secret',
      WX_API_BASE: sim.url,
      WX_OPEN_BASE: sim.url,
      WX_JS_DOMAINS: 'localhost',
      WXKIT_STORE: 'memory',
      WXKIT_API_KEYS: API_KEY,
      PORT: '0',
      WXKIT_LOG: 'off',
    };
    const svc = await startService({ env: { ...base, ...env }, cwd: dir, logLine: () => {} });
    try {
      const openid = sim.state.app(APP)?.users[0]?.openid;
      const res = await fetch(`${svc.url}/v1/pay/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ outTradeNo: 'CFG20261207001', description: 'tea', total: 1, openid }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      assert.match(((await res.json()) as { prepayId: string }).prepayId, /^wx/);
    } finally {
      await svc.close();
    }
    await assert.rejects(
      startService({
        env: { ...base, ...env, WXPAY_API_V3_KEY: 'too-short-key' },
        cwd: dir,
        logLine: () => {},
      }),
      (e: Error & { code?: string }) => e.code === 'config_error' && !e.message.includes('too-short-key'),
    );
  });
});
