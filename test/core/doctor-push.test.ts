import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { AES_KEY, type PushFixture, pushFixture, TOKEN } from '../simulator/push-helpers.ts';

/** `wxkit doctor --push`: a live server URL checked as WeChat checks it, in English and Chinese. */

const APP = 'wxdoctorpush0001';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (s: string) => out.push(s),
    err: (s: string) => err.push(s),
    env: {},
    cwd: process.cwd(),
  };
  return { io: io as CliIO, out, err };
}

describe('wxkit doctor --push', () => {
  let server: PushFixture;
  before(async () => {
    server = await pushFixture(APP);
  });
  after(() => server.close());

  test('a correct safe-mode server: every check passes, exit 0, each line in both languages', async () => {
    server.behaviour = 'echo';
    const c = capture();
    const code = await main(
      ['doctor', '--push', server.url, '--token', TOKEN, '--aes-key', AES_KEY, '--app-id', APP],
      c.io,
    );
    assert.equal(code, 0, c.out.join('\n'));
    const codes = c.out.filter((l) => l.startsWith('OK')).map((l) => /\[(\w+)\]/.exec(l)?.[1]);
    assert.deepEqual(codes, ['push_verify', 'push_signature_checked', 'push_reply_time', 'push_round_trip']);
    assert.equal(c.out.filter((l) => l.startsWith('正确')).length, 4);
    assert.match(c.out.join('\n'), /signed and decrypts correctly/);
    // the test message reached the server encrypted, from the doctor's user
    assert.equal(server.received.at(-1)?.fields.FromUserName, 'wxkit-doctor');
    assert.equal(server.received.at(-1)?.query.get('encrypt_type'), 'aes');
  });

  test('a wrong token: push_verify_failed, "Token验证失败", exit 1', async () => {
    const c = capture();
    const code = await main(['doctor', '--push', server.url, '--token', 'wrongToken1'], c.io);
    assert.equal(code, 1);
    assert.match(c.out[0] ?? '', /^FAIL \[push_verify_failed\]/);
    assert.match(c.out[1] ?? '', /^错误 \[push_verify_failed\].*Token验证失败/);
  });

  test('a reply with a wrong MsgSignature: push_reply_bad, exit 1', async () => {
    server.behaviour = 'bad-signature';
    const c = capture();
    const code = await main(
      ['doctor', '--push', server.url, '--token', TOKEN, '--aes-key', AES_KEY, '--app-id', APP, '--json'],
      c.io,
    );
    assert.equal(code, 1);
    const report = JSON.parse(c.out[0] ?? '{}') as {
      ok: boolean;
      checks: Array<{ code: string; en: string }>;
    };
    assert.equal(report.ok, false);
    const bad = report.checks.find((x) => x.code === 'push_reply_bad');
    assert.match(bad?.en ?? '', /MsgSignature/);
  });

  test('a server that answers echostr whatever the signature: push_signature_unchecked, exit 1', async () => {
    server.behaviour = 'echo';
    server.trusting = true;
    try {
      const c = capture();
      const code = await main(['doctor', '--push', server.url, '--token', TOKEN], c.io);
      assert.equal(code, 1);
      assert.ok(c.out.some((l) => l.startsWith('FAIL [push_signature_unchecked]')));
      assert.ok(c.out.some((l) => l.startsWith('错误 [push_signature_unchecked]')));
    } finally {
      server.trusting = false;
    }
  });

  test('bad usage exits 2', async () => {
    for (const argv of [
      ['doctor', '--push', server.url],
      ['doctor', '--push', 'ftp://x', '--token', TOKEN],
      ['doctor', '--push', server.url, '--token', TOKEN, '--aes-key', AES_KEY],
      ['doctor', '--push', server.url, '--token', TOKEN, '--aes-key', 'short', '--app-id', APP],
    ]) {
      const c = capture();
      assert.equal(await main(argv, c.io), 2, argv.join(' '));
    }
  });
});
