import { isLoopbackHost, matchJsDomain, parseJsDomains } from '../../domains.ts';
import { signJssdk } from '../../signature.ts';
import type { SimPlatform, SimState } from '../state.ts';

/** What the bridge script sends for `wx.config`: the page's arguments and where the page is. */
export interface BridgeConfigInput {
  appId?: unknown;
  timestamp?: unknown;
  nonceStr?: unknown;
  signature?: unknown;
  debug?: unknown;
  /** The page's `location.href` now. */
  url?: unknown;
  /** The URL the page was loaded with (before any pushState). */
  landingUrl?: unknown;
  platform?: unknown;
}

/** WeChat's answer to `wx.config`: `config:ok` or its error, with `realAuthUrl` in debug mode. */
export interface BridgeConfigResult {
  errMsg: string;
  realAuthUrl?: string;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/**
 * The checks WeChat's client runs on `wx.config`, in its order: required fields, the account, the
 * JS-safe domain of the verified URL, then the signature over that URL with the account's current
 * jsapi_ticket. iOS verifies the URL the single-page app was opened with, Android the current one;
 * both without the `#…` part and otherwise exactly as the page has it.
 */
export function verifyBridgeConfig(state: SimState, input: BridgeConfigInput): BridgeConfigResult {
  const appId = text(input.appId);
  const timestamp = text(input.timestamp);
  const nonceStr = text(input.nonceStr);
  const signature = text(input.signature);
  const current = text(input.url);
  if (!appId || !timestamp || !nonceStr || !signature || !current) return { errMsg: 'config:fail' };
  const platform: SimPlatform =
    input.platform === 'ios' || input.platform === 'android' ? input.platform : state.platform;
  const verified = ((platform === 'ios' && text(input.landingUrl)) || current).split('#')[0] as string;
  const fail = (errMsg: string): BridgeConfigResult =>
    input.debug === true ? { errMsg, realAuthUrl: verified } : { errMsg };

  if (!state.app(appId)) return fail('config:fail, invalid appid');
  const domains = parseJsDomains(state.jsDomainsOf(appId));
  let host = '';
  try {
    host = new URL(verified).hostname;
  } catch {
    return fail('config:invalid url domain');
  }
  // A loopback entry (the sandbox's `localhost`) binds that host on any port, so the demo runs on :3000.
  const loopback = isLoopbackHost(host) && domains.some((d) => d.host === host.toLowerCase());
  if (matchJsDomain(verified, domains, { allowLoopback: loopback }) !== null)
    return fail('config:invalid url domain');

  const ticket = state.currentTicket(appId, 'jsapi');
  if (!ticket) return fail('config:invalid signature');
  const expected = signJssdk({ ticket, nonceStr, timestamp, url: verified });
  if (signature !== expected) return fail('config:invalid signature');
  return { errMsg: 'config:ok' };
}
