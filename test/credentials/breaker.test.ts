import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Breaker } from '../../src/credentials/breaker.ts';
import { WxkitError } from '../../src/errors.ts';
import { Metrics } from '../../src/metrics.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createWxkit, type WxkitOptions } from '../../src/wxkit.ts';

// Issue 11 item 3: a black-holed WeChat held callers for up to 16 s (8 s timeout plus one retry) and
// each new attempt made new callers wait again. The breaker answers them at once instead.

const APP = { appId: 'wxbreaker0000001', secret: 'breaker-secret-0001' };
const GAUGE = 'wxkit_upstream_breaker_state';
const BLACK_HOLE = { path: '/cgi-bin/stable_token', latencyMs: 120_000 };

describe('Breaker (virtual clock, no network)', () => {
  const setup = () => {
    let t = 1_000_000;
    const metrics = new Metrics();
    const b = new Breaker({
      appId: 'wxA',
      upstream: 'https://api.weixin.qq.com',
      now: () => t,
      metrics,
      openMs: 5_000,
      capMs: 60_000,
      attemptMs: 8_000,
    });
    const gauge = () => metrics.gauge(GAUGE, { appid: 'wxA', host: 'api.weixin.qq.com' });
    return { b, gauge, advance: (ms: number) => (t += ms), now: () => t };
  };
  const timeout = () =>
    new WxkitError('upstream_unavailable', 'Cannot reach https://api.weixin.qq.com (timed out)');

  test('closed lets attempts through; a failure opens it and further attempts are refused with Retry-After', () => {
    const { b, gauge, now } = setup();
    assert.equal(gauge(), 0);
    b.admit();
    b.failed(timeout());
    assert.equal(b.status().state, 'open');
    assert.equal(b.status().retryAt, now() + 5_000);
    assert.equal(gauge(), 2);
    const refused = (() => {
      try {
        b.admit();
      } catch (e) {
        return e as WxkitError;
      }
    })();
    assert.equal(refused?.code, 'upstream_unavailable');
    assert.equal(refused?.status, 503);
    assert.equal(refused?.retryAfter, 5);
    assert.ok(refused?.hint.zh, 'the hint has Chinese too');
    assert.equal(b.refuse()?.code, 'upstream_unavailable');
  });

  test('half-open: exactly one probe once the open period is over; success closes, failure doubles the period', () => {
    const { b, gauge, advance, now } = setup();
    b.failed(timeout());
    advance(5_000);
    assert.equal(b.refuse(), undefined, 'a probe is due: the next caller may make it');
    assert.ok(b.refuse(true), 'but nobody queues behind another process making it');
    b.admit(); // the probe
    assert.equal(b.status().state, 'half-open');
    assert.equal(gauge(), 1);
    assert.throws(() => b.admit(), /one probe is under way/);
    assert.ok(b.refuse());
    b.failed(timeout());
    assert.equal(b.status().state, 'open');
    assert.equal(b.status().retryAt, now() + 10_000, 'the open period doubled');
    advance(10_000);
    b.admit();
    b.succeeded();
    assert.equal(b.status().state, 'closed');
    assert.equal(b.status().since, now());
    assert.equal(gauge(), 0);
    b.admit();
    b.failed(timeout());
    assert.equal(b.status().retryAt, now() + 5_000, 'a success starts the periods over');
  });

  test('a probe retried after a quick connection failure is due again at once; learn() opens from another process', () => {
    const { b, advance, now } = setup();
    b.failed(timeout());
    advance(5_000);
    b.admit();
    b.released();
    assert.equal(b.status().state, 'open');
    b.admit();
    assert.equal(b.status().state, 'half-open');
    b.succeeded();
    b.learn(now() + 7_000);
    assert.equal(b.status().state, 'open');
    assert.equal(b.status().retryAt, now() + 7_000);
    b.learn(now() + 1_000);
    assert.equal(b.status().retryAt, now() + 7_000, 'an earlier end never shortens it');
  });
});

describe('a black-holed WeChat (simulator, virtual clock)', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ apps: [APP] });
  });
  after(async () => {
    await sim.close();
  });
  const calls = () => sim.stats().calls['/cgi-bin/stable_token'] ?? 0;
  const fresh = () => {
    sim.clearFaults();
    sim.advance(8000);
    sim.reset();
  };
  const wxkit = (extra: Partial<WxkitOptions> = {}) =>
    createWxkit({
      ...APP,
      apiBase: sim.url,
      store: createMemoryStore(),
      now: () => sim.state.nowMs(),
      fetchTimeoutMs: 1_000,
      ...extra,
    });
  const settleAll = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);
  const reasons = (rs: PromiseSettledResult<unknown>[]) =>
    rs.map((r) => (r.status === 'rejected' ? (r.reason as WxkitError) : undefined));

  test('callers already waiting get one timeout (no retry); new callers are refused at once; one probe; closed on success', async () => {
    fresh();
    const wx = wxkit();
    sim.setFaults(BLACK_HOLE);
    const first = reasons(await settleAll(Array.from({ length: 20 }, () => wx.accessToken())));
    assert.ok(first.every((e) => e?.code === 'upstream_unavailable'));
    // ≤ 1, not = 1: on a loaded machine the 1 s deadline can pass before the request reaches the simulator.
    assert.ok(calls() <= 1, 'the timeout was not retried: waiters were held one timeout, not two');
    assert.equal(wx.breaker().state, 'open');
    assert.equal(wx.metrics.gauge(GAUGE, { appid: APP.appId, host: new URL(sim.url).host }), 2);
    assert.match(wx.metrics.render(), new RegExp(`${GAUGE}\\{appid="${APP.appId}",host="[^"]+"\\} 2`));

    const open = reasons(await settleAll(Array.from({ length: 50 }, () => wx.accessToken())));
    assert.ok(open.every((e) => e?.code === 'upstream_unavailable' && (e.retryAfter ?? 0) >= 1));
    assert.equal(calls(), 1, 'nothing asked upstream while open');

    sim.advance(6); // past the open period (5 s): one probe may go
    let probeDone = false;
    const probe = wx.accessToken().finally(() => {
      probeDone = true;
    });
    for (let i = 0; i < 200 && calls() < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(calls(), 2, 'the probe is out');
    assert.equal(wx.breaker().state, 'half-open');
    const during = reasons(await settleAll(Array.from({ length: 30 }, () => wx.accessToken())));
    assert.equal(probeDone, false, 'the others were answered while the probe was still out');
    assert.ok(during.every((e) => e?.code === 'upstream_unavailable'));
    await probe.catch(() => {});
    assert.equal(calls(), 2, 'exactly one probe');
    const reopened = wx.breaker();
    assert.equal(reopened.state, 'open');
    assert.equal(reopened.retryAt, reopened.since + 10_000, 'the failed probe doubled the open period');

    sim.clearFaults();
    sim.advance(11);
    assert.ok(await wx.accessToken(), 'the next probe succeeds');
    assert.equal(wx.breaker().state, 'closed');
    assert.equal(wx.metrics.gauge(GAUGE, { appid: APP.appId, host: new URL(sim.url).host }), 0);
    await wx.close();
  });

  test('jssdkConfig and tickets: callers with no credential are bounded by one timeout, then answered at once', async () => {
    fresh();
    const wx = wxkit({ jsDomains: ['h5.example.com'] });
    sim.setFaults({ path: '/cgi-bin/ticket/getticket', latencyMs: 120_000 });
    const url = 'https://h5.example.com/p';
    const first = reasons(await settleAll(Array.from({ length: 10 }, () => wx.jssdkConfig({ url }))));
    assert.ok(first.every((e) => e?.code === 'upstream_unavailable'));
    assert.equal(sim.stats().calls['/cgi-bin/ticket/getticket'], 1);
    const later = reasons(await settleAll(Array.from({ length: 10 }, () => wx.jssdkConfig({ url }))));
    assert.ok(later.every((e) => e?.code === 'upstream_unavailable'));
    assert.equal(sim.stats().calls['/cgi-bin/ticket/getticket'], 1);
    await wx.close();
  });

  test('a connection failure gets its one quick retry, then opens the breaker', async () => {
    fresh();
    const wx = wxkit();
    sim.setFaults({ path: '/cgi-bin/stable_token', drop: true });
    await assert.rejects(wx.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(calls(), 2);
    assert.equal(wx.breaker().state, 'open');
    await assert.rejects(wx.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(calls(), 2);
    await wx.close();
  });

  // Issue 18 item 11: headers then a stalled body marked the breaker healthy and the body timeout was
  // retried as transient (caller p99 16 s, the breaker never opened).
  test('headers followed by a stalled body: one timeout, not retried, and the breaker opens', async () => {
    fresh();
    const wx = wxkit({ fetchTimeoutMs: 300 });
    sim.setFaults({ path: '/cgi-bin/stable_token', stallBody: true });
    const first = reasons(await settleAll(Array.from({ length: 5 }, () => wx.accessToken())));
    assert.ok(first.every((e) => e?.code === 'upstream_unavailable' && /timed out/.test(e.message)));
    assert.equal(calls(), 1, 'the body timeout is a timeout: not retried');
    assert.equal(wx.breaker().state, 'open', 'an answer counts only once its body is read');
    await assert.rejects(wx.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(calls(), 1, 'refused at once while open');

    sim.clearFaults();
    sim.advance(6);
    assert.ok(await wx.accessToken(), 'the probe reads a whole body and closes the breaker');
    assert.equal(wx.breaker().state, 'closed');
    await wx.close();
  });

  test('another process sharing the store learns the upstream is unreachable and holds off without asking', async () => {
    fresh();
    const store = createMemoryStore();
    const a = wxkit({ store });
    const b = wxkit({ store });
    sim.setFaults(BLACK_HOLE);
    await assert.rejects(a.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(calls(), 1);
    assert.equal(b.breaker().state, 'closed');
    await assert.rejects(b.accessToken(), { code: 'upstream_unavailable' });
    assert.equal(calls(), 1, 'b did not ask upstream');
    assert.equal(b.breaker().state, 'open', 'b opened its breaker from the shared failure');
    // The failure is shared as a remaining duration (the key's TTL, in the store's real clock), not as the
    // writer's absolute time: b's retryAt matches a's to within the milliseconds the hand-over took.
    assert.ok(Math.abs((b.breaker().retryAt ?? 0) - (a.breaker().retryAt ?? 0)) <= 50);

    // Past the open period, a probes (holding the store lock); b does not queue behind it.
    sim.advance(6);
    let probeDone = false;
    const probe = a.accessToken().finally(() => {
      probeDone = true;
    });
    for (let i = 0; i < 200 && calls() < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(calls(), 2);
    await assert.rejects(b.accessToken(), /probe/);
    assert.equal(probeDone, false);
    await probe.catch(() => {});
    assert.equal(calls(), 2);
    await Promise.all([a.close(), b.close()]);
  });
});
