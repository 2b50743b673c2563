import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, WxkitError } from '../../src/errors.ts';
import { publicErrorBody } from '../../src/http/public-error.ts';
import { routeModules } from '../../src/http/routes/index.ts';
import { API_KEY, APP_A, bilingual, type Fixture, fixture } from './helpers.ts';

// Chinese-speaking developers read the errors at run time too: every error body says its message in
// English (`message`, stable) and in Chinese (`messageZh`).

describe('every error speaks English and Chinese', () => {
  test('every ErrorCode, with and without a WeChat errcode, in the public body and in toJSON()', () => {
    for (const code of Object.values(ErrorCodes)) {
      for (const errcode of [undefined, 40164, 45009, 40007, 99999]) {
        const e = new WxkitError(
          code,
          `Something about ${code} went wrong.`,
          errcode === undefined ? {} : { errcode },
        );
        for (const body of [publicErrorBody(e).error, e.toJSON().error]) {
          assert.ok(bilingual(body.message, body.messageZh), `${code}/${errcode}: ${JSON.stringify(body)}`);
        }
      }
    }
  });

  describe('every route, sent what a confused page or script sends', () => {
    let f: Fixture;
    before(async () => {
      f = await fixture();
    });
    after(() => f.close());

    const bodies: Array<[string, string | undefined]> = [
      ['nothing', undefined],
      ['empty', ''],
      ['not JSON', '{'],
      ['an array', '[]'],
      ['wrong types', JSON.stringify({ url: 7, signature: [], serverId: {}, value: 1, appId: 'a b' })],
      ['prototype keys', '{"__proto__":{"x":1}}'],
    ];
    const queries = [
      '',
      '?url=nope',
      '?zz=1',
      '?url=https%3A%2F%2Fevil.example.net%2F',
      '?appId=wxnope000000000000',
      '?url=a&url=b',
      '?%zz',
    ];

    test('each error answer carries message and messageZh (checked: at least one per route)', async () => {
      const seen = new Map<string, number>();
      for (const route of routeModules.flat()) {
        const path = route.path.replace(/:[a-zA-Z]+/g, route.path.includes('media') ? 'zz' : APP_A);
        const requests: Request[] = [];
        for (const q of queries) {
          for (const auth of [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${API_KEY}` }]) {
            if (route.method === 'GET')
              requests.push(new Request(`http://svc.test${path}${q}`, { headers: auth }));
            else {
              for (const [, body] of bodies) {
                requests.push(
                  new Request(`http://svc.test${path}${q}`, {
                    method: route.method,
                    headers: { 'content-type': 'application/json', ...auth },
                    ...(body === undefined ? {} : { body }),
                  }),
                );
              }
            }
          }
        }
        let errors = 0;
        for (const req of requests) {
          const res = await f.handler(req);
          if (res.status < 400 || !(res.headers.get('content-type') ?? '').includes('json')) {
            await res.body?.cancel();
            continue;
          }
          const body = (await res.json()) as { error: { code: string; message: string; messageZh: unknown } };
          assert.ok(
            bilingual(body.error.message, body.error.messageZh),
            `${req.method} ${new URL(req.url).pathname}${new URL(req.url).search} → ${res.status} ${JSON.stringify(body)}`,
          );
          errors++;
        }
        seen.set(`${route.method} ${route.path}`, errors);
      }
      const silent = [...seen].filter(([, n]) => n === 0).map(([r]) => r);
      // Health and the client script answer anything; every other route refused something.
      assert.deepEqual(
        silent.filter((r) => !/healthz|readyz|metrics|client\.js|oauth\/logout/.test(r)),
        [],
      );
    });

    test('the handler’s own refusals: unknown path, wrong method, a URL or body too large', async () => {
      const cases = [
        new Request('http://svc.test/nope'),
        new Request('http://svc.test/jssdk/diagnose'),
        new Request(`http://svc.test/jssdk/config?url=${'a'.repeat(20_000)}`),
        new Request('http://svc.test/jssdk/diagnose', { method: 'POST', body: 'x'.repeat(2_000_000) }),
      ];
      for (const req of cases) {
        const res = await f.handler(req);
        assert.ok(res.status >= 400, req.url.slice(0, 60));
        const body = (await res.json()) as { error: { message: string; messageZh: string } };
        assert.ok(bilingual(body.error.message, body.error.messageZh), JSON.stringify(body));
      }
    });
  });
});
