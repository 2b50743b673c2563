import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Installs the packed tarball into a fresh project and uses it the way users do: import, require, bin.
const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  typesVersions?: Record<string, Record<string, string[]>>;
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

/** The files `npm pack` puts in the tarball. */
function packedFiles(): string[] {
  const list = execFileSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  return (JSON.parse(list) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}

/** `wxkit`, `wxkit/express`, … for every entry point in "exports". */
const subpaths = () =>
  Object.keys(pkg.exports)
    .filter((k) => k !== '.' && k !== './package.json')
    .map((k) => k.slice(2));

/** tsc of the repository (the consumer has no TypeScript of its own). */
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

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

  test('LICENSE (MIT) and repository, homepage and bugs ship', () => {
    assert.ok(packedFiles().includes('LICENSE'), 'LICENSE is not in the tarball');
    const license = readFileSync(join(dir, 'node_modules', 'wxkit', 'LICENSE'), 'utf8');
    assert.match(license, /^MIT License/);
    assert.match(license, /Copyright \(c\) \d{4} wxkit contributors/);
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', 'wxkit', 'package.json'), 'utf8'));
    assert.equal(installed.license, 'MIT');
    assert.match(installed.repository.url, /github\.com\/wxkit\/wxkit(\.git)?$/);
    assert.match(installed.homepage, /^https:\/\/github\.com\/wxkit\/wxkit/);
    assert.match(installed.bugs.url, /^https:\/\/github\.com\/wxkit\/wxkit\/issues/);
  });

  test('legacy moduleResolution "node" resolves every subpath (typesVersions), type-checked from the tarball', () => {
    // Every subpath has a typesVersions entry naming the same declarations as "exports".
    for (const sub of subpaths()) {
      const types = (pkg.exports[`./${sub}`] as { import: { types: string } }).import.types;
      assert.deepEqual(pkg.typesVersions?.['*']?.[sub], [types], `typesVersions for wxkit/${sub}`);
    }
    const project = join(dir, 'legacy-ts');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          moduleResolution: 'node',
          target: 'ES2020',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          // The adapters' declarations name express/koa/fastify, optional peers not installed here.
          skipLibCheck: true,
          types: [],
        },
        files: ['index.ts'],
      }),
    );
    const imports = subpaths().map((sub, i) => `import * as m${i} from 'wxkit/${sub}';`);
    writeFileSync(
      join(project, 'index.ts'),
      [
        `import { signJssdk } from 'wxkit';`,
        ...imports,
        `import { call } from 'wxkit/client';`,
        `import { storeConformance } from 'wxkit/stores/testing';`,
        `import { createMemoryStore, type Store } from 'wxkit/stores';`,
        `export const all = [signJssdk, storeConformance, ${subpaths()
          .map((_, i) => `m${i}`)
          .join(', ')}];`,
        `export async function upload(): Promise<string[]> {`,
        `  const { localIds } = await call('chooseImage', { count: 1 });`,
        `  return localIds;`,
        `}`,
        `export const store: Store = createMemoryStore();`,
        '',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('a custom store author runs wxkit/stores/testing from the tarball with node --test', () => {
    // A store of their own (here: the memory store behind a wrapper of their own, on a virtual clock).
    writeFileSync(
      join(dir, 'my-store.test.mjs'),
      `import * as nodeTest from 'node:test';
import { createMemoryStore } from 'wxkit/stores';
import { storeConformance } from 'wxkit/stores/testing';

storeConformance('my store', async () => {
  let offset = 0;
  const inner = createMemoryStore({ now: () => Date.now() + offset });
  const store = {
    description: 'my-store',
    get: (k) => inner.get(k),
    set: (k, v, ttl) => inner.set(k, v, ttl),
    delete: (k) => inner.delete(k),
    compareAndDelete: (k, v) => inner.compareAndDelete(k, v),
    tryLock: (k, ms) => inner.tryLock(k, ms),
    renew: (k, o, ms) => inner.renew(k, o, ms),
    unlock: (k, o) => inner.unlock(k, o),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return { store, advance: async (ms) => { offset += ms; }, close: () => store.close() };
}, nodeTest);
`,
    );
    // Without NODE_TEST_CONTEXT, which would make this child report to our runner instead of printing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'my-store.test.mjs'], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Store conformance: my store/);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.ok(Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1]) >= 10, r.stdout);
  });

  test('wxkit/stores/testing needs no node:test: a runner of its own drives it, from ESM and CommonJS', () => {
    for (const file of ['dist/stores/testing.js', 'dist/stores/testing.cjs']) {
      const code = readFileSync(join(dir, 'node_modules', 'wxkit', file), 'utf8');
      assert.ok(!code.includes('node:test'), `${file} imports node:test`);
    }
    const runner = (load: string) => `${load}
const { createMemoryStore } = stores;
const tests = [];
let before, after;
storeConformance('mini', async () => {
  let offset = 0;
  const store = createMemoryStore({ now: () => Date.now() + offset });
  return { store, advance: async (ms) => { offset += ms; }, close: () => store.close() };
}, { describe: (_n, fn) => fn(), test: (n, fn) => tests.push([n, fn]), before: (fn) => { before = fn; }, after: (fn) => { after = fn; } });
(async () => {
  await before();
  for (const [, fn] of tests) await fn();
  await after();
  console.log('ran ' + tests.length);
})();`;
    const esm = node([
      '--input-type=module',
      '-e',
      runner(
        "import { storeConformance } from 'wxkit/stores/testing'; import * as stores from 'wxkit/stores';",
      ),
    ]);
    assert.equal(esm.status, 0, esm.stderr);
    assert.match(esm.stdout, /^ran \d+$/m);
    const cjs = node([
      '--no-experimental-require-module',
      '-e',
      runner(
        "const { storeConformance } = require('wxkit/stores/testing'); const stores = require('wxkit/stores');",
      ),
    ]);
    assert.equal(cjs.status, 0, cjs.stderr);
    assert.equal(cjs.stdout, esm.stdout);
  });

  test('shipped declarations and docs stand alone: no "SPEC §", no paths into src/, test/, bench/, scripts/', () => {
    const files = packedFiles();
    const found: string[] = [];
    for (const file of files) {
      if (!/\.(d\.ts|d\.cts|md)$/.test(file)) continue;
      const lines = readFileSync(join(dir, 'node_modules', 'wxkit', file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const where = `${file}:${i + 1}`;
        // A link into the repository (https://github.com/…/bench/serve.ts) is something a reader can open.
        const text = line
          .replace(/\[[^\]]*\]\(https?:\/\/[^)\s]+\)/g, '')
          .replace(/https?:\/\/[^\s)>\]`'"]+/g, '');
        const hit =
          /SPEC\s*§|SPEC\.md/.exec(text) ?? /(?<![\w/.-])(?:src|test|bench|scripts)\/[\w./-]*/.exec(text);
        if (hit) found.push(`${where}: ${hit[0]} — ${line.trim().slice(0, 120)}`);
        if (!file.endsWith('.md')) return;
        // Documents it links or names are in the package too.
        for (const m of text.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
          const target = join(dirname(file), m[1]!).split('\\').join('/');
          if (!files.includes(target)) found.push(`${where}: links ${m[1]}, not in the package`);
        }
        for (const m of text.replace(/\]\([^)]*\)/g, ']').matchAll(/(?<![\w/.-])docs\/[\w./-]+\.md/g)) {
          if (!files.includes(m[0])) found.push(`${where}: names ${m[0]}, not in the package`);
        }
      });
    }
    assert.deepEqual(found, [], `\n${found.join('\n')}`);
  });
});
