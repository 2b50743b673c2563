import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Simulator } from '../../src/simulator/index.ts';
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
} from './helpers.ts';

describe('account APIs', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start({ now: Date.UTC(2026, 2, 1, 16, 0, 0) / 1000 });
  });
  after(() => sim.close());

  test('openapi/quota/get reports used and remaining calls of today', async () => {
    await classicToken(sim);
    await classicToken(sim);
    const token = (await stableToken(sim)).access_token;
    const q = await postJson(`${sim.url}/cgi-bin/openapi/quota/get?access_token=${String(token)}`, {
      cgi_path: '/cgi-bin/token',
    });
    assert.deepEqual(q.quota, { daily_limit: 2000, used: 2, remain: 1998 });
    assert.ok(
      isWechatError(
        await postJson(`${sim.url}/cgi-bin/openapi/quota/get?access_token=${String(token)}`, {
          cgi_path: '/x',
        }),
        76021,
      ),
    );
  });

  test('clear_quota resets a spent daily quota, 10 times a month, then 48006', async () => {
    const token = (await stableToken(sim)).access_token;
    const url = `${sim.url}/cgi-bin/clear_quota?access_token=${String(token)}`;
    for (let i = 1; i <= 10; i++) {
      sim.setFaults({ exhaustQuota: '/cgi-bin/token', appId: APP });
      assert.ok(isWechatError(await classicToken(sim), 45009));
      assert.deepEqual(await postJson(url, { appid: APP }), { errcode: 0, errmsg: 'ok' }, `clear #${i}`);
      assert.equal(typeof (await classicToken(sim)).access_token, 'string');
    }
    const eleventh = await postJson(url, { appid: APP });
    assert.ok(isWechatError(eleventh, 48006, 'forbid to clear quota because of reaching the limit'));
    assert.ok(isWechatError(await postJson(url, { appid: APP2 }), 40013), 'only the token’s own account');
    assert.ok(isWechatError(await postJson(url, '{x'), 47001));
  });

  test('clear_quota/v2 takes the secret instead of a token', async () => {
    sim.setFaults({ exhaustQuota: '/cgi-bin/token', appId: APP2 });
    const v2 = `${sim.url}/cgi-bin/clear_quota/v2`;
    assert.ok(isWechatError(await postJson(v2, { appid: APP2, appsecret: SECRET }), 40125));
    assert.deepEqual(await postJson(v2, { appid: APP2, appsecret: 'simtestsecret2' }), {
      errcode: 0,
      errmsg: 'ok',
    });
    assert.equal(typeof (await classicToken(sim, APP2, 'simtestsecret2')).access_token, 'string');
  });

  test('get_api_domain_ip and getcallbackip check the token like any API', async () => {
    const token = (await classicToken(sim)).access_token;
    const ok = await getJson(`${sim.url}/cgi-bin/get_api_domain_ip?access_token=${String(token)}`);
    assert.deepEqual(ok.ip_list, ['127.0.0.1']);
    sim.advance(7200);
    assert.ok(
      isWechatError(await getJson(`${sim.url}/cgi-bin/getcallbackip?access_token=${String(token)}`), 42001),
    );
  });
});
