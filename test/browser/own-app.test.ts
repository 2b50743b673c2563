// Issue 18 item 18: "use the simulator from your own app", each recipe run exactly as the docs show it
// (test/api/doc-blocks.test.ts keeps test/api/examples/own-app-*.ts identical to the blocks of README.md
// and docs/simulator.md, both languages). Each recipe runs as its own process, the way a user runs
// `node app.ts`, against a simulator with its default sandbox account; Chromium opens the app's page on
// localhost: it configures through the simulator's JS bridge, and the OAuth login goes to the
// simulator's consent page and comes back to the app with a session.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { cleanEnv, ROOT } from '../serve/spawn.ts';
import { freePort } from '../stores/redis-server.ts';
import { launchChromium, requireChromium } from './stack.ts';

const TSX = import.meta.resolve('tsx');
let sim: Simulator;
let browser: Browser;

before(async () => {
  requireChromium();
  if (!existsSync(`${ROOT}dist/client.global.js`)) {
    throw new Error('dist/client.global.js is missing: run `npx tsup` first (npm test does).');
  }
  sim = await startSimulator();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await sim?.close();
});

/** Runs test/api/examples/<file> as a process on a free port; resolves once it answers `/`. */
async function runRecipe(file: string): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}test/api/examples/${file}`], {
    cwd: ROOT,
    env: { ...cleanEnv(), PORT: String(port), WX_API_BASE: sim.url },
  });
  let out = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    out += c;
  });
  const base = `http://localhost:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    if (res?.ok) return { child, base, output: () => out };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${file} did not answer on port ${port}:\n${out}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

describe('use the simulator from your own app: each recipe, as written', () => {
  for (const [name, file] of [
    ['Express (mounted at /wx)', 'own-app-express.ts'],
    ['Koa (koa-mount under /wx)', 'own-app-koa.ts'],
    ['Fastify (prefix /wx)', 'own-app-fastify.ts'],
  ] as const) {
    test(`${name}: the page configures through the simulator’s bridge; OAuth logs in at the simulator`, async () => {
      const app = await runRecipe(file);
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const loaded: string[] = [];
        page.on('request', (r) => loaded.push(r.url()));
        await page.goto(`${app.base}/`);
        await page
          .waitForFunction(() => document.title !== 'shop', undefined, { timeout: 20_000 })
          .catch(() => {});
        assert.equal(await page.title(), 'JS-SDK ready', `the page did not configure\n${app.output()}`);
        assert.ok(
          loaded.includes(`${sim.url}/jweixin.js`),
          `the simulator's bridge was not loaded: ${loaded}`,
        );
        assert.ok(!loaded.some((u) => u.includes('res.wx.qq.com')), 'WeChat’s real SDK was requested');

        // snsapi_base: WeChat (and the simulator) authorizes silently and sends the browser straight back.
        await page.click('#login');
        // (The browser keeps the authorize URL's #wechat_redirect across the redirects, as in WeChat.)
        await page.waitForURL((u) => u.origin === app.base && u.pathname === '/wx/oauth/me', {
          timeout: 15_000,
        });
        assert.ok(
          loaded.some((u) => u.startsWith(`${sim.url}/connect/oauth2/authorize?`)),
          `the login did not go to the simulator: ${loaded.join('\n')}`,
        );
        const me = JSON.parse((await page.textContent('pre')) ?? '{}') as { openid?: string };
        assert.match(String(me.openid), /^oSIM/, JSON.stringify(me));
      } finally {
        await context.close();
        await stop(app.child);
      }
    });
  }
});
