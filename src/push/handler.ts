import { ErrorCodes, WxkitError } from '../errors.ts';
import { HANDLE_INPUT, type RequestInfo, readBody, type WxkitHandler, webInput } from '../http/handler.ts';
import { errorReply, type Reply, toResponse } from '../http/reply.ts';
import { type HttpInput, type RouteResult, UNMATCHED } from '../http/route.ts';
import { PushEndpoint, type PushHandlerOptions } from './endpoint.ts';

/** Options of {@link createPushHandler}. */
export interface CreatePushHandlerOptions extends PushHandlerOptions {
  /**
   * The path the handler answers, after the framework's mount path. @default every path when called
   * as a web handler; `/` (the mount point itself) when mounted as Express/Koa/Fastify middleware
   */
  path?: string | undefined;
}

/** The push endpoint as a web-standard handler, mountable with `wxkit/express`, `wxkit/koa`, `wxkit/fastify`. */
export interface PushHandler extends WxkitHandler {
  /** Resolves once every late reply in flight has gone out through custom/send (graceful shutdown, tests). */
  drain(): Promise<void>;
}

const BASE = 'http://wxkit.invalid';

/**
 * The server URL of an Official Account or a WeCom app (服务器配置 / 接收消息): verifies WeChat's URL
 * check, every push's signature, decrypts safe and compatible mode, runs `onMessage` once per push —
 * across processes sharing `store`, however often WeChat retries — and answers within WeChat's
 * 5 seconds. A reply `onMessage` returns after `deadlineMs` goes out through custom/send with the
 * account's token: the user gets exactly one answer.
 *
 * @example
 * import { createWxkit } from 'wxkit'
 * import { createPushHandler, reply } from 'wxkit/push'
 * import { createRedisStore } from 'wxkit/stores'
 * const account = createWxkit({ appId, secret })
 * const push = createPushHandler({
 *   account,
 *   token: process.env.WX_PUSH_TOKEN!,
 *   encodingAESKey: process.env.WX_PUSH_AES_KEY,
 *   store: createRedisStore({ url: process.env.REDIS_URL! }),
 *   async onMessage(message) {
 *     if (message.type === 'text') return reply.text(await askTheModel(message.Content)) // may take 20 s
 *     if (message.type === 'event.subscribe') return reply.text('Welcome!')
 *   },
 * })
 * export const GET = push, POST = push // a Next.js route handler; or app.use('/wechat/push', createExpressMiddleware(push))
 */
export function createPushHandler(options: CreatePushHandlerOptions): PushHandler {
  const endpoint = new PushEndpoint(options);
  const path = options.path === undefined ? undefined : `/${options.path.replace(/^\/+|\/+$/g, '')}`;

  async function handleInput(input: HttpInput): Promise<RouteResult | typeof UNMATCHED> {
    let url: URL;
    try {
      url = input.target.charCodeAt(0) === 47 ? new URL(BASE + input.target) : new URL(input.target);
    } catch {
      return errorReply(new WxkitError(ErrorCodes.INVALID_REQUEST, 'The request URL is malformed.'));
    }
    const wanted = path ?? (input.passThrough ? '/' : undefined);
    if (wanted !== undefined && (url.pathname.replace(/\/+$/, '') || '/') !== wanted) {
      if (input.passThrough) return UNMATCHED;
      return errorReply(new WxkitError(ErrorCodes.NOT_FOUND, 'This is not the push URL.'));
    }
    return endpoint.handle({
      method: input.method.toUpperCase(),
      query: url.searchParams,
      readBody: (limit) => readBody(input, limit),
    });
  }

  const handler = (async (request: Request, info?: RequestInfo | object): Promise<Response> => {
    const reply = (await handleInput(webInput(request, info))) as Reply;
    return toResponse(reply, request.method === 'HEAD');
  }) as PushHandler;
  Object.defineProperty(handler, HANDLE_INPUT, { value: handleInput });
  Object.defineProperty(handler, 'metrics', { value: options.account.metrics, enumerable: true });
  Object.defineProperty(handler, 'drain', { value: () => endpoint.drain() });
  return handler;
}
