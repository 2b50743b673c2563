import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { bin, cleanEnv, simulatedAccount, tsx, wxkitAsync } from './cli-process.ts';

// `wxkit doctor` as a user runs it: the real CLI process, its real stdout, a simulator as WeChat.

const T = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
const N = 'Wm3WZYTPz0wzccnW';
const S = 1700000000;

const wxkit = (args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
  wxkitAsync(args, { env: options.env ?? cleanEnv(), cwd: options.cwd ?? process.cwd() });

const page = 'https://h5.example.com/app/detail?id=1';
const signed = (url: string, ticket = T) => signJssdk({ ticket, nonceStr: N, timestamp: S, url });
const flags = (url: string, signature: string) => [
  'doctor',
  '--url',
  url,
  '--signature',
  signature,
  '--noncestr',
  N,
  '--timestamp',
  String(S),
];

describe('wxkit doctor reads what the page saw', () => {
  test("--errmsg 'config:invalid url domain': signature right, domain not bound in 公众号后台 (exit 1)", async () => {
    const r = await wxkit([
      ...flags(page, signed(page)),
      '--ticket',
      T,
      '--errmsg',
      'config:invalid url domain',
    ]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^FAIL \[domain_not_bound\] The signature itself is right\./m);
    assert.match(r.out, /^错误 \[domain_not_bound\] .*公众号后台/m);
  });

  test('honours WX_JS_DOMAINS like the service does (--js-domain still wins)', async () => {
    const env = cleanEnv({ WX_JS_DOMAINS: 'shop.example.net' });
    const r = await wxkit([...flags(page, signed(page)), '--ticket', T], { env });
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /^FAIL \[domain_not_bound\].*h5\.example\.com/m);
    const flag = await wxkit([...flags(page, signed(page)), '--ticket', T, '--js-domain', 'example.com'], {
      env,
    });
    assert.equal(flag.code, 0, flag.out + flag.err);
  });

  test('a reader that leaves early (| head -1): no stack trace, the exit code stays', async () => {
    const child = spawn(
      process.execPath,
      ['--import', tsx, bin, ...flags(`${page}#/x`, signed(`${page}#/x`)), '--ticket', T],
      {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader is gone before the CLI writes its first line.
    child.stdout.destroy();
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(err, '', 'nothing on stderr');
    assert.equal(code, 1, 'url_hash still exits 1');
  });
});

describe('wxkit doctor never trusts its cached ticket without saying so', () => {
  const APP = { appId: 'wxd0c70r00000002', secret: 'doctor-secret-2' };
  const account = simulatedAccount(APP);

  test('a stale cached ticket: OK says its age and source; --errmsg re-checks it and names stale_ticket', async () => {
    const { sim, cwd } = account;
    // The default file store (.wxkit in cwd), as a user's laptop has it.
    const env = cleanEnv({ WX_APP_ID: APP.appId, WX_APP_SECRET: APP.secret, WX_API_BASE: sim.url });
    const sign = await wxkit(['sign', '--url', page, '--noncestr', N, '--timestamp', String(S), '--json'], {
      env,
      cwd,
    });
    assert.equal(sign.code, 0, sign.err);
    const { signature } = JSON.parse(sign.out) as { signature: string };
    // WeChat ends that ticket (its life ran out early, another program replaced it): the page fails.
    assert.ok(sim.expireTicket(APP.appId, 'jsapi'));

    const plain = await wxkit(flags(page, signature), { env, cwd });
    assert.equal(plain.code, 0, plain.out + plain.err);
    assert.match(plain.out, /^OK \[ok\]/);
    assert.match(plain.out, /ticket: jsapi_ticket cached in file:.*fetched \d+s ago, source getticket/);
    assert.match(plain.out, /票据：jsapi_ticket 缓存于/);
    assert.match(plain.out, /--errmsg 'config:invalid signature'/);

    const checked = await wxkit([...flags(page, signature), '--errmsg', 'config:invalid signature'], {
      env,
      cwd,
    });
    assert.equal(checked.code, 1, checked.out + checked.err);
    assert.match(checked.out, /^FAIL \[stale_ticket\]/m);
    assert.match(checked.out, /WeChat no longer took that ticket/);
    assert.match(checked.out, /微信已不再接受该票据/);
    assert.ok(!checked.out.includes(sim.state.currentTicket(APP.appId) ?? '?'), 'no ticket printed');

    // The new ticket is the store's now: a page signed with it is right, and says so.
    const fresh = await wxkit(['sign', '--url', page, '--noncestr', N, '--timestamp', String(S), '--json'], {
      env,
      cwd,
    });
    const now = JSON.parse(fresh.out) as { signature: string };
    assert.equal(now.signature, signed(page, sim.state.currentTicket(APP.appId) ?? ''));
  });
});
