import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Simulator } from '../../src/simulator/index.ts';
import { createDispatch, listen } from '../../src/simulator/server.ts';
import { SimState } from '../../src/simulator/state.ts';
import {
  APP,
  APP2,
  classicToken,
  getJson,
  isWechatError,
  postJson,
  SECRET,
  stableToken,
  start,
  ticket,
} from './helpers.ts';

function del(url: string): Promise<Record<string, unknown>> {
  return getJson(url, { method: 'DELETE' });
}

describe('control API', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start({ now: 1_800_000_000 });
  });
  after(() => sim.close());

  test('GET /__sim/stats counts calls per endpoint; POST /__sim/reset zeroes them', async () => {
    await postJson(`${sim.url}/__sim/reset`, {});
    const t = await classicToken(sim);
    await classicToken(sim);
    await stableToken(sim);
    await ticket(sim, t.access_token);
    const stats = await getJson(`${sim.url}/__sim/stats`);
    assert.deepEqual(stats.calls, {
      '/cgi-bin/token': 2,
      '/cgi-bin/stable_token': 1,
      '/cgi-bin/ticket/getticket': 1,
    });
    assert.deepEqual(sim.stats().calls, stats.calls);
    const reset = await postJson(`${sim.url}/__sim/reset`, {});
    assert.deepEqual(reset.calls, {});
    assert.deepEqual((await getJson(`${sim.url}/__sim/stats`)).calls, {}, 'control calls are not counted');
  });

  test('POST /__sim/clock advances the virtual clock and returns now', async () => {
    const before = sim.now();
    const res = await postJson(`${sim.url}/__sim/clock`, { advance: 90 });
    assert.equal(res.now, before + 90);
    assert.equal((await getJson(`${sim.url}/__sim/clock`)).now, before + 90);
    for (const bad of [{ advance: -1 }, { advance: 'x' }, {}, '[]', '{oops']) {
      const r = await fetch(`${sim.url}/__sim/clock`, {
        method: 'POST',
        body: typeof bad === 'string' ? bad : JSON.stringify(bad),
      });
      assert.equal(r.status, 400, JSON.stringify(bad));
      const body = (await r.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'invalid_request');
    }
    assert.equal(sim.now(), before + 90);
  });

  test('an errcode fault answers the next N calls to its path, then the endpoint works again', async () => {
    const set = await postJson(`${sim.url}/__sim/faults`, {
      path: '/cgi-bin/token',
      errcode: 45009,
      times: 2,
    });
    assert.equal((set.faults as unknown[]).length, 1);
    assert.ok(isWechatError(await classicToken(sim), 45009, 'reach max api daily quota limit'));
    assert.equal(typeof (await stableToken(sim)).access_token, 'string', 'other paths are unaffected');
    assert.ok(isWechatError(await classicToken(sim), 45009));
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
    assert.deepEqual((await getJson(`${sim.url}/__sim/faults`)).faults, []);
  });

  test('a fault without path hits every API; without times it lasts until DELETE', async () => {
    await postJson(`${sim.url}/__sim/faults`, { errcode: -1 });
    assert.ok(isWechatError(await classicToken(sim), -1, 'system error'));
    assert.ok(isWechatError(await stableToken(sim), -1));
    assert.ok(isWechatError(await classicToken(sim), -1));
    const cleared = await del(`${sim.url}/__sim/faults`);
    assert.deepEqual(cleared.faults, []);
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
  });

  test('drop destroys the next N connections without an answer, then serves normally', async () => {
    await postJson(`${sim.url}/__sim/faults`, { drop: true, times: 2, path: '/cgi-bin/stable_token' });
    await assert.rejects(stableToken(sim), /fetch failed/);
    await assert.rejects(stableToken(sim), /fetch failed/);
    assert.equal(typeof (await stableToken(sim)).access_token, 'string');
    const calls = sim.stats().calls['/cgi-bin/stable_token'] ?? 0;
    assert.ok(calls >= 3, 'dropped calls are counted');
  });

  test('latency delays answers until cleared (a client timeout fires)', async () => {
    sim.setFaults({ latencyMs: 5000, path: '/cgi-bin/token' });
    await assert.rejects(
      fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`, {
        signal: AbortSignal.timeout(200),
      }),
      (e: Error) => e.name === 'TimeoutError',
    );
    assert.equal(typeof (await stableToken(sim)).access_token, 'string', 'another path is not delayed');
    sim.clearFaults();
    const ok = await fetch(
      `${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`,
      {
        signal: AbortSignal.timeout(5000),
      },
    );
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
  });

  test('stallBody sends the status, the headers and half the body, then stalls until the caller gives up', async () => {
    await postJson(`${sim.url}/__sim/faults`, { stallBody: true, times: 1, path: '/cgi-bin/token' });
    const url = `${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`;
    const signal = AbortSignal.timeout(300);
    const res = await fetch(url, { signal });
    assert.equal(res.status, 200, 'the headers arrive');
    assert.match(res.headers.get('content-type') ?? '', /json/);
    await assert.rejects(res.text(), (e: Error) => e.name === 'TimeoutError', 'the body never completes');
    assert.equal(typeof (await classicToken(sim)).access_token, 'string', 'times counted it down');
  });

  test('exhaustQuota spends today’s quota for real (45009 until the next day)', async () => {
    await postJson(`${sim.url}/__sim/faults`, { exhaustQuota: '/cgi-bin/token', appId: APP });
    assert.ok(isWechatError(await classicToken(sim), 45009));
    assert.equal(typeof (await classicToken(sim, APP2, 'simtestsecret2')).access_token, 'string');
    await del(`${sim.url}/__sim/faults`);
    assert.ok(isWechatError(await classicToken(sim), 45009), 'a spent quota is not a removable fault');
    await postJson(`${sim.url}/__sim/clock`, { advance: 86400 });
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
  });

  test('POST /__sim/faults {"ipWhitelist"} turns on 40164; DELETE restores', async () => {
    await postJson(`${sim.url}/__sim/faults`, { ipWhitelist: ['1.2.3.4'] });
    assert.ok(isWechatError(await classicToken(sim), 40164));
    await del(`${sim.url}/__sim/faults`);
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
  });

  test('bad fault descriptions get 400 and inject nothing', async () => {
    for (const bad of [
      {},
      { errcode: 'x' },
      { errcode: 0 },
      { times: 0, errcode: 1 },
      { drop: 'yes' },
      { drop: true, errcode: 40001 },
      { stallBody: 1 },
      { stallBody: true, errcode: 40001 },
      { latencyMs: -5 },
      { path: 'cgi-bin/token', errcode: 1 },
      { typo: 1 },
      { exhaustQuota: '/nope' },
      { ipWhitelist: 'x' },
      { appId: 'wxnope', exhaustQuota: '/cgi-bin/token' },
    ]) {
      const r = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: JSON.stringify(bad) });
      assert.equal(r.status, 400, JSON.stringify(bad));
      await r.arrayBuffer();
    }
    const garbage = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: 'nope' });
    assert.equal(garbage.status, 400);
    await garbage.arrayBuffer();
    assert.deepEqual((await getJson(`${sim.url}/__sim/faults`)).faults, []);
    // an array sets several at once
    await postJson(`${sim.url}/__sim/faults`, [
      { path: '/cgi-bin/token', errcode: 40001, times: 1 },
      { path: '/cgi-bin/stable_token', errcode: 45011, times: 1 },
    ]);
    assert.ok(isWechatError(await classicToken(sim), 40001));
    assert.ok(isWechatError(await stableToken(sim), 45011));
  });

  test('POST /__sim/rotate issues a new classic token; the old one dies 5 virtual minutes later', async () => {
    const t = await classicToken(sim);
    const r = await postJson(`${sim.url}/__sim/rotate`, { appId: APP });
    assert.equal(r.appId, APP);
    assert.notEqual(r.access_token, t.access_token);
    assert.equal((await ticket(sim, t.access_token)).errcode, 0);
    await postJson(`${sim.url}/__sim/clock`, { advance: 300 });
    assert.ok(isWechatError(await ticket(sim, t.access_token), 40001));
    const bad = await fetch(`${sim.url}/__sim/rotate`, {
      method: 'POST',
      body: JSON.stringify({ appId: 'wxnope' }),
    });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
    const viaMethod = sim.rotate(APP2);
    assert.deepEqual(sim.state.validateAccessToken(viaMethod), { appId: APP2, kind: 'classic' });
  });

  test('POST /__sim/platform switches ios/android; bad values are 400', async () => {
    assert.equal((await getJson(`${sim.url}/__sim/platform`)).platform, 'android');
    assert.equal((await postJson(`${sim.url}/__sim/platform`, { platform: 'ios' })).platform, 'ios');
    assert.equal(sim.state.platform, 'ios');
    const bad = await fetch(`${sim.url}/__sim/platform`, { method: 'POST', body: '{"platform":"windows"}' });
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
    sim.setPlatform('android');
    assert.equal((await getJson(`${sim.url}/__sim/platform`)).platform, 'android');
  });

  test('GET /__sim/apps lists accounts, domains and users, without secrets that were passed in', async () => {
    const body = (await getJson(`${sim.url}/__sim/apps`)) as { apps: Array<Record<string, unknown>> };
    assert.deepEqual(
      body.apps.map((a) => a.appId),
      [APP, APP2],
    );
    assert.deepEqual(body.apps[0]?.jsDomains, ['localhost', '127.0.0.1']);
    assert.ok(!JSON.stringify(body).includes(SECRET));
    assert.ok(Array.isArray(body.apps[0]?.users));
  });

  test('the control API answers cross-origin requests and preflights', async () => {
    const pre = await fetch(`${sim.url}/__sim/clock`, {
      method: 'OPTIONS',
      headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    const res = await fetch(`${sim.url}/__sim/stats`, { headers: { origin: 'http://page.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    await res.arrayBuffer();
    const api = await fetch(`${sim.url}/cgi-bin/token`, { headers: { origin: 'http://page.example' } });
    assert.equal(api.headers.get('access-control-allow-origin'), null, 'WeChat’s API sends no CORS headers');
    await api.arrayBuffer();
  });
});

test('close() ends delayed requests instead of waiting out their latency', async () => {
  const sim = await start();
  sim.setFaults({ latencyMs: 60_000 });
  const pending = fetch(
    `${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APP}&secret=${SECRET}`,
  );
  await new Promise((r) => setImmediate(r));
  while ((sim.stats().calls['/cgi-bin/token'] ?? 0) === 0) await new Promise((r) => setTimeout(r, 5));
  await sim.close();
  await assert.rejects(pending, /fetch failed/);
});

describe('never crashes on bad input', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start();
  });
  after(() => sim.close());

  test('unknown paths: HTTP 404 with a WeChat-shaped body', async () => {
    for (const path of [
      '/',
      '/nope',
      '/cgi-bin/nope',
      '/cgi-bin/token/extra',
      '/__sim/nope',
      '/%zz',
      '//cgi-bin/token',
    ]) {
      const res = await fetch(`${sim.url}${path}`);
      assert.equal(res.status, 404, path);
      const body = (await res.json()) as { errcode: number };
      assert.equal(body.errcode, -1);
    }
  });

  test('wrong methods: 43001/43002 on the API, 405 on the control API', async () => {
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/token`, { method: 'POST' }),
        43001,
        'require GET method',
      ),
    );
    assert.ok(
      isWechatError(await getJson(`${sim.url}/cgi-bin/ticket/getticket`, { method: 'DELETE' }), 43001),
    );
    assert.ok(
      isWechatError(await getJson(`${sim.url}/cgi-bin/media/upload`, { method: 'PUT', body: 'x' }), 43002),
    );
    const res = await fetch(`${sim.url}/__sim/stats`, { method: 'POST' });
    assert.equal(res.status, 405);
    await res.arrayBuffer();
  });

  test('huge bodies are refused, malformed HTTP gets 400, and the server keeps serving', async () => {
    const big = new Uint8Array(12 * 1024 * 1024);
    const res = await fetch(`${sim.url}/cgi-bin/stable_token`, { method: 'POST', body: big }).catch(
      () => undefined,
    );
    if (res) {
      assert.equal(res.status, 413);
      await res.arrayBuffer();
    }
    const raw = await new Promise<number>((resolve, reject) => {
      const req = request(`${sim.url}/cgi-bin/token`, {
        method: 'GET',
        headers: { 'content-length': 'abc' },
      });
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(raw, 400);
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
  });

  test('odd query strings and parameters do not crash', async () => {
    for (const q of [
      'appid=&secret=&grant_type=',
      'appid[]=1',
      'appid=%E0%A4%A&secret=x',
      'grant_type=client_credential&appid=wx&appid=wy',
    ]) {
      const body = await getJson(`${sim.url}/cgi-bin/token?${q}`);
      assert.equal(typeof body.errcode, 'number', q);
    }
    assert.equal(typeof (await classicToken(sim)).access_token, 'string');
  });
});

test('route modules can set several cookies and redirect (as the OAuth pages do)', async () => {
  const state = new SimState({ apps: [] });
  const route = {
    path: '/x/*',
    methods: ['GET'],
    handler: () => {
      const headers = new Headers({ location: '/back' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response(null, { status: 302, headers });
    },
  };
  const http = await listen(
    state,
    (base, closing) => createDispatch(state, [route], base, closing),
    '127.0.0.1',
    0,
  );
  try {
    const res = await fetch(`${http.url}/x/anything`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/back');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
    assert.deepEqual(state.calls, { '/x/anything': 1 });
  } finally {
    await http.close();
  }
});
