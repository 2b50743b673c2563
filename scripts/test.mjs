// `npm test`: system programs → build → typecheck → lint → every test under test/ and src/.
// Usage: node scripts/test.mjs [--no-build] [--no-check] [file-or-substring...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureSystemDeps } from './system-deps.mjs';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const filters = args.filter((a) => !a.startsWith('--'));
const root = new URL('..', import.meta.url).pathname;

function run(label, cmd, cmdArgs, extraEnv = {}) {
  console.log(`\n[test] ${label}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: root, env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`[test] ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

if (!ensureSystemDeps()) process.exit(1);
if (!flags.has('--no-build')) run('build', 'npx', ['tsup', '--silent']);
if (!flags.has('--no-check')) {
  run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
  run('lint', 'npx', ['biome', 'check', '.']);
}
const files = [...findTests(join(root, 'test')), ...findTests(join(root, 'src'))]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('[test] no test files matched');
  process.exit(1);
}
// No --test-force-exit: a file that leaves a timer or connection behind (an unclosed store, a server
// still listening) must fail here, as it would keep a user's process alive.
run(
  `${files.length} test files`,
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  {
    WXKIT_TEST: '1',
  },
);
