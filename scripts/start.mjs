// `npm start`: builds dist/ when it is missing or older than src/, then runs `wxkit serve`. It sets no
// variable of its own: with nothing configured (a newcomer's first command) that is sandbox mode on
// 127.0.0.1; without WX_APP_ID on a deployment (HOST=0.0.0.0, WXKIT_STORE…) wxkit serve refuses to start
// rather than become a public sandbox, and `npm start -- --sandbox` asks for it anyway. Extra arguments
// go to `wxkit serve`: `npm start -- --port 8080`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist', 'cli.js');
const outputs = [cli, join(root, 'dist', 'client.global.js')];

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function stale() {
  if (!outputs.every((f) => existsSync(f))) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(
    newestIn(join(root, 'src')),
    ...['package.json', 'tsup.config.ts'].map((f) => statSync(join(root, f)).mtimeMs),
  );
  return sources > built;
}

if (stale()) {
  const tsup = join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js');
  if (!existsSync(tsup)) {
    if (!existsSync(cli)) {
      console.error('wxkit: dist/ is missing and tsup is not installed; run `npm ci` first.');
      process.exit(1);
    }
  } else {
    console.error('wxkit: building dist/ (sources changed)…');
    const r = spawnSync(process.execPath, [tsup, '--silent'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error('wxkit: build failed.');
      process.exit(r.status || 1);
    }
  }
}

const child = spawn(process.execPath, [cli, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
