import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APP_A, fixture, get, post } from './helpers.ts';

// What a page that followed a tutorial sends when wx.config fails: the wx.config object, its errMsg
// and location.href.split('#')[0] at that moment.
describe('/jssdk/diagnose from what the page saw', () => {
  test("location.href.split('#')[0] after a route change: names the URL this service signed, not unknown", async () => {
    const f = await fixture();
    try {
      const signed = 'https://h5.example.com/spa/';
      const good = (await (
        await get(f.handler, `/jssdk/config?url=${encodeURIComponent(signed)}`)
      ).json()) as { signature: string; nonceStr: string; timestamp: number };
      const res = await post(f.handler, '/jssdk/diagnose', {
        ...good,
        appId: APP_A,
        url: 'https://h5.example.com/spa/orders/7?tab=2',
        errMsg: 'config:invalid signature',
      });
      assert.equal(res.status, 200);
      const d = (await res.json()) as { code: string; en: string; zh: string };
      assert.equal(d.code, 'url_landing', d.en);
      assert.ok(d.en.includes(signed), d.en);
      assert.ok(d.zh.includes(signed), d.zh);
      // Another site's page (or a made-up URL) learns nothing of what was signed.
      const other = await post(f.handler, '/jssdk/diagnose', {
        ...good,
        appId: APP_A,
        url: 'https://h5.example.org/',
      });
      const o = (await other.json()) as { en: string };
      assert.ok(!JSON.stringify(o).includes('/spa/'), JSON.stringify(o));
    } finally {
      await f.close();
    }
  });

  test('config:invalid url domain with a right signature: signature right, domain not bound in 公众号后台', async () => {
    const f = await fixture();
    try {
      const page = 'https://h5.example.com/p?a=1';
      const good = (await (await get(f.handler, `/jssdk/config?url=${encodeURIComponent(page)}`)).json()) as {
        signature: string;
        nonceStr: string;
        timestamp: number;
      };
      // Without an errMsg the same report is ok (and every account's tickets are fetched once).
      const plain = await post(f.handler, '/jssdk/diagnose', { ...good, appId: APP_A, url: page });
      assert.equal(((await plain.json()) as { ok: boolean }).ok, true);
      const calls = f.sim.stats().calls['/cgi-bin/ticket/getticket'] ?? 0;
      const res = await post(f.handler, '/jssdk/diagnose', {
        ...good,
        appId: APP_A,
        url: page,
        errMsg: 'config:invalid url domain',
      });
      const d = (await res.json()) as {
        ok: boolean;
        code: string;
        en: string;
        zh: string;
        causes: unknown[];
      };
      assert.equal(d.ok, false);
      assert.equal(d.code, 'domain_not_bound');
      assert.match(d.en, /signature itself is right/);
      assert.match(d.en, /h5\.example\.com/);
      assert.match(d.zh, /公众号后台/);
      assert.equal(d.causes.length, 1, JSON.stringify(d.causes));
      assert.equal(
        f.sim.stats().calls['/cgi-bin/ticket/getticket'] ?? 0,
        calls,
        'a domain error re-checks no ticket',
      );
    } finally {
      await f.close();
    }
  });
});
