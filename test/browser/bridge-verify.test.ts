import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { verifyBridgeConfig } from '../../src/simulator/bridge/verify.ts';
import { SimState } from '../../src/simulator/state.ts';

// The JS bridge's wx.config checks, without a browser: what WeChat's client verifies, in its order.

const APP = 'wxverify000000001';

function setup(jsDomains = ['h5.example.com', 'example.org/h5', 'localhost']) {
  const state = new SimState({ apps: [{ appId: APP, secret: 's', jsDomains }], now: 1_700_000_000 });
  const app = state.app(APP);
  assert.ok(app);
  const ticket = state.issueTicket(app, 'jsapi').value;
  const config = (url: string, extra: Record<string, unknown> = {}) => ({
    appId: APP,
    timestamp: 1_700_000_000,
    nonceStr: 'Wm3WZYTPz0wzccnW',
    signature: signJssdk({
      ticket,
      nonceStr: 'Wm3WZYTPz0wzccnW',
      timestamp: 1_700_000_000,
      url: url.split('#')[0] ?? url,
    }),
    url,
    ...extra,
  });
  return { state, config };
}

test('a correct signature over location.href without the hash is config:ok', () => {
  const { state, config } = setup();
  assert.deepEqual(verifyBridgeConfig(state, config('http://h5.example.com/a?b=1#/route')), {
    errMsg: 'config:ok',
  });
  assert.deepEqual(verifyBridgeConfig(state, config('https://m.h5.example.com/x')), { errMsg: 'config:ok' });
  assert.deepEqual(verifyBridgeConfig(state, config('http://example.org/h5/page')), { errMsg: 'config:ok' });
  assert.deepEqual(verifyBridgeConfig(state, config('http://localhost:3000/')), { errMsg: 'config:ok' });
});

test('missing fields are config:fail; an unknown appId is refused', () => {
  const { state, config } = setup();
  for (const field of ['appId', 'timestamp', 'nonceStr', 'signature', 'url']) {
    assert.equal(
      verifyBridgeConfig(state, config('http://h5.example.com/', { [field]: '' })).errMsg,
      'config:fail',
    );
  }
  assert.match(
    verifyBridgeConfig(state, config('http://h5.example.com/', { appId: 'wxother' })).errMsg,
    /^config:fail/,
  );
});

test('domain binding: other hosts, other ports, paths outside the prefix are config:invalid url domain', () => {
  const { state, config } = setup();
  for (const url of [
    'http://evil.example/',
    'http://h5.example.com:8080/',
    'http://example.org/other',
    'http://notexample.org/h5/',
    'http://127.0.0.1:3000/',
  ]) {
    const out = verifyBridgeConfig(state, config(url, { debug: true }));
    assert.equal(out.errMsg, 'config:invalid url domain', url);
    assert.equal(out.realAuthUrl, url);
  }
});

test('signature checks: wrong nonce/timestamp/case, stale ticket → config:invalid signature', () => {
  const { state, config } = setup();
  const url = 'http://h5.example.com/p?x=1';
  const good = config(url);
  assert.equal(verifyBridgeConfig(state, { ...good, nonceStr: 'other' }).errMsg, 'config:invalid signature');
  assert.equal(verifyBridgeConfig(state, { ...good, timestamp: 1 }).errMsg, 'config:invalid signature');
  assert.equal(
    verifyBridgeConfig(state, { ...good, signature: String(good.signature).toUpperCase() }).errMsg,
    'config:invalid signature',
  );
  assert.equal(
    verifyBridgeConfig(state, { ...good, debug: true }).realAuthUrl,
    undefined,
    'only errors carry it',
  );
  state.advance(7200);
  assert.equal(verifyBridgeConfig(state, good).errMsg, 'config:invalid signature', 'the ticket expired');
});

test('iOS verifies the landing URL, Android the current one', () => {
  const { state, config } = setup();
  const landing = 'http://h5.example.com/spa/';
  const current = 'http://h5.example.com/spa/orders/7';
  const signedLanding = config(landing);
  const signedCurrent = config(current);
  const where = { url: current, landingUrl: landing };
  assert.equal(
    verifyBridgeConfig(state, { ...signedLanding, ...where, platform: 'ios' }).errMsg,
    'config:ok',
  );
  assert.equal(
    verifyBridgeConfig(state, { ...signedCurrent, ...where, platform: 'android' }).errMsg,
    'config:ok',
  );
  const wrong = verifyBridgeConfig(state, { ...signedCurrent, ...where, platform: 'ios', debug: true });
  assert.deepEqual(wrong, { errMsg: 'config:invalid signature', realAuthUrl: landing });
  state.platform = 'ios';
  assert.equal(
    verifyBridgeConfig(state, { ...signedLanding, ...where }).errMsg,
    'config:ok',
    'platform from the state',
  );
});
