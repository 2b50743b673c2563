import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import type { Service } from '../../src/serve/service.ts';
import { SERVICE_UNAVAILABLE, type Simulator } from '../../src/simulator/index.ts';
import { AES_KEY, TOKEN } from '../simulator/push-helpers.ts';
import {
  AGENT,
  APP,
  CORP,
  PLAIN_APP,
  type PushStack,
  pool,
  type Receiver,
  startPushStack,
} from './push-helpers.ts';

/**
 * `wxkit serve`'s /wechat/push (SPEC §11) driven by the simulator playing WeChat: every mode and format,
 * the 5-second rule with a slow handler, a forward URL that is down, WeCom apps.
 */

let stack: PushStack;
let sim: Simulator;
let receiver: Receiver;
let service: Service;

before(async () => {
  stack = await startPushStack();
  ({ sim, receiver, service } = stack);
});
after(() => stack.close());

const appFor = (mode: string) => (mode === 'plain' ? PLAIN_APP : APP);
const pushUrl = (appId = APP) => `${service.url}/wechat/push/${appId}`;

describe('wxkit serve /wechat/push through the simulator', () => {
  for (const mode of ['plain', 'compat', 'safe'] as const) {
    for (const format of ['xml', 'json'] as const) {
      test(`${mode} × ${format}: 1,000 messages → 1,000 handler runs, 1,000 correct replies, no notice`, async () => {
        const appId = appFor(mode);
        await sim.configurePush({ appId, url: pushUrl(appId), token: TOKEN, encodingAESKey: AES_KEY, mode });
        receiver.mode = {};
        const tag = `${mode}-${format}`;
        const users = sim.state.app(appId)?.users.map((u) => u.openid) ?? [];
        const before = sim.pushLog({ appId, limit: 1e6 }).seen.length;
        const records = await pool(
          Array.from({ length: 1000 }, (_, i) => i),
          25,
          (i) =>
            sim.push({
              appId,
              mode,
              format,
              message: {
                MsgType: 'text',
                Content: `${tag} #${i}`,
                FromUserName: users[i % users.length] as string,
              },
            }),
        );
        const ran = receiver.deliveries.filter((d) => String(d.message.Content).startsWith(`${tag} #`));
        assert.equal(ran.length, 1000);
        assert.equal(new Set(ran.map((d) => d.id)).size, 1000);
        assert.ok(
          records.every((r, i) => r.result === 'replied' && r.userSaw?.content === `echo: ${tag} #${i}`),
        );
        const seen = sim.pushLog({ appId, limit: 1e6 }).seen.slice(before);
        assert.equal(seen.filter((s) => s.via === 'reply').length, 1000);
        assert.equal(seen.filter((s) => s.content === SERVICE_UNAVAILABLE).length, 0);
        assert.equal(receiver.unsigned, 0);
      });
    }
  }

  test('a handler that takes 8 s: WeChat tries three times, the handler runs once, the user sees one answer (custom/send)', async () => {
    await sim.configurePush({
      appId: APP,
      url: pushUrl(),
      token: TOKEN,
      encodingAESKey: AES_KEY,
      mode: 'safe',
    });
    receiver.mode = { delayMs: 8_000 };
    const user = sim.state.app(APP)?.users[1]?.openid as string;
    const before = sim.pushLog({ user, limit: 1e6 }).seen.length;
    // The first two answers reach WeChat too late (a slow network): three tries of the same MsgId.
    const record = await sim.push({
      appId: APP,
      mode: 'safe',
      networkDelayMs: [4_900, 4_900, 0],
      message: { MsgType: 'text', Content: 'slow question', FromUserName: user },
    });
    assert.equal(record.tries.length, 3);
    assert.equal(record.result, 'no-reply');
    // The slow handler answers at 8 s; wxkit sends it through custom/send.
    for (let i = 0; i < 100 && sim.pushLog({ user, limit: 1e6 }).seen.length === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const seen = sim.pushLog({ user, limit: 1e6 }).seen.slice(before);
    assert.deepEqual(
      seen.map((s) => [s.via, s.content]),
      [['custom', 'echo: slow question']],
    );
    const runs = receiver.deliveries.filter((d) => d.message.Content === 'slow question');
    assert.equal(runs.length, 1);
    receiver.mode = {};
  });

  test('a forward URL that is down: WeChat hears success, the message waits in the outbox and arrives when the URL is back', async () => {
    await sim.configurePush({
      appId: APP,
      url: pushUrl(),
      token: TOKEN,
      encodingAESKey: AES_KEY,
      mode: 'safe',
    });
    receiver.mode = { status: 503 };
    const user = sim.state.app(APP)?.users[0]?.openid as string;
    const before = sim.pushLog({ user, limit: 1e6 }).seen.length;
    const record = await sim.push({
      appId: APP,
      message: { MsgType: 'text', Content: 'while down', FromUserName: user },
    });
    assert.equal(record.result, 'no-reply');
    assert.equal(record.tries.length, 1);
    assert.equal(receiver.deliveries.filter((d) => d.message.Content === 'while down').length, 0);
    receiver.mode = {};
    // The outbox is swept every second; its first retry is due 2 s after the failure.
    for (let i = 0; i < 100 && !receiver.deliveries.some((d) => d.message.Content === 'while down'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(receiver.deliveries.filter((d) => d.message.Content === 'while down').length, 1);
    // The reply the URL gave then reaches the user through custom/send.
    for (let i = 0; i < 50 && sim.pushLog({ user, limit: 1e6 }).seen.length === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(
      sim
        .pushLog({ user, limit: 1e6 })
        .seen.slice(before)
        .map((s) => [s.via, s.content]),
      [['custom', 'echo: while down']],
    );
  });

  test('a WeCom app: encrypted echostr verification, msg_signature pushes, the reply seen by the member', async () => {
    await sim.configurePush({
      appId: CORP,
      url: `${service.url}/wechat/push/${CORP}`,
      token: TOKEN,
      encodingAESKey: AES_KEY,
    });
    receiver.mode = {};
    const record = await sim.push({ appId: CORP, message: { MsgType: 'text', Content: '企业微信' } });
    assert.equal(record.result, 'replied', record.problem);
    assert.equal(record.userSaw?.content, 'echo: 企业微信');
    const d = receiver.deliveries.find((x) => x.message.Content === '企业微信') as unknown as {
      appId: string;
      agentId: string;
    };
    assert.equal(d.appId, CORP);
    assert.equal(d.agentId, AGENT);
  });

  test('wxkit doctor --push against the running service: every check passes (safe and plaintext accounts)', async () => {
    receiver.mode = {};
    for (const [appId, extra] of [
      [APP, ['--aes-key', AES_KEY, '--app-id', APP]],
      [PLAIN_APP, []],
    ] as const) {
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: () => {}, env: {}, cwd: process.cwd() } as CliIO;
      const code = await main(['doctor', '--push', pushUrl(appId), '--token', TOKEN, ...extra], io);
      assert.equal(code, 0, out.join('\n'));
      assert.ok(out.some((l) => l.startsWith('OK [push_round_trip]')));
    }
  });

  test('an account without push settings: 404 in the JSON error shape', async () => {
    const res = await fetch(`${service.url}/wechat/push/wxnobody0000001`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'unknown_app');
  });
});
