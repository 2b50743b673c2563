import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchJsDomain, parseJsDomains } from '../../src/domains.ts';
import { normalizeSignUrl, parsePageUrl } from '../../src/signature.ts';

test('the domain check reuses the URL normalizeSignUrl parsed only for that same URL', () => {
  const domains = parseJsDomains(['h5.example.com']);
  const ok = normalizeSignUrl('https://h5.example.com/a?b=1#frag');
  assert.equal(normalizeSignUrl(ok), ok); // idempotent, answered from the last result
  assert.equal(parsePageUrl(ok), parsePageUrl(ok)); // one object for the URL just normalized
  assert.equal(matchJsDomain(ok, domains), null);
  // Another URL right after: parsed afresh, not answered from the last one.
  assert.equal(matchJsDomain('https://evil.example.org/a', domains), 'host');
  assert.equal(matchJsDomain('https://h5.example.com:8443/a', domains), 'port');
  assert.notEqual(parsePageUrl('https://other.example.com/'), parsePageUrl(ok));
  assert.equal(parsePageUrl('https://other.example.com/').hostname, 'other.example.com');
  assert.throws(() => normalizeSignUrl(''), /empty/);
});
