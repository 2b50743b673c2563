import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { invalidRequest, readString } from '../params.ts';
import { json } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

/** sha256 of each key, so comparisons are fixed-length and constant-time. */
export function hashApiKeys(keys: readonly string[]): Buffer[] {
  return keys.filter((k) => k.length > 0).map((k) => createHash('sha256').update(k).digest());
}

function authorize(ctx: RouteContext): void {
  const hashes = ctx.options.apiKeyHashes;
  if (hashes.length === 0) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'The token API is off.', {
      hint: {
        en: 'Set WXKIT_API_KEYS to a comma list of bearer keys to turn it on.',
        zh: '设置 WXKIT_API_KEYS（逗号分隔的 Bearer 密钥）以开启令牌接口。',
      },
    });
  }
  const header = ctx.input.header('authorization') ?? '';
  const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  let ok = false;
  for (const h of hashes) ok = timingSafeEqual(given, h) || ok;
  if (!m || !ok) {
    throw new WxkitError(ErrorCodes.UNAUTHORIZED, 'A valid bearer key is required.', {
      hint: {
        en: 'Send Authorization: Bearer <one of WXKIT_API_KEYS>.',
        zh: '请发送 Authorization: Bearer <WXKIT_API_KEYS 之一>。',
      },
    });
  }
}

function account(ctx: RouteContext) {
  authorize(ctx);
  const appId = ctx.params.appId ?? '';
  if (!ctx.accounts.some((a) => a.appId === appId)) {
    throw new WxkitError(
      ErrorCodes.UNKNOWN_APP,
      `No account ${JSON.stringify(appId.slice(0, 64))} is configured here.`,
    );
  }
  return ctx.account(appId);
}

const NO_STORE = { 'cache-control': 'no-store' };

/** `/v1/apps/:appId/access_token`, `…/jsapi_ticket`, `POST …/access_token/invalidate` (bearer keys). */
export const routes: readonly Route[] = [
  {
    method: 'GET',
    path: '/v1/apps/:appId/access_token',
    cors: false,
    async handle(ctx) {
      const { value, expiresAt } = await account(ctx).accessTokenInfo();
      return json(200, { value, expiresAt }, NO_STORE);
    },
  },
  {
    method: 'GET',
    path: '/v1/apps/:appId/jsapi_ticket',
    cors: false,
    async handle(ctx) {
      const { value, expiresAt } = await account(ctx).ticketInfo('jsapi');
      return json(200, { value, expiresAt }, NO_STORE);
    },
  },
  {
    method: 'POST',
    path: '/v1/apps/:appId/access_token/invalidate',
    cors: false,
    async handle(ctx) {
      const wx = account(ctx);
      const value = readString((await ctx.json()).value, 'value', 1024);
      if (!value) throw invalidRequest('Send {"value": "<the access_token that failed>"}.');
      const invalidated = await wx.invalidateAccessToken(value);
      return json(200, { invalidated }, NO_STORE);
    },
  },
];
