// `npm run bench`: builds dist/, then runs every bench/*.ts in turn (each writes its own section of
// docs/benchmarks.md between `<!-- bench:NAME -->` markers). Usage: node scripts/bench.mjs [--quick] [name…]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
  .sort();

const build = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--silent'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (build.status !== 0) process.exit(build.status || 1);

let failed = 0;
for (const file of benches) {
  console.log(`\n[bench] ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file), ...flags], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(`[bench] ${file} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
