import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWecom } from '../../src/accounts/wecom.ts';
import { failureKind } from '../../src/credentials/upstream.ts';
import { actionFor, categoryOf, describeErrcode } from '../../src/errcodes.ts';
import { WxkitError } from '../../src/errors.ts';
import { publicErrorBody } from '../../src/http/public-error.ts';
import { retryAfterOf } from '../../src/http/reply.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';

describe("WeCom's errcodes are read in WeCom's table", () => {
  test('numbers that mean something else in WeCom', () => {
    // 40001: WeChat's "token not latest" (refresh), WeCom's "wrong secret" (configuration).
    assert.equal(actionFor(40001), 'refresh-token');
    assert.equal(actionFor(40001, 'wecom'), 'fail');
    assert.equal(categoryOf(40001, 'wecom'), 'config');
    // 45009: WeChat's daily quota (until midnight), WeCom's frequency limit (minutes).
    assert.equal(categoryOf(45009), 'quota');
    assert.equal(categoryOf(45009, 'wecom'), 'rate-limit');
    for (const code of [40013, 40056, 60020]) assert.equal(categoryOf(code, 'wecom'), 'config', String(code));
    // Shared meanings come from WeChat's table.
    assert.equal(actionFor(42001, 'wecom'), 'refresh-token');
    assert.equal(actionFor(40014, 'wecom'), 'refresh-token');
    assert.equal(describeErrcode(40029, 'wecom')?.category, 'user-auth');
  });

  test('an error knows its platform: retry decisions, status, Retry-After and the public body follow it', () => {
    const wecom = new WxkitError('wechat_error', 'WeCom refused gettoken', {
      errcode: 40001,
      platform: 'wecom',
    });
    const wechat = new WxkitError('wechat_error', 'WeChat refused', { errcode: 40001 });
    assert.equal(failureKind(wecom), 'permanent');
    assert.equal(failureKind(wechat), 'token-invalid');
    assert.match(wecom.hint.en, /WX_CORP_SECRET/);
    const limited = new WxkitError('upstream_unavailable', 'limit', {
      errcode: 45009,
      platform: 'wecom',
      retryAfter: 60,
    });
    assert.equal(failureKind(limited), 'rate-limited');
    assert.equal(retryAfterOf(limited), 60, 'not the seconds to midnight Beijing time');
    const quota = new WxkitError('wechat_error', 'quota', { errcode: 45009 });
    assert.equal(quota.status, 503);
    assert.ok((retryAfterOf(quota, Date.UTC(2026, 0, 1, 15, 0)) ?? 0) === 3600);
    const body = publicErrorBody(wecom).error as { wechat?: { errcode: number; errmsg?: string } };
    assert.equal(body.wechat?.errcode, 40001);
    assert.equal(
      body.wechat?.errmsg,
      undefined,
      "a config refusal's errmsg (WeCom quotes the caller's IP) stays inside",
    );
  });
});

describe('a remembered WeCom refusal keeps its meaning in other processes', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ corps: ['wwerrc0des000001:1000002:the-secret'] });
  });
  after(() => sim.close());

  test("40001 stored by one instance reads as WeCom's wrong secret in another (not an expired token)", async () => {
    const store = createMemoryStore();
    const options = {
      corpId: 'wwerrc0des000001',
      agentId: 1000002,
      secret: 'wrong',
      apiBase: sim.url,
      store,
    };
    const first = createWecom(options);
    const second = createWecom(options);
    await assert.rejects(first.accessToken(), (e: WxkitError) => e.errcode === 40001);
    const cached = await second.accessToken().then(
      () => assert.fail('expected the remembered refusal'),
      (e: WxkitError) => e,
    );
    assert.equal(sim.stats().calls['/cgi-bin/gettoken'], 1, 'the second instance did not ask WeCom');
    assert.equal(cached.platform, 'wecom');
    assert.equal(cached.category, 'config');
    assert.equal(retryAfterOf(cached), undefined);
    await first.close();
    await second.close();
  });
});
