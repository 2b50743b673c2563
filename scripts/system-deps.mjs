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

// Not needed for any test to pass, but without a CJK font the demo page's screenshot shows boxes
// instead of Chinese text. Installed alongside when we install anyway, or alone (failure ignored) as root.
const CJK_FONT = 'fonts-wqy-zenhei';
function hasCjkFont() {
  return (
    existsSync('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc') ||
    existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc')
  );
}

function installCjkFont() {
  if (hasCjkFont()) return;
  console.error(`[setup] installing ${CJK_FONT} (Chinese text in screenshots; optional)…`);
  spawnSync(
    'sh',
    [
      '-c',
      `apt-get install -y --no-install-recommends ${CJK_FONT} || (apt-get update && apt-get install -y --no-install-recommends ${CJK_FONT})`,
    ],
    {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    },
  );
}

export function ensureSystemDeps() {
  const missing = missingSystemDeps();
  const isRoot =
    typeof process.getuid === 'function' && process.getuid() === 0 && existsSync('/usr/bin/apt-get');
  if (missing.length === 0) {
    if (isRoot) installCjkFont();
    return true;
  }
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot) {
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
  installCjkFont();
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(ensureSystemDeps() ? 0 : 1);
}
