import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actionFor, categoryOf, describeErrcode } from '../../src/errcodes.ts';
import { ErrorCodes, WxkitError } from '../../src/errors.ts';

describe('WxkitError', () => {
  test('every code renders SPEC §3 JSON with a non-empty hint in both languages and its status', () => {
    for (const code of Object.values(ErrorCodes)) {
      const e = new WxkitError(code, 'message');
      assert.ok(e.hint.en.length > 0 && e.hint.zh.length > 0, code);
      const body = e.toJSON().error;
      assert.equal(body.code, code);
      assert.equal(body.message, 'message');
      assert.ok(typeof body.hint === 'string' && body.hint.length > 0, code);
      assert.ok(e.status >= 400 && e.status < 600, code);
    }
  });

  test('a WeChat errcode brings its own hint, the errmsg and the cause', () => {
    const cause = new Error('low level');
    const e = new WxkitError('wechat_error', 'WeChat refused', {
      errcode: 40164,
      errmsg: 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 1-2-3',
      cause,
    });
    assert.match(e.hint.en, /whitelist/);
    assert.match(e.hint.zh, /白名单/);
    assert.equal(e.cause, cause);
    assert.equal(e.category, 'config');
    assert.deepEqual(e.toJSON().error.wechat, { errcode: 40164, errmsg: e.errmsg });
    assert.equal(e.status, 502);
  });
});

describe('errcode table', () => {
  test('categories drive the action: refresh, backoff, fail, fail for the day, re-authenticate', () => {
    for (const code of [40001, 40014, 42001]) assert.equal(actionFor(code), 'refresh-token');
    for (const code of [-1, 45011]) assert.equal(actionFor(code), 'backoff');
    for (const code of [40013, 40125, 40164, 61024, 40243]) assert.equal(actionFor(code), 'fail');
    assert.equal(actionFor(45009), 'fail-for-day');
    for (const code of [40029, 40163, 48001]) assert.equal(actionFor(code), 'reauthenticate');
    assert.equal(categoryOf(99999), 'request');
    assert.equal(describeErrcode(99999), undefined);
  });
});
