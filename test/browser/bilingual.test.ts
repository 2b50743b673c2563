import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type * as Client from '../../src/client/index.ts';
import type { ClientApi } from './page.ts';
import { openPage } from './page.ts';
import { setUpStack } from './stack.ts';

const ANDROID = 'http://sim.example/jweixin.js?platform=android';
const CJK = /[\u4e00-\u9fff]/;

/** configure() in the page; the error's message, zh, en and diagnosis. */
function failingConfigure(page: import('playwright-core').Page) {
  return page.evaluate(async (sdkUrl) => {
    const api = (window as unknown as { wxkit: ClientApi }).wxkit;
    try {
      await api.configure({ sdkUrl, jsApiList: ['chooseImage'] });
      return undefined;
    } catch (e) {
      const err = e as Client.WxkitClientError;
      return {
        message: err.message,
        zh: err.zh,
        en: err.en,
        code: err.code,
        diagnosis: err.diagnosis as { code?: string },
      };
    }
  }, ANDROID);
}

describe("the browser helper's errors: Chinese first, then English", () => {
  const env = setUpStack();

  test('config:invalid url domain: 签名正确，域名未在公众号后台绑定 — in both languages, Chinese first', async () => {
    const { context, page } = await openPage(env.browser, 'http://other.example/promo?id=1');
    try {
      const out = await failingConfigure(page);
      assert.ok(out, 'configure must fail');
      assert.equal(out.diagnosis?.code, 'domain_not_bound');
      const [zh = '', en = ''] = out.message.split(' / ');
      assert.match(zh, /^wx\.config 失败：config:invalid url domain：签名本身是正确的。.*公众号后台/);
      assert.match(en, /^wx\.config failed: config:invalid url domain — The signature itself is right\./);
      assert.equal(out.message, `${out.zh} / ${out.en}`);
    } finally {
      await context.close();
    }
  });

  test("a refusal of the service (url_not_allowed) is shown with the service's Chinese message first", async () => {
    const { context, page } = await openPage(env.browser, 'http://third.example/x');
    try {
      const out = await failingConfigure(page);
      assert.ok(out, 'configure must fail');
      assert.equal(out.code, 'url_not_allowed');
      assert.match(out.zh ?? '', /^页面域名 third\.example/);
      assert.match(out.en ?? '', /^The page host third\.example/);
      assert.ok(out.message.indexOf(out.zh ?? '?') === 0 && CJK.test(out.message.split(' / ')[0] ?? ''));
    } finally {
      await context.close();
    }
  });
});
