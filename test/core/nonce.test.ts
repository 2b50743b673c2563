import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNonce } from '../../src/signature.ts';

test('nonces are 16 characters of [A-Za-z0-9], distinct across pool refills, every character used', () => {
  const seen = new Set<string>();
  const chars = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    const n = createNonce();
    assert.match(n, /^[A-Za-z0-9]{16}$/);
    seen.add(n);
    for (const c of n) chars.set(c, (chars.get(c) ?? 0) + 1);
  }
  assert.equal(seen.size, 5000, 'no repeats (5000 nonces span ~20 pool refills)');
  assert.equal(chars.size, 62);
  // 80,000 characters over 62 symbols: ~1290 each; modulo bias would push the first 8 to ~1.5x.
  for (const [c, count] of chars) assert.ok(count > 1000 && count < 1600, `${c}: ${count}`);
});
