import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWecom } from '../../src/accounts/wecom.ts';
import { createPushCrypto, openReply, type PushMessage, parseReply, reply } from '../../src/push/index.ts';
import { SERVICE_UNAVAILABLE, type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { AES_KEY, configureSafe, gate, pushServer, retry, simAccount, TOKEN } from './stack.ts';

const APP = 'wxpushtest0000001';
const SECRET = 'pushtestsecret';
const CORP = 'wwpushtest000001';
const AGENT = '1000002';

function echo(m: PushMessage) {
  if (m.type === 'text') return reply.text(`echo: ${m.Content}`);
  if (m.type === 'event.subscribe') return reply.text('welcome');
  return undefined;
}

describe('createPushHandler through the simulator (SPEC §11)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      apps: [`${APP}:${SECRET}`],
      corps: [{ corpId: CORP, agentId: AGENT, secret: 'corpsecret' }],
    });
  });
  after(async () => {
    await sim.close();
  });

  for (const mode of ['plain', 'compat', 'safe'] as const) {
    for (const format of ['xml', 'json'] as const) {
      test(`${mode} × ${format}: each push handled once, each reply seen, never 暂时无法提供服务`, async () => {
        const account = simAccount(sim, APP, SECRET);
        const server = await pushServer({
          account,
          onMessage: echo,
          ...(mode === 'plain' ? {} : { encodingAESKey: AES_KEY }),
        });
        try {
          await sim.configurePush({
            appId: APP,
            url: server.url,
            token: TOKEN,
            encodingAESKey: AES_KEY,
            mode,
          });
          const first = sim.pushLog().seen.length;
          const n = 20;
          for (let i = 0; i < n; i++) {
            const r = await sim.push({
              appId: APP,
              message: { MsgType: 'text', Content: `hi ${i} <&]]> 你好` },
              format,
            });
            assert.equal(r.result, 'replied', `${r.problem ?? ''} ${JSON.stringify(r.tries)}`);
            assert.equal(r.tries.length, 1);
            assert.equal(r.userSaw?.content, `echo: hi ${i} <&]]> 你好`);
          }
          const sub = await sim.push({
            appId: APP,
            message: { MsgType: 'event', Event: 'subscribe', EventKey: '' },
            format,
          });
          assert.equal(sub.userSaw?.content, 'welcome');
          const click = await sim.push({
            appId: APP,
            message: { MsgType: 'event', Event: 'CLICK', EventKey: 'MENU_1' },
            format,
          });
          assert.equal(click.result, 'no-reply');
          assert.equal(server.calls.length, n + 2);
          assert.equal(server.calls.at(-1)?.type, 'event.CLICK');
          assert.equal(server.calls.at(-1)?.format, format);
          const seen = sim.pushLog().seen.slice(first);
          assert.equal(seen.length, n + 1);
          assert.equal(seen.filter((s) => s.content === SERVICE_UNAVAILABLE).length, 0);
        } finally {
          await server.close();
          await account.close();
        }
      });
    }
  }

  test('a slow handler: success at the deadline, its reply once through custom/send; WeChat’s retries do not run it again', async () => {
    const account = simAccount(sim, APP, SECRET);
    const slow = gate();
    const server = await pushServer({
      account,
      encodingAESKey: AES_KEY,
      deadlineMs: 150,
      async onMessage(m) {
        await slow.wait; // an AI model thinking for longer than WeChat waits
        return m.type === 'text' ? reply.text(`thought about: ${m.Content}`) : undefined;
      },
    });
    try {
      await configureSafe(sim, APP, server.url);
      const first = sim.pushLog().seen.length;
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'what is wxkit?' } });
      assert.equal(record.result, 'no-reply', 'answered success within WeChat’s 5 s');
      assert.equal(record.tries.at(-1)?.body, 'success');
      // WeChat tries twice more with the same message while the handler still thinks.
      for (let i = 0; i < 2; i++) {
        const res = await retry(server.url, record.message, { encrypted: true, receiveId: APP });
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'success');
      }
      assert.equal(server.calls.length, 1, 'the handler ran once');
      assert.equal(sim.pushLog().seen.length, first, 'nothing reached the user yet');
      slow.open();
      await server.handler.drain();
      const seen = sim.pushLog().seen.slice(first);
      assert.deepEqual(
        seen.map((s) => [s.via, s.content]),
        [['custom', 'thought about: what is wxkit?']],
        'exactly one answer, through custom/send',
      );
      // A try after it finished is answered, not run.
      const res = await retry(server.url, record.message, { encrypted: true, receiveId: APP });
      assert.equal(await res.text(), 'success');
      assert.equal(server.calls.length, 1);
      assert.ok(
        server.logs.every((l) => l.level !== 'error'),
        JSON.stringify(server.logs),
      );
    } finally {
      await server.close();
      await account.close();
    }
  });

  test('an onMessage that throws once: WeChat tries again, the second try runs it, the user gets the reply', async () => {
    const account = simAccount(sim, APP, SECRET);
    let runs = 0;
    const server = await pushServer({
      account,
      encodingAESKey: AES_KEY,
      onMessage(m) {
        runs++;
        if (runs === 1) throw new Error('database briefly down');
        return echo(m);
      },
    });
    try {
      await configureSafe(sim, APP, server.url);
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'again' } });
      assert.equal(record.result, 'replied', JSON.stringify(record.tries));
      assert.deepEqual(
        record.tries.map((t) => t.status),
        [500, 200],
      );
      assert.equal(record.userSaw?.content, 'echo: again');
      assert.equal(runs, 2);
    } finally {
      await server.close();
      await account.close();
    }
  });

  test('a retry of a push already answered gets the same reply (re-encrypted), without running the handler', async () => {
    const account = simAccount(sim, APP, SECRET);
    const server = await pushServer({ account, encodingAESKey: AES_KEY, onMessage: echo });
    try {
      await configureSafe(sim, APP, server.url);
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'once' } });
      assert.equal(record.userSaw?.content, 'echo: once');
      const res = await retry(server.url, record.message, { encrypted: true, receiveId: APP });
      const opened = openReply(await res.text(), {
        crypto: createPushCrypto({ encodingAESKey: AES_KEY, receiveId: APP }),
        token: TOKEN,
      });
      assert.deepEqual(parseReply(opened.message).reply, { type: 'text', content: 'echo: once' });
      assert.equal(server.calls.length, 1);
      // The same MsgId from another user is another message (MsgIds have collided across users).
      const other = { ...record.message, FromUserName: 'o_another_user_000000000000' };
      const res2 = await retry(server.url, other, { encrypted: true, receiveId: APP });
      assert.equal(res2.status, 200);
      assert.equal(server.calls.length, 2);
    } finally {
      await server.close();
      await account.close();
    }
  });

  test('WeCom app: encrypted echostr, safe XML with msg_signature only, a late reply through message/send', async () => {
    const corp = createWecom({
      corpId: CORP,
      agentId: AGENT,
      secret: 'corpsecret',
      apiBase: sim.url,
      store: 'memory',
    });
    const slow = gate();
    const server = await pushServer({
      account: corp,
      encodingAESKey: AES_KEY,
      deadlineMs: 150,
      async onMessage(m, ctx) {
        if (m.type !== 'text') return undefined;
        if (m.Content === 'slow') await slow.wait;
        return reply.text(`${ctx.late ? 'late' : 'quick'}: ${m.Content} from app ${m.AgentID}`);
      },
    });
    try {
      await sim.configurePush({ appId: CORP, url: server.url, token: TOKEN, encodingAESKey: AES_KEY });
      const first = sim.pushLog().seen.length;
      const quick = await sim.push({ appId: CORP, message: { MsgType: 'text', Content: 'hello' } });
      assert.equal(quick.userSaw?.content, `quick: hello from app ${AGENT}`);
      const late = await sim.push({ appId: CORP, message: { MsgType: 'text', Content: 'slow' } });
      assert.equal(late.result, 'no-reply');
      slow.open();
      await server.handler.drain();
      assert.deepEqual(
        sim
          .pushLog()
          .seen.slice(first)
          .map((s) => [s.via, s.content]),
        [
          ['reply', `quick: hello from app ${AGENT}`],
          ['custom', `late: slow from app ${AGENT}`],
        ],
      );
    } finally {
      await server.close();
      await corp.close();
    }
  });
});
