// Issue 18 item 22: `npm start` (scripts/start.mjs) says what it does while it builds, instead of a
// silent wait before `wxkit serve` speaks. Run on a copy of the repository's root (its own dist/, the
// real src/ and node_modules/ linked), as a fresh clone's first `npm start` with no dist/ yet.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanEnv, ROOT } from './spawn.ts';

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'wxkit-start-'));
  mkdirSync(join(root, 'scripts'));
  for (const f of [
    'scripts/start.mjs',
    'scripts/build-serve.ts',
    'package.json',
    'tsup.config.ts',
    'tsconfig.json',
  ]) {
    copyFileSync(join(ROOT, f), join(root, f));
  }
  symlinkSync(join(ROOT, 'src'), join(root, 'src'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('a first npm start prints each step of its build, then wxkit serve starts from what it built', async () => {
  assert.equal(existsSync(join(root, 'dist')), false);
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), '--port', '0'], {
    cwd: root,
    env: cleanEnv(),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  const exited = once(child, 'exit');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not serve:\n${err}\n${out}`)), 150_000);
      child.stdout.on('data', () => {
        if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`npm start exited:\n${err}\n${out}`));
      });
    });
    const steps = err.split('\n').filter((l) => l.startsWith('wxkit: ') && !l.includes('still building'));
    assert.deepEqual(
      steps.map((l) => l.replace(/\d+(\.\d+)? s$/, 'N s')),
      [
        'wxkit: building dist/ for wxkit serve (sources changed)…',
        'wxkit: built dist/cli.js (1/2)',
        'wxkit: built dist/client.global.js (2/2)',
        'wxkit: build done in N s',
      ],
      err,
    );
    assert.ok(existsSync(join(root, 'dist', 'cli.js')) && existsSync(join(root, 'dist', 'client.global.js')));
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
});
