import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '../domains.ts';
import type { HttpInput } from './route.ts';

/**
 * Who may read the service's internals (upstream base URL, WeChat's errmsg with the egress IP, the
 * store, the configured accounts) in `/readyz`: an operator on the machine itself, or a service holding
 * one of `WXKIT_API_KEYS`. Everyone else gets the codes and generic wording. One function per rule.
 */
export function isInternalCaller(input: HttpInput, apiKeyHashes: readonly Buffer[]): boolean {
  return isDirectLoopbackPeer(input) || hasValidApiKey(input, apiKeyHashes);
}

/**
 * The peer is this machine and no proxy stands in between.
 *
 * Stops: a reverse proxy on the same host (nginx → 127.0.0.1:3000) makes every internet request arrive
 * from 127.0.0.1; the forwarding headers such a proxy adds mark those requests as not local. (A proxy
 * that adds none must not forward `/readyz`; see docs/service.md.)
 */
export function isDirectLoopbackPeer(input: HttpInput): boolean {
  const ip = input.clientIp;
  if (ip === undefined || !isLoopbackAddress(ip)) return false;
  return (
    input.header('x-forwarded-for') === undefined &&
    input.header('forwarded') === undefined &&
    input.header('x-real-ip') === undefined
  );
}

/**
 * `Authorization: Bearer <one of WXKIT_API_KEYS>`, compared in constant time over sha256 hashes.
 *
 * Stops: guessing a key byte by byte from response timings; a prefix or an empty key matching.
 */
export function hasValidApiKey(input: HttpInput, apiKeyHashes: readonly Buffer[]): boolean {
  if (apiKeyHashes.length === 0) return false;
  const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(input.header('authorization') ?? '');
  if (!m?.[1]) return false;
  const given = createHash('sha256').update(m[1]).digest();
  let ok = false;
  for (const h of apiKeyHashes) if (timingSafeEqual(given, h)) ok = true;
  return ok;
}

/** A socket address on loopback: 127.0.0.0/8 (also IPv4-mapped, `::ffff:127.0.0.1`) or ::1. */
function isLoopbackAddress(ip: string): boolean {
  return isLoopbackHost(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
}
