import { parseJsDomains } from '../domains.ts';
import { escapeHtml } from '../http/html.ts';
import type { SimContext, SimRoute } from './http.ts';
import { isSnapshotUser, issueOAuthCode } from './oauth.ts';
import { platformOf } from './platform/routes.ts';
import type { SimApp } from './state.ts';
import { isWecomAuthorize, wecomAuthorize } from './wecom/oauth.ts';

/**
 * `open.weixin.qq.com/connect/oauth2/authorize`: checks the parameters like WeChat (an error page
 * with WeChat's numbers otherwise), redirects `snsapi_base` straight back with `code` and `state`, and
 * shows a consent page for `snsapi_userinfo` — a list of the account's simulated users, `#allow` and
 * `#deny` buttons, and a "snapshot-page visitor" choice — that a browser test can click.
 */

const SCOPES = ['snsapi_base', 'snsapi_userinfo'] as const;
type Scope = (typeof SCOPES)[number];

interface AuthorizeParams {
  app: SimApp;
  redirectUri: URL;
  scope: Scope;
  state: string;
  /** A third-party platform asking on the account's behalf (`component_appid`). */
  componentAppId?: string | undefined;
}

/** The user the simulated WeChat client is "logged in" as (the last one who consented). */
const USER_COOKIE = 'wxsim_user';

function page(title: string, body: string, status = 200, headers: Record<string, string> = {}): Response {
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:-apple-system,"PingFang SC",sans-serif;max-width:480px;margin:2em auto;padding:0 1em;color:#222}button{font-size:1em;padding:.6em 1.6em;margin:.4em .4em 0 0;border-radius:4px;border:1px solid #ccc}#allow{background:#07c160;color:#fff;border-color:#07c160}label{display:block;padding:.4em 0}.err{color:#c00}</style></head><body>${body}</body></html>`;
  return new Response(html, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

/** WeChat's "Oops! Something went wrong:(" page, with its error number. */
function errorPage(code: number, message: string): Response {
  return page(
    '微信网页授权',
    `<h1>Oops! Something went wrong:(</h1><p id="wx-error" class="err" data-errcode="${code}">${code} ${escapeHtml(message)}</p>`,
  );
}

/** Host matches one of the account's domains exactly (WeChat's web-authorization domain is a full host) or is loopback. */
function redirectAllowed(app: SimApp, uri: URL): boolean {
  const host = uri.hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host)) return true;
  if (uri.port !== '') return false;
  let domains: { host: string }[];
  try {
    domains = parseJsDomains(app.jsDomains);
  } catch {
    return false;
  }
  return domains.some((d) => d.host === host);
}

function readParams(ctx: SimContext, source: URLSearchParams): AuthorizeParams | Response {
  const appid = source.get('appid');
  if (!appid) return errorPage(10012, 'appid 参数错误 / appid is missing');
  const app = ctx.state.app(appid);
  if (!app) return errorPage(40013, 'invalid appid / 不存在此公众号（appid 错误）');
  const componentAppId = source.get('component_appid') ?? undefined;
  if (componentAppId !== undefined && !authorizedTo(ctx, app.appId, componentAppId)) {
    return errorPage(
      10015,
      `公众号未授权第三方平台，请检查授权状态 / ${app.appId} has not authorized the third-party platform ${componentAppId.slice(0, 64)}`,
    );
  }
  const redirect = source.get('redirect_uri');
  if (!redirect) return errorPage(10011, 'redirect_uri 参数错误 / redirect_uri is missing');
  let redirectUri: URL;
  try {
    redirectUri = new URL(redirect);
  } catch {
    return errorPage(10011, 'redirect_uri 参数错误 / redirect_uri is not an absolute URL');
  }
  if (
    (redirectUri.protocol !== 'http:' && redirectUri.protocol !== 'https:') ||
    !redirectAllowed(app, redirectUri)
  ) {
    return errorPage(
      10003,
      `redirect_uri 域名与后台配置不一致 / the redirect_uri host ${redirectUri.host} is not the account's web-authorization domain (${app.jsDomains.join(', ')})`,
    );
  }
  if (source.get('response_type') !== 'code')
    return errorPage(10010, 'response_type 参数错误 / response_type must be code');
  const scope = source.get('scope');
  if (!scope) return errorPage(10010, 'scope 参数错误 / scope is missing');
  if (!SCOPES.includes(scope as Scope))
    return errorPage(10005, `此公众号并没有这些 scope 的权限 / scope ${scope} is not allowed`);
  const state = source.get('state') ?? '';
  if (Buffer.byteLength(state) > 128)
    return errorPage(10013, 'state 参数超过 128 字节 / state is longer than 128 bytes');
  return { app, redirectUri, scope: scope as Scope, state, componentAppId };
}

/** Whether `appId` authorized the component (and has not taken it back): component OAuth needs it. */
function authorizedTo(ctx: SimContext, appId: string, componentAppId: string): boolean {
  const auth = platformOf(ctx.state).get(componentAppId)?.authorizations.get(appId);
  return auth !== undefined && !auth.revoked;
}

/** `redirect_uri` with `code` (unless denied) and `state` added, the way WeChat appends them. */
function backTo(
  params: AuthorizeParams,
  code: string | undefined,
  headers: Record<string, string> = {},
): Response {
  const target = new URL(params.redirectUri);
  if (code !== undefined) target.searchParams.set('code', code);
  target.searchParams.set('state', params.state);
  // Component OAuth names the account in the callback too (the platform serves many).
  if (params.componentAppId !== undefined) target.searchParams.set('appid', params.app.appId);
  return new Response(null, {
    status: 302,
    headers: { location: target.href, 'cache-control': 'no-store', ...headers },
  });
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function consentPage(ctx: SimContext, params: AuthorizeParams, remembered: string | undefined): Response {
  const users = params.app.users;
  const chosen =
    users.find((u) => u.openid === remembered) ?? users.find((u) => !isSnapshotUser(u)) ?? users[0];
  const hidden = (name: string, value: string) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const options = users
    .map(
      (u, i) =>
        `<label><input type="radio" name="openid" id="user-${i}" value="${escapeHtml(u.openid)}"${u === chosen ? ' checked' : ''}> ${escapeHtml(u.nickname)}${isSnapshotUser(u) ? '（快照页访客 / snapshot visitor）' : ''}</label>`,
    )
    .join('');
  const snapshot = `<label><input type="radio" name="openid" id="snapshot-user" value="__snapshot__"${chosen ? '' : ' checked'}> 以朋友圈快照页打开 / Open as a timeline snapshot page</label>`;
  return page(
    '微信网页授权',
    `<h1>网页授权 / Authorize</h1>
<p>公众号 <b id="appid">${escapeHtml(params.app.appId)}</b> 申请获得以下权限 / requests:</p>
<ul><li>获得你的公开信息（昵称、头像等）/ your public profile (nickname, avatar)</li></ul>
<form method="post" action="${escapeHtml(`${new URL(ctx.baseUrl).pathname.replace(/\/$/, '')}/connect/oauth2/authorize/confirm`)}">
${hidden('appid', params.app.appId)}${hidden('redirect_uri', params.redirectUri.href)}${hidden('response_type', 'code')}${hidden('scope', params.scope)}${hidden('state', params.state)}${params.componentAppId === undefined ? '' : hidden('component_appid', params.componentAppId)}
<fieldset><legend>模拟用户 / Simulated user</legend>${options}${snapshot}</fieldset>
<button type="submit" id="allow" name="action" value="allow">允许 / Allow</button>
<button type="submit" id="deny" name="action" value="deny">拒绝 / Deny</button>
</form>`,
  );
}

const authorize: SimRoute = {
  path: '/connect/oauth2/authorize',
  methods: ['GET'],
  handler: (req, ctx) => {
    // A corpId: WeCom's consent-free redirect (wecom/oauth.ts).
    if (isWecomAuthorize(ctx)) return wecomAuthorize(ctx);
    const params = readParams(ctx, ctx.url.searchParams);
    if (params instanceof Response) return params;
    const remembered = cookie(req, USER_COOKIE);
    if (params.scope === 'snsapi_userinfo') return consentPage(ctx, params, remembered);
    // snsapi_base is silent: the WeChat client's current user, without a page.
    const users = params.app.users;
    const user =
      users.find((u) => u.openid === remembered) ?? users.find((u) => !isSnapshotUser(u)) ?? users[0];
    const code = issueOAuthCode(ctx.state, {
      appId: params.app.appId,
      user: user ?? 'snapshot',
      scope: 'snsapi_base',
      componentAppId: params.componentAppId,
    });
    return backTo(params, code);
  },
};

const confirm: SimRoute = {
  path: '/connect/oauth2/authorize/confirm',
  methods: ['POST'],
  handler: async (req, ctx) => {
    const form = new URLSearchParams(await req.text());
    const params = readParams(ctx, form);
    if (params instanceof Response) return params;
    if (form.get('action') !== 'allow') return backTo(params, undefined);
    const openid = form.get('openid') ?? '';
    const user = openid === '__snapshot__' ? 'snapshot' : params.app.users.find((u) => u.openid === openid);
    if (user === undefined) return errorPage(40003, 'invalid openid / 没有这个模拟用户');
    const code = issueOAuthCode(ctx.state, {
      appId: params.app.appId,
      user,
      scope: params.scope,
      componentAppId: params.componentAppId,
    });
    const remember =
      user === 'snapshot'
        ? {}
        : {
            'set-cookie': `${USER_COOKIE}=${encodeURIComponent(user.openid)}; Path=/; SameSite=Lax; HttpOnly`,
          };
    return backTo(params, code, remember);
  },
};

/** The authorize page and its consent form target. */
export const authorizeRoutes: SimRoute[] = [authorize, confirm];
