import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SERVICE_UNAVAILABLE, type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { APP, classicToken, isWechatError, postJson, SECRET, start } from './helpers.ts';
import { AES_KEY, type PushFixture, pushFixture, TOKEN } from './push-helpers.ts';

describe('simulator: message push (SPEC §11)', () => {
  let sim: Simulator;
  let server: PushFixture;
  before(async () => {
    sim = await start();
    server = await pushFixture(APP);
  });
  after(async () => {
    await server.close();
    await sim.close();
  });

  async function configure(mode: 'plain' | 'compat' | 'safe' = 'safe') {
    return sim.configurePush({ appId: APP, url: server.url, token: TOKEN, encodingAESKey: AES_KEY, mode });
  }

  it('checks the URL when it is saved: echostr verbatim passes, a wrong token is "Token验证失败"', async () => {
    const ok = await postJson(`${sim.url}/__sim/push/config`, {
      appId: APP,
      url: server.url,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      mode: 'safe',
    });
    assert.equal(ok.verified, true);
    assert.match(String(ok.toUserName), /^gh_[0-9a-f]{12}$/);
    const res = await fetch(`${sim.url}/__sim/push/config`, {
      method: 'POST',
      body: JSON.stringify({ appId: APP, url: server.url, token: 'otherToken9', mode: 'plain' }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'push_verify_failed');
    assert.match(body.error.message, /Token验证失败/);
  });

  it('refuses bad settings with a 400 naming the field', async () => {
    for (const [input, pattern] of [
      [{ appId: 'wxnobody', url: server.url, token: TOKEN }, /appId/],
      [{ appId: APP, url: 'ftp://x', token: TOKEN }, /url/],
      [{ appId: APP, url: server.url, token: 'a b' }, /token/],
      [{ appId: APP, url: server.url, token: TOKEN, mode: 'safe' }, /encodingAESKey/],
      [
        { appId: APP, url: server.url, token: TOKEN, mode: 'safe', encodingAESKey: 'short' },
        /encodingAESKey/,
      ],
      [{ appId: APP, url: server.url, token: TOKEN, extra: 1 }, /unknown field/],
    ] as const) {
      const res = await fetch(`${sim.url}/__sim/push/config`, {
        method: 'POST',
        body: JSON.stringify(input),
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, pattern);
    }
  });

  for (const mode of ['plain', 'compat', 'safe'] as const) {
    for (const format of ['xml', 'json'] as const) {
      it(`${mode} ${format}: the message arrives complete and the user sees the reply`, async () => {
        await configure(mode);
        server.behaviour = 'echo';
        server.received.length = 0;
        const record = await sim.push({
          appId: APP,
          mode,
          format,
          message: { MsgType: 'text', Content: '你好 <&]]>' },
        });
        assert.equal(record.result, 'replied', record.problem);
        assert.equal(record.tries.length, 1);
        assert.deepEqual(record.userSaw?.content, 'echo: 你好 <&]]>');
        const got = server.received[0]?.fields as Record<string, unknown>;
        assert.equal(got.Content, '你好 <&]]>');
        assert.equal(got.ToUserName, sim.state && record.message.ToUserName);
        assert.match(String(got.ToUserName), /^gh_/);
        assert.equal(got.FromUserName, sim.state.app(APP)?.users[0]?.openid);
        assert.ok(Number(got.CreateTime) >= sim.now() && Number(got.CreateTime) <= sim.now() + 60);
        assert.match(String(got.MsgId), /^\d{15,20}$/);
        const query = server.received[0]?.query as URLSearchParams;
        assert.equal(query.get('encrypt_type'), mode === 'plain' ? null : 'aes');
        assert.ok(query.get('signature'));
      });
    }
  }

  it('push timestamps keep moving with real time (servers refuse stale ones), plus any virtual advance', async () => {
    await configure('plain');
    server.received.length = 0;
    await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'a' } });
    await new Promise((r) => setTimeout(r, 1_100));
    sim.advance(60);
    await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'b' } });
    const [a, b] = server.received.map((r) => Number(r.query.get('timestamp')));
    assert.ok((b as number) - (a as number) >= 61, `${a} → ${b}`);
    assert.equal(String(server.received[1]?.fields.CreateTime), server.received[1]?.query.get('timestamp'));
  });

  it('events carry no MsgId; the sim fills what WeChat fills', async () => {
    await configure('plain');
    server.received.length = 0;
    await sim.push({ appId: APP, message: { MsgType: 'event', Event: 'CLICK', EventKey: 'V1' } });
    const got = server.received[0]?.fields as Record<string, unknown>;
    assert.equal(got.Event, 'CLICK');
    assert.equal(got.MsgId, undefined);
  });

  it('success and an empty body: the user sees nothing, no retry', async () => {
    await configure('safe');
    for (const b of ['success', 'empty'] as const) {
      server.behaviour = b;
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'x' } });
      assert.equal(record.result, 'no-reply');
      assert.equal(record.userSaw, null);
      assert.equal(record.tries.length, 1);
    }
  });

  it('a bad reply shows the user WeChat’s notice at once (no retry)', async () => {
    await configure('safe');
    for (const [b, problem] of [
      ['bad-signature', /MsgSignature/],
      ['swapped-users', /ToUserName/],
      ['plain-reply', /encrypted/],
      ['not-xml', /not XML/],
    ] as const) {
      server.behaviour = b;
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'x' } });
      assert.equal(record.result, 'bad-reply', b);
      assert.match(String(record.problem), problem);
      assert.equal(record.tries.length, 1);
      assert.equal(record.userSaw?.content, SERVICE_UNAVAILABLE);
      assert.equal(record.userSaw?.via, 'system');
    }
  });

  it('a 5xx or a late answer is tried 3 times with the same MsgId, then the notice', async () => {
    await configure('safe');
    server.behaviour = 'status500';
    server.received.length = 0;
    const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'x' } });
    assert.equal(record.result, 'failed');
    assert.deepEqual(
      record.tries.map((t) => t.status),
      [500, 500, 500],
    );
    const ids = new Set(server.received.map((r) => r.fields.MsgId));
    assert.equal(server.received.length, 3);
    assert.equal(ids.size, 1);
    assert.equal(record.userSaw?.content, SERVICE_UNAVAILABLE);
    // Late: 4,900 ms of the 5 s go to the network, the server needs 300 ms.
    server.behaviour = { delayMs: 300 };
    const late = await sim.push({
      appId: APP,
      networkDelayMs: 4_900,
      message: { MsgType: 'text', Content: 'y' },
    });
    assert.deepEqual(
      late.tries.map((t) => t.outcome),
      ['timeout', 'timeout', 'timeout'],
    );
    assert.equal(late.userSaw?.content, SERVICE_UNAVAILABLE);
    // One delay per try: the first two answers are late, the third arrives in time.
    const third = await sim.push({
      appId: APP,
      networkDelayMs: [4_900, 4_900, 0],
      message: { MsgType: 'text', Content: 'z' },
    });
    assert.deepEqual(
      third.tries.map((t) => t.outcome),
      ['timeout', 'timeout', 'answered'],
    );
    assert.equal(third.userSaw?.content, 'echo: z');
  });

  it('a server that is down: 3 network failures, then the notice', async () => {
    const down = await pushFixture(APP);
    await sim.configurePush({ appId: APP, url: down.url, token: TOKEN, mode: 'plain' });
    await down.close();
    const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'x' } });
    assert.deepEqual(
      record.tries.map((t) => t.outcome),
      ['network', 'network', 'network'],
    );
    assert.equal(record.userSaw?.content, SERVICE_UNAVAILABLE);
  });

  it('round-robins the tries over several URLs', async () => {
    const second = await pushFixture(APP);
    try {
      await sim.configurePush({ appId: APP, url: [server.url, second.url], token: TOKEN, mode: 'plain' });
      server.behaviour = 'status500';
      second.behaviour = 'status500';
      const record = await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'x' } });
      const urls = record.tries.map((t) => t.url);
      assert.equal(new Set(urls).size, 2);
      assert.notEqual(urls[0], urls[1]);
    } finally {
      await second.close();
    }
  });

  it('GET /__sim/push/log shows the tries, the reply and what each user saw', async () => {
    await configure('plain');
    server.behaviour = 'echo';
    await postJson(`${sim.url}/__sim/push`, { appId: APP, message: { MsgType: 'text', Content: 'logged' } });
    const log = (await (await fetch(`${sim.url}/__sim/push/log?limit=1`)).json()) as {
      pushes: Array<{ tries: unknown[]; reply: { Content: string }; userSaw: { content: string } }>;
      seen: Array<{ content: string; via: string }>;
    };
    assert.equal(log.pushes.length, 1);
    assert.equal(log.pushes[0]?.reply.Content, 'echo: logged');
    assert.equal(log.seen.at(-1)?.content, 'echo: logged');
    assert.equal(log.seen.at(-1)?.via, 'reply');
    const bad = await fetch(`${sim.url}/__sim/push`, {
      method: 'POST',
      body: '{"appId":"wxnobody","message":{}}',
    });
    assert.equal(bad.status, 400);
  });

  it('custom/send: within 48 h of the user’s last message it reaches the user; after, 45015', async () => {
    await configure('plain');
    server.behaviour = 'success';
    const user = sim.state.app(APP)?.users[1]?.openid as string;
    // Tokens live 2 h: each call takes one that is valid on the virtual clock now.
    const tokenNow = async () => (await classicToken(sim, APP, SECRET)).access_token as string;
    const send = async (touser: string, text = 'later') =>
      postJson(`${sim.url}/cgi-bin/message/custom/send?access_token=${await tokenNow()}`, {
        touser,
        msgtype: 'text',
        text: { content: text },
      });
    await sim.push({ appId: APP, message: { MsgType: 'text', Content: 'hi', FromUserName: user } });
    sim.advance(47 * 3600);
    assert.deepEqual(await send(user), { errcode: 0, errmsg: 'ok' });
    const seen = sim.pushLog({ user }).seen;
    assert.equal(seen.at(-1)?.via, 'custom');
    assert.equal(seen.at(-1)?.content, 'later');
    sim.advance(2 * 3600);
    assert.ok(
      isWechatError(await send(user), 45015, 'response out of time limit or subscription is canceled'),
    );
    assert.ok(isWechatError(await send('oNOBODY'), 40003, 'invalid openid'));
    const res = await postJson(`${sim.url}/cgi-bin/message/custom/send?access_token=nope`, { touser: user });
    assert.ok(isWechatError(res, 40001));
    const emptyText = await postJson(
      `${sim.url}/cgi-bin/message/custom/send?access_token=${await tokenNow()}`,
      {
        touser: user,
        msgtype: 'text',
        text: {},
      },
    );
    assert.ok(isWechatError(emptyText, 44004));
    assert.equal(sim.pushLog({ user }).seen.filter((s) => s.via === 'custom').length, 1);
  });
});

describe('simulator: WeCom app callbacks', () => {
  const CORP = 'wwpushcorp0000001';
  let sim: Simulator;
  let server: PushFixture;
  before(async () => {
    sim = await startSimulator({ corps: [`${CORP}:1000002:corpsecret0001`] });
    server = await pushFixture(CORP, { wecom: true });
  });
  after(async () => {
    await server.close();
    await sim.close();
  });

  it('verifies the URL with an encrypted echostr, pushes safe XML with msg_signature, message/send reaches the member', async () => {
    const cfg = await sim.configurePush({
      appId: CORP,
      url: server.url,
      token: TOKEN,
      encodingAESKey: AES_KEY,
    });
    assert.equal(cfg.mode, 'safe');
    const record = await sim.push({ appId: CORP, message: { MsgType: 'text', Content: '企业' } });
    assert.equal(record.result, 'replied', record.problem);
    assert.equal(record.userSaw?.content, 'echo: 企业');
    const q = server.received[0]?.query as URLSearchParams;
    assert.equal(q.get('signature'), null);
    assert.equal(q.get('encrypt_type'), null);
    assert.equal(server.received[0]?.fields.AgentID, '1000002');
    assert.equal(server.received[0]?.fields.ToUserName, CORP);
    const tok = (await (
      await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=corpsecret0001`)
    ).json()) as { access_token: string };
    const sent = await postJson(`${sim.url}/cgi-bin/message/send?access_token=${tok.access_token}`, {
      touser: 'zhangsan',
      msgtype: 'text',
      agentid: 1000002,
      text: { content: '稍后的回答' },
    });
    assert.equal(sent.errcode, 0);
    assert.equal(sim.pushLog({ appId: CORP }).seen.at(-1)?.content, '稍后的回答');
    const plain = await fetch(`${sim.url}/__sim/push`, {
      method: 'POST',
      body: JSON.stringify({ appId: CORP, mode: 'plain', message: { MsgType: 'text', Content: 'x' } }),
    });
    assert.equal(plain.status, 400);
  });
});
