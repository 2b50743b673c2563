import { loadConfig } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { createPlatform, type Platform, type PlatformStatus } from '../platform/platform.ts';
import { type CliIO, parseFlags, UsageError } from './io.ts';

export const platformUsage = `wxkit platform [list|sync|status] [--json]
  The third-party platform (第三方平台) named by WX_COMPONENT_APP_ID, WX_COMPONENT_SECRET,
  WX_COMPONENT_TOKEN, WX_COMPONENT_AES_KEY (WX_COMPONENT_JS_DOMAINS, WX_API_BASE, WXKIT_STORE).
  status (default): the verify ticket's health and age, the component token, the number of authorized
  accounts, and what needs attention. list: every authorized appId in the store's index.
  sync: restores every refresh token from api_get_authorizer_list (after a store loss). Never prints
  a token, ticket or secret.
  第三方平台（由 WX_COMPONENT_APP_ID、WX_COMPONENT_SECRET、WX_COMPONENT_TOKEN、WX_COMPONENT_AES_KEY 指定）。
  status（默认）：component_verify_ticket 的状态与时长、component_access_token、已授权账号数及需处理的问题。
  list：存储索引中所有已授权的 appId。sync：从 api_get_authorizer_list 恢复所有 refresh token（存储数据
  丢失后使用）。从不打印 token、票据或密钥。`;

const ACTIONS = new Set(['status', 'list', 'sync']);

/** The component's four settings are required together: a platform is nothing without any one of them. */
export function openPlatform(io: CliIO): Platform {
  const e = (name: string) => {
    const v = io.env[name]?.trim();
    return v === '' ? undefined : v;
  };
  const missing = [
    'WX_COMPONENT_APP_ID',
    'WX_COMPONENT_SECRET',
    'WX_COMPONENT_TOKEN',
    'WX_COMPONENT_AES_KEY',
  ].filter((n) => e(n) === undefined);
  if (missing.length > 0) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `no third-party platform configured: set ${missing.join(', ')}`,
      {
        hint: {
          en: 'The four values are on the platform’s page at open.weixin.qq.com (开发资料).',
          zh: '请设置以上环境变量，取值见开放平台第三方平台的「开发资料」。',
        },
      },
    );
  }
  const config = loadConfig(io.env, io.cwd);
  return createPlatform({
    componentAppId: e('WX_COMPONENT_APP_ID') as string,
    componentSecret: e('WX_COMPONENT_SECRET') as string,
    token: e('WX_COMPONENT_TOKEN') as string,
    encodingAESKey: e('WX_COMPONENT_AES_KEY') as string,
    jsDomains: e('WX_COMPONENT_JS_DOMAINS'),
    apiBase: config.apiBase,
    openBase: config.openBase,
    store: config.redis ? { kind: 'redis', topology: config.redis } : config.store,
    cwd: io.cwd,
  });
}

export async function runPlatform(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, { json: { type: 'boolean', default: false } }, true);
  const action = positionals[0] ?? 'status';
  if (!ACTIONS.has(action) || positionals.length > 1) {
    throw new UsageError(
      `unknown action "${positionals.join(' ').slice(0, 30)}"; use list, sync or status`,
      `未知操作 "${positionals.join(' ').slice(0, 30)}"；请使用 list、sync 或 status`,
    );
  }
  const platform = openPlatform(io);
  try {
    if (action === 'list') {
      const appIds = await platform.authorizers();
      if (values.json)
        io.out(JSON.stringify({ componentAppId: platform.componentAppId, authorizers: appIds }));
      else {
        for (const appId of appIds) io.out(appId);
        io.out(
          `${appIds.length} authorized accounts for ${platform.componentAppId} / ${platform.componentAppId} 共有 ${appIds.length} 个已授权账号`,
        );
      }
      return 0;
    }
    if (action === 'sync') {
      const r = await platform.sync();
      if (values.json) io.out(JSON.stringify(r));
      else {
        io.out(
          `synced ${r.accounts} accounts from ${r.pages} list pages: ${r.restored} refresh tokens restored, ${r.fromInfo} completed through api_get_authorizer_info`,
        );
        io.out(
          `已从 ${r.pages} 页授权列表同步 ${r.accounts} 个账号：恢复 ${r.restored} 个 refresh token，其中 ${r.fromInfo} 个通过 api_get_authorizer_info 补全`,
        );
      }
      return 0;
    }
    const s = await platform.status();
    if (values.json) io.out(JSON.stringify(s));
    else printStatus(io, s);
    return s.verifyTicket.health === 'missing' || s.verifyTicket.health === 'expired' ? 1 : 0;
  } finally {
    await platform.close();
  }
}

function printStatus(io: CliIO, s: PlatformStatus): void {
  const now = Date.now();
  io.out(`${s.componentAppId} (third-party platform / 第三方平台), store ${s.store}`);
  const t = s.verifyTicket;
  const age = t.ageMs === undefined ? '' : `  age ${duration(t.ageMs)}`;
  const left =
    t.expiresAt === undefined
      ? ''
      : t.expiresAt > now
        ? `  valid for ${duration(t.expiresAt - now)}`
        : `  expired ${duration(now - t.expiresAt)} ago`;
  io.out(`  verify ticket       ${t.health}${age}${left}`);
  const c = s.componentToken;
  io.out(
    `  component token     ${
      c.expiresAt === undefined
        ? 'not cached'
        : c.cached
          ? `cached  expires in ${duration(c.expiresAt - now)}`
          : `expired ${duration(now - c.expiresAt)} ago`
    }`,
  );
  io.out(`  authorized accounts ${s.authorizers} / 已授权账号 ${s.authorizers} 个`);
  io.out(`  revoked accounts    ${s.revoked} / 已取消授权 ${s.revoked} 个`);
  if (s.warning) {
    io.out(`  warning: ${s.warning.en}`);
    io.out(`  警告：${s.warning.zh}`);
  }
}

/** Minutes are precise enough here: the ticket lives 12 hours, the token 2. */
function duration(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m} min`;
}
