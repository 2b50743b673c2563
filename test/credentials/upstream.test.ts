import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classicTokenRequest,
  failureKind,
  processRemoteResponse,
  processTicketResponse,
  processTokenResponse,
  stableTokenRequest,
} from '../../src/credentials/upstream.ts';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('upstream interpreters (no network)', () => {
  test('a token answer becomes a credential with an absolute expiry', async () => {
    const r = await processTokenResponse(json({ access_token: 'AT', expires_in: 7200 }), 1_000, 'token');
    assert.deepEqual(r, { value: 'AT', expiresAt: 1_000 + 7_200_000, source: 'token' });
  });

  test('errcodes become typed errors with the hint; transient ones are upstream_unavailable', async () => {
    const rid = 'rid: 6123abcd-1234abcd-5678abcd';
    const e1 = await processTokenResponse(
      json({ errcode: 40164, errmsg: `invalid ip 1.2.3.4 ${rid}` }),
      0,
      'token',
    ).catch((e) => e);
    assert.equal(e1.code, 'wechat_error');
    assert.equal(e1.errcode, 40164);
    assert.match(e1.errmsg, /rid/);
    assert.match(e1.hint.en, /whitelist/);
    assert.equal(failureKind(e1), 'permanent');
    const e2 = await processTokenResponse(json({ errcode: -1, errmsg: 'system error' }), 0, 'token').catch(
      (e) => e,
    );
    assert.equal(e2.code, 'upstream_unavailable');
    assert.equal(failureKind(e2), 'transient');
    const e3 = await processTicketResponse(json({ errcode: 40001, errmsg: 'invalid credential' }), 0).catch(
      (e) => e,
    );
    assert.equal(failureKind(e3), 'token-invalid');
    const e4 = await processTokenResponse(
      new Response('<html>bad gateway</html>', { status: 502 }),
      0,
      'token',
    ).catch((e) => e);
    assert.equal(e4.code, 'upstream_unavailable');
  });

  // Issue 18 item 17: `{"errcode":0}` without a token was a permanent config error for 30 s.
  test('errcode 0 (or none) without the token or ticket is transient, as on the WeCom path', async () => {
    for (const body of [{ errcode: 0, errmsg: 'ok' }, {}, { errcode: 0, access_token: '' }]) {
      const e = await processTokenResponse(json(body), 0, 'stable_token').catch((x) => x);
      assert.equal(e.code, 'upstream_unavailable', JSON.stringify(body));
      assert.equal(e.errcode, undefined);
      assert.equal(failureKind(e), 'transient');
    }
    const t = await processTicketResponse(json({ errcode: 0, errmsg: 'ok' }), 0).catch((x) => x);
    assert.equal(t.code, 'upstream_unavailable');
    assert.match(t.message, /without a ticket/);
    assert.equal(failureKind(t), 'transient');
  });

  test('a ticket answer with errcode 0 is a credential', async () => {
    const r = await processTicketResponse(
      json({ errcode: 0, errmsg: 'ok', ticket: 'T', expires_in: 7200 }),
      5,
    );
    assert.deepEqual(r, { value: 'T', expiresAt: 5 + 7_200_000, source: 'getticket' });
  });

  test('a central wxkit answer or error body', async () => {
    assert.deepEqual(await processRemoteResponse(json({ value: 'V', expiresAt: 99 })), {
      value: 'V',
      expiresAt: 99,
      source: 'remote',
    });
    const e = await processRemoteResponse(
      json(
        {
          error: {
            code: 'wechat_error',
            message: 'x',
            wechat: { errcode: 40125, errmsg: 'invalid appsecret' },
          },
        },
        502,
      ),
    ).catch((x) => x);
    assert.equal(e.errcode, 40125);
    assert.equal(failureKind(e), 'permanent');
    const down = await processRemoteResponse(json({ error: { code: 'upstream_unavailable' } }, 503)).catch(
      (x) => x,
    );
    assert.equal(failureKind(down), 'transient');
    const auth = await processRemoteResponse(json({ error: { code: 'unauthorized' } }, 401)).catch((x) => x);
    assert.equal(auth.code, 'config_error');
  });

  test('stable requests never carry force_refresh unless asked; classic puts the secret only in the query', async () => {
    const input = { apiBase: 'https://api.weixin.qq.com', appId: 'wx1', secret: 'S' };
    assert.deepEqual(await stableTokenRequest(input).json(), {
      grant_type: 'client_credential',
      appid: 'wx1',
      secret: 'S',
    });
    assert.equal((await stableTokenRequest(input, true).json()).force_refresh, true);
    const classic = classicTokenRequest(input);
    assert.equal(classic.method, 'GET');
    assert.equal(new URL(classic.url).searchParams.get('grant_type'), 'client_credential');
  });
});
