import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';

const APP = { appId: 'wxcust0dy0000001', secret: 'custody-secret-0001' };
const APP2 = { appId: 'wxcust0dy0000002', secret: 'custody-secret-0002' };

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ apps: [APP, APP2], jsDomains: ['h5.example.com'] });
});
after(async () => {
  await sim.close();
});

/** A wxkit whose clock is the simulator's virtual clock. */
function wxkit(extra: Partial<WxkitOptions> = {}) {
  return createWxkit({
    ...APP,
    apiBase: sim.url,
    store: createMemoryStore(),
    now: () => sim.state.nowMs(),
    jsDomains: ['h5.example.com'],
    ...extra,
  });
}

const calls = (path: string) => sim.stats().calls[path] ?? 0;

function fresh() {
  sim.clearFaults();
  sim.advance(8000); // every earlier token and ticket is dead
  sim.reset();
}

describe('createWxkit against the simulator', () => {
  test('1000 concurrent cold jssdkConfig calls: one stable_token, one getticket, every signature verifies', async () => {
    fresh();
    const wx = wxkit();
    const url = 'https://h5.example.com/page?a=1#/route';
    const configs = await Promise.all(
      Array.from({ length: 1000 }, () => wx.jssdkConfig({ url, jsApiList: ['chooseImage'] })),
    );
    assert.equal(calls('/cgi-bin/stable_token'), 1);
    assert.equal(calls('/cgi-bin/ticket/getticket'), 1);
    const ticket = sim.state.currentTicket(APP.appId);
    assert.ok(ticket);
    for (const c of configs) {
      assert.equal(c.appId, APP.appId);
      const expected = signJssdk({
        ticket,
        nonceStr: c.nonceStr,
        timestamp: c.timestamp,
        url: 'https://h5.example.com/page?a=1',
      });
      assert.equal(c.signature, expected);
      assert.equal(c.timestamp, sim.now(), 'timestamp follows the injected clock');
    }
    const m = wx.metrics;
    assert.equal(m.get('wxkit_upstream_calls_total', { endpoint: '/cgi-bin/stable_token', errcode: 0 }), 1);
    assert.ok(m.sum('wxkit_cache_hits_total') === 0 || m.sum('wxkit_cache_hits_total') > 0);
    assert.match(m.render(), /wxkit_refresh_total\{appid="wxcust0dy0000001",credential="jsapi_ticket"\} 1/);
    await wx.close();
  });

  test('warm calls are served from memory; near expiry the old ticket keeps serving while a refresh runs', async () => {
    fresh();
    const wx = wxkit();
    const t1 = await wx.accessTokenInfo();
    await wx.ticket();
    assert.equal(calls('/cgi-bin/stable_token'), 1);
    for (let i = 0; i < 50; i++) await wx.accessToken();
    assert.equal(calls('/cgi-bin/stable_token'), 1);
    // 250 s left: inside the stable rotation window, outside the expiry skew.
    sim.advance((t1.expiresAt - sim.state.nowMs()) / 1000 - 250);
    const served = await wx.accessToken();
    assert.equal(served, t1.value, 'the current token is served without waiting');
    let next = served;
    for (let i = 0; i < 2000 && next === t1.value; i++) {
      await new Promise((r) => setTimeout(r, 5));
      next = await wx.accessToken();
    }
    assert.notEqual(next, t1.value, 'a background refresh replaced it');
    assert.equal(calls('/cgi-bin/stable_token'), 2);
    await wx.close();
  });

  test('stable mode never sends force_refresh on its own, even after 40001', async () => {
    fresh();
    const seen: string[] = [];
    const wx = wxkit({
      fetch: async (input, init) => {
        const req = new Request(input, init);
        if (req.url.includes('stable_token')) seen.push(await req.clone().text());
        return fetch(req);
      },
    });
    await wx.accessToken();
    sim.setFaults({ path: '/cgi-bin/ticket/getticket', errcode: 40001, times: 1 });
    await wx.ticket();
    assert.ok(seen.length >= 2);
    for (const body of seen) assert.equal(JSON.parse(body).force_refresh, undefined);
    await wx.close();
  });

  test('classic: a token rotated by another service is replaced with one extra fetch, not one per caller', async () => {
    fresh();
    const wx = wxkit({ tokenMode: 'classic' });
    const t1 = await wx.accessToken();
    assert.equal(calls('/cgi-bin/token'), 1);
    sim.rotate(APP.appId);
    sim.advance(301); // the rotated-out token now answers 40001
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        wx.request('/cgi-bin/ticket/getticket?type=jsapi').then((r) => r.json()),
      ),
    );
    for (const body of responses) assert.equal((body as { errcode: number }).errcode, 0);
    assert.equal(calls('/cgi-bin/token'), 2, 'one extra token fetch');
    assert.notEqual(await wx.accessToken(), t1);
    await wx.close();
  });

  test('request(): a token error is retried exactly once, never in a loop', async () => {
    fresh();
    const wx = wxkit({ tokenMode: 'classic' });
    await wx.accessToken();
    sim.setFaults({ path: '/cgi-bin/ticket/getticket', errcode: 40001, times: 10 });
    const res = await wx.request('/cgi-bin/ticket/getticket?type=jsapi');
    assert.equal(((await res.json()) as { errcode: number }).errcode, 40001);
    assert.equal(calls('/cgi-bin/ticket/getticket'), 2);
    assert.equal(calls('/cgi-bin/token'), 2);
    await assert.rejects(wx.request('https://evil.example.com/steal'), { code: 'invalid_request' });
    await wx.close();
  });

  for (const errcode of [45009, 40164, 40125]) {
    test(`WeChat answers ${errcode} to every fetch while 500 calls arrive: a handful of calls, a clear error, recovery`, async () => {
      fresh();
      const wx = wxkit();
      sim.setFaults({ path: '/cgi-bin/stable_token', errcode, times: 100_000 });
      const results = await Promise.allSettled(
        Array.from({ length: 500 }, (_, i) =>
          i % 2 ? wx.jssdkConfig({ url: 'https://h5.example.com/' }) : wx.accessToken(),
        ),
      );
      for (let i = 0; i < 20; i++) await wx.accessToken().catch(() => {});
      assert.ok(results.every((r) => r.status === 'rejected'));
      const upstream = calls('/cgi-bin/stable_token');
      assert.ok(upstream >= 1 && upstream <= 3, `${upstream} upstream calls`);
      const e = (results[0] as PromiseRejectedResult).reason;
      assert.equal(e.code, 'wechat_error');
      assert.equal(e.errcode, errcode);
      assert.match(e.message, new RegExp(String(errcode)));
      assert.ok(e.hint.en.length > 10 && e.hint.zh.length > 5, 'hint in both languages');
      assert.ok(!e.message.includes(APP.secret) && !JSON.stringify(e.toJSON()).includes(APP.secret));
      const status = await wx.status();
      assert.equal(status.lastError?.errcode, errcode);
      // The fault clears; after the negative cache (virtual clock) calls succeed again.
      sim.clearFaults();
      await assert.rejects(wx.accessToken(), { errcode });
      sim.advance(61);
      assert.ok(await wx.accessToken());
      assert.equal(calls('/cgi-bin/stable_token'), upstream + 1);
      await wx.close();
    });
  }

  test('transient errors back off exponentially and answer upstream_unavailable with Retry-After', async () => {
    fresh();
    const wx = wxkit({ tokenMode: 'classic' });
    sim.setFaults({ path: '/cgi-bin/token', errcode: -1, times: 1000 });
    const e1 = await wx.accessToken().catch((e) => e);
    assert.equal(e1.code, 'upstream_unavailable');
    assert.equal(e1.status, 503);
    assert.ok(e1.retryAfter >= 1);
    const afterFirst = calls('/cgi-bin/token');
    assert.equal(afterFirst, 2, 'one quick retry inside the attempt');
    await Promise.allSettled(Array.from({ length: 100 }, () => wx.accessToken()));
    assert.equal(calls('/cgi-bin/token'), afterFirst, 'no calls while backing off');
    sim.advance(1.5);
    const e2 = await wx.accessToken().catch((e) => e);
    assert.ok(e2.retryAfter >= 2, `backoff grows (${e2.retryAfter})`);
    sim.clearFaults();
    sim.advance(120);
    assert.ok(await wx.accessToken());
    await wx.close();
  });

  test('network failures become upstream_unavailable without the secret or the URL', async () => {
    const wx = createWxkit({ ...APP, tokenMode: 'classic', apiBase: 'http://127.0.0.1:9', store: 'memory' });
    const e = await wx.accessToken().catch((x) => x);
    assert.equal(e.code, 'upstream_unavailable');
    assert.ok(!e.message.includes(APP.secret) && !e.message.includes('appid='));
    await wx.close();
  });

  test('a store that never answers (Redis down from the start, unwritable directory): calls still succeed', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'wxkit-'));
    const notADir = join(tmp, 'a-file');
    await writeFile(notADir, '');
    for (const store of ['redis://127.0.0.1:9', `file:${notADir}/store`]) {
      fresh();
      const warnings: string[] = [];
      const wx = wxkit({
        store,
        logger: { warn: (m) => warnings.push(m) },
        timing: { storeProbeMs: 60_000 },
      });
      const tokens = await Promise.all(Array.from({ length: 100 }, () => wx.accessToken()));
      assert.equal(new Set(tokens).size, 1);
      assert.equal(calls('/cgi-bin/stable_token'), 1, `${store}: single-flight in the process`);
      const st = await wx.status();
      assert.equal(st.storeReachable, false, store);
      assert.ok(warnings.some((w) => /unreachable; serving from memory/.test(w)));
      assert.ok(warnings.every((w) => !w.includes(APP.secret)));
      await wx.close();
    }
    await rm(tmp, { recursive: true, force: true });
  });

  test('several accounts share one store object without mixing credentials', async () => {
    fresh();
    const store = createMemoryStore();
    const a = wxkit({ store });
    const b = wxkit({ ...APP2, store });
    const [ta, tb] = await Promise.all([a.ticket(), b.ticket()]);
    assert.notEqual(ta, tb);
    assert.equal(ta, sim.state.currentTicket(APP.appId));
    assert.equal(tb, sim.state.currentTicket(APP2.appId));
    const a2 = wxkit({ store });
    assert.equal(await a2.ticket(), ta);
    assert.equal(calls('/cgi-bin/ticket/getticket'), 2);
    await Promise.all([a.close(), b.close(), a2.close()]);
  });

  test('compare-and-invalidate drops a token only while it is current', async () => {
    fresh();
    const store = createMemoryStore();
    const wx = wxkit({ store, tokenMode: 'classic' });
    const t1 = await wx.accessToken();
    assert.equal(await wx.invalidateAccessToken('not-the-token'), false);
    assert.equal(await wx.accessToken(), t1);
    assert.equal(await wx.invalidateAccessToken(t1), true);
    const t2 = await wx.accessToken();
    assert.notEqual(t2, t1);
    assert.equal(await wx.invalidateAccessToken(t1), false, 'a stale value does not drop the new token');
    assert.equal(await wx.accessToken(), t2);
    await wx.close();
  });

  test('status reports what is cached (age, expiry, source) and never a value', async () => {
    fresh();
    const wx = wxkit();
    const token = await wx.accessToken();
    const ticket = await wx.ticket();
    const st = await wx.status();
    assert.equal(st.storeReachable, true);
    assert.equal(st.store, 'memory');
    const byKind = Object.fromEntries(st.credentials.map((c) => [c.kind, c]));
    assert.equal(byKind.access_token?.cached, true);
    assert.equal(byKind.access_token?.source, 'stable_token');
    assert.equal(byKind.jsapi_ticket?.source, 'getticket');
    assert.equal(byKind.wx_card_ticket?.cached, false);
    const text = JSON.stringify(st);
    assert.ok(!text.includes(token) && !text.includes(ticket) && !text.includes(APP.secret));
    const known = await wx.knownTickets();
    assert.deepEqual(known[0], { ticket, appId: APP.appId, stale: false });
    await wx.close();
  });

  test('wx_card ticket is kept apart from jsapi; after a ticket expires the old one is known as stale', async () => {
    fresh();
    const wx = wxkit();
    const [jsapi, card] = await Promise.all([wx.ticket('jsapi'), wx.ticket('wx_card')]);
    assert.notEqual(jsapi, card);
    assert.equal(card, sim.state.currentTicket(APP.appId, 'wx_card'));
    await assert.rejects(wx.ticket('nope' as 'jsapi'), { code: 'invalid_request' });
    sim.advance(7200);
    const next = await wx.ticket('jsapi');
    assert.notEqual(next, jsapi);
    assert.equal(next, sim.state.currentTicket(APP.appId));
    const known = await wx.knownTickets();
    assert.deepEqual(
      known.map((k) => [k.ticket, k.stale]),
      [
        [next, false],
        [jsapi, true],
      ],
    );
    await wx.close();
  });

  test('jssdkConfig checks the JS-safe domain and the URL', async () => {
    const wx = wxkit({ allowLoopback: false });
    await assert.rejects(
      wx.jssdkConfig({ url: 'https://evil.example.org/' }),
      (e: Error & { code?: string }) => {
        return (
          e.code === 'url_not_allowed' && e.message.includes('h5.example.com') && e.message.includes('evil')
        );
      },
    );
    await assert.rejects(
      wx.jssdkConfig({ url: 'https://h5.example.com:8443/' }),
      (e: Error & { message: string }) => /port/.test(e.message),
    );
    await assert.rejects(wx.jssdkConfig({ url: '/relative' }), { code: 'invalid_url' });
    await wx.close();
  });

  test('bad options are one-line config errors', () => {
    assert.throws(() => createWxkit({ appId: '', secret: 'x' }), { code: 'config_error' });
    assert.throws(
      () => createWxkit({ appId: 'wx1' }),
      (e: Error) => /AppSecret/.test(e.message),
    );
    assert.throws(() => createWxkit({ appId: 'wx1', secret: 's', tokenMode: 'magic' as 'stable' }), {
      code: 'config_error',
    });
    assert.throws(() => createWxkit({ appId: 'wx1', tokenMode: 'remote' }), { code: 'config_error' });
    assert.throws(() => createWxkit({ appId: 'wx1', secret: 's', store: 'mongodb://x' }), {
      code: 'config_error',
    });
    assert.throws(() => createWxkit({ appId: 'wx1', secret: 's', apiBase: 'ftp://x' }), {
      code: 'config_error',
    });
  });

  test('downloadMedia returns bytes, and a JSON error from WeChat is an error, never a file', async () => {
    fresh();
    const wx = wxkit();
    const id = sim.state.addMedia(APP.appId, { bytes: new Uint8Array([1, 2, 3]), contentType: 'image/jpeg' });
    const media = await wx.downloadMedia(id);
    assert.deepEqual([...media.bytes], [1, 2, 3]);
    assert.equal(media.contentType, 'image/jpeg');
    await assert.rejects(wx.downloadMedia('nope_nope'), { code: 'wechat_error', errcode: 40007 });
    await assert.rejects(wx.downloadMedia('../etc/passwd'), { code: 'invalid_request' });
    await wx.close();
  });

  test('remote mode gets the token and ticket from a central wxkit and invalidates there', async () => {
    fresh();
    const central = wxkit({ tokenMode: 'classic' });
    const key = 'k-remote-test';
    const server = createServer(async (req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${key}`)
        return send(401, { error: { code: 'unauthorized' } });
      const base = `/v1/apps/${APP.appId}`;
      if (req.url === `${base}/access_token`) return send(200, await central.accessTokenInfo());
      if (req.url === `${base}/jsapi_ticket`) return send(200, await central.ticketInfo('jsapi'));
      if (req.url === `${base}/access_token/invalidate` && req.method === 'POST') {
        let raw = '';
        for await (const chunk of req) raw += chunk;
        return send(200, { invalidated: await central.invalidateAccessToken(JSON.parse(raw).value) });
      }
      send(404, { error: { code: 'not_found' } });
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const remoteUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const edge = wxkit({ tokenMode: 'remote', secret: undefined, remoteUrl, remoteKey: key });
      const t1 = await edge.accessToken();
      assert.equal(t1, await central.accessToken());
      assert.equal(await edge.ticket(), sim.state.currentTicket(APP.appId));
      assert.equal(await edge.invalidateAccessToken(t1), true);
      const t2 = await edge.accessToken();
      assert.notEqual(t2, t1);
      assert.equal(calls('/cgi-bin/token'), 2);
      const bad = wxkit({ tokenMode: 'remote', secret: undefined, remoteUrl, remoteKey: 'wrong' });
      await assert.rejects(bad.accessToken(), (e: Error & { code?: string }) => e.code === 'config_error');
      await Promise.all([edge.close(), bad.close()]);
    } finally {
      server.close();
      await central.close();
    }
  });
});
