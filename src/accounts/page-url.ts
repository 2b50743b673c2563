import { formatJsDomains, type JsDomain, matchJsDomain } from '../domains.ts';
import { ErrorCodes, type Hint, WxkitError } from '../errors.ts';
import { normalizeSignUrl } from '../signature.ts';

/**
 * The page URL to sign, normalized, or an error naming why the platform would refuse it: a host outside
 * the account's JS-safe (WeChat) or trusted (WeCom) domains, a path outside their path prefix, a port
 * other than 80/443. No domains configured: not checked.
 */
export function checkPageUrl(
  input: unknown,
  domains: readonly JsDomain[],
  options: { allowLoopback: boolean; hint: Hint },
): string {
  const url = normalizeSignUrl(input as string);
  if (domains.length > 0) {
    const mismatch = matchJsDomain(url, domains, { allowLoopback: options.allowLoopback });
    if (mismatch) throw urlNotAllowed(url, mismatch, domains, options.hint);
  }
  return url;
}

/** Where an Official Account's JS-safe domains are set. */
export const JS_DOMAIN_HINT: Hint = {
  en: 'Add the domain under 设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名 and to the account’s jsDomains; serve the page on port 80/443.',
  zh: '请在「设置与开发 → 公众号设置 → 功能设置 → JS接口安全域名」中添加该域名并写入账号的 jsDomains；页面须使用 80/443 端口。',
};

function urlNotAllowed(url: string, mismatch: string, domains: readonly JsDomain[], hint: Hint): WxkitError {
  const u = new URL(url);
  const configured = formatJsDomains(domains);
  const message =
    mismatch === 'port'
      ? `The page ${u.host} uses port ${u.port}; WeChat's JS-safe domains only work on ports 80 and 443 (configured: ${configured})`
      : mismatch === 'path'
        ? `The page path ${u.pathname} is outside the JS-safe domain paths (configured: ${configured})`
        : `The page host ${u.hostname} is not one of the account's JS-safe domains (configured: ${configured})`;
  return new WxkitError(ErrorCodes.URL_NOT_ALLOWED, message, {
    hint,
    details: {
      host: u.hostname,
      port: u.port || undefined,
      jsDomains: domains.map((d) => d.host + d.path),
      reason: mismatch,
    },
  });
}
