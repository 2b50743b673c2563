import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createWecom, type WecomInstance } from '../../src/accounts/wecom.ts';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { openPage } from './page.ts';
import { launchChromium, listen, mapHosts, requireChromium, toRequest, writeResponse } from './stack.ts';

/**
 * A WeCom app's page in Chromium, end to end: the page (http://work.example.com, the app's trusted
 * domain) loads the simulator's JS bridge and wxkit's helper, `wxkit.configure({agent: true})` gets both
 * signatures from the service mounted on the page's server and runs wx.config then wx.agentConfig; an
 * agent-only API works after. A wx.agentConfig signed with the corp ticket fails and the rejection names
 * wrong_ticket_kind. WeCom OAuth through /oauth/login shows the member's userid in /oauth/me.
 */

const CORP = 'wwe2e0b0a1c2d3e4f5';
// docs/wecom.md "From a page" (test/api/examples/wecom-page.js), run as written.
const example = readFileSync(new URL('../api/examples/wecom-page.js', import.meta.url), 'utf8');
const AGENT = '1000002';
const SECRET = 'wecom-e2e-secret';
const SESSION_SECRET = 'wecom-e2e-session-secret-0123456789';

interface Outcome {
  ok: boolean;
  step?: string;
  errMsg?: string;
  code?: string;
  message?: string;
  invoke?: Record<string, unknown>;
  before?: Record<string, unknown>;
}

/** In the page (plain JS: tsx helpers do not exist there). */
const IN_PAGE = `async (a) => {
  function invoke(name) { return new Promise(function (resolve) { window.wx.invoke(name, {}, resolve); }); }
  if (a.pushState) history.pushState({}, '', a.pushState);
  var out = { before: await invoke('getCurExternalContact') };
  try {
    await window.wxkit.configure({ appId: a.corpId, agent: true, jsApiList: ['getCurExternalContact'] });
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.step = e.step; out.errMsg = e.errMsg; out.message = e.message;
    out.code = e.diagnosis && e.diagnosis.code;
  }
  out.invoke = await invoke('getCurExternalContact');
  return out;
}`;

describe('WeCom page in Chromium: wxkit.configure({ agent: true })', () => {
  let sim: Simulator;
  let corp: WecomInstance;
  let handler: WxkitHandler;
  let pages: Server;
  let browser: Browser;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/jssdk/') || url.pathname.startsWith('/oauth/')) {
      await writeResponse(res, await handler(await toRequest(req, `http://${req.headers.host}`)));
      return;
    }
    const platform = url.searchParams.get('platform') ?? 'android';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      `<!doctype html><html><head><meta charset="utf-8"><title>wecom</title><script src="http://sim.example/jweixin.js?platform=${platform}"></script><script src="/jssdk/client.js"></script></head><body>wecom page</body></html>`,
    );
  }

  before(async () => {
    requireChromium();
    sim = await startSimulator({
      corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['work.example.com'] }],
    });
    corp = createWecom({
      corpId: CORP,
      agentId: AGENT,
      secret: SECRET,
      apiBase: sim.url,
      // The browser reaches the simulator's authorize page by its mapped name.
      openBase: 'http://sim.example',
      store: 'memory',
      jsDomains: ['work.example.com'],
    });
    handler = createHandler(corp, {
      publicUrl: 'http://work.example.com',
      sessionSecret: SESSION_SECRET,
      log: false,
      rateLimit: false,
    });
    pages = createServer((req, res) => {
      serve(req, res).catch((e) => res.writeHead(500).end(String(e)));
    });
    browser = await launchChromium(
      mapHosts({ 'work.example.com': await listen(pages), 'sim.example': sim.port }),
    );
  });
  after(async () => {
    await browser?.close();
    pages?.closeAllConnections();
    await new Promise((r) => pages?.close(r));
    await corp?.close();
    await sim?.close();
  });

  const run = (page: Page, args: { pushState?: string } = {}) =>
    page.evaluate(`(${IN_PAGE})(${JSON.stringify({ corpId: CORP, ...args })})`) as Promise<Outcome>;

  test('android: wx.config + wx.agentConfig succeed; the agent-only API works after, not before', async () => {
    const { context, page } = await openPage(
      browser,
      'http://work.example.com/tools/contact?platform=android&from=singlemessage',
    );
    try {
      const out = await run(page);
      assert.equal(out.ok, true, out.message);
      assert.deepEqual(out.before, { err_msg: 'getCurExternalContact:fail_no permission' });
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:ok');
      assert.match(String(out.invoke?.userId), /^wm/);
    } finally {
      await context.close();
    }
  });

  test('android SPA after pushState: signs the current URL and succeeds', async () => {
    const { context, page } = await openPage(browser, 'http://work.example.com/spa/?platform=android');
    try {
      const out = await run(page, { pushState: '/spa/orders/7?tab=1' });
      assert.equal(out.ok, true, out.message);
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:ok');
    } finally {
      await context.close();
    }
  });

  test('iOS SPA after pushState: signs the landing URL for both and succeeds', async () => {
    const { context, page } = await openPage(browser, 'http://work.example.com/spa/?platform=ios');
    try {
      const out = await run(page, { pushState: '/spa/orders/7' });
      assert.equal(out.ok, true, out.message);
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:ok');
    } finally {
      await context.close();
    }
  });

  test('wx.agentConfig signed with the corp ticket: rejected at agentConfig, diagnosed wrong_ticket_kind', async () => {
    const { context, page } = await openPage(
      browser,
      'http://work.example.com/tools/wrong-ticket?platform=android',
    );
    try {
      // A backend that signs wx.agentConfig with the corp's jsapi_ticket (the classic WeCom mistake).
      // (Answered from here: Playwright's route.fetch() would not see the Chromium host mapping.)
      await page.route('**/jssdk/agent-config', async (route) => {
        const { url, jsApiList } = JSON.parse(route.request().postData() ?? '{}') as {
          url: string;
          jsApiList: string[];
        };
        const signed = await corp.agentConfig({ url, jsApiList });
        const ticket = await corp.ticket('jsapi');
        assert.equal(ticket, sim.state.currentCorpTicket(CORP));
        const signature = signJssdk({ ticket, nonceStr: signed.nonceStr, timestamp: signed.timestamp, url });
        await route.fulfill({ json: { ...signed, signature } });
      });
      const out = await run(page);
      assert.equal(out.ok, false);
      assert.equal(out.step, 'agentConfig');
      assert.equal(out.errMsg, 'agentConfig:invalid signature');
      assert.equal(out.code, 'wrong_ticket_kind', out.message);
      assert.match(
        String(out.message),
        /wx\.agentConfig failed: agentConfig:invalid signature — .*agent_config/,
      );
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:fail_no permission');
    } finally {
      await context.close();
    }
  });

  test('a failed wx.config is named as the config step', async () => {
    const { context, page } = await openPage(
      browser,
      'http://work.example.com/tools/bad-config?platform=android',
    );
    try {
      await page.route('**/jssdk/config', async (route) => {
        const { url } = JSON.parse(route.request().postData() ?? '{}') as { url: string };
        const signed = await corp.jssdkConfig({ url });
        await route.fulfill({ json: { ...signed, signature: '0'.repeat(40) } });
      });
      const out = await run(page);
      assert.equal(out.ok, false);
      assert.equal(out.step, 'config');
      assert.equal(out.errMsg, 'config:invalid signature');
    } finally {
      await context.close();
    }
  });

  test('the docs example (wecom.md, From a page) configures and calls the agent-only API', async () => {
    const { context, page } = await openPage(
      browser,
      'http://work.example.com/docs/example?platform=android',
    );
    try {
      const logged: string[] = [];
      page.on('console', (m) => logged.push(m.text()));
      // Console messages reach the test asynchronously: wait for the example's own line.
      const line = page.waitForEvent('console', {
        predicate: (m) => m.text().startsWith('getCurExternalContact:ok wm'),
        timeout: 10_000,
      });
      const res = (await page.evaluate(
        `(function () { ${example}; return wecomExample(${JSON.stringify('http://work.example.com')}, ${JSON.stringify(CORP)}); })()`,
      )) as Record<string, unknown>;
      assert.equal(res.err_msg, 'getCurExternalContact:ok', logged.join('\n'));
      await line.catch(() => assert.fail(`no getCurExternalContact line: ${logged.join('\n')}`));
    } finally {
      await context.close();
    }
  });

  test('WeCom OAuth: /oauth/login?appId=<corpId> lands back logged in; /oauth/me shows the userid', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(
        `http://work.example.com/oauth/login?appId=${CORP}&returnTo=%2Fdone%3Fplatform%3Dandroid`,
      );
      assert.equal(new URL(page.url()).pathname, '/done');
      const me = (await page.evaluate(
        'fetch("/oauth/me").then(function (r) { return r.json(); })',
      )) as Record<string, unknown>;
      assert.equal(me.corpId, CORP);
      assert.equal(me.userid, 'zhangsan');
    } finally {
      await context.close();
    }
  });
});
