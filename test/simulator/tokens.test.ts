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
  ticket,
} from './helpers.ts';

/** A token is usable when getticket accepts it. */
async function usable(sim: Simulator, token: unknown): Promise<Record<string, unknown>> {
  return ticket(sim, token);
}

describe('classic /cgi-bin/token', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start();
  });
  after(() => sim.close());

  test('issues a new token on each call; the previous one works 5 more minutes, then 40001', async () => {
    const a = await classicToken(sim);
    assert.equal(typeof a.access_token, 'string');
    assert.equal(a.expires_in, 7200);
    const b = await classicToken(sim);
    assert.notEqual(b.access_token, a.access_token);
    assert.equal((await usable(sim, a.access_token)).errcode, 0);
    sim.advance(299);
    assert.equal((await usable(sim, a.access_token)).errcode, 0, 'old token still valid at 4:59');
    sim.advance(1);
    const dead = await usable(sim, a.access_token);
    assert.ok(
      isWechatError(dead, 40001, 'invalid credential, access_token is invalid or not latest'),
      JSON.stringify(dead),
    );
    assert.equal((await usable(sim, b.access_token)).errcode, 0, 'the new token is unaffected');
  });

  test('a token expires after 7200 s with 42001', async () => {
    const t = await classicToken(sim);
    sim.advance(7199);
    assert.equal((await usable(sim, t.access_token)).errcode, 0);
    sim.advance(1);
    assert.ok(isWechatError(await usable(sim, t.access_token), 42001, 'access_token expired'));
  });

  test('an unknown token gets 40001, a missing one 41001', async () => {
    assert.ok(isWechatError(await usable(sim, 'not-a-token'), 40001));
    assert.ok(isWechatError(await getJson(`${sim.url}/cgi-bin/ticket/getticket?type=jsapi`), 41001));
  });

  test('configuration errors: 41002, 40013, 41004, 40125, 40002', async () => {
    const base = `${sim.url}/cgi-bin/token?grant_type=client_credential`;
    assert.ok(isWechatError(await getJson(`${base}&secret=${SECRET}`), 41002, 'appid missing'));
    assert.ok(isWechatError(await getJson(`${base}&appid=wxnope&secret=${SECRET}`), 40013, 'invalid appid'));
    assert.ok(isWechatError(await getJson(`${base}&appid=${APP}`), 41004, 'appsecret missing'));
    assert.ok(isWechatError(await getJson(`${base}&appid=${APP}&secret=wrong`), 40125, 'invalid appsecret'));
    assert.ok(
      isWechatError(
        await getJson(`${sim.url}/cgi-bin/token?grant_type=password&appid=${APP}&secret=${SECRET}`),
        40002,
        'invalid grant_type',
      ),
    );
  });

  test('errors come with HTTP 200 and a rid of three groups of 8 hex digits', async () => {
    const res = await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=wxnope&secret=x`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { errmsg: string };
    assert.match(body.errmsg, /^invalid appid rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });
});

describe('quota', () => {
  test('2000 classic tokens a day, then 45009 until the next (Beijing) day', async () => {
    // Start at 00:00:10 Beijing time so "today" is not about to end.
    const sim = await start({ now: Date.UTC(2026, 0, 1, 16, 0, 10) / 1000 });
    try {
      // 1950 counted straight into the state's quota (2000 HTTP calls take ~15 s on a busy CI
      // machine), the last 50 over HTTP, concurrently.
      const app = sim.state.app(APP)!;
      for (let i = 0; i < 1950; i++) assert.ok(sim.state.takeDaily(app, '/cgi-bin/token', 2000));
      const batch = await Promise.all(Array.from({ length: 50 }, () => classicToken(sim)));
      assert.ok(batch.every((b) => typeof b.access_token === 'string'));
      const over = await classicToken(sim);
      assert.ok(isWechatError(over, 45009, 'reach max api daily quota limit'), JSON.stringify(over));
      // The other account has its own quota.
      assert.equal(typeof (await classicToken(sim, APP2, 'simtestsecret2')).access_token, 'string');
      sim.advance(12 * 3600);
      assert.ok(isWechatError(await classicToken(sim), 45009), 'same day, still spent');
      sim.advance(12 * 3600);
      assert.equal(typeof (await classicToken(sim)).access_token, 'string', 'a new day, a new quota');
    } finally {
      await sim.close();
    }
  });

  test('stable_token: 10,000 a minute, then 45011 until the next minute', async () => {
    const sim = await start({ now: 1_800_000_000 });
    try {
      const app = sim.state.app(APP)!;
      for (let i = 0; i < 10000; i++) sim.state.takeMinute(app, '/cgi-bin/stable_token', 10000);
      const over = await stableToken(sim);
      assert.ok(
        isWechatError(over, 45011, 'api minute-quota reach limit mustslower retry next minute'),
        JSON.stringify(over),
      );
      sim.advance(60);
      assert.equal(typeof (await stableToken(sim)).access_token, 'string');
    } finally {
      await sim.close();
    }
  });
});

describe('stable /cgi-bin/stable_token', () => {
  let sim: Simulator;
  before(async () => {
    sim = await start();
  });
  after(() => sim.close());

  test('same token while valid, expires_in counting down; a new one in the last 5 minutes', async () => {
    const a = await stableToken(sim, {}, APP2, 'simtestsecret2');
    assert.equal(a.expires_in, 7200);
    sim.advance(1000);
    const b = await stableToken(sim, {}, APP2, 'simtestsecret2');
    assert.equal(b.access_token, a.access_token);
    assert.equal(b.expires_in, 6200);
    sim.advance(6200 - 301);
    const c = await stableToken(sim, {}, APP2, 'simtestsecret2');
    assert.equal(c.access_token, a.access_token);
    assert.equal(c.expires_in, 301);
    sim.advance(1);
    const d = await stableToken(sim, {}, APP2, 'simtestsecret2');
    assert.notEqual(d.access_token, a.access_token, 'rotated with 300 s left');
    assert.equal(d.expires_in, 7200);
    assert.equal((await usable(sim, a.access_token)).errcode, 0, 'the old one lives out its lifetime');
    sim.advance(300);
    assert.ok(isWechatError(await usable(sim, a.access_token), 42001));
    assert.equal((await usable(sim, d.access_token)).errcode, 0);
  });

  test('force_refresh kills the old token at once; 30 s apart; 20 a day then 45009', async () => {
    const sim2 = await start({ now: Date.UTC(2026, 0, 1, 16, 0, 10) / 1000 });
    try {
      const a = await stableToken(sim2);
      const b = await stableToken(sim2, { force_refresh: true });
      assert.notEqual(b.access_token, a.access_token);
      assert.ok(isWechatError(await usable(sim2, a.access_token), 40001), 'forced refresh invalidates');
      // Within 30 s WeChat "does not refresh": the current token comes back.
      sim2.advance(10);
      const c = await stableToken(sim2, { force_refresh: true });
      assert.equal(c.access_token, b.access_token);
      assert.equal((await usable(sim2, b.access_token)).errcode, 0);
      let last = b.access_token;
      for (let i = 2; i <= 20; i++) {
        sim2.advance(30);
        const t = await stableToken(sim2, { force_refresh: true });
        assert.notEqual(t.access_token, last, `forced refresh #${i}`);
        last = t.access_token;
      }
      sim2.advance(30);
      assert.ok(isWechatError(await stableToken(sim2, { force_refresh: true }), 45009), '21st of the day');
      assert.equal((await stableToken(sim2)).access_token, last, 'normal mode still works');
      sim2.advance(86400);
      const fresh = await stableToken(sim2, { force_refresh: true });
      assert.notEqual(fresh.access_token, last, 'the next day allows force_refresh again');
    } finally {
      await sim2.close();
    }
  });

  test('stable and classic tokens are isolated: neither invalidates the other', async () => {
    const s = await stableToken(sim);
    const c1 = await classicToken(sim);
    const c2 = await classicToken(sim);
    await classicToken(sim);
    sim.advance(400);
    assert.equal(
      (await usable(sim, s.access_token)).errcode,
      0,
      'classic fetches leave the stable token alone',
    );
    assert.ok(isWechatError(await usable(sim, c1.access_token), 40001));
    const s2 = await stableToken(sim, { force_refresh: true });
    assert.notEqual(s2.access_token, s.access_token);
    const c3 = await classicToken(sim);
    sim.advance(30);
    const s3 = await stableToken(sim, { force_refresh: true });
    assert.notEqual(s3.access_token, s2.access_token);
    assert.equal(
      (await usable(sim, c3.access_token)).errcode,
      0,
      'a forced stable refresh leaves classic alone',
    );
    assert.notEqual(c2.access_token, s.access_token);
  });

  test('bad bodies: empty 44002, malformed 47001, non-boolean force_refresh 40097, GET 43002', async () => {
    const url = `${sim.url}/cgi-bin/stable_token`;
    assert.ok(isWechatError(await postJson(url, ''), 44002, 'empty post data'));
    assert.ok(isWechatError(await postJson(url, '{"appid":'), 47001, 'data format error'));
    assert.ok(isWechatError(await postJson(url, '[1,2]'), 47001));
    assert.ok(
      isWechatError(
        await postJson(url, {
          grant_type: 'client_credential',
          appid: APP,
          secret: SECRET,
          force_refresh: 'yes',
        }),
        40097,
      ),
    );
    assert.ok(isWechatError(await postJson(url, { grant_type: 'client_credential', appid: APP }), 41004));
    assert.ok(isWechatError(await getJson(url), 43002, 'require POST method'));
  });
});

describe('IP whitelist', () => {
  test('40164 names the caller IP in both forms, until the caller is listed', async () => {
    const sim = await start({ ipWhitelist: ['10.1.2.3'] });
    try {
      const body = await classicToken(sim);
      assert.ok(
        isWechatError(body, 40164, 'invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist'),
        JSON.stringify(body),
      );
      assert.ok(isWechatError(await stableToken(sim), 40164));
      sim.setFaults({ ipWhitelist: ['10.1.2.3', '127.0.0.1'] });
      assert.equal(typeof (await classicToken(sim)).access_token, 'string');
      sim.setFaults({ ipWhitelist: ['1.2.3.4'] });
      assert.ok(isWechatError(await classicToken(sim), 40164));
      sim.clearFaults();
      assert.ok(isWechatError(await classicToken(sim), 40164), 'clearing restores the start-up whitelist');
      sim.setFaults({ ipWhitelist: null });
      assert.equal(typeof (await classicToken(sim)).access_token, 'string', 'null turns it off');
    } finally {
      await sim.close();
    }
  });
});
