import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { escapeHtml } from '../../src/http/html.ts';

const decode = (s: string) =>
  s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string,
  );

test('escapeHtml: nothing that can end an element or a quoted attribute survives, and nothing is lost', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const out = escapeHtml(s);
      assert.doesNotMatch(out, /[<>"']/);
      assert.equal(decode(out), s);
    }),
    { numRuns: 500 },
  );
  assert.equal(escapeHtml('"><script>alert(1)</script>'), '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
});
