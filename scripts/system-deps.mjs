// Makes sure the system programs the tests drive are here: Debian's chromium (Playwright drives it)
// and redis-server (the Redis store's tests spawn one). Installs them when root on Debian; otherwise
// stops with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.WXKIT_CHROMIUM ?? '/usr/bin/chromium';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function missingSystemDeps() {
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push('chromium');
  if (!has('redis-server')) missing.push('redis-server');
  return missing;
}

export function ensureSystemDeps() {
  const missing = missingSystemDeps();
  if (missing.length === 0) return true;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    console.error(`wxkit tests need ${missing.join(' and ')}. Install with:\n  sudo ${cmd}`);
    return false;
  }
  console.error(`[setup] installing ${missing.join(', ')} from Debian packages…`);
  try {
    execFileSync('sh', ['-c', cmd], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    console.error(`[setup] the install failed. Run it yourself:\n  ${cmd}`);
    return false;
  }
  const still = missingSystemDeps();
  if (still.length) {
    console.error(`[setup] still missing after install: ${still.join(', ')}`);
    return false;
  }
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(ensureSystemDeps() ? 0 : 1);
}
