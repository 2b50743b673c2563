import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { AES_KEY, TOKEN } from '../simulator/push-helpers.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { APP, FORWARD_SECRET, type Receiver, SECRET, startReceiver } from './push-helpers.ts';
import { type ServeProcess, startServe } from './spawn.ts';

/**
 * Three real `wxkit serve` processes behind one real redis-server, WeChat's three tries of one message
 * landing on a different process each (the simulator round-robins its server URLs): the handler runs
 * once and the user sees one answer (SPEC §11).
 */

let redis: RedisServer;
let sim: Simulator;
let receiver: Receiver;
let procs: ServeProcess[] = [];

before(async () => {
  redis = await startRedisServer();
  sim = await startSimulator({ apps: [`${APP}:${SECRET}`] });
  receiver = await startReceiver();
  const env = {
    WX_APP_ID: APP,
    WX_APP_SECRET: SECRET,
    WX_API_BASE: sim.url,
    WX_OPEN_BASE: sim.url,
    WX_JS_DOMAINS: 'localhost',
    WXKIT_STORE: redis.url,
    WXKIT_LOG: 'errors',
    WX_PUSH_TOKEN: TOKEN,
    WX_PUSH_AES_KEY: AES_KEY,
    WX_PUSH_FORWARD: receiver.url,
    WXKIT_PUSH_FORWARD_SECRET: FORWARD_SECRET,
  };
  procs = await Promise.all([startServe(env), startServe(env), startServe(env)]);
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await receiver.close();
  await sim.close();
  await redis.stop();
});

describe('push across three wxkit serve processes and one Redis', () => {
  test('an 8 s handler, three tries on three processes: one run, one answer (through custom/send)', async () => {
    await sim.configurePush({
      appId: APP,
      url: procs.map((p) => `${p.url}/wechat/push`),
      token: TOKEN,
      encodingAESKey: AES_KEY,
      mode: 'safe',
    });
    receiver.mode = { delayMs: 8_000 };
    const user = sim.state.app(APP)?.users[0]?.openid as string;
    const record = await sim.push({
      appId: APP,
      networkDelayMs: [4_900, 4_900, 0],
      message: { MsgType: 'text', Content: 'cluster question', FromUserName: user },
    });
    assert.equal(record.tries.length, 3);
    assert.equal(new Set(record.tries.map((t) => t.url)).size, 3, 'each try on another process');
    assert.equal(record.result, 'no-reply');
    for (let i = 0; i < 120 && sim.pushLog({ user }).seen.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // A little longer: a second answer, if any process sent one, would show up now.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(
      sim.pushLog({ user }).seen.map((s) => [s.via, s.content]),
      [['custom', 'echo: cluster question']],
    );
    assert.equal(receiver.deliveries.filter((d) => d.message.Content === 'cluster question').length, 1);
    for (const p of procs) assert.doesNotMatch(p.stdout(), /"level":"error"/);
  });
});
