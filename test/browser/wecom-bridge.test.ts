import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { openPage } from './page.ts';
import { launchChromium, listen, mapHosts, requireChromium } from './stack.ts';

/**
 * A WeCom page in Chromium against the simulator's /jweixin.js: wx.config with the corp ticket, then
 * wx.agentConfig with the app ticket, then an agent-only wx.invoke API. The page lives at
 * http://work.example.com (the app's trusted domain), the simulator at http://sim.example; signatures
 * are computed here with the project's signJssdk over tickets fetched from the simulator's API.
 */

const CORP = 'wwb0a1c2d3e4f50607';
const AGENT = 1000002;
const SECRET = 'wecom-browser-secret';
const NONCE = 'WeComN0nce';
const TS = 1_700_000_000;

interface Outcome {
  config: string;
  agentConfig?: string;
  invoke?: Record<string, unknown>;
  before?: Record<string, unknown>;
}

/**
 * In the page: optional pushState and wx.config (with wx.error to tell its outcome), then wx.agentConfig,
 * then wx.invoke('getCurExternalContact'). Plain JS text: tsx's helpers (`__name`) do not exist in the page.
 */
const IN_PAGE = `async (a) => {
  var wx = window.wx;
  function invoke(name) { return new Promise(function (resolve) { wx.invoke(name, {}, resolve); }); }
  if (a.pushState) history.pushState({}, '', a.pushState);
  var out = { config: 'none' };
  if (a.config) {
    out.before = await invoke('getCurExternalContact');
    var failed = '';
    wx.error(function (r) { failed = r.errMsg; });
    await new Promise(function (resolve) {
      wx.config(Object.assign({}, a.config, { jsApiList: ['getCurExternalContact'] }));
      wx.ready(resolve);
    });
    await new Promise(function (resolve) { setTimeout(resolve, 0); });
    out.config = failed || 'config:ok';
  }
  out.agentConfig = await new Promise(function (resolve) {
    function done(res) { resolve(res.errMsg); }
    wx.agentConfig(Object.assign({}, a.agent, { jsApiList: ['getCurExternalContact'], success: done, fail: done }));
  });
  out.invoke = await invoke('getCurExternalContact');
  return out;
}`;

function runInPage(
  page: Page,
  args: { config?: Record<string, unknown>; agent: Record<string, unknown>; pushState?: string },
): Promise<Outcome> {
  return page.evaluate(`(${IN_PAGE})(${JSON.stringify(args)})`) as Promise<Outcome>;
}

describe('WeCom wx.config + wx.agentConfig in Chromium', () => {
  let sim: Simulator;
  let pages: Server;
  let browser: Browser;
  let corpTicket: string;
  let appTicket: string;

  before(async () => {
    requireChromium();
    sim = await startSimulator({
      corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['work.example.com'] }],
    });
    const tk = (await (
      await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=${SECRET}`)
    ).json()) as { access_token: string };
    corpTicket = (
      (await (await fetch(`${sim.url}/cgi-bin/get_jsapi_ticket?access_token=${tk.access_token}`)).json()) as {
        ticket: string;
      }
    ).ticket;
    appTicket = (
      (await (
        await fetch(`${sim.url}/cgi-bin/ticket/get?access_token=${tk.access_token}&type=agent_config`)
      ).json()) as { ticket: string }
    ).ticket;
    pages = createServer((req, res) => {
      const platform = new URL(req.url ?? '/', 'http://x').searchParams.get('platform') ?? 'android';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        `<!doctype html><html><head><meta charset="utf-8"><title>wecom</title><script src="http://sim.example/jweixin.js?platform=${platform}"></script></head><body>wecom</body></html>`,
      );
    });
    browser = await launchChromium(
      mapHosts({ 'work.example.com': await listen(pages), 'sim.example': sim.port }),
    );
  });
  after(async () => {
    await browser?.close();
    pages?.closeAllConnections();
    await new Promise((r) => pages?.close(r));
    await sim?.close();
  });

  const configFor = (url: string, ticket = corpTicket) => ({
    beta: true,
    appId: CORP,
    timestamp: TS,
    nonceStr: NONCE,
    signature: signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url }),
  });
  const agentFor = (url: string, ticket = appTicket, agentid: number | string = AGENT) => ({
    corpid: CORP,
    agentid,
    timestamp: TS,
    nonceStr: NONCE,
    signature: signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url }),
  });

  test('android: config and agentConfig succeed with correct signatures; the agent-only API works after', async () => {
    const url = 'http://work.example.com/tools/contact?platform=android&from=singlemessage';
    const { context, page } = await openPage(browser, url);
    try {
      const out = await runInPage(page, { config: configFor(url), agent: agentFor(url) });
      assert.equal(out.config, 'config:ok');
      assert.deepEqual(out.before, { err_msg: 'getCurExternalContact:fail_no permission' });
      assert.equal(out.agentConfig, 'agentConfig:ok');
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:ok');
      assert.match(String(out.invoke?.userId), /^wm/);
    } finally {
      await context.close();
    }
  });

  test('ios SPA after pushState: both verify the landing URL; agentid as a string works too', async () => {
    const landing = 'http://work.example.com/spa/?platform=ios';
    const { context, page } = await openPage(browser, landing);
    try {
      const out = await runInPage(page, {
        pushState: '/spa/orders/7',
        config: configFor(landing),
        agent: agentFor(landing, appTicket, String(AGENT)),
      });
      assert.equal(out.config, 'config:ok');
      assert.equal(out.agentConfig, 'agentConfig:ok');
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:ok');
    } finally {
      await context.close();
    }
  });

  test('agentConfig signed with the corp ticket fails (agentConfig:invalid signature); the API stays closed', async () => {
    const url = 'http://work.example.com/tools/wrong-ticket?platform=android';
    const { context, page } = await openPage(browser, url);
    try {
      const out = await runInPage(page, { config: configFor(url), agent: agentFor(url, corpTicket) });
      assert.equal(out.config, 'config:ok');
      assert.equal(out.agentConfig, 'agentConfig:invalid signature');
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:fail_no permission');
    } finally {
      await context.close();
    }
  });

  test('agentConfig before (without) a successful wx.config is refused', async () => {
    const url = 'http://work.example.com/tools/no-config?platform=android';
    const { context, page } = await openPage(browser, url);
    try {
      const out = await runInPage(page, { agent: agentFor(url) });
      assert.match(String(out.agentConfig), /^agentConfig:fail, wx\.config has not succeeded/);
      assert.equal(out.invoke?.err_msg, 'getCurExternalContact:fail_no permission');
      const failed = await runInPage(page, { config: configFor(url, appTicket), agent: agentFor(url) });
      assert.equal(failed.config, 'config:invalid signature', 'the app ticket does not sign wx.config');
      assert.match(String(failed.agentConfig), /^agentConfig:fail/);
    } finally {
      await context.close();
    }
  });
});
