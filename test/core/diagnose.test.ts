import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { type DiagnoseInput, diagnoseSignature } from '../../src/diagnose.ts';
import { parseJsDomains } from '../../src/domains.ts';
import { signJssdk } from '../../src/signature.ts';

const ticket = 'kgt8ON7yVITDhtdwci0qeQ5qJ8d5f7oVC1Qk3rT0WbSz0W5sB2sPXkxbhYl0FqTHlWLwB0cfYlV4uZKHOg2MMQ';
const nonceStr = 'Wm3WZYTPz0wzccnW';
const timestamp = 1700000000;
const page = 'https://h5.example.com/shop/item?id=42&from=singlemessage';

const sign = (url: string, opts: { t?: string; n?: string; s?: string | number } = {}) =>
  signJssdk({ ticket: opts.t ?? ticket, nonceStr: opts.n ?? nonceStr, timestamp: opts.s ?? timestamp, url });
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

function diagnose(signature: string, extra: Partial<DiagnoseInput> = {}) {
  return diagnoseSignature({ url: page, signature, nonceStr, timestamp, ticket, ...extra });
}

describe('diagnoseSignature', () => {
  test('a right signature is ok', () => {
    const d = diagnose(sign(page));
    assert.equal(d.ok, true);
    assert.equal(d.code, 'ok');
    assert.equal(d.expectedUrl, page);
  });

  test('the page URL with its hash still checks against the URL without it', () => {
    assert.equal(diagnose(sign(page), { url: `${page}#/cart` }).ok, true);
  });

  test('domain not bound comes first, with the host and the rule', () => {
    const d = diagnose(sign(page), { jsDomains: parseJsDomains('shop.example.net') });
    assert.equal(d.code, 'domain_not_bound');
    assert.match(d.en, /h5\.example\.com/);
    assert.match(d.zh, /JS 接口安全域名/);
  });

  test('a port other than 80/443 is a domain problem', () => {
    const url = 'https://h5.example.com:8443/a';
    const d = diagnose(sign(url), { url, jsDomains: parseJsDomains('example.com') });
    assert.equal(d.code, 'domain_not_bound');
    assert.match(d.en, /port 8443/);
  });

  test('signature kept the hash', () => {
    const d = diagnose(sign(`${page}#/cart`), { url: `${page}#/cart` });
    assert.equal(d.code, 'url_hash');
    assert.match(d.en, /#/);
  });

  test('URL signed still encodeURIComponent’ed', () => {
    const d = diagnose(sign(encodeURIComponent(page)));
    assert.equal(d.code, 'url_encoding');
  });

  test('URL encoded twice (percent signs re-encoded)', () => {
    const url = 'https://h5.example.com/%E4%B8%AD%E6%96%87?q=%E5%A5%BD';
    const d = diagnose(sign(encodeURI(url)), { url });
    assert.equal(d.code, 'url_encoding');
  });

  test('http vs https', () => {
    const d = diagnose(sign(page.replace('https:', 'http:')));
    assert.equal(d.code, 'url_scheme');
  });

  test('trailing slash', () => {
    const url = 'https://h5.example.com?x=1';
    const d = diagnose(sign('https://h5.example.com/?x=1'), { url });
    assert.equal(d.code, 'url_trailing_slash');
  });

  test('iOS landing URL vs current URL', () => {
    const landing = 'https://h5.example.com/app/?from=timeline';
    const current = 'https://h5.example.com/app/detail/7';
    const d = diagnose(sign(current), { url: current, realAuthUrl: landing });
    assert.equal(d.code, 'url_landing');
    assert.equal(d.expectedUrl, landing);
    assert.match(d.en, /landing URL/);
  });

  test('share parameters appended by WeChat were not signed', () => {
    const d = diagnose(sign('https://h5.example.com/shop/item?id=42'));
    assert.equal(d.code, 'url_share_params');
  });

  test('nonceStr / timestamp as typed differ from what was signed', () => {
    assert.equal(diagnose(sign(page, { s: timestamp * 1000 })).code, 'nonce_timestamp_mismatch');
    assert.equal(diagnose(sign(page, { n: nonceStr.toLowerCase() })).code, 'nonce_timestamp_mismatch');
  });

  test('string1 built with camelCase nonceStr key', () => {
    const d = diagnose(
      sha1(`jsapi_ticket=${ticket}&nonceStr=${nonceStr}&timestamp=${timestamp}&url=${page}`),
    );
    assert.equal(d.code, 'string1_format');
    assert.match(d.en, /noncestr/);
  });

  test('uppercase hex is a format problem', () => {
    const d = diagnose(sign(page).toUpperCase());
    assert.equal(d.code, 'signature_format');
    assert.equal(d.ok, false);
  });

  test('not a sha1 at all', () => {
    assert.equal(diagnose('abc').code, 'signature_format');
  });

  test('signed with another account’s ticket → appId mismatch', () => {
    const other = 'OTHER-ACCOUNT-TICKET';
    const d = diagnose(sign(page, { t: other }), {
      appId: 'wxpage',
      ticketAppId: 'wxmain',
      otherTickets: [{ ticket: other, appId: 'wxother' }],
    });
    assert.equal(d.code, 'app_id_mismatch');
    assert.match(d.en, /wxother/);
  });

  test('signed with a stale ticket of the same account', () => {
    const old = 'OLD-TICKET';
    const d = diagnose(sign(page, { t: old }), {
      ticketAppId: 'wxmain',
      otherTickets: [{ ticket: old, appId: 'wxmain', stale: true }],
    });
    assert.equal(d.code, 'stale_ticket');
  });

  test('unknown ticket → unknown, with the URL WeChat checks', () => {
    const d = diagnose(sign(page, { t: 'NOBODY-KNOWS' }));
    assert.equal(d.code, 'unknown');
    assert.match(d.en, /h5\.example\.com\/shop\/item/);
  });

  test('two things wrong: both reported in checklist order', () => {
    const d = diagnose(sign(`${page.replace('https:', 'http:')}#x`, { s: timestamp * 1000 }), {
      url: `${page}#x`,
    });
    assert.equal(d.ok, false);
    // http + hash cannot both be matched by single-cause variants; the search still finds the timestamp part
    // or reports unknown — but never claims ok.
    assert.notEqual(d.code, 'ok');
  });

  test('wx.config got another appId than the account whose ticket signed → app_id_mismatch, not ok', () => {
    const d = diagnose(sign(page), { appId: 'wxpage', ticketAppId: 'wxmain' });
    assert.equal(d.ok, false);
    assert.equal(d.code, 'app_id_mismatch');
    assert.match(d.en, /wxmain/);
    assert.match(d.en, /wxpage/);
    assert.match(d.zh, /wxpage/);
    assert.equal(diagnose(sign(page), { appId: 'wxmain', ticketAppId: 'wxmain' }).ok, true);
  });

  test('an appId mismatch is reported after a URL problem found with the same ticket', () => {
    const d = diagnose(sign(`${page}#x`), { url: `${page}#x`, appId: 'wxpage', ticketAppId: 'wxmain' });
    assert.deepEqual(
      d.causes.map((c) => c.code),
      ['url_hash', 'app_id_mismatch'],
    );
  });

  test('signed with the ticket of the account the page names, which is not the current one → ok', () => {
    const own = 'PAGE-ACCOUNT-TICKET';
    const d = diagnose(sign(page, { t: own }), {
      appId: 'wxpage',
      ticketAppId: 'wxmain',
      otherTickets: [{ ticket: own, appId: 'wxpage' }],
    });
    assert.equal(d.ok, true, d.en);
  });

  describe('without realAuthUrl (debug off): the platform and the landing/current URLs the helper reports', () => {
    const landing = 'https://h5.example.com/spa/?from=timeline';
    const current = 'https://h5.example.com/spa/orders/7';

    test('iOS: the page signed its current URL, WeChat checked the landing URL → url_landing', () => {
      const d = diagnose(sign(current), {
        url: current,
        landingUrl: landing,
        currentUrl: current,
        platform: 'ios',
      });
      assert.equal(d.ok, false);
      assert.equal(d.code, 'url_landing');
      assert.equal(d.expectedUrl, landing);
      assert.match(d.en, /iOS/);
      // Without the platform, the same report cannot tell (the old answer: ok for the signed URL).
      assert.equal(diagnose(sign(current), { url: current }).ok, true);
    });

    test('Android: the page signed its landing URL, WeChat checked the current URL → url_landing', () => {
      const d = diagnose(sign(landing), {
        url: landing,
        landingUrl: landing,
        currentUrl: current,
        platform: 'android',
      });
      assert.equal(d.code, 'url_landing');
      assert.equal(d.expectedUrl, current);
      assert.match(d.en, /landing URL/);
      assert.match(d.zh, /当前 URL/);
    });

    test('iOS with the landing URL signed, or no pushState at all → ok', () => {
      const extra = { landingUrl: landing, currentUrl: current, platform: 'ios' as const };
      assert.equal(diagnose(sign(landing), { url: landing, ...extra }).ok, true);
      const same = { landingUrl: landing, currentUrl: landing, platform: 'ios' as const };
      assert.equal(diagnose(sign(landing), { url: landing, ...same }).ok, true);
    });

    test('realAuthUrl, when WeChat gave it, wins over the platform guess', () => {
      const d = diagnose(sign(landing), {
        url: landing,
        realAuthUrl: landing,
        landingUrl: landing,
        currentUrl: current,
        platform: 'android',
      });
      assert.equal(d.ok, true);
    });

    test('unparsable landing/current URLs are ignored, not thrown', () => {
      const d = diagnose(sign(current), {
        url: current,
        landingUrl: 'nope',
        currentUrl: '',
        platform: 'ios',
      });
      assert.equal(d.ok, true);
    });
  });

  test('nonce mismatch plus hash: the earlier checklist item comes first', () => {
    const d = diagnose(sign(`${page}#x`, { s: timestamp * 1000 }), { url: `${page}#x` });
    assert.deepEqual(
      d.causes.map((c) => c.code),
      ['nonce_timestamp_mismatch', 'url_hash'],
    );
  });
});

describe("diagnoseSignature reads the page's errMsg", () => {
  test('config:invalid url domain: signature right, domain not bound in the backend (公众号后台)', () => {
    const d = diagnose(sign(page), { errMsg: 'config:invalid url domain' });
    assert.equal(d.ok, false);
    assert.equal(d.code, 'domain_not_bound');
    assert.match(d.en, /signature itself is right/);
    assert.match(d.en, /h5\.example\.com/);
    assert.match(d.zh, /公众号后台/);
    // A wrong signature too: the domain first, then the signature's own cause.
    const both = diagnose(sign(`${page}#/x`), { url: `${page}#/x`, errMsg: 'config:invalid url domain' });
    assert.deepEqual(
      both.causes.map((c) => c.code),
      ['domain_not_bound', 'url_hash'],
    );
    assert.match(both.en, /WeChat refused the page's domain.*The signature is wrong too \(next cause\)\.$/);
  });

  test("WeCom's agentConfig:invalid url domain names the app's trusted domains (可信域名)", () => {
    const d = diagnose(sign(page), {
      errMsg: 'agentConfig:invalid url domain',
      kind: 'agentConfig',
      wecom: true,
    });
    assert.equal(d.code, 'domain_not_bound');
    assert.match(d.zh, /可信域名/);
  });

  test('require subscribe, invalid appid, permission denied, offline verifying', () => {
    const cases: Array<[string, string]> = [
      ['config:require subscribe', 'require_subscribe'],
      ['config:fail, invalid appid', 'app_id_invalid'],
      ['chooseImage:permission denied', 'api_permission'],
      ['chooseImage:the permission value is offline verifying', 'api_not_ready'],
    ];
    for (const [errMsg, code] of cases) {
      const d = diagnose(sign(page), { errMsg });
      assert.equal(d.ok, false, errMsg);
      assert.equal(d.code, code, errMsg);
      assert.match(d.zh, /[\u4e00-\u9fff]/, errMsg);
      assert.notEqual(d.en, d.zh);
    }
    // An appId that differs from the signing account's is named as such.
    const other = diagnose(sign(page), {
      errMsg: 'config:fail, invalid appid',
      appId: 'wxtypo',
      ticketAppId: 'wx0000000000000001',
    });
    assert.equal(other.code, 'app_id_mismatch');
    // A signature that is wrong explains "offline verifying" first (wx.config failed before the API call).
    const d = diagnose(sign(`${page}#/x`), {
      url: `${page}#/x`,
      errMsg: 'chooseImage:the permission value is offline verifying',
    });
    assert.deepEqual(
      d.causes.map((c) => c.code),
      ['url_hash', 'api_not_ready'],
    );
  });

  test('config:invalid signature keeps the signature diagnosis (ok stays ok: the service re-checks the ticket)', () => {
    assert.equal(diagnose(sign(page), { errMsg: 'config:invalid signature' }).ok, true);
  });

  test('the URL the service signed, when the page sends another one, is named (url_landing)', () => {
    const landing = 'https://h5.example.com/shop/';
    const d = diagnose(sign(landing), { signedUrl: landing });
    assert.equal(d.code, 'url_landing');
    assert.ok(d.en.includes(landing));
    assert.equal(diagnose(sign(landing)).code, 'unknown', 'without it, nothing tells the two apart');
  });
});
