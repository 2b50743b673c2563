import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createWecom } from '../accounts/wecom.ts';
import { accountOptions, loadConfig, type WxkitConfig, wecomOptions } from '../config.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { AccountStatus, CredentialStatus } from '../types.ts';
import { createWxkit } from '../wxkit.ts';
import { type CliIO, duration, noAccountForTicket, parseFlags, UsageError } from './io.ts';
import { type TicketSource, ticketWithOrigin } from './sign.ts';

export const tokenUsage = `wxkit token [status|refresh|invalidate] [--app-id A] [--force] [--json]
  status (default): what is cached for each configured account (Official Accounts and WeCom apps;
  --app-id takes an appId or a corpId) — age, time left, source, whether
  the store (WXKIT_STORE) answers. Never prints a token, ticket or secret.
  refresh: drops the cached token and tickets and fetches a new token now (--force: in stable mode,
  send force_refresh — WeChat allows 20 a day).
  invalidate: drops the cached token and tickets; the next call fetches.
  status（默认）：每个已配置账号缓存了什么——已用时长、剩余时间、来源、存储（WXKIT_STORE）是否可达，
  从不打印 token、票据或密钥。refresh：丢弃缓存并立即获取新 token（--force：stable 模式下发送
  force_refresh，微信每天限 20 次）。invalidate：丢弃缓存，下次调用时重新获取。`;

const ACTIONS = new Set(['status', 'refresh', 'invalidate']);

export async function runToken(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      'app-id': { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    true,
  );
  const action = positionals[0] ?? 'status';
  if (!ACTIONS.has(action) || positionals.length > 1) {
    throw new UsageError(
      `unknown action "${positionals.join(' ').slice(0, 30)}"; use status, refresh or invalidate`,
      `未知操作 "${positionals.join(' ').slice(0, 30)}"；可用 status、refresh 或 invalidate`,
    );
  }
  if (values.force && action !== 'refresh')
    throw new UsageError('--force only goes with refresh', '--force 只能与 refresh 一起使用');
  const config = loadConfig(io.env, io.cwd);
  const targets = selectTargets(config, values['app-id'], io.cwd);
  let failed = false;
  const report: unknown[] = [];
  const absent = action === 'status' ? absentStoreDir(config, io.cwd) : undefined;
  for (const target of targets) {
    if (absent !== undefined) {
      // A read must not write: opening the file store would create its directory.
      const status = target.empty();
      if (values.json) report.push(status);
      else printStatus(io, target.label, status, action, absent);
      continue;
    }
    const account = target.open();
    try {
      if (action === 'refresh') await account.refresh({ force: values.force });
      if (action === 'invalidate') await account.clearCache();
      const status = await account.status();
      if (!status.storeReachable) failed = true;
      if (values.json) report.push(status);
      else printStatus(io, target.label, status, action);
    } finally {
      await account.close();
    }
  }
  if (values.json) io.out(JSON.stringify(report.length === 1 ? report[0] : report));
  return failed ? 1 : 0;
}

/** One configured account as `wxkit token` handles it: an Official Account or a WeCom app. */
interface Target {
  /** `wx… (stable mode` / `ww… agent 1000002 (WeCom` — completed by printStatus. */
  label: string;
  open(): {
    refresh(options: { force: boolean }): Promise<void>;
    clearCache(): Promise<void>;
    status(): Promise<AccountStatus>;
    close(): Promise<void>;
  };
  empty(): AccountStatus;
}

function selectTargets(config: WxkitConfig, id: string | undefined, cwd: string): Target[] {
  if (config.sandbox) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'no account configured: set WX_APP_ID and WX_APP_SECRET (or WX_CORP_ID, WX_CORP_AGENT_ID, WX_CORP_SECRET), or accounts in wxkit.config.json',
    );
  }
  const official: Target[] = config.accounts
    .filter((a) => id === undefined || a.appId === id)
    .map((a) => ({
      label: `${a.appId} (${a.tokenMode} mode`,
      open: () => {
        const wx = createWxkit(accountOptions(config, a, cwd));
        return {
          refresh: (o) => wx.refresh(o),
          clearCache: () => wx.clearCache(),
          status: () => wx.status(),
          close: () => wx.close(),
        };
      },
      empty: () => emptyStatus(config, a.appId, ['access_token', 'jsapi_ticket', 'wx_card_ticket']),
    }));
  const wecom: Target[] = config.wecom
    .filter((w) => id === undefined || w.corpId === id)
    .map((w) => ({
      label: `${w.corpId} agent ${w.agentId} (WeCom`,
      open: () => {
        const corp = createWecom(wecomOptions(config, w, cwd));
        // WeCom has no force_refresh: a refresh drops the cache and asks gettoken again.
        return {
          refresh: () => corp.refresh(),
          clearCache: () => corp.clearCache(),
          status: () => corp.status(),
          close: () => corp.close(),
        };
      },
      empty: () => emptyStatus(config, w.corpId, ['access_token', 'jsapi_ticket', 'agent_config_ticket']),
    }));
  const found = [...official, ...wecom];
  if (found.length === 0) {
    const known = [...config.accounts.map((a) => a.appId), ...config.wecom.map((w) => w.corpId)];
    throw new UsageError(
      `--app-id ${String(id).slice(0, 40)} is not configured (${known.join(', ')})`,
      `--app-id ${String(id).slice(0, 40)} 未配置（已配置：${known.join(', ')}）`,
    );
  }
  return found;
}

/** The current jsapi_ticket of the configured account, for `wxkit sign` and `wxkit doctor` without --ticket. */
export const ticketSourceFromConfig: TicketSource = async (io, type = 'jsapi', options = {}) => {
  const config = loadConfig(io.env, io.cwd);
  if (config.sandbox) throw noAccountForTicket();
  const account = selectAccounts(config, io.env.WXKIT_APP_ID?.trim() || undefined)[0]!;
  const wx = createWxkit(accountOptions(config, account, io.cwd));
  try {
    const { ticket, origin } = await ticketWithOrigin(wx, type, options.recheck);
    return { ticket, appId: account.appId, jsDomains: account.jsDomains, origin };
  } finally {
    await wx.close();
  }
};

/** The Official Accounts `wxkit sign` / `wxkit doctor` may take a ticket from (the first, or `appId`). */
function selectAccounts(config: WxkitConfig, appId: string | undefined) {
  if (config.sandbox) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'no account configured: set WX_APP_ID and WX_APP_SECRET, or accounts in wxkit.config.json',
    );
  }
  if (config.accounts.length === 0) {
    // Only WeCom apps are configured: sign and doctor take an Official Account's jsapi_ticket here.
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'no Official Account configured (only WeCom apps): set WX_APP_ID and WX_APP_SECRET; WeCom pages are checked by wxkit doctor --agent',
    );
  }
  if (appId === undefined) return config.accounts;
  const found = config.accounts.filter((a) => a.appId === appId);
  if (found.length === 0) {
    throw new UsageError(
      `--app-id ${appId.slice(0, 40)} is not configured (${config.accounts.map((a) => a.appId).join(', ')})`,
      `--app-id ${appId.slice(0, 40)} 未配置（已配置：${config.accounts.map((a) => a.appId).join(', ')}）`,
    );
  }
  return found;
}

/** The directory of a `file:` store that does not exist yet (nothing was ever cached there). */
function absentStoreDir(config: WxkitConfig, cwd: string): string | undefined {
  if (config.redis || !config.store.trim().startsWith('file:')) return undefined;
  const dir = resolve(cwd, config.store.trim().slice('file:'.length));
  return existsSync(dir) ? undefined : dir;
}

function emptyStatus(
  config: WxkitConfig,
  id: string,
  kinds: readonly CredentialStatus['kind'][],
): AccountStatus {
  return {
    appId: id,
    store: config.storeDescription,
    storeReachable: true,
    credentials: kinds.map((kind) => ({ kind, cached: false })),
  };
}

function printStatus(
  io: CliIO,
  label: string,
  status: AccountStatus,
  action: string,
  absentDir?: string,
): void {
  const done = action === 'refresh' ? ' — refreshed' : action === 'invalidate' ? ' — cache dropped' : '';
  io.out(`${label}, store ${status.store}${status.storeReachable ? '' : ' — UNREACHABLE'})${done}`);
  if (absentDir !== undefined) {
    io.out(
      `  nothing cached: the store directory ${absentDir} does not exist yet (not created by a status read)`,
    );
    io.out(`  未缓存任何凭据：存储目录 ${absentDir} 尚不存在（查看状态不会创建它）`);
  }
  const now = Date.now();
  if (
    action === 'status' &&
    absentDir === undefined &&
    !status.credentials.some((c) => c.expiresAt !== undefined)
  ) {
    io.out('  nothing cached: no token or ticket in the store (the next call fetches them)');
    io.out('  未缓存任何凭据：存储中没有 token 或 ticket（下一次调用时获取）');
  }
  for (const c of status.credentials) io.out(`  ${describe(c, now)}`);
  if (status.lastError) {
    const code = status.lastError.errcode === undefined ? '' : ` (errcode ${status.lastError.errcode})`;
    io.out(`  last error: ${status.lastError.message}${code}`);
  }
}

function describe(c: CredentialStatus, now: number): string {
  const name = `${c.kind.padEnd(19)} `;
  if (c.expiresAt === undefined) return `${name}not cached`;
  const left = c.expiresAt - now;
  const age = c.fetchedAt === undefined ? '' : `  age ${duration(now - c.fetchedAt)}`;
  const state = left > 0 ? `expires in ${duration(left)}` : `expired ${duration(-left)} ago`;
  return `${name}${c.cached ? 'cached' : 'stale '}${age}  ${state}  source ${c.source ?? '?'}`;
}
