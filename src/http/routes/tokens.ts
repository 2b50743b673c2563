import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import type { Wecom, Wxkit } from '../../types.ts';
import { isWecom, readAgentId, wecomAccount } from '../account-kind.ts';
import { invalidRequest, readQuery, readString } from '../params.ts';
import { json } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';
import { settingName } from '../setting-names.ts';

/** sha256 of each key, so comparisons are fixed-length and constant-time. */
export function hashApiKeys(keys: readonly string[]): Buffer[] {
  return keys.filter((k) => k.length > 0).map((k) => createHash('sha256').update(k).digest());
}

/** Which key a caller used, for logs: its position in WXKIT_API_KEYS (never the key). */
type KeyLabel = string;

export function authorize(ctx: RouteContext): KeyLabel {
  const hashes = ctx.options.apiKeyHashes;
  if (hashes.length === 0) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'The token API is off.', {
      zh: '令牌接口未开启。',
      hint: {
        en: `Set ${settingName('apiKeys', ctx.options.settingNames)} to a list of bearer keys to turn it on.`,
        zh: `设置 ${settingName('apiKeys', ctx.options.settingNames)}（Bearer 密钥列表）以开启令牌接口。`,
      },
    });
  }
  const header = ctx.input.header('authorization') ?? '';
  const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  let index = -1;
  hashes.forEach((h, i) => {
    if (timingSafeEqual(given, h) && index === -1) index = i;
  });
  if (!m || index === -1) {
    throw new WxkitError(ErrorCodes.UNAUTHORIZED, 'A valid bearer key is required.', {
      zh: '需要有效的 Bearer 密钥。',
      hint: {
        en: `Send Authorization: Bearer <one of ${settingName('apiKeys', ctx.options.settingNames)}>.`,
        zh: `请发送 Authorization: Bearer <${settingName('apiKeys', ctx.options.settingNames)} 之一>。`,
      },
    });
  }
  return `key #${index + 1}`;
}

function account(ctx: RouteContext) {
  return accountFor(ctx).wx;
}

const TOKEN_QUERY = new Set(['agentId']);

/**
 * The account of `:appId` — an Official Account's appId or a WeCom corpId; `?agentId=` picks one app
 * of a corp that has several (each app has its own secret, so its own token).
 */
function accountFor(ctx: RouteContext): { wx: Wxkit | Wecom; key: KeyLabel } {
  const key = authorize(ctx);
  const appId = ctx.params.appId ?? '';
  const agentId = readAgentId(readQuery(ctx.url.search, TOKEN_QUERY).get('agentId'));
  // A platform's appIds are not listed: its account answers unknown_app / authorizer_revoked itself.
  if (!ctx.accounts.some((a) => a.appId === appId) && !ctx.options.extra.platform) {
    throw new WxkitError(
      ErrorCodes.UNKNOWN_APP,
      `No account ${JSON.stringify(appId.slice(0, 64))} is configured here.`,
      { zh: `本服务没有配置账号 ${JSON.stringify(appId.slice(0, 64))}。` },
    );
  }
  return { wx: ctx.account(appId, agentId) as Wxkit | Wecom, key };
}

/** A token younger than this is not dropped: WeChat does not refuse a token it issued seconds ago. */
const MIN_TOKEN_AGE_MS = 10_000;
/** At most one invalidation per account in this window, across every instance sharing the store. */
const INVALIDATE_INTERVAL_MS = 10_000;

function tooSoon(message: string, waitMs: number): WxkitError {
  return new WxkitError(ErrorCodes.RATE_LIMITED, message, {
    retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
    hint: {
      en: 'Invalidate only a token WeChat refused with 40001/40014/42001, once; then fetch the current token again.',
      zh: '仅在微信以 40001/40014/42001 拒绝某个令牌时作废它一次，然后重新获取当前令牌。',
    },
  });
}

/**
 * Throttles compare-and-invalidate from keyed callers.
 *
 * Stops a caller (a buggy service, or a leaked key) from burning the token quota: a get → invalidate
 * loop made one upstream token fetch per turn (the classic 2000/day quota gone in about 80 s). A value
 * that is not the current token drops nothing and passes; dropping the current token is refused while
 * it is younger than {@link MIN_TOKEN_AGE_MS} or when the account's last invalidation is younger than
 * {@link INVALIDATE_INTERVAL_MS} (a store lock, so the limit holds across instances).
 */
async function checkInvalidationAllowed(wx: Wxkit | Wecom, value: string, now: number): Promise<boolean> {
  const current = await wx.accessTokenInfo();
  if (current.value !== value) return false;
  const status = await wx.status();
  const token = status.credentials.find((c) => c.kind === 'access_token');
  if (token?.fetchedAt !== undefined && now - token.fetchedAt < MIN_TOKEN_AGE_MS) {
    const age = Math.max(0, Math.round((now - token.fetchedAt) / 1000));
    throw tooSoon(
      `This access_token was obtained ${age} s ago; wxkit does not drop a token this young.`,
      MIN_TOKEN_AGE_MS - (now - token.fetchedAt),
    );
  }
  const owner = await wx.oauth.store.tryLock(
    `wxkit:${isWecom(wx) ? `${wx.appId}:${wx.agentId}` : wx.appId}:access_token:invalidated`,
    INVALIDATE_INTERVAL_MS,
  );
  if (owner === undefined) {
    throw tooSoon(
      `The access_token of ${wx.appId} was invalidated less than ${INVALIDATE_INTERVAL_MS / 1000} s ago.`,
      INVALIDATE_INTERVAL_MS,
    );
  }
  return true;
}

const NO_STORE = { 'cache-control': 'no-store' };

/**
 * `/v1/apps/:appId/access_token`, `…/jsapi_ticket`, `POST …/access_token/invalidate` (bearer keys), for
 * Official Accounts and WeCom apps alike (a corp's jsapi_ticket is its corp ticket); `…/agent_config_ticket`
 * for WeCom apps only.
 */
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
    method: 'GET',
    path: '/v1/apps/:appId/agent_config_ticket',
    cors: false,
    async handle(ctx) {
      const wx = wecomAccount(account(ctx), 'GET /v1/apps/:appId/agent_config_ticket');
      const { value, expiresAt } = await wx.ticketInfo('agent_config');
      return json(200, { value, expiresAt }, NO_STORE);
    },
  },
  {
    method: 'POST',
    path: '/v1/apps/:appId/access_token/invalidate',
    cors: false,
    async handle(ctx) {
      const { wx, key } = accountFor(ctx);
      const value = readString((await ctx.json()).value, 'value', 1024);
      if (!value) throw invalidRequest('Send {"value": "<the access_token that failed>"}.');
      if (!(await checkInvalidationAllowed(wx, value, ctx.options.now())))
        return json(200, { invalidated: false }, NO_STORE);
      const invalidated = await wx.invalidateAccessToken(value);
      ctx.log({
        level: 'warn',
        msg: 'access_token invalidated through the token API',
        appId: wx.appId,
        key,
        invalidated,
      });
      return json(200, { invalidated }, NO_STORE);
    },
  },
];
