import { createHash, timingSafeEqual } from 'node:crypto';
import { PushError } from './errors.ts';

/**
 * The signature WeChat puts on every push: SHA-1 over the token, timestamp, nonce (and, in safe mode,
 * the `Encrypt` value) sorted as strings and joined without a separator, as lowercase hex. With three
 * arguments it is the `signature` query parameter; with `encrypt` it is `msg_signature`.
 *
 * @example
 * import { pushSignature } from 'wxkit/push'
 * pushSignature('AAAAA', '1714036504', '1514711492') // 'f464b24fc39322e44b38aa78f5edd27bd1441696'
 */
export function pushSignature(token: string, timestamp: string, nonce: string, encrypt?: string): string {
  const parts = encrypt === undefined ? [token, timestamp, nonce] : [token, timestamp, nonce, encrypt];
  // Code-unit order, as WeChat's samples sort bytes: the same for every ASCII value WeChat sends.
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha1').update(parts.join('')).digest('hex');
}

/**
 * Throws `bad_signature` unless `given` equals the expected signature.
 *
 * Stops: a forged push (anyone can POST to the server URL) and learning the signature byte by byte
 * from response times (the comparison takes the same time wherever the first difference is).
 */
export function checkSignature(expected: string, given: string | null | undefined, name: string): void {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(typeof given === 'string' ? given.toLowerCase() : '', 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new PushError('bad_signature', `The ${name} does not match.`);
  }
}
