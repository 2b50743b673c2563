import { ErrorCodes, WxkitError } from '../../errors.ts';
import { PushEndpoint } from '../../push/endpoint.ts';
import type { Store } from '../../stores/types.ts';
import type { Account } from '../../types.ts';
import { type PushRelay, pushKeyOf } from '../push-relay.ts';
import type { Route, RouteContext } from '../route.ts';

/**
 * `GET|POST /wechat/push`: the server URL of 服务器配置, answered by the library's push
 * endpoint (verification, decryption, de-duplication through the store, the 5-second rule). Each
 * message it hands over goes to the account's forward URLs (../push-relay.ts); the first URL's answer
 * is the reply. `/wechat/push/:appId` picks an account (a WeCom corpId; `/:appId/:agentId` or
 * `?agentId=` the app of a corp with several).
 */

/** What the service passes the route (`extra.push`). */
export interface PushServiceOptions {
  relay: PushRelay;
  /** De-duplication across instances (the same store as the outbox). */
  store: Store;
  /** When the endpoint answers `success` and keeps waiting (WeChat gives up at 5 s). @default 4500 */
  deadlineMs?: number | undefined;
}

function endpointFor(ctx: RouteContext, account: Account, o: PushServiceOptions): PushEndpoint | undefined {
  const config = o.relay.config(account);
  if (!config) return undefined;
  const cache = (ctx.state.get('push.endpoints') ?? new Map()) as Map<string, PushEndpoint>;
  ctx.state.set('push.endpoints', cache);
  const key = pushKeyOf(account);
  let endpoint = cache.get(key);
  if (!endpoint) {
    endpoint = new PushEndpoint({
      account,
      token: config.token,
      ...(config.encodingAESKey === undefined ? {} : { encodingAESKey: config.encodingAESKey }),
      store: o.store,
      ...(o.deadlineMs === undefined ? {} : { deadlineMs: o.deadlineMs }),
      // The endpoint's lines go through the service's log (WXKIT_LOG), never straight to stdout.
      log: (entry) => ctx.log(entry as unknown as Record<string, unknown>),
      onMessage: async (message) => (await o.relay.onMessage(account, message)) as undefined,
    });
    cache.set(key, endpoint);
    o.relay.track(endpoint);
  }
  return endpoint;
}

async function handle(ctx: RouteContext) {
  const o = ctx.options.extra.push as PushServiceOptions | undefined;
  const agentId = ctx.params.agentId ?? ctx.url.searchParams.get('agentId') ?? undefined;
  const account = ctx.account(ctx.params.appId, agentId);
  const endpoint = o ? endpointFor(ctx, account, o) : undefined;
  if (!endpoint) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, `Message push is not configured for ${account.appId}.`, {
      hint: {
        en: 'Set WX_PUSH_TOKEN (and WX_PUSH_AES_KEY in safe mode), or a "push" object on the account in wxkit.config.json.',
        zh: '请设置 WX_PUSH_TOKEN（安全模式还需 WX_PUSH_AES_KEY），或在 wxkit.config.json 的账号中配置 "push"。',
      },
    });
  }
  return endpoint.handle({
    method: ctx.method,
    query: ctx.url.searchParams,
    readBody: (limit) => ctx.input.readBody(limit),
  });
}

const paths = ['/wechat/push', '/wechat/push/:appId', '/wechat/push/:appId/:agentId'];

/** WeChat's servers are few addresses sending in bursts: no per-client rate limit, no CORS. */
export const routes: readonly Route[] = paths.flatMap((path) =>
  (['GET', 'POST'] as const).map((method) => ({ method, path, handle, cors: false, rateLimit: false })),
);
