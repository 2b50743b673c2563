// `npm start`: builds what `wxkit serve` runs when it is missing or older than src/ (dist/cli.js and
// dist/client.global.js, printing progress), then runs `wxkit serve`. It sets no
// variable of its own: with nothing configured (a newcomer's first command) that is sandbox mode on
// 127.0.0.1; without WX_APP_ID on a deployment (HOST=0.0.0.0, WXKIT_STORE…) wxkit serve refuses to start
// rather than become a public sandbox, and `npm start -- --sandbox` asks for it anyway. Extra arguments
// go to `wxkit serve`: `npm start -- --port 8080`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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

/**
 * Builds what `wxkit serve` runs (scripts/build-serve.ts), saying so as it goes: a line per output, and
 * one every few seconds while it works, so a first `npm start` never sits silent.
 */
function build() {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  const started = Date.now();
  console.error('wxkit: building dist/ for wxkit serve (sources changed)…');
  const ticker = setInterval(() => {
    console.error(`wxkit: still building… ${Math.round((Date.now() - started) / 1000)} s`);
  }, 5000);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', pathToFileURL(tsx).href, join(root, 'scripts', 'build-serve.ts')],
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0)
        console.error(`wxkit: build done in ${Math.round((Date.now() - started) / 100) / 10} s`);
      resolve(code === 0);
    });
  });
}

if (stale()) {
  const tools = ['tsup', 'tsx'].map((name) => join(root, 'node_modules', name, 'package.json'));
  if (!tools.every((f) => existsSync(f))) {
    if (!existsSync(cli)) {
      console.error('wxkit: dist/ is missing and tsup is not installed; run `npm ci` first.');
      process.exit(1);
    }
  } else if (!(await build())) {
    console.error('wxkit: build failed.');
    process.exit(1);
  }
}

const child = spawn(process.execPath, [cli, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
