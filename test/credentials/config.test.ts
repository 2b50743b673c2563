import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { runToken, ticketSourceFromConfig } from '../../src/cli/token.ts';
import { accountOptions, loadConfig } from '../../src/config.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { startRedisServer, startSentinel } from '../stores/redis-server.ts';

const APP = { appId: 'wxc0nf1g00000001', secret: 'config-secret-value-1' };
let dir: string;
let sim: Simulator;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wxkit-config-'));
  sim = await startSimulator({ apps: [APP] });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const configErr = (pattern: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, 'config_error');
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'));
  return true;
};

describe('loadConfig', () => {
  test('no account: sandbox mode with SPEC defaults', () => {
    const c = loadConfig({}, dir);
    assert.equal(c.sandbox, true);
    assert.deepEqual(c.accounts, []);
    assert.equal(c.tokenMode, 'stable');
    assert.equal(c.store, 'file:.wxkit');
    assert.equal(c.storeDescription, `file:${join(dir, '.wxkit')}`);
    assert.equal(c.apiBase, 'https://api.weixin.qq.com');
    assert.equal(c.openBase, 'https://open.weixin.qq.com');
    assert.deepEqual(c.jsDomains, ['localhost', '127.0.0.1']);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 3000);
    assert.equal(c.publicUrl, 'http://localhost:3000');
    assert.deepEqual(c.apiKeys, []);
  });

  test('an account from the environment; JS domains default to the public URL host', () => {
    const c = loadConfig(
      {
        WX_APP_ID: 'wx1234567890abcdef',
        WX_APP_SECRET: 's3cret',
        WX_TOKEN_MODE: 'classic',
        WXKIT_STORE: 'redis://:pw@127.0.0.1:6379/2',
        WXKIT_PUBLIC_URL: 'https://wx.example.com/',
        WXKIT_API_KEYS: 'key-one, key-two',
        PORT: '8080',
      },
      dir,
    );
    assert.equal(c.sandbox, false);
    assert.equal(c.accounts.length, 1);
    assert.deepEqual(c.accounts[0], {
      appId: 'wx1234567890abcdef',
      secret: 's3cret',
      tokenMode: 'classic',
      jsDomains: ['wx.example.com'],
      remoteUrl: undefined,
      remoteKey: undefined,
    });
    assert.equal(c.storeDescription, 'redis://127.0.0.1:6379');
    assert.equal(c.publicUrl, 'https://wx.example.com');
    assert.deepEqual(c.apiKeys, ['key-one', 'key-two']);
    assert.equal(c.port, 8080);
    const opts = accountOptions(c, c.accounts[0]!);
    assert.equal(opts.store, 'redis://:pw@127.0.0.1:6379/2');
    assert.equal(opts.tokenMode, 'classic');
  });

  test('wxkit.config.json holds several accounts; the environment wins', async () => {
    const d = await mkdtemp(join(dir, 'multi-'));
    await writeFile(
      join(d, 'wxkit.config.json'),
      JSON.stringify({
        accounts: [
          { appId: 'wxAAAA', secretEnv: 'SECRET_A', jsDomains: ['a.example.com'] },
          { appId: 'wxBBBB', secret: 'sb', tokenMode: 'classic' },
        ],
        store: 'memory',
        jsDomains: 'shared.example.com',
        port: 4000,
      }),
    );
    const c = loadConfig({ SECRET_A: 'sa', PORT: '5000' }, d);
    assert.deepEqual(
      c.accounts.map((a) => [a.appId, a.secret, a.tokenMode, a.jsDomains]),
      [
        ['wxAAAA', 'sa', 'stable', ['a.example.com']],
        ['wxBBBB', 'sb', 'classic', ['shared.example.com']],
      ],
    );
    assert.equal(c.port, 5000);
    assert.equal(c.store, 'memory');
    assert.ok(c.sources.some((s) => s.endsWith('wxkit.config.json')));
  });

  test('card ids per account and shop ids (issue 18 item 1): lists of ids, never free text', async () => {
    const d = await mkdtemp(join(dir, 'cards-'));
    await writeFile(
      join(d, 'wxkit.config.json'),
      JSON.stringify({
        accounts: [
          { appId: 'wxAAAA', secret: 'sa', cardIds: ['pCardOfA0001'] },
          { appId: 'wxBBBB', secret: 'sb' },
        ],
        cardIds: 'pSharedCard01',
        cardShopIds: ['289475623', '289475624'],
      }),
    );
    const c = loadConfig({}, d);
    assert.deepEqual(
      c.accounts.map((a) => [a.appId, a.cardIds]),
      [
        ['wxAAAA', ['pCardOfA0001']],
        ['wxBBBB', undefined],
      ],
    );
    assert.deepEqual(c.cardIds, ['pSharedCard01']);
    assert.deepEqual(c.cardShopIds, ['289475623', '289475624']);
    assert.deepEqual(loadConfig({ WXKIT_CARD_SHOP_IDS: '1,2' }, dir).cardShopIds, ['1', '2']);
    assert.throws(
      () => loadConfig({ WXKIT_CARD_SHOP_IDS: '1, 860372948143 wxAAAA' }, dir),
      configErr(/WXKIT_CARD_SHOP_IDS.*not a shop id/),
    );
  });

  test('bad values are one-line config errors that never echo a secret', async () => {
    assert.throws(() => loadConfig({ WX_APP_ID: 'wx1' }, dir), configErr(/AppSecret of wx1 is missing/));
    assert.throws(() => loadConfig({ WX_APP_SECRET: 'x' }, dir), configErr(/WX_APP_ID/));
    assert.throws(() => loadConfig({ WX_TOKEN_MODE: 'fast' }, dir), configErr(/WX_TOKEN_MODE/));
    assert.throws(() => loadConfig({ PORT: '99999' }, dir), configErr(/PORT/));
    assert.throws(() => loadConfig({ WX_API_BASE: 'not a url' }, dir), configErr(/WX_API_BASE/));
    assert.throws(
      () => loadConfig({ WXKIT_STORE: 'mongodb://u:hunter2@h' }, dir),
      (e: Error) => {
        assert.ok(!e.message.includes('hunter2'));
        return configErr(/WXKIT_STORE/)(e);
      },
    );
    assert.throws(
      () => loadConfig({ WX_APP_ID: 'wx1', WX_TOKEN_MODE: 'remote' }, dir),
      configErr(/WXKIT_REMOTE_URL and WXKIT_REMOTE_KEY/),
    );
    const d = await mkdtemp(join(dir, 'bad-'));
    await writeFile(join(d, 'wxkit.config.json'), '{"accounts": [');
    assert.throws(() => loadConfig({}, d), configErr(/not valid JSON/));
    // An unquoted secret: V8's parse error quotes the text around it; the message must not.
    await writeFile(
      join(d, 'wxkit.config.json'),
      '{"accounts": [{"appId": "wx1",\n  "secret": hunter2-app-secret}]}',
    );
    assert.throws(
      () => loadConfig({}, d),
      (e: Error & { code?: string }) => {
        assert.ok(!e.message.includes('hunter2'), e.message);
        return configErr(/not valid JSON.*line 2/)(e);
      },
    );
    await writeFile(join(d, 'wxkit.config.json'), '{"acounts": []}');
    assert.throws(() => loadConfig({}, d), configErr(/unknown field "acounts"/));
    assert.throws(() => loadConfig({ WXKIT_CONFIG: 'missing.json' }, d), configErr(/cannot read/));
  });
});

describe('Redis Sentinel from wxkit.config.json', () => {
  test('a redis field (sentinels) becomes the store of every account; WXKIT_STORE still wins', async () => {
    const server = await startRedisServer();
    const sentinel = await startSentinel(server);
    const d = await mkdtemp(join(dir, 'sentinel-'));
    try {
      await writeFile(
        join(d, 'wxkit.config.json'),
        JSON.stringify({
          accounts: [{ appId: APP.appId, secretEnv: 'S' }],
          apiBase: sim.url,
          redis: {
            sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
            name: 'mymaster',
            passwordEnv: 'NOPE_UNSET_OK',
          },
        }),
      );
      assert.throws(() => loadConfig({ S: APP.secret }, d), configErr(/NOPE_UNSET_OK/));
      await writeFile(
        join(d, 'wxkit.config.json'),
        JSON.stringify({
          accounts: [{ appId: APP.appId, secretEnv: 'S' }],
          apiBase: sim.url,
          redis: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster' },
        }),
      );
      const c = loadConfig({ S: APP.secret }, d);
      assert.equal(c.storeDescription, 'redis-sentinel://mymaster (1 sentinels)');
      assert.equal(loadConfig({ S: APP.secret, WXKIT_STORE: 'memory' }, d).storeDescription, 'memory');
      const [a, b] = [0, 1].map(() => createWxkit(accountOptions(c, c.accounts[0]!, d)));
      sim.advance(8000);
      sim.reset();
      const [t1, t2] = await Promise.all([a!.ticket(), b!.ticket()]);
      assert.equal(t1, t2);
      assert.equal(sim.stats().calls['/cgi-bin/ticket/getticket'], 1, 'shared through Redis via Sentinel');
      const st = await a!.status();
      assert.equal(st.storeReachable, true);
      assert.equal(st.store, 'redis-sentinel://mymaster (1 sentinels)');
      await Promise.all([a!.close(), b!.close()]);
    } finally {
      await sentinel.stop();
      await server.stop();
    }
  });

  test('a malformed redis field is a config error', async () => {
    const d = await mkdtemp(join(dir, 'badredis-'));
    for (const redis of [
      { sentinels: [] },
      { cluster: [{ host: 'h' }] },
      { sentinels: [{ host: 'h', port: 1 }], extra: 1 },
      {},
    ]) {
      await writeFile(join(d, 'wxkit.config.json'), JSON.stringify({ redis }));
      assert.throws(() => loadConfig({}, d), configErr(/redis/));
    }
    await writeFile(
      join(d, 'wxkit.config.json'),
      JSON.stringify({ store: 'memory', redis: { cluster: [{ host: 'h', port: 7000 }] } }),
    );
    assert.throws(() => loadConfig({}, d), configErr(/"store" must be "redis"/));
  });
});

describe('wxkit token and the sign ticket source', () => {
  const io = (env: NodeJS.ProcessEnv) => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env, cwd: dir },
      out,
      err,
    };
  };
  const env = () => ({
    WX_APP_ID: APP.appId,
    WX_APP_SECRET: APP.secret,
    WX_API_BASE: sim.url,
    WXKIT_STORE: 'file:token-cli-store',
  });

  test('status, refresh and invalidate report age, time left and source, never a value', async () => {
    sim.reset();
    const before = io(env());
    assert.equal(await runToken([], before.io), 0);
    assert.match(before.out.join('\n'), /access_token\s+not cached/);

    const ticket = await ticketSourceFromConfig(io(env()).io);
    assert.equal(ticket.appId, APP.appId);
    assert.equal(ticket.ticket, sim.state.currentTicket(APP.appId));

    const status = io(env());
    assert.equal(await runToken(['status'], status.io), 0);
    const text = status.out.join('\n');
    assert.match(text, /stable mode, store file:/);
    assert.match(text, /access_token\s+cached\s+age \d+s\s+expires in \dh\d\dm\s+source stable_token/);
    assert.match(text, /jsapi_ticket\s+cached/);
    assert.ok(!text.includes(ticket.ticket) && !text.includes(APP.secret));

    const inv = io(env());
    assert.equal(await runToken(['invalidate'], inv.io), 0);
    assert.match(inv.out.join('\n'), /access_token\s+not cached/);

    const ref = io(env());
    assert.equal(await runToken(['refresh', '--json'], ref.io), 0);
    const json = JSON.parse(ref.out.join(''));
    assert.equal(json.credentials[0].cached, true);
    assert.ok(!ref.out.join('').includes(APP.secret));
    assert.equal(sim.stats().calls['/cgi-bin/stable_token'], 2);
  });

  test('bad usage and missing accounts', async () => {
    await assert.rejects(runToken(['explode'], io(env()).io), { name: 'UsageError' });
    await assert.rejects(runToken(['status', '--force'], io(env()).io), { name: 'UsageError' });
    await assert.rejects(runToken([], io({}).io), { code: 'config_error' });
    await assert.rejects(ticketSourceFromConfig(io({}).io), { name: 'UsageError' });
    await assert.rejects(runToken(['--app-id', 'wxnope'], io(env()).io), { name: 'UsageError' });
  });

  test('through the CLI: exit codes, one-line errors, sign with the configured account', async () => {
    const noAccount = io({});
    assert.equal(await main(['token'], noAccount.io), 1);
    assert.equal(noAccount.err.length, 1);
    assert.match(noAccount.err[0]!, /no account configured/);
    assert.equal(await main(['token', 'bogus'], io(env()).io), 2);
    const badStore = io({ ...env(), WXKIT_STORE: 'redis://:hunter2@' });
    assert.equal(await main(['token'], badStore.io), 1);
    assert.ok(!badStore.err.join('').includes('hunter2'));
    const sign = io(env());
    const url = 'https://h5.example.com/a';
    assert.equal(
      await main(['sign', '--url', url, '--noncestr', 'abc', '--timestamp', '1', '--json'], sign.io),
      0,
    );
    const out = JSON.parse(sign.out.join(''));
    const ticket = sim.state.currentTicket(APP.appId)!;
    assert.equal(out.appId, APP.appId);
    assert.equal(out.signature, signJssdk({ ticket, nonceStr: 'abc', timestamp: 1, url }));
  });
});
