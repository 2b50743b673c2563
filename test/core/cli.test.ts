import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signJssdk } from '../../src/signature.ts';

const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
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
