import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WxkitError } from '../../src/errors.ts';
import { Metrics } from '../../src/metrics.ts';
import { buildAuthorizeUrl } from '../../src/oauth/authorize.ts';
import { createOAuthClient } from '../../src/oauth/client.ts';
import {
  processAuthCheckResponse,
  processTokenResponse,
  processUserinfoResponse,
} from '../../src/oauth/responses.ts';
import { createMemoryOAuthStore, linkedOAuthStore, type OAuthStore } from '../../src/oauth/store.ts';

const jsonResponse = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('buildAuthorizeUrl', () => {
  test('follows WeChat’s parameter order and ends with #wechat_redirect', () => {
    const url = buildAuthorizeUrl({
      appId: 'wx123',
      redirectUri: 'https://h5.example.com/cb?x=1',
      scope: 'snsapi_userinfo',
      state: 'abc123',
    });
    assert.equal(
      url,
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx123&redirect_uri=https%3A%2F%2Fh5.example.com%2Fcb%3Fx%3D1&response_type=code&scope=snsapi_userinfo&state=abc123#wechat_redirect',
    );
  });

  test('defaults to snsapi_base, honours openBase and forcePopup', () => {
    const url = buildAuthorizeUrl({
      appId: 'wx1',
      redirectUri: 'http://localhost:3000/oauth/callback',
      openBase: 'http://127.0.0.1:9100/',
      forcePopup: true,
    });
    assert.ok(url.startsWith('http://127.0.0.1:9100/connect/oauth2/authorize?appid=wx1&'));
    assert.match(url, /&scope=snsapi_base&state=&forcePopup=true#wechat_redirect$/);
  });

  test('refuses what WeChat would mangle or refuse', () => {
    const base = { appId: 'wx1', redirectUri: 'https://h5.example.com/cb' };
    assert.throws(() => buildAuthorizeUrl({ ...base, state: 'a'.repeat(129) }), { code: 'invalid_request' });
    assert.throws(() => buildAuthorizeUrl({ ...base, state: 'a-b' }), { code: 'invalid_request' });
    assert.throws(() => buildAuthorizeUrl({ ...base, redirectUri: '/cb' }), { code: 'invalid_request' });
    assert.throws(() => buildAuthorizeUrl({ ...base, redirectUri: 'javascript:alert(1)' }), {
      code: 'invalid_request',
    });
    // @ts-expect-error: an unknown scope is a type error and a runtime error
    assert.throws(() => buildAuthorizeUrl({ ...base, scope: 'snsapi_login' }), { code: 'invalid_request' });
  });
});

describe('processTokenResponse', () => {
  test('maps the fields, unionid and is_snapshotuser', async () => {
    const t = await processTokenResponse(
      jsonResponse({
        access_token: 'AT',
        expires_in: 7200,
        refresh_token: 'RT',
        openid: 'o1',
        scope: 'snsapi_userinfo',
        unionid: 'u1',
        is_snapshotuser: 1,
      }),
      () => 1_000_000,
    );
    assert.deepEqual(t, {
      accessToken: 'AT',
      expiresIn: 7200,
      expiresAt: 1_000_000 + 7_200_000,
      refreshToken: 'RT',
      openid: 'o1',
      scope: 'snsapi_userinfo',
      unionid: 'u1',
      isSnapshotUser: true,
    });
  });

  test('without unionid and snapshot flag', async () => {
    const t = await processTokenResponse(
      jsonResponse({
        access_token: 'A',
        expires_in: 7200,
        refresh_token: 'R',
        openid: 'o',
        scope: 'snsapi_base',
      }),
    );
    assert.equal(t.unionid, undefined);
    assert.equal('unionid' in t, false);
    assert.equal(t.isSnapshotUser, false);
  });

  for (const [errcode, code, status] of [
    [40029, 'unauthorized', 401],
    [40163, 'unauthorized', 401],
    [42003, 'unauthorized', 401],
    [40030, 'unauthorized', 401],
    [40125, 'wechat_error', 502],
    [-1, 'upstream_unavailable', 503],
  ] as const) {
    test(`errcode ${errcode} → ${code} (${status}) with errcode, errmsg and a hint`, async () => {
      const errmsg = `whatever rid: 0000-1111-2222`;
      await assert.rejects(processTokenResponse(jsonResponse({ errcode, errmsg })), (e: unknown) => {
        assert.ok(e instanceof WxkitError);
        assert.equal(e.code, code);
        assert.equal(e.status, status);
        assert.equal(e.errcode, errcode);
        assert.equal(e.errmsg, errmsg);
        assert.notEqual(e.hint.en, '');
        return true;
      });
    });
  }

  test('HTTP 5xx, non-JSON and incomplete bodies are upstream problems, not crashes', async () => {
    await assert.rejects(processTokenResponse(new Response('bad gateway', { status: 502 })), {
      code: 'upstream_unavailable',
    });
    await assert.rejects(processTokenResponse(new Response('<html>', { status: 200 })), {
      code: 'upstream_unavailable',
    });
    await assert.rejects(processTokenResponse(jsonResponse({ openid: 'o' })), {
      code: 'upstream_unavailable',
    });
    await assert.rejects(processTokenResponse(jsonResponse([1, 2])), { code: 'upstream_unavailable' });
  });
});

describe('processUserinfoResponse / processAuthCheckResponse', () => {
  test('userinfo maps the profile', async () => {
    const u = await processUserinfoResponse(
      jsonResponse({
        openid: 'o1',
        nickname: 'Alice',
        sex: 0,
        province: '广东',
        city: '深圳',
        country: '中国',
        headimgurl: 'https://x/y.png',
        privilege: ['chinaunicom', 3],
        unionid: 'u1',
      }),
    );
    assert.deepEqual(u, {
      openid: 'o1',
      nickname: 'Alice',
      sex: 0,
      province: '广东',
      city: '深圳',
      country: '中国',
      headimgurl: 'https://x/y.png',
      privilege: ['chinaunicom'],
      unionid: 'u1',
    });
  });

  test('userinfo with a snsapi_base token → 48001 as unauthorized with the scope hint', async () => {
    await assert.rejects(
      processUserinfoResponse(jsonResponse({ errcode: 48001, errmsg: 'api unauthorized' })),
      (e) => {
        assert.ok(e instanceof WxkitError);
        assert.equal(e.errcode, 48001);
        assert.match(e.hint.en, /snsapi_userinfo/);
        return true;
      },
    );
  });

  test('sns/auth: ok → true, dead token → false, other errors throw', async () => {
    assert.equal(await processAuthCheckResponse(jsonResponse({ errcode: 0, errmsg: 'ok' })), true);
    assert.equal(
      await processAuthCheckResponse(jsonResponse({ errcode: 40003, errmsg: 'invalid openid' })),
      false,
    );
    assert.equal(await processAuthCheckResponse(jsonResponse({ errcode: 42001, errmsg: 'expired' })), false);
    await assert.rejects(processAuthCheckResponse(jsonResponse({ errcode: -1, errmsg: 'busy' })), {
      code: 'upstream_unavailable',
    });
  });
});

describe('exchangeCode runs once per code', () => {
  const tokenBody = {
    access_token: 'AT',
    expires_in: 7200,
    refresh_token: 'RT',
    openid: 'o1',
    scope: 'snsapi_base',
  };

  test('concurrent and repeated calls share one upstream call and the first result', async () => {
    let calls = 0;
    const fetchStub: typeof fetch = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return calls === 1
        ? jsonResponse(tokenBody)
        : jsonResponse({ errcode: 40163, errmsg: 'code been used' });
    };
    const client = createOAuthClient({ appId: 'wx1', secret: 's', fetch: fetchStub });
    const [a, b, c] = await Promise.all([
      client.exchangeCode('C1'),
      client.exchangeCode('C1'),
      client.exchangeCode('C1'),
    ]);
    const d = await client.exchangeCode('C1');
    assert.equal(calls, 1);
    for (const t of [a, b, c, d]) assert.equal(t.accessToken, 'AT');
  });

  test('two clients (two "processes") sharing a store exchange once', async () => {
    let calls = 0;
    const fetchStub: typeof fetch = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return calls === 1
        ? jsonResponse(tokenBody)
        : jsonResponse({ errcode: 40163, errmsg: 'code been used' });
    };
    const store = createMemoryOAuthStore();
    const one = createOAuthClient({ appId: 'wx1', secret: 's', fetch: fetchStub, store });
    const two = createOAuthClient({ appId: 'wx1', secret: 's', fetch: fetchStub, store });
    const [a, b] = await Promise.all([one.exchangeCode('C2'), two.exchangeCode('C2')]);
    assert.equal(calls, 1);
    assert.equal(a.accessToken, 'AT');
    assert.equal(b.accessToken, 'AT');
  });

  test('a WeChat error is shared too; a network error is not remembered', async () => {
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      return jsonResponse({ errcode: 40029, errmsg: 'invalid code' });
    };
    const metrics = new Metrics();
    const client = createOAuthClient({ appId: 'wx1', secret: 's', fetch: failing, metrics });
    await assert.rejects(client.exchangeCode('BAD'), { errcode: 40029 });
    await assert.rejects(client.exchangeCode('BAD'), { errcode: 40029, code: 'unauthorized' });
    assert.equal(calls, 1);
    // one upstream call counted, by endpoint and errcode
    assert.equal(
      metrics.get('wxkit_upstream_calls_total', { endpoint: '/sns/oauth2/access_token', errcode: 40029 }),
      1,
    );

    let n = 0;
    const flaky: typeof fetch = async () => {
      n++;
      if (n === 1) throw new TypeError('fetch failed');
      return jsonResponse(tokenBody);
    };
    const c2 = createOAuthClient({ appId: 'wx1', secret: 's', fetch: flaky });
    await assert.rejects(c2.exchangeCode('C3'), (e: unknown) => {
      assert.ok(e instanceof WxkitError);
      assert.equal(e.code, 'upstream_unavailable');
      assert.doesNotMatch(e.message, /secret|C3/);
      return true;
    });
    assert.equal((await c2.exchangeCode('C3')).accessToken, 'AT');
  });

  test('empty code and missing secret are clear errors', async () => {
    const client = createOAuthClient({ appId: 'wx1', fetch: async () => jsonResponse(tokenBody) });
    await assert.rejects(client.exchangeCode(''), { code: 'invalid_request' });
    await assert.rejects(client.exchangeCode('C'), { code: 'config_error' });
    assert.match(
      client.authorizeUrl({ redirectUri: 'https://a.example/cb' }),
      /^https:\/\/open\.weixin\.qq\.com\//,
    );
  });
});

describe('store link and cancellation', () => {
  test('linkedOAuthStore uses the shared store while it answers and memory while it does not', async () => {
    const shared = createMemoryOAuthStore();
    let up = true;
    const store = linkedOAuthStore(async <T>(op: (s: OAuthStore) => Promise<T>) =>
      up ? { ok: true as const, value: await op(shared) } : { ok: false as const },
    );
    await store.set('a', '1', 60_000);
    assert.equal(await shared.get('a'), '1');
    up = false;
    await store.set('b', '2', 60_000);
    assert.equal(await store.get('b'), '2');
    assert.equal(await shared.get('b'), undefined);
    const owner = await store.tryLock('l', 1000);
    assert.ok(owner);
    assert.equal(await store.tryLock('l', 1000), undefined);
    assert.equal(await store.unlock('l', owner), true);
  });

  test('an aborted exchange is `aborted`, and the code is not remembered as failed', async () => {
    let calls = 0;
    const slow: typeof fetch = (_url, init) =>
      new Promise((resolve, reject) => {
        calls++;
        if (calls > 1) {
          resolve(
            new Response(
              JSON.stringify({
                access_token: 'A',
                expires_in: 7200,
                refresh_token: 'R',
                openid: 'o',
                scope: 'snsapi_base',
              }),
            ),
          );
          return;
        }
        // like fetch: an already-aborted signal rejects at once, a later abort rejects then
        if (init?.signal?.aborted) reject(init.signal.reason);
        else init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const client = createOAuthClient({ appId: 'wx1', secret: 's', fetch: slow });
    const controller = new AbortController();
    const pending = client.exchangeCode('C9', { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'aborted' });
    assert.equal((await client.exchangeCode('C9')).accessToken, 'A');
  });
});
