import { escapeHtml } from '../../http/html.ts';
import type { SimContext, SimRoute } from '../http.ts';
import { platformOf } from './routes.ts';
import type { SimComponent } from './state.ts';

/**
 * The authorization page (`mp.weixin.qq.com/cgi-bin/componentloginpage`, and the mobile
 * `/safe/bindcomponent`): WeChat shows it only when the user clicked a link on the platform's own page
 * (授权发起页域名 — the Referer must be on the host of `redirect_uri`), lists the accounts the user can
 * authorize with, and on "授权" redirects to `redirect_uri?auth_code&expires_in` and pushes the
 * `authorized` (or `updateauthorized`) event. A browser test clicks `#account-N` then `#authorize`.
 */

function page(body: string): Response {
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>公众号授权 / Authorize</title><style>body{font-family:-apple-system,"PingFang SC",sans-serif;max-width:520px;margin:2em auto;padding:0 1em}label{display:block;padding:.3em 0}button{font-size:1em;padding:.6em 1.6em;background:#07c160;color:#fff;border:0;border-radius:4px}.err{color:#c00}</style></head><body>${body}</body></html>`;
  return new Response(html, {
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function errorPage(message: string): Response {
  return page(
    `<h1>授权失败 / Authorization failed</h1><p id="wx-error" class="err">${escapeHtml(message)}</p>`,
  );
}

interface LoginParams {
  c: SimComponent;
  preAuthCode: string;
  redirectUri: URL;
  bizAppId: string | undefined;
}

function readParams(
  ctx: SimContext,
  q: URLSearchParams,
  referer: string | null,
  checkReferer: boolean,
): LoginParams | Response {
  const c = platformOf(ctx.state).get(q.get('component_appid'));
  if (!c) return errorPage('component_appid 无效 / unknown component_appid');
  const preAuthCode = q.get('pre_auth_code') ?? '';
  if (!platformOf(ctx.state).preAuthCodeUsable(c, preAuthCode)) {
    return errorPage('授权链接已失效（pre_auth_code 已使用或过期）/ the pre_auth_code was used or expired');
  }
  let redirectUri: URL;
  try {
    redirectUri = new URL(q.get('redirect_uri') ?? '');
    if (redirectUri.protocol !== 'http:' && redirectUri.protocol !== 'https:') throw new Error('scheme');
  } catch {
    return errorPage('redirect_uri 参数错误 / redirect_uri must be an absolute http(s) URL');
  }
  if (checkReferer) {
    let refererHost: string | undefined;
    try {
      refererHost = referer ? new URL(referer).host : undefined;
    } catch {
      refererHost = undefined;
    }
    if (refererHost !== redirectUri.host) {
      return errorPage(
        '请确认授权入口页所在域名，与授权后回调页所在域名相同 / open this page by a click on a page of the redirect_uri host (the 授权发起页域名)',
      );
    }
  }
  const biz = q.get('biz_appid') || undefined;
  return { c, preAuthCode, redirectUri, bizAppId: biz };
}

const show = (req: Request, ctx: SimContext): Response => {
  const params = readParams(ctx, ctx.url.searchParams, req.headers.get('referer'), true);
  if (params instanceof Response) return params;
  const { c, preAuthCode, redirectUri, bizAppId } = params;
  const accounts = bizAppId ? c.candidates.filter((a) => a === bizAppId) : c.candidates;
  if (accounts.length === 0) return errorPage('biz_appid 不是可授权的公众号 / biz_appid cannot authorize');
  const hidden = (name: string, value: string) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const choices = accounts
    .slice(0, 200)
    .map(
      (appId, i) =>
        `<label><input type="radio" name="appid" id="account-${i}" value="${escapeHtml(appId)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(appId)}</label>`,
    )
    .join('');
  const action = `${new URL(ctx.baseUrl).pathname.replace(/\/$/, '')}/cgi-bin/componentloginpage/confirm`;
  return page(
    `<h1>授权给第三方平台 / Authorize a platform</h1><p>第三方平台 <b id="component">${escapeHtml(c.componentAppId)}</b> 申请代为管理你的公众号。请选择公众号 / choose the account:</p>
<form method="post" action="${escapeHtml(action)}">${hidden('component_appid', c.componentAppId)}${hidden('pre_auth_code', preAuthCode)}${hidden('redirect_uri', redirectUri.href)}${choices}<button id="authorize" type="submit">授权 / Authorize</button></form>`,
  );
};

const confirm: SimRoute = {
  path: '/cgi-bin/componentloginpage/confirm',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const form = new URLSearchParams(await req.text());
    const params = readParams(ctx, form, null, false);
    if (params instanceof Response) return params;
    const appId = form.get('appid') ?? '';
    if (!params.c.candidates.includes(appId)) return errorPage('请选择公众号 / choose an account');
    const p = platformOf(ctx.state);
    if (p.takePreAuthCode(params.c, params.preAuthCode)) {
      return errorPage('授权链接已失效 / the pre_auth_code was used or expired');
    }
    const { authCode } = p.authorize(params.c, appId);
    const target = new URL(params.redirectUri);
    target.searchParams.set('auth_code', authCode);
    target.searchParams.set('expires_in', '3600');
    return new Response(null, {
      status: 302,
      headers: { location: target.href, 'cache-control': 'no-store' },
    });
  },
};

export const platformLoginRoutes: SimRoute[] = [
  { path: '/cgi-bin/componentloginpage', methods: ['GET'], handler: show },
  { path: '/safe/bindcomponent', methods: ['GET'], handler: show },
  confirm,
];
