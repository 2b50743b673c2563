// 全网发布 (SPEC §13): the simulator's release-check driver runs WeChat's three automated cases against a
// real `wxkit serve` process configured as a third-party platform with no forward URL — and fails a
// service that answers them wrong (no responder, a wrong reply, silence).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPlatform, createWxkit, isReleaseTestAccount, RELEASE_TEST_APP_IDS } from '../../src/index.ts';
import { releaseAction } from '../../src/platform/release-check.ts';
import { createPushHandler, parseMessage, reply } from '../../src/push/index.ts';
import { writeXml } from '../../src/push/xml.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { type ServeProcess, startServe } from '../serve/spawn.ts';
import { platformServeEnv } from './env.ts';

const COMPONENT = 'wxc0mp0nentre1ease';
const SECRET = 'release-component-secret';
const TOKEN = 'releasecomponenttoken';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const component = { componentAppId: COMPONENT, secret: SECRET, token: TOKEN, encodingAESKey: AES_KEY };

interface Report {
  passed: boolean;
  authorizerAppId: string;
  cases: { name: string; passed: boolean; reason: string }[];
}

test('the rules: only WeChat’s ten test appIds; the text, the API case and the older event case', () => {
  assert.equal(RELEASE_TEST_APP_IDS.length, 10);
  assert.ok(isReleaseTestAccount('wx570bc396a51b8ff8'));
  assert.ok(!isReleaseTestAccount('wxa0000000000000001'));
  const text = (Content: string) =>
    releaseAction(
      parseMessage(
        writeXml({
          ToUserName: 'gh',
          FromUserName: 'o',
          CreateTime: 1,
          MsgType: 'text',
          Content,
          MsgId: '1',
        }),
      ),
    );
  assert.deepEqual(text('TESTCOMPONENT_MSG_TYPE_TEXT'), {
    kind: 'reply',
    content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback',
  });
  assert.deepEqual(text('QUERY_AUTH_CODE:abc@@@1'), {
    kind: 'query-auth',
    code: 'abc@@@1',
    content: 'abc@@@1_from_api',
  });
  assert.deepEqual(text('QUERY_AUTH_CODE:'), { kind: 'none' });
  assert.deepEqual(text('hello'), { kind: 'none' });
  const event = parseMessage(
    writeXml({ ToUserName: 'gh', FromUserName: 'o', CreateTime: 1, MsgType: 'event', Event: 'LOCATION' }),
  );
  assert.deepEqual(releaseAction(event), { kind: 'reply', content: 'LOCATIONfrom_callback' });
});

describe('全网发布: the release check against wxkit serve', () => {
  let sim: Simulator;
  let serve: ServeProcess;
  let dir: string;

  const urls = (base: string) =>
    fetch(`${sim.url}/__sim/platform/components`, {
      method: 'POST',
      body: JSON.stringify({
        eventsUrl: `${base}/platform/events`,
        messagesUrl: `${base}/platform/messages/$APPID$`,
      }),
    });
  const check = async (body: Record<string, unknown> = {}): Promise<Report> => {
    const res = await fetch(`${sim.url}/__sim/platform/release-check`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Report;
  };
  const byName = (r: Report) => Object.fromEntries(r.cases.map((c) => [c.name, c]));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wxkit-release-check-'));
    sim = await startSimulator({
      components: [{ ...component, authorizers: 1 }],
    });
    serve = await startServe(platformServeEnv(component, sim.url, dir));
    await urls(serve.url);
  });
  after(async () => {
    await serve?.stop();
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('all three cases pass against a wxkit serve process with no forward URL', async () => {
    sim.reset();
    const report = await check();
    assert.equal(report.passed, true, JSON.stringify(report, null, 2));
    assert.equal(report.authorizerAppId, 'wx570bc396a51b8ff8');
    assert.deepEqual(
      report.cases.map((c) => [c.name, c.passed]),
      [
        ['ticket', true],
        ['text', true],
        ['api', true],
      ],
    );
    // The API case really went through WeChat: the code exchanged, the text sent with that token.
    const calls = sim.stats().calls;
    assert.equal(calls['/cgi-bin/component/api_query_auth'], 1);
    assert.equal(calls['/cgi-bin/message/custom/send'], 1);
    const log = (await (await fetch(`${sim.url}/__sim/push/log?appId=wx570bc396a51b8ff8`)).json()) as {
      seen: { via: string; content: string }[];
    };
    assert.ok(
      log.seen.some((s) => s.via === 'reply' && s.content === 'TESTCOMPONENT_MSG_TYPE_TEXT_callback'),
    );
    assert.ok(log.seen.some((s) => s.via === 'custom' && s.content.endsWith('_from_api')));
    // The log line is written after the send the simulator already saw: wait for it (bounded).
    const done = /release check \(全网发布\): api_query_auth and custom\/send done/;
    for (let i = 0; i < 100 && !done.test(serve.stdout()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(serve.stdout(), done);
    assert.ok(!serve.stdout().includes(SECRET));
  });

  test('another of WeChat’s test accounts passes too; an unknown authorizer or a messages URL without $APPID$ is a 400', async () => {
    assert.equal((await check({ authorizerAppId: 'wx9252c5e0bb1836fc' })).passed, true);
    const res = await fetch(`${sim.url}/__sim/platform/release-check`, {
      method: 'POST',
      body: JSON.stringify({ authorizerAppId: 'wxnotatestaccount1' }),
    });
    assert.equal(res.status, 400);
    const noPlaceholder = await fetch(`${sim.url}/__sim/platform/components`, {
      method: 'POST',
      body: JSON.stringify({ messagesUrl: `${serve.url}/platform/messages/wx1` }),
    });
    assert.equal(noPlaceholder.status, 400);
  });

  test('createPlatform users get it too: handleEvents and messages() on their own server pass', async () => {
    const platform = createPlatform({
      componentAppId: COMPONENT,
      componentSecret: SECRET,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      store: `file:${join(dir, 'library')}`,
      apiBase: sim.url,
    });
    let handled = 0;
    const messages = platform.messages({
      log: false,
      onMessage: () => {
        handled++;
        return undefined;
      },
    });
    const server: Server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const request = new Request(`http://127.0.0.1${req.url}`, { method: 'POST', body });
      const path = new URL(request.url).pathname;
      const answer = path.startsWith('/platform/messages/')
        ? await messages(request, path.slice('/platform/messages/'.length))
        : await platform.handleEvents(request);
      res.writeHead(answer.status).end(await answer.text());
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      await urls(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const report = await check();
      assert.equal(report.passed, true, JSON.stringify(report, null, 2));
      await messages.drain();
      assert.equal(handled, 0, 'the test account never reaches onMessage');
    } finally {
      await urls(serve.url);
      await new Promise<void>((ok) => server.close(() => ok()));
      await platform.close();
    }
  });

  test('the driver fails a service without the responder (an ordinary push handler) and a silent one', async () => {
    // A platform written without the release check: its events URL says "ok", its messages URL is a
    // plain push handler that replies to everything; then one that answers nothing at all.
    let mode: 'plain' | 'silent' = 'plain';
    const account = createWxkit({
      appId: 'wx570bc396a51b8ff8',
      secret: 'x',
      apiBase: sim.url,
      store: 'memory',
    });
    const plain = createPushHandler({
      account,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      receiveId: COMPONENT,
      log: false,
      onMessage: (m) => (m.type === 'text' ? reply.text(`you said ${m.Content}`) : undefined),
    });
    const server: Server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (req.url?.startsWith('/platform/events')) {
        res.end(mode === 'plain' ? 'ok' : 'success');
        return;
      }
      if (mode === 'silent') {
        res.end('');
        return;
      }
      const answer = await plain(new Request(`http://127.0.0.1${req.url}`, { method: 'POST', body }));
      res.writeHead(answer.status).end(await answer.text());
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      await urls(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const wrong = byName(await check({ waitMs: 300 }));
      assert.equal(wrong.ticket?.passed, false);
      assert.match(wrong.ticket?.reason ?? '', /"ok" instead of "success"/);
      assert.equal(wrong.text?.passed, false);
      assert.match(wrong.text?.reason ?? '', /replied "you said TESTCOMPONENT_MSG_TYPE_TEXT" instead of/);
      assert.equal(wrong.api?.passed, false);
      assert.match(wrong.api?.reason ?? '', /wants an empty body/);

      mode = 'silent';
      const silent = byName(await check({ waitMs: 300 }));
      assert.equal(silent.ticket?.passed, true);
      assert.equal(silent.text?.passed, false);
      assert.match(silent.text?.reason ?? '', /no reply/);
      assert.equal(silent.api?.passed, false);
      assert.match(silent.api?.reason ?? '', /api_query_auth was not called/);
    } finally {
      await urls(serve.url);
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });
});
