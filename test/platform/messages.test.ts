// The 消息与事件接收URL of `wxkit serve` as a third-party platform (SPEC §13, forwarded as §11): every
// authorized appId's messages decrypted with the component's token and key, de-duplicated and forwarded
// to WX_COMPONENT_FORWARD (signed), late replies through custom/send with the authorizer's token;
// unauthorized accounts answered success and logged; hostile requests refused as on /wechat/push; the
// release check answered by wxkit and never forwarded.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPushCrypto } from '../../src/push/crypto.ts';
import { sealPush } from '../../src/push/envelope.ts';
import { pushSignature } from '../../src/push/signature.ts';
import { writeXml } from '../../src/push/xml.ts';
import { type Service, startService } from '../../src/serve/service.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { FORWARD_SECRET, type Receiver, startReceiver } from '../serve/push-helpers.ts';
import { platformServeEnv } from './env.ts';

const COMPONENT = 'wxc0mp0nentmessage';
const SECRET = 'messages-component-secret';
const TOKEN = 'messagescomponenttoken';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const component = { componentAppId: COMPONENT, secret: SECRET, token: TOKEN, encodingAESKey: AES_KEY };

describe('wxkit serve: GET|POST /platform/messages/:appId', () => {
  let sim: Simulator;
  let service: Service;
  let receiver: Receiver;
  let dir: string;
  const lines: string[] = [];
  // c0, c1 authorized; c2 authorized then unauthorized; c3 never authorized.
  let c: string[];

  const post = (path: string, body: unknown) =>
    fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const url = (appId: string) => `${service.url}/platform/messages/${appId}`;
  const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: COMPONENT });
  /** A message as WeChat would push it for `appId`'s fan (the caller may swap the crypto or the body). */
  const sealed = (content: string, options: { from?: string; msgId?: string; cipher?: typeof crypto } = {}) =>
    sealPush(
      writeXml({
        ToUserName: 'gh_test',
        FromUserName: options.from ?? 'oFanOfTheAccount000000001',
        CreateTime: Math.floor(Date.now() / 1000),
        MsgType: 'text',
        Content: content,
        MsgId: options.msgId ?? String(Date.now()),
      }),
      { crypto: options.cipher ?? crypto, token: TOKEN, toUserName: 'gh_test' },
    );
  const send = (appId: string, s: ReturnType<typeof sealPush>, body = s.body) =>
    fetch(`${url(appId)}?${new URLSearchParams(s.query)}`, { method: 'POST', body });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wxkit-platform-messages-'));
    sim = await startSimulator({
      components: [{ ...component, authorizers: 4 }],
    });
    receiver = await startReceiver();
    service = await startService({
      env: {
        ...platformServeEnv(component, sim.url, dir),
        WX_COMPONENT_FORWARD: receiver.url,
        WXKIT_PUSH_FORWARD_SECRET: FORWARD_SECRET,
      },
      cwd: dir,
      logLine: (line) => lines.push(line),
    });
    await post('/__sim/platform/components', {
      eventsUrl: `${service.url}/platform/events`,
      messagesUrl: `${service.url}/platform/messages/$APPID$`,
    });
    c = [...(sim.openPlatform.state.get(COMPONENT)?.candidates ?? [])];
    for (const appId of c.slice(0, 3)) await post('/__sim/platform/authorize', { appId });
    await post('/__sim/platform/unauthorize', { appId: c[2] });
    await sim.openPlatform.pusher.settle();
  });
  after(async () => {
    await service.close();
    await receiver.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('URL verification with the component token, for any appId; a forged signature is 401', async () => {
    const q = { timestamp: String(Math.floor(Date.now() / 1000)), nonce: '1234567', echostr: 'echo-42' };
    const ok = await fetch(
      `${url('wx0000000000000001')}?${new URLSearchParams({ ...q, signature: pushSignature(TOKEN, q.timestamp, q.nonce) })}`,
    );
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'echo-42');
    const forged = await fetch(
      `${url('wx0000000000000001')}?${new URLSearchParams({ ...q, signature: 'f'.repeat(40) })}`,
    );
    assert.equal(forged.status, 401);
  });

  test('a fan writes to an authorized account: decrypted for the component, forwarded signed, the reply seen', async () => {
    const appId = c[0] as string;
    const record = await sim.push({ appId, message: { MsgType: 'text', Content: 'hello platform' } });
    assert.equal(record.result, 'replied', record.problem);
    assert.equal(record.userSaw?.content, 'echo: hello platform');
    const d = receiver.deliveries.filter((x) => x.message.Content === 'hello platform');
    assert.equal(d.length, 1);
    assert.equal(d[0]?.appId, appId);
    assert.equal((d[0] as unknown as { componentAppId: string }).componentAppId, COMPONENT);
    assert.equal(receiver.unsigned, 0);
  });

  test('a forward URL that is down: the reply it gives later goes out through custom/send with the authorizer token', async () => {
    const appId = c[1] as string;
    const user = sim.state.app(appId)?.users[0]?.openid as string;
    receiver.mode = { status: 503 };
    const before = sim.pushLog({ user, limit: 1e6 }).seen.length;
    const record = await sim.push({
      appId,
      message: { MsgType: 'text', Content: 'while down', FromUserName: user },
    });
    assert.equal(record.result, 'no-reply');
    receiver.mode = {};
    for (let i = 0; i < 100 && sim.pushLog({ user, limit: 1e6 }).seen.length === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(
      sim
        .pushLog({ user, limit: 1e6 })
        .seen.slice(before)
        .map((s) => [s.appId, s.via, s.content]),
      [[appId, 'custom', 'echo: while down']],
    );
  });

  test('unauthorized and never-authorized accounts: success (no retries), a log line, nothing forwarded', async () => {
    for (const [appId, state] of [
      [c[2], 'revoked'],
      [c[3], 'unknown'],
    ] as const) {
      const res = await send(appId as string, sealed(`for ${state}`));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'success');
      assert.equal(receiver.deliveries.filter((d) => d.message.Content === `for ${state}`).length, 0);
      assert.ok(
        lines.some((l) => l.includes('not authorized') && l.includes(appId as string) && l.includes(state)),
        `no log line for ${state}`,
      );
    }
  });

  test('hostile: forged signature 401, another component’s ciphertext 400, a big body 413, an XML bomb 400', async () => {
    const appId = c[0] as string;
    const s = sealed('forged');
    const forged = await send(appId, { ...s, query: { ...s.query, msg_signature: 'a'.repeat(40) } });
    assert.equal(forged.status, 401);
    const other = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: 'wxanothercomponent' });
    const foreign = await send(appId, sealed('foreign', { cipher: other }));
    assert.equal(foreign.status, 400);
    assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'invalid_request');
    const big = await send(appId, s, `<xml><Encrypt>${'A'.repeat(70 * 1024)}</Encrypt></xml>`);
    assert.equal(big.status, 413);
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&b;</Content></xml>';
    const inside = sealPush(bomb, { crypto, token: TOKEN, toUserName: 'gh_test' });
    assert.equal((await send(appId, inside)).status, 400);
    const malformed = await send('bad%20id', s);
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'invalid_request');
    assert.equal(
      receiver.deliveries.filter((d) => ['forged', 'foreign'].includes(String(d.message.Content))).length,
      0,
    );
  });

  test('a message replayed to another account’s URL is a duplicate, not a second message', async () => {
    const s = sealed('replayed', { msgId: '9000000000000000001' });
    assert.equal((await send(c[0] as string, s)).status, 200);
    assert.equal((await send(c[1] as string, s)).status, 200);
    assert.equal(receiver.deliveries.filter((d) => d.message.Content === 'replayed').length, 1);
  });

  test('the release check passes with a forward URL configured, and none of its messages is forwarded', async () => {
    const before = receiver.deliveries.length;
    const report = (await (await post('/__sim/platform/release-check', {})).json()) as { passed: boolean };
    assert.equal(report.passed, true, JSON.stringify(report));
    assert.equal(receiver.deliveries.length, before);
  });

  test('configuration: a WX_COMPONENT_FORWARD that is not a URL, or forwarding without the secret, stops the start', async () => {
    const env = { ...platformServeEnv(component, sim.url, dir), WXKIT_STORE: 'memory', WXKIT_LOG: 'off' };
    await assert.rejects(
      startService({
        env: { ...env, WX_COMPONENT_FORWARD: 'ftp://x', WXKIT_PUSH_FORWARD_SECRET: FORWARD_SECRET },
        cwd: dir,
      }),
      (e: { code?: string; message: string }) =>
        e.code === 'config_error' && /WX_COMPONENT_FORWARD/.test(e.message),
    );
    await assert.rejects(
      startService({ env: { ...env, WX_COMPONENT_FORWARD: receiver.url }, cwd: dir }),
      (e: { code?: string; message: string }) =>
        e.code === 'config_error' && /WXKIT_PUSH_FORWARD_SECRET/.test(e.message),
    );
  });
});
