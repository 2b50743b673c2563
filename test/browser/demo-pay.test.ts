// The sandbox demo's "pay 0.01" button in Chromium (SPEC §12): log in, pay, see the verified
// notification come back through the forward URL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Service, startService } from '../../src/serve/service.ts';
import { launchChromium, requireChromium } from './stack.ts';

let service: Service;
let browser: Browser;
let dir: string;
before(async () => {
  requireChromium();
  dir = mkdtempSync(join(tmpdir(), 'wxkit-demo-pay-'));
  service = await startService({
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      WXKIT_STORE: 'memory',
      WXKIT_SANDBOX: '1',
      WXKIT_LOG: 'off',
      WXKIT_MEDIA_DIR: join(dir, 'media'),
    },
    cwd: dir,
    logLine: () => {},
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sandbox demo: "pay 0.01" asks for a login, then pays and shows the forwarded notification', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`http://localhost:${service.port}/`);
    await page.waitForSelector('#config-state[data-state=ok]', { timeout: 20_000 });
    await page.click('#pay-001');
    await page.waitForSelector('#pay-state[data-state=error]', { timeout: 20_000 });
    assert.match((await page.textContent('#pay-state')) ?? '', /Log in/);
    await page.click('#wx-login-base');
    await page.waitForSelector('#login-state[data-state=logged-in]', { timeout: 20_000 });
    await page.waitForSelector('#config-state[data-state=ok]', { timeout: 20_000 });
    await page.click('#pay-001');
    await page.waitForSelector('#pay-state[data-state=ok], #pay-state[data-state=error]', {
      timeout: 30_000,
    });
    const text = (await page.textContent('#pay-state')) ?? '';
    assert.match(text, /^Paid SBX\d+: TRANSACTION\.SUCCESS \(SUCCESS\) reached the forward URL\.$/, text);
  } finally {
    await context.close();
  }
});
