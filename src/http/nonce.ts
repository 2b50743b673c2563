import { randomFillSync } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const pool = Buffer.allocUnsafe(4096);
let at = pool.length;

/**
 * 16 characters of [A-Za-z0-9] from the CSPRNG, like `createNonce()`, but drawing on a 4 KB pool of
 * random bytes refilled when used up (as `crypto.randomUUID` does): one `randomFillSync` call per ~250
 * nonces instead of one per nonce, which on the signing hot path cost more than the sha1 itself.
 */
export function pooledNonce(length = 16): string {
  let out = '';
  while (out.length < length) {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    const byte = pool[at++] as number;
    // 248 = 4 * 62: bytes at or above it would favour the first characters.
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}
