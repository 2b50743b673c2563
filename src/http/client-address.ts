import { isIP } from 'node:net';

/**
 * Client addresses as the per-client limits see them (the request rate limit, concurrent media
 * responses, the budget for unknown media ids). One function per rule, each naming the way around a
 * limit it closes.
 */

/**
 * One X-Forwarded-For entry as a bare address: `1.2.3.4:5678` → `1.2.3.4`, `[2001:db8::1]:443` →
 * `2001:db8::1`, `::ffff:1.2.3.4` → `1.2.3.4`; `undefined` for anything that is not an address.
 *
 * Stops bucket sharing and bucket hopping: proxies that write the client's port (Azure, some ingress
 * controllers) would otherwise put every client behind them into one "not an address" fallback, and
 * one client could be two keys by writing its IPv4 address in mapped IPv6 form.
 */
export function forwardedAddress(entry: string): string | undefined {
  let value = entry.trim();
  const port = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (port) {
    if (Number(port[2]) > 65_535) return undefined;
    value = port[1] as string;
  }
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  return isIP(value) === 0 ? undefined : unmapped(value);
}

/** `::ffff:1.2.3.4` (IPv4-mapped IPv6, what a dual-stack socket reports) → `1.2.3.4`. */
export function unmapped(ip: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return m ? (m[1] as string) : ip;
}

/**
 * The key a per-client limit counts under: an IPv4 address as it is, an IPv6 address by its /64.
 *
 * Stops walking around the limits with IPv6: a single subscriber line gets a whole /64 (2^64
 * addresses), so a key per address gives one client unlimited fresh buckets. A mapped IPv4 address
 * is its IPv4 address.
 */
export function clientKey(ip: string): string {
  const address = unmapped(ip);
  if (isIP(address) !== 6) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (lowercase, no leading zeros), `::` expanded. */
function ipv6Groups(ip: string): string[] {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  // An embedded IPv4 tail (`::1.2.3.4`) is two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - front.length - back.length).fill('0');
  return [...front, ...fill, ...back].map((g) => Number.parseInt(g, 16).toString(16));
}
