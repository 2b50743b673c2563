// `wxkit platform list|sync|status` run through the CLI's entry point against the simulated open
// platform, on a file store (WXKIT_STORE) as an operator would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { saveVerifyTicket } from '../../src/platform/verify-ticket.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createFileStore } from '../../src/stores/file.ts';

const COMPONENT = 'wxc0mp0nent000007';
const SECRET = 'component-secret-7';
const TOKEN = 'componenttoken7';
const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';

async function run(argv: string[], env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, cwd });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('wxkit platform', () => {
  let sim: Simulator;
  let cwd: string;
  let env: Record<string, string>;
  const calls = (path: string) => sim.stats().calls[path] ?? 0;
  /** The ticket WeChat would have pushed, kept in the store as the events handler keeps it. */
  const pushTicket = async () => {
    const c = sim.openPlatform.state.get(COMPONENT)!;
    const value = sim.openPlatform.state.issueVerifyTicket(c);
    const store = createFileStore({ dir: join(cwd, 'store') });
    await saveVerifyTicket(store, COMPONENT, { value, createTime: sim.state.now() });
    await store.close();
  };

  before(async () => {
    sim = await startSimulator({
      components: [
        { componentAppId: COMPONENT, secret: SECRET, token: TOKEN, encodingAESKey: AES_KEY, authorizers: 4 },
      ],
    });
    cwd = mkdtempSync(join(tmpdir(), 'wxkit-platform-cli-'));
    env = {
      WX_COMPONENT_APP_ID: COMPONENT,
      WX_COMPONENT_SECRET: SECRET,
      WX_COMPONENT_TOKEN: TOKEN,
      WX_COMPONENT_AES_KEY: AES_KEY,
      WX_API_BASE: sim.url,
      WXKIT_STORE: 'file:store',
    };
  });
  after(async () => {
    await sim.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  test('status before any ticket: exit 1, the warning in both languages, no upstream call', async () => {
    sim.reset();
    const r = await run(['platform', 'status'], env, cwd);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /verify ticket\s+missing/);
    assert.match(r.out, /authorized accounts 0 \/ 已授权账号 0 个/);
    assert.match(r.out, /warning: No component_verify_ticket yet/);
    assert.match(r.out, /警告：尚未收到 component_verify_ticket/);
    assert.deepEqual(sim.stats().calls, {});
  });

  test('sync restores the accounts from the list; list prints them; a second sync restores nothing', async () => {
    await pushTicket();
    const res = await fetch(`${sim.url}/__sim/platform/authorize`, {
      method: 'POST',
      body: JSON.stringify({ count: 3, events: false }),
    });
    const authorized = ((await res.json()) as { codes: Array<{ appId: string }> }).codes.map((c) => c.appId);
    sim.reset();
    const empty = await run(['platform', 'list'], env, cwd);
    assert.equal(empty.code, 0, empty.err);
    assert.match(empty.out, /^0 authorized accounts for wxc0mp0nent000007 \/ .*共有 0 个已授权账号$/);

    const synced = await run(['platform', 'sync'], env, cwd);
    assert.equal(synced.code, 0, synced.err);
    assert.match(synced.out, /synced 3 accounts from 1 list pages: 3 refresh tokens restored, 0 completed/);
    assert.match(synced.out, /已从 1 页授权列表同步 3 个账号：恢复 3 个 refresh token/);
    assert.equal(calls('/cgi-bin/component/api_component_token'), 1);
    assert.equal(calls('/cgi-bin/component/api_get_authorizer_list'), 1);

    const list = await run(['platform', 'list', '--json'], env, cwd);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(JSON.parse(list.out), {
      componentAppId: COMPONENT,
      authorizers: [...authorized].sort(),
    });
    const text = await run(['platform', 'list'], env, cwd);
    for (const appId of authorized) assert.match(text.out, new RegExp(`^${appId}$`, 'm'));

    // The component token was kept in the store: the second run asks WeChat only for the list.
    const again = await run(['platform', 'sync', '--json'], env, cwd);
    assert.deepEqual(JSON.parse(again.out), { pages: 1, accounts: 3, restored: 0, fromInfo: 0 });
    assert.equal(calls('/cgi-bin/component/api_component_token'), 1);
  });

  test('status after sync: fresh ticket, cached component token, 3 accounts, exit 0, no secret printed', async () => {
    const r = await run(['platform', 'status'], env, cwd);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /verify ticket\s+fresh {2}age 0 min {2}valid for 12h00m/);
    assert.match(r.out, /component token\s+cached {2}expires in/);
    assert.match(r.out, /authorized accounts 3 \/ 已授权账号 3 个/);
    assert.doesNotMatch(r.out, /warning/);
    const json = await run(['platform', 'status', '--json'], env, cwd);
    const s = JSON.parse(json.out);
    assert.equal(s.verifyTicket.health, 'fresh');
    assert.equal(s.componentToken.cached, true);
    assert.equal(s.authorizers, 3);
    const secrets = [
      SECRET,
      AES_KEY,
      TOKEN,
      ...sim.openPlatform.state.get(COMPONENT)!.tickets.map((t) => t.value),
    ];
    for (const out of [r.out, json.out])
      for (const s of secrets) assert.ok(!out.includes(s), 'a secret was printed');
  });

  const codes = (out: string) =>
    [...out.matchAll(/^(OK|WARN|FAIL) \[(\w+)\]/gm)].map((m) => `${m[1]} ${m[2]}`);

  test('doctor for a platform set-up: one check a line in both languages; --app-id signs, or says why not', async () => {
    const withDomains = { ...env, WX_COMPONENT_JS_DOMAINS: 'shop.example.com' };
    const authorized = JSON.parse((await run(['platform', 'list', '--json'], env, cwd)).out).authorizers;
    const plain = await run(['doctor'], withDomains, cwd);
    assert.equal(plain.code, 0, plain.out + plain.err);
    assert.deepEqual(codes(plain.out), [
      'OK platform_settings',
      'OK platform_ticket',
      'OK platform_component_token',
      'OK platform_accounts',
      'OK platform_js_domains',
    ]);
    assert.match(plain.out, /^正确 \[platform_accounts\] 已授权账号 3 个，已取消授权 0 个$/m);
    assert.match(plain.out, /component_access_token cached/);
    const app = await run(['doctor', '--platform', '--app-id', authorized[0]], withDomains, cwd);
    assert.equal(app.code, 0, app.out);
    assert.match(app.out, /^OK \[platform_app\] .* is authorized and signs pages/m);
    for (const secret of [SECRET, AES_KEY, TOKEN]) assert.ok(!app.out.includes(secret));

    // The account took its authorization back and no event reached the store: WeChat's 61003 tells.
    await fetch(`${sim.url}/__sim/platform/unauthorize`, {
      method: 'POST',
      body: JSON.stringify({ appId: authorized[1] }),
    });
    const revoked = await run(['doctor', '--platform', '--app-id', authorized[1], '--json'], env, cwd);
    assert.equal(revoked.code, 1);
    const report = JSON.parse(revoked.out) as { ok: boolean; checks: { code: string; level: string }[] };
    assert.deepEqual(
      report.checks.map((c) => `${c.level} ${c.code}`),
      [
        'ok platform_settings',
        'ok platform_ticket',
        'ok platform_component_token',
        'ok platform_accounts',
        'fail platform_js_domains_missing',
        'fail platform_app_authorizer_revoked',
      ],
    );
    const after = await run(['doctor', '--platform', '--app-id', 'wxnever0authorized'], withDomains, cwd);
    assert.match(after.out, /^正确 \[platform_accounts\] 已授权账号 2 个，已取消授权 1 个$/m);
    assert.match(after.out, /^FAIL \[platform_app_unknown_app\]/m);
  });

  test('doctor: a malformed AES key stops at the settings; a ticket past 12 h fails with its cause', async () => {
    const bad = await run(['doctor'], { ...env, WX_COMPONENT_AES_KEY: AES_KEY.slice(1) }, cwd);
    assert.equal(bad.code, 1);
    assert.deepEqual(codes(bad.out), ['FAIL platform_settings_malformed']);
    assert.match(bad.out, /43-character EncodingAESKey .*it has 42/);
    assert.match(bad.out, /^错误 \[platform_settings_malformed\] WX_COMPONENT_AES_KEY 不是 43 位/m);
    assert.ok(!bad.out.includes(AES_KEY.slice(1)));

    // Another store whose last ticket was pushed 13 hours ago and no component token is cached.
    const old = mkdtempSync(join(tmpdir(), 'wxkit-platform-doctor-'));
    try {
      const store = createFileStore({ dir: join(old, 'store') });
      const value = sim.openPlatform.state.issueVerifyTicket(sim.openPlatform.state.get(COMPONENT)!);
      await saveVerifyTicket(store, COMPONENT, {
        value,
        createTime: Math.floor(Date.now() / 1000) - 13 * 3600,
      });
      await store.close();
      sim.reset();
      const r = await run(
        ['doctor', '--platform'],
        { ...env, WX_COMPONENT_JS_DOMAINS: 'shop.example.com' },
        old,
      );
      assert.equal(r.code, 1);
      assert.deepEqual(codes(r.out).slice(0, 3), [
        'OK platform_settings',
        'FAIL platform_ticket_expired',
        'FAIL platform_component_token_failed',
      ]);
      assert.match(r.out, /component_verify_ticket older than 12 h: check the 授权事件接收URL/);
      assert.match(r.out, /^错误 \[platform_ticket_expired\] component_verify_ticket 已超过 12 小时/m);
      assert.equal(calls('/cgi-bin/component/api_component_token'), 0);
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  test('bad usage exits 2; a missing setting exits 1 naming it (never its value)', async () => {
    const bad = await run(['platform', 'purge'], env, cwd);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown action "purge"; use list, sync or status/);
    const flag = await run(['platform', 'list', '--force'], env, cwd);
    assert.equal(flag.code, 2);
    const { WX_COMPONENT_SECRET: _, WX_COMPONENT_AES_KEY: __, ...partial } = env;
    const missing = await run(['platform', 'status'], partial, cwd);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /set WX_COMPONENT_SECRET, WX_COMPONENT_AES_KEY/);
    assert.match(missing.err, /开放平台/);
    assert.ok(!missing.err.includes(TOKEN));
  });

  test('--help lists the actions in both languages', async () => {
    const r = await run(['platform', '--help'], env, cwd);
    assert.equal(r.code, 0);
    assert.match(r.out, /wxkit platform \[list\|sync\|status\] \[--json\]/);
    assert.match(r.out, /第三方平台/);
    assert.match((await run(['--help'], env, cwd)).out, /wxkit platform/);
  });
});
