// Three push server processes behind one Redis (a load balancer sends each try to another one): a push is
// handled once and answered once, however WeChat's tries are spread.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { createPushCrypto, openReply, parseReply } from '../../src/push/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createRedisStore } from '../../src/stores/redis.ts';
import { stopChildren } from '../credentials/processes.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { AES_KEY, configureSafe, pushServer, retry, simAccount, TOKEN } from './stack.ts';

const APP = 'wxpushshared00001';
const SECRET = 'pushsharedsecret';
const INSTANCE = new URL('./fixtures/instance.ts', import.meta.url).pathname;

describe('three processes sharing one Redis', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let children: ChildProcess[] = [];
  let urls: string[] = [];
  const calls: Array<{ call: string; pid: number }> = [];

  before(async () => {
    sim = await startSimulator({ apps: [`${APP}:${SECRET}`] });
    redis = await startRedisServer();
    children = Array.from({ length: 3 }, () =>
      fork(INSTANCE, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, REDIS_URL: redis.url, SIM_URL: sim.url, APP_ID: APP, APP_SECRET: SECRET },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    urls = await Promise.all(
      children.map(async (c) => ((await once(c, 'message'))[0] as { ready: string }).ready),
    );
    for (const c of children) {
      c.on('message', (m: { call?: string; pid?: number }) => {
        if (m.call !== undefined) calls.push({ call: m.call, pid: m.pid as number });
      });
    }
  });
  after(async () => {
    await stopChildren(children);
    await redis.stop();
    await sim.close();
  });

  async function drainAll(): Promise<void> {
    await Promise.all(
      children.map(async (c) => {
        const done = once(c, 'message');
        c.send('drain');
        await done;
      }),
    );
  }

  test('a slow handler: try 1 on one process, tries 2 and 3 on the others — one run, one answer through custom/send', async () => {
    await configureSafe(sim, APP, urls);
    const first = sim.pushLog().seen.length;
    const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'slow question' } });
    assert.equal(record.result, 'no-reply');
    const url1 = record.tries[0]?.url as string;
    for (const url of urls.filter((u) => u !== url1)) {
      const res = await retry(url, record.message, { encrypted: true, receiveId: APP });
      assert.equal(await res.text(), 'success');
    }
    for (const c of children) c.send('open');
    await drainAll();
    assert.deepEqual(
      calls.filter((c) => c.call === 'slow question').length,
      1,
      `runs: ${JSON.stringify(calls)}`,
    );
    assert.deepEqual(
      sim
        .pushLog()
        .seen.slice(first)
        .map((s) => [s.via, s.content]),
      [['custom', 'answer: slow question']],
    );
  });

  test('the same push at all three processes at once: one run, the same reply from each', async () => {
    const fields = {
      ToUserName: 'gh_shared000001',
      FromUserName: 'o_shared_user_0000000000001',
      CreateTime: String(Math.floor(Date.now() / 1000)),
      MsgType: 'text',
      Content: 'race',
      MsgId: '7000000000000000001',
    };
    const answers = await Promise.all(
      urls.map((u) => retry(u, fields, { encrypted: true, receiveId: APP }).then((r) => r.text())),
    );
    const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: APP });
    const replies = answers.map((a) => parseReply(openReply(a, { crypto, token: TOKEN }).message).reply);
    assert.deepEqual(replies, Array(3).fill({ type: 'text', content: 'answer: race' }));
    assert.equal(calls.filter((c) => c.call === 'race').length, 1, JSON.stringify(calls));
  });
});

describe('the store is down', () => {
  test('pushes are still answered (and logged), not dropped', async () => {
    const redis = await startRedisServer();
    const sim = await startSimulator({ apps: [`${APP}:${SECRET}`] });
    const account = simAccount(sim, APP, SECRET);
    const store = await createRedisStore({ url: redis.url, commandTimeoutMs: 200 });
    const server = await pushServer({
      account,
      store,
      encodingAESKey: AES_KEY,
      onMessage: (m) => (m.type === 'text' ? { type: 'text', content: `still: ${m.Content}` } : undefined),
    });
    try {
      await configureSafe(sim, APP, server.url);
      await redis.stop();
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'redis is gone' } });
      assert.equal(record.userSaw?.content, 'still: redis is gone');
      assert.ok(
        server.logs.some((l) => l.msg === 'push de-duplication unavailable'),
        JSON.stringify(server.logs),
      );
    } finally {
      await server.close();
      await store.close();
      await account.close();
      await sim.close();
    }
  });
});
