// Every code block of README.md, README.zh-CN.md and docs/ (both languages) is either run here or
// named as not runnable, so a document cannot drift from the code:
//  - ts/js/html blocks must appear, line for line (comments and spacing aside), in a file of
//    test/api/examples/, and those files are executed below against the simulator;
//  - json blocks must parse (one value, or one per line);
//  - sh blocks may only call wxkit commands and flags that `wxkit <command> --help` lists.
// A block that is not meant to run (an interface summary, pseudo-code) is preceded by the line
// `<!-- not run: why -->`.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cardSignature } from '../../src/cards.ts';
import { commands } from '../../src/cli/main.ts';
import type { JssdkConfig } from '../../src/signature.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { closeNode, listenNode, assertVerifies as verifies } from './run-helpers.ts';

const root = new URL('../..', import.meta.url).pathname;
const examplesDir = join(root, 'test/api/examples');

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
  notRun: boolean;
}

function docFiles(): string[] {
  const out = ['README.md', 'README.zh-CN.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const p = join(dir, name);
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (name.endsWith('.md')) out.push(p);
    }
  };
  walk('docs');
  return out;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string);
    const before = lines.slice(Math.max(0, start - 2), start).join('\n');
    blocks.push({
      file,
      line: start + 1,
      lang: (open[1] ?? '').toLowerCase(),
      code: body.join('\n'),
      notRun: /<!--\s*not run:[^>]*-->/.test(before),
    });
  }
  return blocks;
}

/** Code lines without comments, indentation and runs of spaces: what must match. */
function normalize(code: string): string[] {
  return code
    .split('\n')
    .map((l) =>
      l
        .replace(/<!--.*?-->/g, '')
        .replace(/(^|\s)\/\/.*$/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((l) => l !== '');
}

function containsLines(haystack: string[], needle: string[]): boolean {
  if (needle.length === 0) return true;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const RUNNABLE = new Set(['ts', 'js', 'tsx', 'mjs', 'cjs', 'typescript', 'javascript', 'html']);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const allBlocks = docFiles().flatMap(blocksOf);

describe('every code block of the docs is run or checked', () => {
  const examples = readdirSync(examplesDir).map((name) => ({
    name,
    lines: normalize(readFileSync(join(examplesDir, name), 'utf8')),
  }));

  test('the docs have code blocks (the parser works)', () => {
    assert.ok(allBlocks.filter((b) => RUNNABLE.has(b.lang)).length >= 10);
  });

  for (const b of allBlocks) {
    const where = `${b.file}:${b.line}`;
    if (RUNNABLE.has(b.lang) && !b.notRun) {
      test(`${where} (${b.lang}) is in test/api/examples/ and runs there`, () => {
        const needle = normalize(b.code);
        const home = examples.find((e) => containsLines(e.lines, needle));
        assert.ok(
          home,
          `${where}: this ${b.lang} block is not in any file of test/api/examples/ (line for line, comments aside). Copy it there and run it, or mark it <!-- not run: why -->.\n${b.code}`,
        );
      });
    } else if (b.lang === 'json' && !b.notRun) {
      test(`${where} (json) parses`, () => {
        // One JSON value, or alternatives one per line.
        try {
          JSON.parse(b.code);
        } catch {
          for (const line of b.code.split('\n').filter((l) => l.trim() !== '')) {
            assert.doesNotThrow(() => JSON.parse(line), `${where} is not valid JSON: ${line}`);
          }
        }
      });
    } else if (SHELL.has(b.lang)) {
      test(`${where} (${b.lang}) calls only existing wxkit commands and flags`, () => {
        for (const raw of b.code.split('\n')) {
          const line = raw.replace(/\s#\s.*$/, '');
          for (const m of line.matchAll(/(?:^|[\s;&|(])(?:npx\s+)?wxkit\s+([a-z-]+)([^;&|]*)/g)) {
            const name = m[1] as string;
            const command = commands[name];
            assert.ok(
              command,
              `${where}: "wxkit ${name}" is not a command (${Object.keys(commands).join(', ')})`,
            );
            for (const flag of (m[2] ?? '').matchAll(/\s(--[a-z][a-z-]*)/g)) {
              assert.ok(
                command.usage.includes(flag[1] as string),
                `${where}: wxkit ${name} has no ${flag[1]} (its --help does not list it)`,
              );
            }
          }
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// Running the examples against the simulator, as a user would with the environment variables set.

const APP_ID = 'wxdocs0000000001';
const SECRET = 'docs-example-secret';
const PAGE = 'https://h5.example.com/app/?from=singlemessage';
let sim: Simulator;

const assertVerifies = (config: JssdkConfig, url: string) => verifies(sim, APP_ID, config, url);

const configPath = `/jssdk/config?url=${encodeURIComponent(PAGE)}&apis=chooseImage`;

describe('the examples run', () => {
  before(async () => {
    sim = await startSimulator({ apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }] });
    Object.assign(process.env, {
      WX_APP_ID: APP_ID,
      WX_APP_SECRET: SECRET,
      WX_API_BASE: sim.url,
      EXAMPLE_PAGE_URL: PAGE,
    });
    // No WX_OPEN_BASE (issue 18): the OAuth examples reach the simulator's consent page through WX_API_BASE.
    delete process.env.WXKIT_STORE;
    delete process.env.WX_OPEN_BASE;
  });
  after(async () => {
    const { wx } = await import('./examples/readme-library.ts');
    await wx.close();
    await sim.close();
  });

  test('README: the library example signs a page WeChat accepts', async () => {
    const { config } = await import('./examples/readme-library.ts');
    assertVerifies(config, PAGE);
  });

  test('README: Express, Koa, Fastify, Hono and Next.js mounts sign and pass other routes on', async () => {
    const { app: expressApp } = await import('./examples/readme-express.ts');
    const express = createServer(expressApp);
    const koa = createServer((await import('./examples/readme-koa.ts')).app.callback());
    try {
      for (const [server, prefix] of [
        [express, '/wx'],
        [koa, ''],
      ] as const) {
        const base = await listenNode(server);
        const res = await fetch(`${base}${prefix}${configPath}`);
        assert.equal(res.status, 200);
        assertVerifies((await res.json()) as JssdkConfig, PAGE);
        const other = await fetch(`${base}/hello`);
        assert.deepEqual(await other.json(), { from: 'app' });
      }
    } finally {
      await closeNode(express);
      await closeNode(koa);
    }

    const { app: fastify } = await import('./examples/readme-fastify.ts');
    const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${base}/wx${configPath}`);
      assertVerifies((await res.json()) as JssdkConfig, PAGE);
      assert.deepEqual(await (await fetch(`${base}/hello`)).json(), { from: 'app' });
    } finally {
      await fastify.close();
    }

    const { app: hono } = await import('./examples/readme-hono.ts');
    const viaHono = await hono.fetch(new Request(`http://h5.example.com/wx${configPath}`));
    assertVerifies((await viaHono.json()) as JssdkConfig, PAGE);
    assert.deepEqual(await (await hono.fetch(new Request('http://h5.example.com/hello'))).json(), {
      from: 'app',
    });

    const next = await import('./examples/readme-next.ts');
    const context = { params: Promise.resolve({ path: ['jssdk', 'config'] }) };
    const viaNext = await next.GET(new Request(`http://h5.example.com/wx${configPath}`), context);
    assertVerifies((await viaNext.json()) as JssdkConfig, PAGE);
    const preflight = await next.OPTIONS(
      new Request('http://h5.example.com/wx/jssdk/config', {
        method: 'OPTIONS',
        headers: { origin: 'https://h5.example.com', 'access-control-request-method': 'POST' },
      }),
      context,
    );
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://h5.example.com');
  });

  test('docs/custody.md: the file-store example, from a fresh working directory', async () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-docs-'));
    process.chdir(dir);
    try {
      const { config, wx } = await import('./examples/custody-library.ts');
      assertVerifies(config, 'https://h5.example.com/page');
      await wx.close();
      assert.ok(readdirSync(join(dir, '.wxkit')).length > 0, 'the file store holds the credentials');
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('docs/oauth.md: authorize URL, consent, code exchange (twice), userinfo, refresh, /sns/auth', async () => {
    const ex = await import('./examples/oauth-library.ts');
    try {
      assert.ok(ex.url.endsWith('#wechat_redirect'));
      assert.equal(ex.callback.searchParams.get('state'), 'st4te');
      assert.equal(ex.token.openid, ex.chosen);
      assert.deepEqual(ex.again, ex.token, 'a repeated exchange of the same code is the same login');
      assert.equal(ex.user.openid, ex.chosen);
      assert.ok(ex.user.nickname);
      assert.equal(ex.fresh.openid, ex.chosen);
      assert.equal(ex.valid, true);
    } finally {
      await ex.wx.close();
    }
  });

  test('docs/cards.md: chooseCardSign and cardExt sign with the simulator’s wx_card ticket', async () => {
    const ex = await import('./examples/cards-library.ts');
    try {
      const ticket = sim.state.currentTicket(APP_ID, 'wx_card');
      assert.ok(ticket);
      const c = ex.choose;
      assert.equal(c.cardSign, cardSignature([ticket, APP_ID, String(c.timestamp), c.nonceStr, 'GROUPON']));
      const ext = JSON.parse(ex.cardExt) as Record<string, string>;
      assert.equal(ext.code, '1234567890');
      assert.equal(
        ext.signature,
        cardSignature([
          ticket,
          ext.timestamp as string,
          'pFS7Fjg8kV1IdDz01r4SQwMkuCKc',
          '1234567890',
          ext.nonce_str as string,
        ]),
      );
    } finally {
      await ex.wx.close();
    }
  });

  test('docs/wecom.md: wx.config and wx.agentConfig signed for a WeCom page, WeCom OAuth', async () => {
    const corpId = 'wwd0cs0c0rp00001';
    const agentId = '1000002';
    const wecomSim = await startSimulator({
      corps: [{ corpId, agentId, secret: 'docs-corp-secret', jsDomains: ['work.example.com'] }],
    });
    const page = 'https://work.example.com/app/?from=menu';
    const saved = { ...process.env };
    Object.assign(process.env, {
      WX_CORP_ID: corpId,
      WX_CORP_AGENT_ID: agentId,
      WX_CORP_SECRET: 'docs-corp-secret',
      WX_WORK_API_BASE: wecomSim.url,
      EXAMPLE_WECOM_PAGE_URL: page,
    });
    // The recipe sets WX_WORK_API_BASE only (issue 18): the OAuth page follows a loopback API base.
    delete process.env.WX_OPEN_BASE;
    try {
      const { agent, config, corp } = await import('./examples/wecom-library.ts');
      const sign = (ticket: string | undefined, c: { nonceStr: string; timestamp: number }) =>
        signJssdk({ ticket: ticket ?? '', nonceStr: c.nonceStr, timestamp: c.timestamp, url: page });
      assert.equal(config.appId, corpId);
      assert.equal(config.signature, sign(wecomSim.state.wecom.currentCorpTicket(corpId), config));
      assert.equal(agent.agentid, agentId);
      assert.equal(agent.signature, sign(wecomSim.state.wecom.currentAgentTicket(corpId, agentId), agent));
      await corp.close();
      const oauth = await import('./examples/wecom-oauth.ts');
      assert.equal(new URL(oauth.url).searchParams.get('agentid'), agentId);
      assert.deepEqual(oauth.user, { userid: 'zhangsan' });
      await oauth.corp.close();
    } finally {
      process.env = saved;
      await wecomSim.close();
    }
  });

  test('docs/push.md: the push handler answers, welcomes, and sends a slow model’s answer once through custom/send', async () => {
    const token = 'docsPushToken1';
    const encodingAESKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    Object.assign(process.env, { WX_PUSH_TOKEN: token, WX_PUSH_AES_KEY: encodingAESKey });
    const ex = await import('./examples/push-library.ts');
    const server = createServer(ex.app);
    const base = await listenNode(server);
    try {
      await sim.configurePush({
        appId: APP_ID,
        url: `${base}/wechat/push`,
        token,
        encodingAESKey,
        mode: 'safe',
      });
      const quick = await sim.push({ appId: APP_ID, message: { MsgType: 'text', Content: 'hello' } });
      assert.equal(quick.userSaw?.content, 'model: hello');
      const welcome = await sim.push({
        appId: APP_ID,
        message: { MsgType: 'event', Event: 'subscribe', EventKey: '' },
      });
      assert.equal(welcome.userSaw?.content, '欢迎关注！Welcome!');
      const news = await sim.push({
        appId: APP_ID,
        message: { MsgType: 'event', Event: 'CLICK', EventKey: 'NEWS' },
      });
      assert.equal(news.result, 'replied');
      const seen = sim.pushLog().seen.length;
      // The model takes longer than WeChat waits: success at the handler's 4.5 s deadline (real time).
      const slow = await sim.push({ appId: APP_ID, message: { MsgType: 'text', Content: 'slow question' } });
      assert.equal(slow.result, 'no-reply');
      ex.model.answer('a considered answer');
      await ex.push.drain();
      assert.deepEqual(
        sim
          .pushLog()
          .seen.slice(seen)
          .map((s) => [s.via, s.content]),
        [['custom', 'a considered answer']],
      );
    } finally {
      await closeNode(server);
      await ex.account.close();
    }
  });

  test('docs/push.md: the protocol pieces round-trip and sign as WeChat’s sample', async () => {
    const ex = await import('./examples/push-crypto.ts');
    assert.equal(ex.message, '<xml><Content><![CDATA[hello]]></Content></xml>');
    assert.equal(ex.receiveId, 'wx2c2769f8efd9abc2');
    assert.equal(ex.signature, '16120ec1b8dbb870f510d87ce6bc2463eae6ca1a');
  });

  test('docs/platform.md: an authorized account signs a page through the platform', async () => {
    const component = {
      componentAppId: 'wxd0cs0c0mp00001',
      secret: 'docs-component-secret',
      token: 'docstoken',
    };
    const encodingAESKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const platformSim = await startSimulator({
      components: [{ ...component, encodingAESKey, jsDomains: ['shop.example.com'] }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-platform-doc-'));
    const page = 'https://shop.example.com/item/?id=7';
    // Another instance of the platform on the same store received the ticket and the authorization.
    const { createPlatform } = await import('../../src/index.ts');
    const seed = createPlatform({
      componentAppId: component.componentAppId,
      componentSecret: component.secret,
      token: component.token,
      encodingAESKey,
      store: `file:${dir}`,
      apiBase: platformSim.url,
    });
    const events = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const answer = await seed.handleEvents(
        new Request(`http://127.0.0.1${req.url}`, { method: 'POST', body }),
      );
      res.writeHead(answer.status).end(await answer.text());
    });
    const eventsOrigin = await listenNode(events);
    const saved = { ...process.env };
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${platformSim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      await post('/__sim/platform/components', { eventsUrl: `${eventsOrigin}/platform/events` });
      const appId = platformSim.openPlatform.state.get(component.componentAppId)?.candidates[0] as string;
      await post('/__sim/platform/authorize', { appId });
      await platformSim.openPlatform.pusher.settle();
      Object.assign(process.env, {
        WX_COMPONENT_APP_ID: component.componentAppId,
        WX_COMPONENT_SECRET: component.secret,
        WX_COMPONENT_TOKEN: component.token,
        WX_COMPONENT_AES_KEY: encodingAESKey,
        WXKIT_STORE: `file:${dir}`,
        WX_API_BASE: platformSim.url,
        EXAMPLE_PLATFORM_PAGE_URL: page,
        EXAMPLE_AUTHORIZER_APP_ID: appId,
      });
      const { config, platform } = await import('./examples/platform-library.ts');
      assert.equal(config.appId, appId);
      assert.equal(
        config.signature,
        signJssdk({
          ticket: platformSim.state.currentTicket(appId) ?? '',
          nonceStr: config.nonceStr,
          timestamp: config.timestamp,
          url: page,
        }),
      );
      await platform.close();
      // Web OAuth for that account: the component_appid link, the exchange with the component token.
      process.env.EXAMPLE_OPENID = platformSim.state.app(appId)?.users[0]?.openid;
      const oauth = await import('./examples/platform-oauth.ts');
      assert.equal(new URL(oauth.link).searchParams.get('component_appid'), component.componentAppId);
      assert.equal(oauth.user.openid, process.env.EXAMPLE_OPENID);
      assert.equal(oauth.profile.openid, oauth.user.openid);
      assert.equal(platformSim.stats().calls['/sns/oauth2/component/access_token'], 1);
      await oauth.platform.close();
    } finally {
      process.env = saved;
      await seed.close();
      await closeNode(events);
      await platformSim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('docs/simulator.md: the test example runs to its end', async () => {
    await import('./examples/simulator-test.ts');
  });
});
