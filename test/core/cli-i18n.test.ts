import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CliIO } from '../../src/cli/io.ts';
import { commands, main } from '../../src/cli/main.ts';

// Chinese is a first language here: every command's --help, the overview and usage errors are in
// both languages.

function capture(): { io: CliIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (s: string) => out.push(s),
    err: (s: string) => err.push(s),
    env: {},
    cwd: process.cwd(),
  };
  return { io: io as unknown as CliIO, out, err };
}

const CJK = /[\u4e00-\u9fff]/;
const LATIN = /[A-Za-z]{4,}/;

test('wxkit --help and every command --help speak English and Chinese', async () => {
  const overview = capture();
  assert.equal(await main(['--help'], overview.io), 0);
  assert.match(overview.out.join('\n'), CJK);
  const names = [...overview.out.join('\n').matchAll(/^wxkit ([a-z]+) /gm)].map((m) => m[1] as string);
  assert.deepEqual(
    [...new Set(names)].sort(),
    Object.keys(commands).sort(),
    'the overview lists every command',
  );
  for (const name of new Set(names)) {
    const c = capture();
    assert.equal(await main([name, '--help'], c.io), 0);
    const text = c.out.join('\n');
    assert.match(text, CJK, `wxkit ${name} --help has no Chinese`);
    assert.match(text, LATIN, `wxkit ${name} --help has no English`);
  }
});

test('usage errors and unknown commands: one line, both languages, exit 2', async () => {
  for (const argv of [['sign'], ['nope'], ['doctor', '--url']]) {
    const c = capture();
    assert.equal(await main(argv, c.io), 2, argv.join(' '));
    assert.equal(c.err.length, 1);
    assert.match(c.err[0] as string, CJK);
    assert.match(c.err[0] as string, LATIN);
  }
});

test('a usage error says its reason in Chinese too, not only "see --help"', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['sign'], /缺少 --url/],
    [
      ['sign', '--url', 'https://a.example.com/', '--ticket', 't', '--timestamp', 'soon'],
      /--timestamp 必须是整数秒/,
    ],
    [['doctor', '--url'], /选项 --url 缺少取值/],
    [['doctor', '--nope'], /未知选项 --nope/],
    [['token', 'explode'], /未知操作 "explode"/],
    [['simulator', '--platform', 'symbian'], /--platform 必须是 ios 或 android/],
    [['serve', '--workers', '99'], /--workers 必须是 1 到 64/],
    [['sign', '--url', 'ftp://a.example.com/'], /要签名的 URL 必须是完整的 http\(s\) 地址/],
  ];
  for (const [argv, zh] of cases) {
    const c = capture();
    assert.equal(await main(argv, c.io), 2, argv.join(' '));
    const line = c.err.join('\n');
    const [en = '', chinese = ''] = line.split(' / ');
    assert.match(en, LATIN, line);
    assert.match(chinese, zh, line);
  }
});
