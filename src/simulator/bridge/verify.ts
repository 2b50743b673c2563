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
  /** WeCom's `wx.config({beta: true})`; accepted and not checked, as WeCom does. */
  beta?: unknown;
}

/** WeChat's answer to `wx.config`: `config:ok` or its error, with `realAuthUrl` in debug mode. */
export interface BridgeConfigResult {
  errMsg: string;
  realAuthUrl?: string;
}

/** A non-empty string, or a finite number as text; `undefined` otherwise. */
export const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** The URL the client verifies: iOS the landing URL of a single-page app, Android the current one; no `#…`. */
export function verifiedUrl(state: SimState, input: BridgeConfigInput, current: string): string {
  const platform: SimPlatform =
    input.platform === 'ios' || input.platform === 'android' ? input.platform : state.platform;
  return ((platform === 'ios' && text(input.landingUrl)) || current).split('#')[0] as string;
}

/** True when the verified URL is on one of `domains` (host or host/path; subdomains; ports 80/443). */
export function onDomains(verified: string, jsDomains: readonly string[]): boolean {
  const domains = parseJsDomains(jsDomains);
  let host = '';
  try {
    host = new URL(verified).hostname;
  } catch {
    return false;
  }
  // A loopback entry (the sandbox's `localhost`) binds that host on any port, so the demo runs on :3000.
  const loopback = isLoopbackHost(host) && domains.some((d) => d.host === host.toLowerCase());
  return matchJsDomain(verified, domains, { allowLoopback: loopback }) === null;
}

/**
 * The checks WeChat's client runs on `wx.config`, in its order: required fields, the account, the
 * JS-safe domain of the verified URL, then the signature over that URL with the account's current
 * jsapi_ticket. iOS verifies the URL the single-page app was opened with, Android the current one;
 * both without the `#…` part and otherwise exactly as the page has it. A WeCom page (its appId is a
 * simulated corp) is checked against the trusted domains of the corp's apps and the corp jsapi_ticket.
 */
export function verifyBridgeConfig(state: SimState, input: BridgeConfigInput): BridgeConfigResult {
  const appId = text(input.appId);
  const timestamp = text(input.timestamp);
  const nonceStr = text(input.nonceStr);
  const signature = text(input.signature);
  const current = text(input.url);
  if (!appId || !timestamp || !nonceStr || !signature || !current) return { errMsg: 'config:fail' };
  const verified = verifiedUrl(state, input, current);
  const fail = (errMsg: string): BridgeConfigResult =>
    input.debug === true ? { errMsg, realAuthUrl: verified } : { errMsg };

  const corp = state.wecom.corp(appId);
  if (!corp && !state.app(appId)) return fail('config:fail, invalid appid');
  const domains = corp ? state.wecom.corpDomains(corp) : state.jsDomainsOf(appId);
  if (!onDomains(verified, domains)) return fail('config:invalid url domain');

  const ticket = corp ? state.wecom.currentCorpTicket(appId) : state.currentTicket(appId, 'jsapi');
  if (!ticket) return fail('config:invalid signature');
  const expected = signJssdk({ ticket, nonceStr, timestamp, url: verified });
  if (signature !== expected) return fail('config:invalid signature');
  return { errMsg: 'config:ok' };
}
