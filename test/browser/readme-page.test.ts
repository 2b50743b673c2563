// README.md "Use it from a page", as a user runs it offline: the page (test/api/examples/page.html, which
// test/api/doc-blocks.test.ts keeps identical to the README's blocks) on a loopback origin, a sandbox
// `wxkit serve` standing in for https://your-wxkit.example.com, the simulator's JS bridge loaded by the
// sandbox's client.js. The page configures, then picks, uploads and saves three images.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type ServeProcess, startServe } from '../serve/spawn.ts';
import { launchChromium, listen, requireChromium } from './stack.ts';

const html = readFileSync(new URL('../api/examples/page.html', import.meta.url));
const pageServer = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
});
let serve: ServeProcess;
let browser: Browser;
let cwd: string;
let pageUrl: string;

before(async () => {
  requireChromium();
  cwd = mkdtempSync(join(tmpdir(), 'wxkit-readme-page-'));
  serve = await startServe({}, [], cwd);
  pageUrl = `http://127.0.0.1:${await listen(pageServer)}/shop/?from=singlemessage`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await serve?.stop();
  await new Promise((r) => pageServer.close(r));
  rmSync(cwd, { recursive: true, force: true });
});

test('the README page configures against a sandbox service, sets the share card, then picks, uploads and saves', async () => {
  const context = await browser.newContext();
  // The README's placeholder host is the sandbox service: same paths, same answers.
  await context.route('https://your-wxkit.example.com/**', async (route) => {
    const req = route.request();
    const url = new URL(req.url());
    const res = await route.fetch({ url: `${serve.url}${url.pathname}${url.search}` });
    await route.fulfill({ response: res });
  });
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  try {
    await page.goto(pageUrl);
    await page.waitForFunction(() => true);
    const deadline = Date.now() + 20_000;
    while (!logs.some((l) => l === 'log: JS-SDK ready') && Date.now() < deadline) {
      if (logs.some((l) => l.startsWith('error:'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(logs.includes('log: JS-SDK ready'), `the page did not configure: ${logs.join('\n')}`);
    const share = (await page.evaluate('setShare()')) as Record<
      string,
      { title: string; link: string; desc?: string }
    >;
    assert.equal(share.updateAppMessageShareData?.title, 'Spring sale');
    assert.equal(share.updateAppMessageShareData?.desc, 'Up to 50% off this week');
    assert.equal(share.updateTimelineShareData?.link, pageUrl);
    const saved = (await page.evaluate('pickUploadSave()')) as Array<{
      id: string;
      contentType: string;
      size: number;
    }>;
    assert.equal(saved.length, 3);
    for (const s of saved) {
      assert.match(s.contentType, /^image\//);
      assert.ok(s.size > 0);
    }
  } finally {
    await context.close();
  }
});
