import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimState } from '../../src/simulator/state.ts';

const APP = { appId: 'wxstate', secret: 's' };

describe('SimState (pure)', () => {
  test('the clock starts where told and only moves forward through advance', () => {
    const s = new SimState({ apps: [APP], now: 1_000_000 });
    assert.equal(s.now(), 1_000_000);
    assert.equal(s.advance(1.5), 1_000_001);
    assert.equal(s.nowMs(), 1_000_001_500);
    assert.throws(() => s.advance(-1), RangeError);
    assert.throws(() => s.advance(Number.NaN), RangeError);
  });

  test('WeChat’s day starts at midnight Beijing time (16:00 UTC)', () => {
    const s = new SimState({ apps: [APP], now: Date.UTC(2026, 0, 1, 15, 59, 59) / 1000 });
    const app = s.app(APP.appId)!;
    assert.ok(s.takeDaily(app, '/p', 1));
    assert.ok(!s.takeDaily(app, '/p', 1));
    s.advance(1);
    assert.ok(s.takeDaily(app, '/p', 1), 'a new day at 00:00 Beijing');
  });

  test('tokens: a replaced classic token lives 300 s from its replacement, whichever came later', () => {
    const s = new SimState({ apps: [APP], now: 2_000_000 });
    const app = s.app(APP.appId)!;
    const a = s.issueClassicToken(app).value;
    s.advance(100);
    const b = s.issueClassicToken(app).value;
    s.advance(100);
    const c = s.issueClassicToken(app).value;
    s.advance(199);
    assert.deepEqual(s.validateAccessToken(a), { appId: APP.appId, kind: 'classic' });
    s.advance(1);
    assert.deepEqual(s.validateAccessToken(a), { errcode: 40001 });
    assert.deepEqual(s.validateAccessToken(b), { appId: APP.appId, kind: 'classic' });
    s.advance(100);
    assert.deepEqual(s.validateAccessToken(b), { errcode: 40001 });
    assert.deepEqual(s.validateAccessToken(c), { appId: APP.appId, kind: 'classic' });
    assert.deepEqual(s.validateAccessToken(''), { errcode: 41001 });
    assert.deepEqual(s.validateAccessToken(null), { errcode: 41001 });
  });

  test('faults count down per matching request and the first errcode/drop wins', () => {
    const s = new SimState({ apps: [APP] });
    s.faults.push({ path: '/a', errcode: 1, times: 2 }, { drop: true, times: 1 }, { latencyMs: 50 });
    assert.deepEqual(s.takeFaults('/a'), { latencyMs: 50, drop: false, errcode: 1 });
    assert.deepEqual(s.takeFaults('/b'), { latencyMs: 50, drop: true, errcode: undefined });
    assert.deepEqual(s.takeFaults('/b'), { latencyMs: 50, drop: false, errcode: undefined });
    assert.deepEqual(s.takeFaults('/a'), { latencyMs: 50, drop: false, errcode: 1 });
    assert.deepEqual(s.takeFaults('/a'), { latencyMs: 50, drop: false, errcode: undefined });
    assert.equal(s.faults.length, 1, 'spent faults are removed');
  });

  test('media expires after exactly 3 days and is per account', () => {
    const s = new SimState({ apps: [APP, { appId: 'wxother', secret: 's' }], now: 3_000_000 });
    const id = s.addMedia(APP.appId, { bytes: new Uint8Array([1]), contentType: 'audio/amr' });
    assert.equal(s.getMedia(APP.appId, id)?.type, 'voice');
    assert.equal(s.getMedia('wxother', id), undefined);
    s.advance(259_199);
    assert.ok(s.getMedia(APP.appId, id));
    s.advance(1);
    assert.equal(s.getMedia(APP.appId, id), undefined);
    assert.throws(() => s.addMedia('wxnope', { bytes: new Uint8Array(), contentType: 'image/jpeg' }));
  });

  test('rid() has WeChat’s format and apps get default JS domains and users', () => {
    const s = new SimState({ apps: [APP, { appId: 'wxd', secret: 's', jsDomains: ['a.com'] }] });
    assert.match(s.rid(), /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    assert.deepEqual(s.jsDomainsOf(APP.appId), ['localhost', '127.0.0.1']);
    assert.deepEqual(s.jsDomainsOf('wxd'), ['a.com']);
    assert.deepEqual(s.jsDomainsOf('wxnope'), []);
    assert.equal(s.app(APP.appId)?.users.length, 2);
  });
});
