import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { bin, cleanEnv, simulatedAccount, tsx, wxkitAsync } from './cli-process.ts';

const env = { ...process.env, WX_APP_ID: '', WX_APP_SECRET: '' };

function wxkit(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', bin, ...args], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const T = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';

describe('wxkit sign', () => {
  test('prints string1 and the official signature', () => {
    const r = wxkit(
      'sign',
      '--url',
      'http://mp.weixin.qq.com?params=value',
      '--ticket',
      T,
      '--noncestr',
      'Wm3WZYTPz0wzccnW',
      '--timestamp',
      '1414587457',
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /string1: +jsapi_ticket=sM4AOV.*&noncestr=Wm3WZYTPz0wzccnW&timestamp=1414587457&url=http:\/\/mp\.weixin\.qq\.com\?params=value/,
    );
    assert.match(r.out, /signature: 0f9de62fce790f9a083d5c99e95740ceb90c27ed/);
  });

  test('--json, hash dropped, nonce and timestamp generated', () => {
    const r = wxkit('sign', '--url', 'https://h5.example.com/a?b=1#/x', '--ticket', T, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.url, 'https://h5.example.com/a?b=1');
    assert.match(j.nonceStr, /^[A-Za-z0-9]{16}$/);
    assert.equal(
      j.signature,
      signJssdk({ ticket: T, nonceStr: j.nonceStr, timestamp: j.timestamp, url: j.url }),
    );
  });

  for (const url of [
    'ftp://h5.example.com/',
    '/relative',
    '',
    'h5.example.com/page',
    'javascript:alert(1)',
  ]) {
    test(`rejects ${JSON.stringify(url)} with exit 2 and one line, no stack`, () => {
      const r = wxkit('sign', '--url', url, '--ticket', T);
      assert.equal(r.code, 2);
      assert.equal(r.out, '');
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
      assert.match(r.err, /^wxkit sign: /);
    });
  }

  test('unknown flag → exit 2', () => {
    const r = wxkit('sign', '--url', 'https://a.example/', '--ticket', T, '--bogus');
    assert.equal(r.code, 2);
    assert.match(r.err, /bogus/);
  });

  test('unknown command → exit 2', () => {
    assert.equal(wxkit('frobnicate').code, 2);
  });
});

describe('wxkit doctor', () => {
  const url = 'https://h5.example.com/app/detail?id=1';
  const base = ['--noncestr', 'Wm3WZYTPz0wzccnW', '--timestamp', '1700000000', '--ticket', T];
  const sig = (u: string) =>
    signJssdk({ ticket: T, nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1700000000, url: u });

  test('right signature → exit 0', () => {
    const r = wxkit('doctor', '--url', url, '--signature', sig(url), ...base);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^OK \[ok\]/);
  });

  test('hash kept → exit 1, names the cause in English and Chinese', () => {
    const r = wxkit('doctor', '--url', `${url}#/x`, '--signature', sig(`${url}#/x`), ...base);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL \[url_hash\]/);
    assert.match(r.out, /错误 \[url_hash\]/);
  });

  test('landing URL via --real-auth-url, --json', () => {
    const landing = 'https://h5.example.com/app/';
    const r = wxkit(
      'doctor',
      '--url',
      url,
      '--signature',
      sig(url),
      '--real-auth-url',
      landing,
      '--json',
      ...base,
    );
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.code, 'url_landing');
    assert.equal(j.expectedUrl, landing);
  });

  test('missing --signature → exit 2', () => {
    const r = wxkit('doctor', '--url', url, ...base);
    assert.equal(r.code, 2);
    assert.match(r.err, /missing --signature/);
  });

  test('bad --url → exit 2', () => {
    const r = wxkit('doctor', '--url', 'nope', '--signature', 'x', ...base);
    assert.equal(r.code, 2);
  });
});

describe('wxkit doctor with the configured account’s ticket', () => {
  const APP = { appId: 'wxd0c70r00000001', secret: 'doctor-secret-1' };
  const account = simulatedAccount(APP);

  test('--app-id other than the account the ticket belongs to → exit 1, app_id_mismatch in both languages', async () => {
    const { sim, cwd } = account;
    const env = cleanEnv({
      WX_APP_ID: APP.appId,
      WX_APP_SECRET: APP.secret,
      WX_API_BASE: sim.url,
      WXKIT_STORE: 'memory',
    });
    const url = 'https://h5.example.com/app/detail?id=1';
    const args = (signature: string, appId: string) => [
      'doctor',
      '--url',
      url,
      '--signature',
      signature,
      '--noncestr',
      'Wm3WZYTPz0wzccnW',
      '--timestamp',
      '1700000000',
      '--app-id',
      appId,
    ];
    // The simulator hands out the same ticket while it is valid: fetch it once through the CLI.
    const signed = await wxkitAsync(
      ['sign', '--url', url, '--noncestr', 'Wm3WZYTPz0wzccnW', '--timestamp', '1700000000', '--json'],
      { env, cwd },
    );
    assert.equal(signed.code, 0, signed.err);
    const { signature } = JSON.parse(signed.out) as { signature: string };
    const ticket = sim.state.currentTicket(APP.appId)!;
    assert.equal(signature, signJssdk({ ticket, nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1700000000, url }));

    const right = await wxkitAsync(args(signature, APP.appId), { env, cwd });
    assert.equal(right.code, 0, right.out + right.err);
    assert.match(right.out, /^OK \[ok\]/);

    const wrong = await wxkitAsync(args(signature, 'wx0the4acc0un7000'), { env, cwd });
    assert.equal(wrong.code, 1, wrong.out + wrong.err);
    assert.match(wrong.out, /^FAIL \[app_id_mismatch\].*wx0the4acc0un7000/m);
    assert.match(wrong.out, new RegExp(`^FAIL .*${APP.appId}`, 'm'));
    assert.match(wrong.out, /^错误 \[app_id_mismatch\]/m);
    assert.ok(!wrong.out.includes(ticket), 'the ticket is never printed');
    const json = await wxkitAsync([...args(signature, 'wx0the4acc0un7000'), '--json'], { env, cwd });
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.out) as { code: string }).code, 'app_id_mismatch');
  });
});

describe('wxkit token status', () => {
  test('reads without writing: an empty directory stays empty, and it says nothing is cached (en + zh)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'wxkit-token-status-'));
    try {
      const env = cleanEnv({ WX_APP_ID: 'wx57a7u500000001', WX_APP_SECRET: 'status-secret-1' });
      for (const args of [['token'], ['token', 'status'], ['token', 'status', '--json']]) {
        const r = spawnSync(process.execPath, ['--import', tsx, bin, ...args], {
          encoding: 'utf8',
          env,
          cwd,
          timeout: 30_000,
        });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(readdirSync(cwd), [], `${args.join(' ')} wrote to ${cwd}`);
        assert.ok(!r.stdout.includes('status-secret-1'));
        if (args.includes('--json')) {
          const j = JSON.parse(r.stdout) as { credentials: Array<{ cached: boolean }> };
          assert.ok(j.credentials.length > 0 && j.credentials.every((c) => !c.cached));
        } else {
          assert.match(r.stdout, /nothing cached/);
          assert.match(r.stdout, /未缓存任何凭据/);
          assert.match(r.stdout, new RegExp(join(cwd, '.wxkit').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        }
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
