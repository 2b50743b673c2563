import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Service, startService } from '../../src/serve/service.ts';
import { launchChromium, requireChromium } from './stack.ts';

const ARTIFACTS = new URL('../../test-results/', import.meta.url).pathname;

describe('wxkit serve sandbox demo page in Chromium', () => {
  let service: Service;
  let browser: Browser;
  let dir: string;
  let previousMediaDir: string | undefined;
  before(async () => {
    requireChromium();
    dir = mkdtempSync(join(tmpdir(), 'wxkit-demo-'));
    previousMediaDir = process.env.WXKIT_MEDIA_DIR;
    process.env.WXKIT_MEDIA_DIR = join(dir, 'media');
    service = await startService({
      env: { PORT: '0', HOST: '127.0.0.1', WXKIT_STORE: 'memory', WXKIT_SANDBOX: '1', WXKIT_LOG: 'off' },
      cwd: dir,
      logLine: () => {},
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await service?.close();
    if (previousMediaDir === undefined) delete process.env.WXKIT_MEDIA_DIR;
    else process.env.WXKIT_MEDIA_DIR = previousMediaDir;
    rmSync(dir, { recursive: true, force: true });
  });

  test('configure → choose 3 → upload → save, every step visible; screenshot kept in test-results/demo.png', async () => {
    assert.equal(service.sandbox, true);
    const context = await browser.newContext({ viewport: { width: 760, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`http://localhost:${service.port}/?from=singlemessage`);
      await page.waitForSelector('#config-state[data-state=ok]', { timeout: 20_000 });
      await page.waitForSelector('#share-state[data-state=ok]', { timeout: 20_000 });
      await page.click('#run-images');
      await page.waitForSelector('#save-state[data-state=ok], .state[data-state=error]', { timeout: 30_000 });
      const states = await page.$$eval('.state', (els) =>
        els.map((e) => `${e.id}=${(e as HTMLElement).dataset.state}: ${e.textContent}`),
      );
      for (const s of states) assert.match(s, /=ok:/, states.join('\n'));
      // Chinese first, then English, on every line the page shows (and its heading).
      for (const s of states) {
        const [zh = '', en = ''] = s.slice(s.indexOf('=ok: ') + 5).split(' / ');
        assert.match(zh, /[\u4e00-\u9fff]/, s);
        assert.match(en, /[A-Za-z]{3}/, s);
      }
      assert.match((await page.textContent('h1')) ?? '', /^wxkit 沙箱 \/ wxkit sandbox$/);
      // The saved images load from the service after the state line says ok: wait for them (or time out).
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#saved img, #chosen img')].every(
            (i) => (i as HTMLImageElement).complete,
          ),
        undefined,
        { timeout: 20_000 },
      );
      const sizes = await page.$$eval('#saved img, #chosen img', (imgs) =>
        (imgs as HTMLImageElement[]).map((img) => (img.complete ? img.naturalWidth : -1)),
      );
      assert.deepEqual(sizes, [96, 96, 96, 96, 96, 96]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('issue 18 item 22: the share card’s image exists, and the page loads nothing that 404s (favicon included)', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.status() === 404) failed.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(`http://localhost:${service.port}/`);
      await page.waitForSelector('#share-state[data-state=ok]', { timeout: 20_000 });
      // The card the page set, as the simulated client keeps it (wx.__simulator.share, by API name).
      const card = (await page.evaluate('wx.__simulator.share')) as Record<string, { imgUrl: string }>;
      const imgUrl = Object.values(card)[0]?.imgUrl ?? '';
      const image = await page.goto(imgUrl);
      assert.equal(image?.status(), 200, imgUrl);
      assert.equal(image?.headers()['content-type'], 'image/png');
      const bytes = (await image?.body()) ?? Buffer.alloc(0);
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      assert.deepEqual(failed, []);
    } finally {
      await context.close();
    }
  });
});
