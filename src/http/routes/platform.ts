import { ErrorCodes, WxkitError } from '../../errors.ts';
import { HANDLE_PUSH, type PlatformMessageHandlerInternal } from '../../platform/messages.ts';
import type { Platform } from '../../platform/platform.ts';
import { escapeHtml } from '../html.ts';
import type { Route, RouteContext } from '../route.ts';

/**
 * The third-party platform's routes, present when the handler has a platform
 * (`extra.platform`): `POST /platform/events` (the 授权事件接收URL), `GET /platform/authorize` (the page
 * with the button — WeChat shows its authorization page only after a click on the platform's own
 * domain), `GET /platform/authorized` (the callback that stores the new account) and
 * `GET|POST /platform/messages/:appId` (the 消息与事件接收URL, `$APPID$` in the path).
 */

function platformOf(ctx: RouteContext): Platform {
  const p = ctx.options.extra.platform as Platform | undefined;
  if (!p) throw new WxkitError(ErrorCodes.NOT_FOUND, 'No third-party platform is configured here.');
  return p;
}

function page(title: string, body: string): Response {
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:-apple-system,"PingFang SC",sans-serif;max-width:520px;margin:2em auto;padding:0 1em}a.button{display:inline-block;padding:.7em 1.6em;background:#07c160;color:#fff;border-radius:4px;text-decoration:none}</style></head><body>${body}</body></html>`;
  return new Response(html, {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // WeChat checks the Referer of the click against the 授权发起页域名: keep the origin in it.
      'referrer-policy': 'origin-when-cross-origin',
    },
  });
}

/** The public origin the callback must be on (the 授权发起页域名), from WXKIT_PUBLIC_URL or the request. */
function origin(ctx: RouteContext): string {
  return (ctx.options.publicUrl ?? `${ctx.url.protocol}//${ctx.url.host}`).replace(/\/+$/, '');
}

/**
 * The messages handler: the service's (`extra.platformMessages`, forwarding through its relay), or
 * one made once per handler that answers `success` and the release check (a library mount).
 */
function messagesOf(ctx: RouteContext): PlatformMessageHandlerInternal {
  const given = ctx.options.extra.platformMessages as PlatformMessageHandlerInternal | undefined;
  if (given) return given;
  let made = ctx.state.get('platform.messages') as PlatformMessageHandlerInternal | undefined;
  if (!made) {
    made = platformOf(ctx).messages({
      log: (entry) => ctx.log(entry as unknown as Record<string, unknown>),
    }) as PlatformMessageHandlerInternal;
    ctx.state.set('platform.messages', made);
  }
  return made;
}

/** WeChat's servers send in bursts from few addresses: no per-client rate limit, no CORS (as /wechat/push). */
const messageRoutes: Route[] = (['GET', 'POST'] as const).map((method) => ({
  method,
  path: '/platform/messages/:appId',
  cors: false,
  rateLimit: false,
  handle: (ctx: RouteContext) =>
    messagesOf(ctx)[HANDLE_PUSH](ctx.params.appId ?? '', {
      method: ctx.method,
      query: ctx.url.searchParams,
      readBody: (limit) => ctx.input.readBody(limit),
    }),
}));

export const routes: readonly Route[] = [
  ...messageRoutes,
  {
    method: 'POST',
    path: '/platform/events',
    cors: false,
    async handle(ctx) {
      const platform = platformOf(ctx);
      const body = new TextDecoder().decode(await ctx.body());
      return platform.handleEvents(new Request(ctx.url.href, { method: 'POST', body }));
    },
  },
  {
    method: 'GET',
    path: '/platform/authorize',
    cors: false,
    async handle(ctx) {
      const platform = platformOf(ctx);
      const mobile = ctx.url.searchParams.get('mobile') === '1';
      const bizAppId = ctx.url.searchParams.get('bizAppId') ?? undefined;
      const link = await platform.authorizeUrl({
        redirectUri: `${origin(ctx)}${ctx.prefix}/platform/authorized`,
        ...(bizAppId ? { bizAppId } : {}),
        mobile,
      });
      return page(
        '授权公众号 / Authorize your Official Account',
        `<h1>授权公众号 / Authorize your Official Account</h1><p>点击下方按钮，用公众号管理员的微信扫码或确认授权。<br>Click the button, then confirm with the account admin's WeChat.</p><p><a class="button" id="authorize" href="${escapeHtml(link)}">去授权 / Authorize</a></p>`,
      );
    },
  },
  {
    method: 'GET',
    path: '/platform/authorized',
    cors: false,
    async handle(ctx) {
      const platform = platformOf(ctx);
      const code = ctx.url.searchParams.get('auth_code');
      if (!code) throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The callback has no auth_code.');
      const { appId } = await platform.completeAuthorization(code);
      ctx.log({ msg: 'platform account authorized', appId });
      return page(
        '授权成功 / Authorized',
        `<h1>授权成功 / Authorized</h1><p>公众号 <b id="appid">${escapeHtml(appId)}</b> 已授权，可以关闭此页面。<br>The account is authorized; you can close this page.</p>`,
      );
    },
  },
];
