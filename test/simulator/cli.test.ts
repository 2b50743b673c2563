import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return { child, out: () => out, err: () => err };
}

test('wxkit simulator prints its URL and accounts, serves tokens, and exits 0 on SIGTERM', async (t) => {
  const p = run(['simulator', '--port', '0', '--app', 'wxabc:secret', '--js-domain', 'h5.example.com']);
  t.after(() => {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out());
      if (m?.[1] && p.out().includes('wxabc')) resolve(m[1]);
    };
    p.child.stdout.on('data', onData);
    p.child.once('exit', (code) => reject(new Error(`exited ${code}: ${p.err()}`)));
  });
  assert.match(p.out(), /account wxabc .*js domains h5\.example\.com/);
  assert.ok(!p.out().includes('secret secret'), 'a secret passed in is not echoed');
  const res = await fetch(`${url}/cgi-bin/token?grant_type=client_credential&appid=wxabc&secret=secret`);
  const body = (await res.json()) as { access_token?: string; expires_in?: number };
  assert.equal(typeof body.access_token, 'string');
  assert.equal(body.expires_in, 7200);
  const apps = (await (await fetch(`${url}/__sim/apps`)).json()) as { apps: Array<{ jsDomains: string[] }> };
  assert.deepEqual(apps.apps[0]?.jsDomains, ['h5.example.com']);
  p.child.kill('SIGTERM');
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0, p.err());
  assert.equal(p.err(), '');
});

test('wxkit simulator without --app prints the sandbox account', async (t) => {
  const p = run(['simulator', '--port', '0', '--platform', 'ios']);
  t.after(() => {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    p.child.stdout.on('data', () => {
      if (p.out().includes('account ')) resolve();
    });
    p.child.once('exit', (code) => reject(new Error(`exited ${code}: ${p.err()}`)));
  });
  assert.match(p.out(), /account wx5andb0x00000001 {2}secret \S+ {2}js domains localhost,127\.0\.0\.1/);
  assert.match(p.out(), /platform ios/);
  assert.match(p.out(), /message push: POST http:\/\/127\.0\.0\.1:\d+\/__sim\/push\/config/);
  // The banner speaks Chinese first, then English.
  assert.match(p.out(), /^微信模拟器已启动 http:\/\/127\.0\.0\.1:\d+ \/ WeChat simulator listening on/m);
  assert.match(p.out(), /客户端平台 ios/);
  p.child.kill('SIGINT');
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0);
});

test('bad flags exit 2 with one line', async () => {
  for (const args of [
    ['--platform', 'windows'],
    ['--port', 'abc'],
    ['--app', 'nosecret'],
    ['--bogus'],
    ['--js-domain', 'a.com,b.com'],
    ['--js-domain', 'a.com:8080'],
    ['--js-domain', 'a.com', '--js-domain', 'b.com', '--js-domain', 'c.com', '--js-domain', 'd.com'],
    ['--app', 'wxa:s', '--app', 'wxa:t'],
    ['--corp', 'ww1:s3cret'],
    ['--corp', 'ww1:abc:s3cret'],
    ['--corp', 'ww1:1000002:s', '--corp', 'ww1:1000002:t'],
    ['--component-messages', 'http://127.0.0.1:8080/platform/messages/no-placeholder'],
  ]) {
    const p = run(['simulator', ...args]);
    const [code] = await once(p.child, 'exit');
    assert.equal(code, 2, `${args.join(' ')}: ${p.err()}`);
    assert.equal(p.err().trim().split('\n').length, 1, p.err());
    assert.match(p.err(), /^wxkit simulator: /);
  }
});

test('wxkit simulator --corp prints the WeCom apps (never the secret) and serves gettoken', async (t) => {
  const p = run([
    'simulator',
    '--port',
    '0',
    '--corp',
    'ww5im:1000002:s3cret:with:colons',
    '--corp',
    'ww5im:1000003:other',
  ]);
  t.after(() => {
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });
  const url = await new Promise<string>((resolve, reject) => {
    p.child.stdout.on('data', () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.out());
      if (m?.[1] && p.out().includes('1000003')) resolve(m[1]);
    });
    p.child.once('exit', (code) => reject(new Error(`exited ${code}: ${p.err()}`)));
  });
  assert.match(
    p.out(),
    /wecom corp \(企业微信\) ww5im {2}agentid 1000002 .*trusted domains localhost,127\.0\.0\.1/,
  );
  assert.match(p.out(), /account wx5andb0x00000001/, 'the Official Account sandbox stays');
  assert.ok(!p.out().includes('s3cret') && !p.out().includes('other'), 'secrets are not echoed');
  const res = await fetch(`${url}/cgi-bin/gettoken?corpid=ww5im&corpsecret=s3cret:with:colons`);
  const body = (await res.json()) as { errcode: number; expires_in: number };
  assert.equal(body.errcode, 0);
  assert.equal(body.expires_in, 7200);
  p.child.kill('SIGTERM');
  const [code] = await once(p.child, 'exit');
  assert.equal(code, 0, p.err());
});
