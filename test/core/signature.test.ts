import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { WxkitError } from '../../src/errors.ts';
import {
  buildJssdkConfig,
  createNonce,
  createTimestamp,
  jssdkString1,
  normalizeSignUrl,
  signJssdk,
} from '../../src/signature.ts';

const OFFICIAL = {
  ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
  nonceStr: 'Wm3WZYTPz0wzccnW',
  timestamp: 1414587457,
};

describe('signJssdk — official vectors', () => {
  test('JS-SDK appendix 1 vector', () => {
    const input = { ...OFFICIAL, url: 'http://mp.weixin.qq.com?params=value' };
    assert.equal(
      jssdkString1(input),
      'jsapi_ticket=sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg&noncestr=Wm3WZYTPz0wzccnW&timestamp=1414587457&url=http://mp.weixin.qq.com?params=value',
    );
    assert.equal(signJssdk(input), '0f9de62fce790f9a083d5c99e95740ceb90c27ed');
  });

  test('2015 doc variant without query', () => {
    assert.equal(
      signJssdk({ ...OFFICIAL, url: 'http://mp.weixin.qq.com' }),
      'f4d90daf4b3bca3078ab155816175ba34c443a7b',
    );
  });

  test('timestamp as string or number signs the same', () => {
    const url = 'http://mp.weixin.qq.com?params=value';
    assert.equal(
      signJssdk({ ...OFFICIAL, timestamp: String(OFFICIAL.timestamp), url }),
      signJssdk({ ...OFFICIAL, url }),
    );
  });

  test('buildJssdkConfig normalizes the URL and returns the wx.config shape', () => {
    const cfg = buildJssdkConfig({
      appId: 'wx123',
      ticket: OFFICIAL.ticket,
      url: 'http://mp.weixin.qq.com?params=value#/route',
      nonceStr: OFFICIAL.nonceStr,
      timestamp: OFFICIAL.timestamp,
      jsApiList: ['chooseImage'],
    });
    assert.deepEqual(cfg, {
      appId: 'wx123',
      timestamp: 1414587457,
      nonceStr: 'Wm3WZYTPz0wzccnW',
      signature: '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
      jsApiList: ['chooseImage'],
      openTagList: [],
      debug: false,
    });
  });

  test('buildJssdkConfig uses the injected clock for the timestamp', () => {
    const cfg = buildJssdkConfig({
      appId: 'a',
      ticket: 't',
      url: 'https://a.example/',
      now: () => 1_700_000_000_999,
    });
    assert.equal(cfg.timestamp, 1_700_000_000);
    assert.match(cfg.nonceStr, /^[A-Za-z0-9]{16}$/);
  });
});

describe('createNonce / createTimestamp', () => {
  test('16 chars of [A-Za-z0-9], different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = createNonce();
      assert.match(n, /^[A-Za-z0-9]{16}$/);
      seen.add(n);
    }
    assert.equal(seen.size, 2000);
  });

  test('every alphabet character occurs (no truncated alphabet)', () => {
    const chars = new Set(Array.from({ length: 500 }, () => createNonce()).join(''));
    assert.equal(chars.size, 62);
  });

  test('timestamp is integer seconds', () => {
    assert.equal(createTimestamp(1414587457123), 1414587457);
    assert.ok(Number.isInteger(createTimestamp()));
  });
});

describe('normalizeSignUrl', () => {
  const cases: Array<[string, string]> = [
    ['https://h5.example.com/a?b=1#/route', 'https://h5.example.com/a?b=1'],
    ['https://h5.example.com/a?b=1#', 'https://h5.example.com/a?b=1'],
    ['http%3A%2F%2Fh5.example.com%2Fa%3Fb%3D1', 'http://h5.example.com/a?b=1'],
    ['https%3a%2f%2fh5.example.com%2F%E4%B8%AD', 'https://h5.example.com/中'],
    ['https://h5.example.com/%E4%B8%AD?q=%20', 'https://h5.example.com/%E4%B8%AD?q=%20'],
    ['https://h5.example.com/中文?x=1', 'https://h5.example.com/中文?x=1'],
    ['https://h5.example.com', 'https://h5.example.com'],
    ['https://h5.example.com:8443/a', 'https://h5.example.com:8443/a'],
    ['http://mp.weixin.qq.com?params=value', 'http://mp.weixin.qq.com?params=value'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(normalizeSignUrl(input), expected));
  }

  const bad = [
    '',
    '/relative/path',
    'h5.example.com/a',
    'ftp://h5.example.com/',
    'javascript:alert(1)',
    'http:h5.example.com',
    'http:///path',
    '#only-hash',
    'http://user:pass@h5.example.com/',
    'http://h5.example.com/a b',
    'http://h5.example.com/\r\nX: y',
    'http://h5.example.com/\u0000',
    'http%3A%2F%2F%E4%zz',
  ];
  for (const input of bad) {
    test(`rejects ${JSON.stringify(input)} with invalid_url`, () => {
      assert.throws(
        () => normalizeSignUrl(input),
        (e: unknown) => e instanceof WxkitError && e.code === 'invalid_url' && e.status === 400,
      );
    });
  }

  test('rejects non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['http://a.example/']]) {
      assert.throws(() => normalizeSignUrl(v), WxkitError);
    }
  });
});

// URLs as location.href produces them: scheme, host, optional port, path, query — percent-encoded where needed.
const hostArb = fc.domain();
const segmentArb = fc.webSegment();
const queryArb = fc.webQueryParameters();
const pageUrlArb = fc
  .tuple(
    fc.constantFrom('http', 'https'),
    hostArb,
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(segmentArb, { maxLength: 4 }),
    fc.option(queryArb, { nil: undefined }),
    fc.boolean(),
  )
  .map(([scheme, host, port, segs, query, rootSlash]) => {
    const path = segs.length ? `/${segs.join('/')}` : rootSlash ? '/' : '';
    return `${scheme}://${host}${port ? `:${port}` : ''}${path}${query !== undefined ? `?${query}` : ''}`;
  });
const fragmentArb = fc.webFragments();

describe('normalizeSignUrl — properties', () => {
  test('idempotent', () => {
    fc.assert(
      fc.property(pageUrlArb, fc.option(fragmentArb, { nil: undefined }), (url, frag) => {
        const once = normalizeSignUrl(frag === undefined ? url : `${url}#${frag}`);
        assert.equal(normalizeSignUrl(once), once);
      }),
      { numRuns: 500 },
    );
  });

  test('never leaves a #', () => {
    fc.assert(
      fc.property(pageUrlArb, fragmentArb, (url, frag) => {
        assert.ok(!normalizeSignUrl(`${url}#${frag}`).includes('#'));
        assert.ok(!normalizeSignUrl(encodeURIComponent(`${url}#${frag}`)).includes('#'));
      }),
      { numRuns: 500 },
    );
  });

  test('drops exactly the hash part', () => {
    fc.assert(
      fc.property(pageUrlArb, fragmentArb, (url, frag) => {
        assert.equal(normalizeSignUrl(`${url}#${frag}`), url);
      }),
      { numRuns: 300 },
    );
  });

  test('never alters a URL without hash that is not encoded as a whole', () => {
    fc.assert(
      fc.property(pageUrlArb, (url) => {
        assert.equal(normalizeSignUrl(url), url);
      }),
      { numRuns: 1000 },
    );
  });

  test('a URL encodeURIComponent’ed as a whole decodes once to the original', () => {
    fc.assert(
      fc.property(pageUrlArb, (url) => {
        assert.equal(normalizeSignUrl(encodeURIComponent(url)), url);
      }),
      { numRuns: 500 },
    );
  });
});
