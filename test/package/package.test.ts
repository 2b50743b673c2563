import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Installs the packed tarball into a fresh project and uses it the way users do: import, require, bin.
const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};
let dir = '';

before(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) execFileSync('npx', ['tsup', '--silent'], { cwd: root });
  dir = mkdtempSync(join(tmpdir(), 'wxkit-pack-'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
  });
  const tarball = join(dir, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=peer', tarball],
    {
      cwd: dir,
      stdio: 'ignore',
    },
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
}

const vector =
  "{ticket:'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',nonceStr:'Wm3WZYTPz0wzccnW',timestamp:1414587457,url:'http://mp.weixin.qq.com?params=value'}";

describe('the packed package', () => {
  test('ESM import works', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `import { signJssdk } from 'wxkit'; console.log(signJssdk(${vector}))`,
    ]);
    assert.equal(r.stdout.trim(), '0f9de62fce790f9a083d5c99e95740ceb90c27ed', r.stderr);
  });

  test('CommonJS require works (CJS build, not require(esm))', () => {
    const r = node([
      '--no-experimental-require-module',
      '-e',
      `const { signJssdk, WxkitError } = require('wxkit'); console.log(signJssdk(${vector}), typeof WxkitError)`,
    ]);
    assert.equal(r.stdout.trim(), '0f9de62fce790f9a083d5c99e95740ceb90c27ed function', r.stderr);
  });

  test('every Node entry point in "exports" loads from ESM and CommonJS', () => {
    for (const key of Object.keys(pkg.exports)) {
      if (key === './package.json' || key === './client') continue;
      const spec = key === '.' ? 'wxkit' : `wxkit/${key.slice(2)}`;
      const esm = node([
        '--input-type=module',
        '-e',
        `const m = await import('${spec}'); console.log(Object.keys(m).length)`,
      ]);
      assert.equal(esm.status, 0, `${spec} (esm): ${esm.stderr}`);
      assert.ok(Number(esm.stdout.trim()) > 0, `${spec} exports nothing`);
      const cjs = node([
        '--no-experimental-require-module',
        '-e',
        `console.log(Object.keys(require('${spec}')).length)`,
      ]);
      assert.equal(cjs.status, 0, `${spec} (cjs): ${cjs.stderr}`);
    }
  });

  test('type declarations ship for every entry point', () => {
    for (const [key, value] of Object.entries(pkg.exports)) {
      if (key === './package.json') continue;
      const v = value as { import: { types: string }; require: { types: string } };
      assert.ok(existsSync(join(dir, 'node_modules', 'wxkit', v.import.types)), `${key} import types`);
      assert.ok(existsSync(join(dir, 'node_modules', 'wxkit', v.require.types)), `${key} require types`);
    }
  });

  test('the wxkit bin runs', () => {
    const r = spawnSync(
      join(dir, 'node_modules', '.bin', 'wxkit'),
      [
        'sign',
        '--url',
        'http://mp.weixin.qq.com',
        '--ticket',
        'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
        '--noncestr',
        'Wm3WZYTPz0wzccnW',
        '--timestamp',
        '1414587457',
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /signature: f4d90daf4b3bca3078ab155816175ba34c443a7b/);
  });

  test('publint finds no packaging errors', () => {
    const r = spawnSync('npx', ['publint', '--level', 'error', root], { encoding: 'utf8', cwd: root });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('no source maps, tests or secrets-looking files in the tarball', () => {
    const list = execFileSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: root,
      encoding: 'utf8',
    });
    const files = (JSON.parse(list) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
      (f) => f.path,
    );
    assert.ok(files.some((f) => f === 'dist/index.js'));
    assert.ok(
      !files.some((f) => /(^|\/)(test|src)\//.test(f) || f.endsWith('.map') || f.includes('.wxkit')),
      files.join('\n'),
    );
  });
});
