import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomHex, randomPooled } from '../../src/random.ts';
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

test('pooled random bytes: each handed out once (no repeats across refills), a copy the caller owns, nonces interleaved', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    // 16-byte IVs, 12-byte lock owners and nonces drawn from the same pool, as a pushed message does.
    const iv = randomPooled(16);
    assert.equal(iv.length, 16);
    iv.fill(0);
    const owner = randomHex(12);
    assert.match(owner, /^[0-9a-f]{24}$/);
    createNonce();
    seen.add(owner);
    seen.add(randomPooled(16).toString('hex'));
  }
  assert.equal(seen.size, 6000, 'zeroing a returned buffer did not zero the pool; no value repeats');
  assert.equal(randomPooled(1024).length, 1024);
  // A value kept across a refill of the pool does not change under its holder.
  const held = randomPooled(16);
  const before = Buffer.from(held);
  for (let i = 0; i < 300; i++) randomPooled(16);
  assert.deepEqual(held, before);
});
