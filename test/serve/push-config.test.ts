import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';

/** Message-push settings of the service (SPEC §11): WX_PUSH_*, per-account "push", the forward secret. */

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const SECRET_VALUE = 'forward-secret-DO-NOT-PRINT-0123';
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wxkit-push-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const base = { WX_APP_ID: 'wxpushcfg00000001', WX_APP_SECRET: 's' };
const configErr = (pattern: RegExp, secret?: string) => (e: Error & { code?: string }) => {
  assert.equal(e.code, 'config_error');
  assert.match(e.message, pattern);
  if (secret) assert.ok(!e.message.includes(secret), 'never the value');
  return true;
};

describe('push configuration', () => {
  test('WX_PUSH_* apply to every account, the WeCom app included; off when unset', () => {
    const c = loadConfig(
      {
        ...base,
        WX_CORP_ID: 'wwpushcfg0000001',
        WX_CORP_AGENT_ID: '1000002',
        WX_CORP_SECRET: 'c',
        WX_PUSH_TOKEN: 'tok123',
        WX_PUSH_AES_KEY: KEY,
        WX_PUSH_FORWARD: 'http://a.internal/x, http://b.internal/y/',
        WXKIT_PUSH_FORWARD_SECRET: SECRET_VALUE,
      },
      dir,
    );
    const push = {
      token: 'tok123',
      encodingAESKey: KEY,
      forward: ['http://a.internal/x', 'http://b.internal/y'],
    };
    assert.deepEqual(c.accounts[0]?.push, push);
    assert.deepEqual(c.wecom[0]?.push, push);
    assert.equal(c.pushForwardSecret, SECRET_VALUE);
    assert.equal(loadConfig(base, dir).accounts[0]?.push, undefined);
  });

  test('bad values stop the start with the variable named, never the value', () => {
    assert.throws(
      () => loadConfig({ ...base, WX_PUSH_AES_KEY: KEY }, dir),
      configErr(/WX_PUSH_TOKEN is not/),
    );
    assert.throws(
      () => loadConfig({ ...base, WX_PUSH_TOKEN: 'has space!' }, dir),
      configErr(/WX_PUSH_TOKEN must be/, 'has space!'),
    );
    assert.throws(
      () => loadConfig({ ...base, WX_PUSH_TOKEN: 'tok123', WX_PUSH_AES_KEY: `${KEY.slice(0, 42)}-` }, dir),
      configErr(/WX_PUSH_AES_KEY must be the 43-character/, KEY.slice(0, 42)),
    );
    assert.throws(
      () => loadConfig({ ...base, WX_PUSH_TOKEN: 'tok123', WX_PUSH_FORWARD: 'ftp://x' }, dir),
      configErr(/WX_PUSH_FORWARD must be an http\(s\) URL/),
    );
  });

  test('forwarding needs WXKIT_PUSH_FORWARD_SECRET of 16 characters or more', () => {
    const env = { ...base, WX_PUSH_TOKEN: 'tok123', WX_PUSH_FORWARD: 'http://a.internal/x' };
    assert.throws(() => loadConfig(env, dir), configErr(/WXKIT_PUSH_FORWARD_SECRET is not set/));
    assert.throws(
      () => loadConfig({ ...env, WXKIT_PUSH_FORWARD_SECRET: 'short-one' }, dir),
      configErr(/is 9 characters/, 'short-one'),
    );
    // Without forward URLs no secret is needed.
    assert.equal(loadConfig({ ...base, WX_PUSH_TOKEN: 'tok123' }, dir).accounts[0]?.push?.token, 'tok123');
  });

  test('a "push" object per account in wxkit.config.json, values from the environment', async () => {
    const file = join(dir, 'push.json');
    await writeFile(
      file,
      JSON.stringify({
        pushForwardSecretEnv: 'MY_FORWARD_SECRET',
        accounts: [
          {
            appId: 'wxpushcfg00000002',
            secret: 's',
            push: {
              tokenEnv: 'SHOP_TOKEN',
              encodingAESKeyEnv: 'SHOP_KEY',
              forward: ['http://bot.internal/w'],
            },
          },
          {
            type: 'wecom',
            corpId: 'wwpushcfg0000002',
            agentId: 1000003,
            secret: 'c',
            push: { token: 'corpTok1' },
          },
        ],
      }),
    );
    const c = loadConfig(
      { WXKIT_CONFIG: file, SHOP_TOKEN: 'shopTok1', SHOP_KEY: KEY, MY_FORWARD_SECRET: SECRET_VALUE },
      dir,
    );
    assert.deepEqual(c.accounts[0]?.push, {
      token: 'shopTok1',
      encodingAESKey: KEY,
      forward: ['http://bot.internal/w'],
    });
    assert.deepEqual(c.wecom[0]?.push, { token: 'corpTok1', forward: [] });
    assert.equal(c.pushForwardSecret, SECRET_VALUE);
    await writeFile(
      file,
      JSON.stringify({
        accounts: [{ appId: 'wxpushcfg00000002', secret: 's', push: { token: 'a1b2c3', tokn: 1 } }],
      }),
    );
    assert.throws(
      () => loadConfig({ WXKIT_CONFIG: file }, dir),
      configErr(/accounts\[0\]\.push: unknown field "tokn"/),
    );
    await writeFile(
      file,
      JSON.stringify({
        accounts: [{ appId: 'wxpushcfg00000002', secret: 's', push: { tokenEnv: 'NOPE_UNSET' } }],
      }),
    );
    assert.throws(
      () => loadConfig({ WXKIT_CONFIG: file }, dir),
      configErr(/NOPE_UNSET \(tokenEnv\) is not set/),
    );
  });
});
