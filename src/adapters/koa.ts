import type { Middleware } from 'koa';
import type { HandlerOptions, WxkitHandler } from '../http/handler.ts';
import type { Account } from '../types.ts';
import { handleNode, toHandler } from './node.ts';

/**
 * The wxkit service as Koa middleware; requests no wxkit route matches go on to `next()`.
 *
 * @example
 * import Koa from 'koa'
 * import { createWxkit } from 'wxkit'
 * import { createKoaMiddleware } from 'wxkit/koa'
 * const app = new Koa()
 * app.use(createKoaMiddleware(createWxkit({ appId, secret, jsDomains: ['h5.example.com'] })))
 */
export function createKoaMiddleware(
  wxkit: Account | readonly Account[] | WxkitHandler,
  options?: HandlerOptions,
): Middleware {
  const handler = toHandler(wxkit, options);
  return async (ctx, next) => {
    const parsedBody = (ctx.request as { body?: unknown }).body;
    // koa-mount strips its prefix from the URL and keeps it in ctx.mountPath.
    const mountPath = (ctx as { mountPath?: unknown }).mountPath;
    const handled = await handleNode(handler, ctx.req, ctx.res, {
      passThrough: true,
      parsedBody,
      ...(typeof mountPath === 'string' ? { mountPath } : {}),
    });
    if (handled) ctx.respond = false;
    else await next();
  };
}
