import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { HandlerOptions, WxkitHandler } from '../http/handler.ts';
import type { Account } from '../types.ts';
import { handleNode, toHandler } from './node.ts';

const INTERNAL_BODY = '{"error":{"code":"internal","message":"Internal error.","hint":""}}';

/**
 * The wxkit service as a Fastify plugin. Register it with or without a `prefix`; inside its own
 * encapsulated scope it turns off Fastify's body parsers so wxkit reads (and size-limits) the body.
 *
 * @example
 * import Fastify from 'fastify'
 * import { createWxkit } from 'wxkit'
 * import { createFastifyPlugin } from 'wxkit/fastify'
 * const app = Fastify()
 * await app.register(createFastifyPlugin(createWxkit({ appId, secret, jsDomains: ['h5.example.com'] })), { prefix: '/wx' })
 */
export function createFastifyPlugin(
  wxkit: Account | readonly Account[] | WxkitHandler,
  options?: HandlerOptions,
): FastifyPluginAsync {
  const handler = toHandler(wxkit, options);
  return async (fastify) => {
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const prefix = fastify.prefix;
    const route = {
      method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as HTTPMethods[],
      async handler(request: FastifyRequest, reply: FastifyReply) {
        reply.hijack();
        const raw = request.raw.url ?? '/';
        const rest = prefix && raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
        // `/wx?x=1` under the prefix `/wx` is the root of the mount: `/?x=1`.
        const target = rest.startsWith('/') ? rest : `/${rest}`;
        try {
          await handleNode(handler, request.raw, reply.raw, { target, mountPath: prefix });
        } catch {
          // The reply is hijacked: Fastify will not answer for us, so never leave the request hanging.
          const res = reply.raw;
          if (res.headersSent) res.destroy();
          else {
            res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
            res.end(INTERNAL_BODY);
          }
        }
      },
    };
    fastify.route({ ...route, url: '/*' });
    // The prefix itself (`/wechat/push` with no trailing slash), which `/*` does not match: a push URL is
    // one path, not a folder.
    if (prefix) fastify.route({ ...route, url: '/' });
  };
}
