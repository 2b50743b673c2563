import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { WecomOptions } from './accounts/wecom.ts';
import { checkBaseUrl } from './base-url.ts';
import { ErrorCodes, WxkitError } from './errors.ts';
import { defaultOpenBase } from './oauth/authorize.ts';
import {
  checkForwardSecret,
  type PushAccountConfig,
  type PushAccountFile,
  pushFromEnv,
  pushFromFile,
} from './push-config.ts';
import { describeRedisTopology, type RedisNode, type RedisTopology } from './stores/redis.ts';
import { describeStoreSpec, parseStoreSpec } from './stores/spec.ts';
import type { TokenMode } from './types.ts';
import type { WxkitOptions } from './wxkit.ts';

/** One configured Official Account. */
export interface AccountConfig {
  appId: string;
  /** Absent in `remote` mode. */
  secret?: string | undefined;
  tokenMode: TokenMode;
  /** JS-safe domains (host or host/path). */
  jsDomains: string[];
  remoteUrl?: string | undefined;
  remoteKey?: string | undefined;
  /** Message push (服务器配置): the account's own, or the `WX_PUSH_*` default; absent when off. */
  push?: PushAccountConfig | undefined;
  /** Card ids this account's card routes sign for (`cardIds` of its config-file entry); else the global list. */
  cardIds?: string[] | undefined;
}

/** One configured WeCom (企业微信) app: a corp, one of its apps (AgentId) and that app's Secret. */
export interface WecomAccountConfig {
  type: 'wecom';
  corpId: string;
  /** The app's AgentId (digits). */
  agentId: string;
  secret: string;
  /** The app's trusted domains (可信域名), host or host/path. */
  jsDomains: string[];
  /** The app's callback (接收消息): the app's own, or the `WX_PUSH_*` default; absent when off. */
  push?: PushAccountConfig | undefined;
}

/** The validated configuration of the service and CLI (environment and `wxkit.config.json`). */
export interface WxkitConfig {
  /** No account configured: `wxkit serve` runs against an in-process simulator. */
  sandbox: boolean;
  /** The Official Accounts. */
  accounts: AccountConfig[];
  /** The WeCom apps (`WX_CORP_*`, or `{"type":"wecom",…}` entries of the file's `accounts`). */
  wecom: WecomAccountConfig[];
  tokenMode: TokenMode;
  apiBase: string;
  /** Base URL of the WeCom API (`WX_WORK_API_BASE`). */
  workApiBase: string;
  /** `WX_OPEN_BASE`; unset, WeChat's page — or `apiBase` when that is a loopback URL (the simulator). */
  openBase: string;
  /** True when `openBase` was not configured (a WeCom app then follows `workApiBase` the same way). */
  openBaseDefaulted: boolean;
  /** `WXKIT_STORE` as given (may contain a Redis password: pass it on, never print it). */
  store: string;
  /** The store without credentials, for logs. */
  storeDescription: string;
  /** Redis Sentinel/Cluster from the config file's `redis` field (then `store` is `redis`). */
  redis?: RedisTopology | undefined;
  /** Redis Sentinel/Cluster for saved media, from the config file's `mediaRedis` field. */
  mediaRedis?: RedisTopology | undefined;
  /** Default JS-safe domains (accounts without their own list use these). */
  jsDomains: string[];
  remoteUrl?: string | undefined;
  remoteKey?: string | undefined;
  /** Bearer keys allowed on the token API; empty = token API off. */
  apiKeys: string[];
  /** Card ids (卡券) the service signs for (`WXKIT_CARD_IDS`); empty = card routes off. */
  cardIds: string[];
  /** Store (门店) ids `/jssdk/card-sign` signs as `shopId` (`WXKIT_CARD_SHOP_IDS`). */
  cardShopIds: string[];
  /** Undefined when unset (the service then generates one and warns). */
  sessionSecret?: string | undefined;
  /** The service's public origin, no trailing slash. */
  publicUrl: string;
  /** True when `publicUrl` was derived from host and port rather than configured. */
  publicUrlDefaulted: boolean;
  host: string;
  port: number;
  /** Where settings came from: `env`, and the config file path when one was read. */
  sources: string[];
  /** `WX_PUSH_TOKEN`/`WX_PUSH_AES_KEY`/`WX_PUSH_FORWARD`: push settings of accounts without their own (and of the sandbox). */
  push?: PushAccountConfig | undefined;
  /** `WXKIT_PUSH_FORWARD_SECRET`: signs forwarded messages (required once an account forwards). */
  pushForwardSecret?: string | undefined;
}

/** The shape of `wxkit.config.json`. Every field is optional; the environment wins over the file. */
export interface WxkitConfigFile {
  /** Official Accounts, and WeCom apps (`{"type":"wecom","corpId","agentId","secret"|"secretEnv","jsDomains"}`). */
  accounts?: Array<{
    /** `official` (the default) or `wecom`. */
    type?: 'official' | 'wecom';
    appId?: string;
    corpId?: string;
    agentId?: string | number;
    secret?: string;
    /** Name of an environment variable holding the secret (keeps it out of the file). */
    secretEnv?: string;
    tokenMode?: TokenMode;
    jsDomains?: string[] | string;
    remoteUrl?: string;
    remoteKey?: string;
    remoteKeyEnv?: string;
    /** Message push (服务器配置): `{token|tokenEnv, encodingAESKey|encodingAESKeyEnv, forward}`. */
    push?: PushAccountFile;
    /** Card ids this account signs for (instead of the global `cardIds`). */
    cardIds?: string[] | string;
  }>;
  tokenMode?: TokenMode;
  apiBase?: string;
  /** Base URL of the WeCom API. */
  workApiBase?: string;
  openBase?: string;
  store?: string;
  /**
   * Redis Sentinel or Cluster (only through the config file); `store` must then be `redis` or absent.
   * `passwordEnv` names a variable holding the password.
   */
  redis?: RedisTopology & { passwordEnv?: string };
  /**
   * Redis Sentinel or Cluster for saved media (`wxkit serve`'s media store unless `WXKIT_MEDIA_STORE`
   * names another): best a separate, persistent Redis without eviction (docs/service.md).
   */
  mediaRedis?: RedisTopology & { passwordEnv?: string };
  jsDomains?: string[] | string;
  remoteUrl?: string;
  remoteKey?: string;
  apiKeys?: string[] | string;
  /** Card ids the service may sign `wx.chooseCard` / `wx.addCard` for. */
  cardIds?: string[] | string;
  /** Store (门店) ids pages may ask `wx.chooseCard` signatures for. */
  cardShopIds?: string[] | string;
  sessionSecret?: string;
  publicUrl?: string;
  host?: string;
  port?: number | string;
  /** Name of the environment variable holding the forward secret (`WXKIT_PUSH_FORWARD_SECRET` wins). */
  pushForwardSecretEnv?: string;
}

const FILE_KEYS = new Set([
  '$schema',
  'accounts',
  'tokenMode',
  'apiBase',
  'workApiBase',
  'openBase',
  'store',
  'redis',
  'mediaRedis',
  'jsDomains',
  'remoteUrl',
  'remoteKey',
  'apiKeys',
  'cardIds',
  'cardShopIds',
  'sessionSecret',
  'publicUrl',
  'host',
  'port',
  'pushForwardSecretEnv',
]);
const ACCOUNT_KEYS = new Set([
  'type',
  'appId',
  'secret',
  'secretEnv',
  'tokenMode',
  'jsDomains',
  'remoteUrl',
  'remoteKey',
  'remoteKeyEnv',
  'push',
  'cardIds',
]);
const WECOM_ACCOUNT_KEYS = new Set(['type', 'corpId', 'agentId', 'secret', 'secretEnv', 'jsDomains', 'push']);

/**
 * Reads the configuration from the environment and, when present, `wxkit.config.json` in `cwd` (or the
 * file named by `WXKIT_CONFIG`). The environment wins over the file; `WX_APP_ID`/`WX_APP_SECRET` add (or
 * replace) one account next to the file's `accounts`.
 *
 * @throws {WxkitError} `config_error` with a one-line message naming the variable or field (never a secret).
 * @example
 * const config = loadConfig(process.env, process.cwd());
 * const accounts = config.accounts.map((a) => createWxkit(accountOptions(config, a)));
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd: string): WxkitConfig {
  const sources = ['env'];
  const file = readConfigFile(env, cwd, sources);
  const e = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };

  const tokenMode = checkMode(e('WX_TOKEN_MODE') ?? file.tokenMode ?? 'stable', 'WX_TOKEN_MODE');
  const apiBase = checkBaseUrl(
    e('WX_API_BASE') ?? file.apiBase ?? 'https://api.weixin.qq.com',
    'WX_API_BASE',
  );
  const workApiBase = checkBaseUrl(
    e('WX_WORK_API_BASE') ?? file.workApiBase ?? 'https://qyapi.weixin.qq.com',
    'WX_WORK_API_BASE',
  );
  const openRaw = e('WX_OPEN_BASE') ?? file.openBase;
  const openBase = openRaw === undefined ? defaultOpenBase(apiBase) : checkBaseUrl(openRaw, 'WX_OPEN_BASE');
  const envStore = e('WXKIT_STORE');
  const redis =
    envStore === undefined && file.redis !== undefined ? checkTopology(file.redis, env) : undefined;
  if (redis && file.store !== undefined && file.store !== 'redis') {
    throw configError('wxkit.config.json: with a "redis" field, "store" must be "redis" or absent');
  }
  const store = envStore ?? (redis ? 'redis' : (file.store ?? 'file:.wxkit'));
  const mediaRedis =
    file.mediaRedis === undefined ? undefined : checkTopology(file.mediaRedis, env, 'mediaRedis');
  const storeDescription = redis
    ? describeRedisTopology(redis)
    : describeStoreSpec(parseStoreSpec(store), cwd);
  const remoteUrlRaw = e('WXKIT_REMOTE_URL') ?? file.remoteUrl;
  const remoteUrl = remoteUrlRaw === undefined ? undefined : checkBaseUrl(remoteUrlRaw, 'WXKIT_REMOTE_URL');
  const remoteKey = e('WXKIT_REMOTE_KEY') ?? file.remoteKey;
  const apiKeys = list(e('WXKIT_API_KEYS') ?? file.apiKeys);
  const cardIds = checkCardValues(list(e('WXKIT_CARD_IDS') ?? file.cardIds), 'WXKIT_CARD_IDS', 'card id');
  const cardShopIds = checkCardValues(
    list(e('WXKIT_CARD_SHOP_IDS') ?? file.cardShopIds),
    'WXKIT_CARD_SHOP_IDS',
    'shop id',
  );
  const sessionSecret = e('WXKIT_SESSION_SECRET') ?? file.sessionSecret;
  const host = e('HOST') ?? file.host ?? '127.0.0.1';
  const portText = String(e('PORT') ?? file.port ?? '3000');
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw configError(`PORT must be a number from 0 to 65535; got ${JSON.stringify(portText.slice(0, 20))}`);
  }
  const port = Number(portText);
  const publicRaw = e('WXKIT_PUBLIC_URL') ?? file.publicUrl;
  const publicUrl =
    publicRaw === undefined ? `http://localhost:${port}` : checkBaseUrl(publicRaw, 'WXKIT_PUBLIC_URL');

  const accounts: AccountConfig[] = [];
  const add = (a: AccountConfig) => {
    const i = accounts.findIndex((x) => x.appId === a.appId);
    if (i === -1) accounts.push(a);
    else accounts[i] = a;
  };
  const wecom: WecomAccountConfig[] = [];
  const addWecom = (a: WecomAccountConfig) => {
    const i = wecom.findIndex((x) => x.corpId === a.corpId && x.agentId === a.agentId);
    if (i === -1) wecom.push(a);
    else wecom[i] = a;
  };
  for (const [i, raw] of (file.accounts ?? []).entries()) {
    const where = `wxkit.config.json accounts[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw configError(`${where} must be an object`);
    if (raw.type === 'wecom') {
      addWecom(wecomFromFile(raw as Record<string, unknown>, where, env));
      continue;
    }
    if (raw.type !== undefined && raw.type !== 'official') {
      throw configError(`${where}.type must be "official" or "wecom"`);
    }
    for (const k of Object.keys(raw)) {
      if (!ACCOUNT_KEYS.has(k)) throw configError(`${where}: unknown field "${k.slice(0, 30)}"`);
    }
    const appId = checkAppId(raw.appId, `${where}.appId`);
    const mode = checkMode(raw.tokenMode ?? tokenMode, `${where}.tokenMode`);
    const secret = raw.secretEnv ? env[raw.secretEnv] : raw.secret;
    if (raw.secretEnv && !secret)
      throw configError(`${where}: the variable ${raw.secretEnv} (secretEnv) is not set`);
    const rKey = raw.remoteKeyEnv ? env[raw.remoteKeyEnv] : (raw.remoteKey ?? remoteKey);
    const rUrl = raw.remoteUrl === undefined ? remoteUrl : checkBaseUrl(raw.remoteUrl, `${where}.remoteUrl`);
    add(
      checkAccount(
        {
          appId,
          secret: secret || undefined,
          tokenMode: mode,
          jsDomains: raw.jsDomains === undefined ? [] : list(raw.jsDomains),
          remoteUrl: rUrl,
          remoteKey: rKey || undefined,
          ...(raw.push === undefined ? {} : { push: pushFromFile(raw.push, `${where}.push`, env) }),
          ...(raw.cardIds === undefined
            ? {}
            : { cardIds: checkCardValues(list(raw.cardIds), `${where}.cardIds`, 'card id') }),
        },
        where,
      ),
    );
  }
  const envAppId = e('WX_APP_ID');
  if (envAppId !== undefined) {
    add(
      checkAccount(
        {
          appId: checkAppId(envAppId, 'WX_APP_ID'),
          secret: e('WX_APP_SECRET'),
          tokenMode,
          jsDomains: [],
          remoteUrl,
          remoteKey,
        },
        'WX_APP_ID',
      ),
    );
  } else if (e('WX_APP_SECRET') !== undefined && accounts.length === 0) {
    throw configError('WX_APP_SECRET is set but WX_APP_ID is not');
  }

  const envCorp = wecomFromEnv(e);
  if (envCorp !== undefined) addWecom(envCorp);

  const sandbox = accounts.length === 0 && wecom.length === 0;
  const domainsRaw = e('WX_JS_DOMAINS') ?? file.jsDomains;
  const jsDomains =
    domainsRaw !== undefined
      ? list(domainsRaw)
      : publicRaw !== undefined
        ? [new URL(publicUrl).hostname]
        : sandbox
          ? ['localhost', '127.0.0.1']
          : [];
  for (const a of [...accounts, ...wecom]) if (a.jsDomains.length === 0) a.jsDomains = [...jsDomains];
  const push = pushFromEnv(e);
  for (const a of [...accounts, ...wecom]) if (a.push === undefined && push !== undefined) a.push = push;
  // A third-party platform forwards its accounts' messages to WX_COMPONENT_FORWARD with the same secret.
  const forwarding =
    [push, ...accounts.map((a) => a.push), ...wecom.map((a) => a.push)].some(
      (p) => (p?.forward.length ?? 0) > 0,
    ) || (e('WX_COMPONENT_FORWARD') ?? '') !== '';
  const secretEnv = file.pushForwardSecretEnv;
  if (secretEnv !== undefined && typeof secretEnv !== 'string') {
    throw configError('wxkit.config.json: pushForwardSecretEnv must be the name of an environment variable');
  }
  const pushForwardSecret = checkForwardSecret(
    e('WXKIT_PUSH_FORWARD_SECRET') ?? (secretEnv ? e(secretEnv) : undefined),
    forwarding,
  );

  return {
    sandbox,
    accounts,
    wecom,
    tokenMode,
    apiBase,
    workApiBase,
    openBase,
    openBaseDefaulted: openRaw === undefined,
    store,
    storeDescription,
    ...(redis ? { redis } : {}),
    ...(mediaRedis ? { mediaRedis } : {}),
    jsDomains,
    remoteUrl,
    remoteKey,
    apiKeys,
    cardIds,
    cardShopIds,
    sessionSecret,
    publicUrl,
    publicUrlDefaulted: publicRaw === undefined,
    host,
    port,
    sources,
    ...(push ? { push } : {}),
    ...(pushForwardSecret ? { pushForwardSecret } : {}),
  };
}

/**
 * The {@link WxkitOptions} for one configured account (add `metrics`, `logger` as needed).
 *
 * @example
 * const wx = createWxkit({ ...accountOptions(config, config.accounts[0]), logger: console })
 */
export function accountOptions(config: WxkitConfig, account: AccountConfig, cwd?: string): WxkitOptions {
  return {
    appId: account.appId,
    secret: account.secret,
    tokenMode: account.tokenMode,
    apiBase: config.apiBase,
    openBase: config.openBase,
    store: config.redis ? { kind: 'redis', topology: config.redis } : config.store,
    cwd,
    jsDomains: account.jsDomains,
    remoteUrl: account.remoteUrl,
    remoteKey: account.remoteKey,
  };
}

/**
 * The {@link WecomOptions} for one configured WeCom app (add `metrics`, `logger` as needed).
 *
 * @example
 * const corp = createWecom({ ...wecomOptions(config, config.wecom[0]), logger: console })
 */
export function wecomOptions(config: WxkitConfig, account: WecomAccountConfig, cwd?: string): WecomOptions {
  return {
    corpId: account.corpId,
    agentId: account.agentId,
    secret: account.secret,
    apiBase: config.workApiBase,
    openBase: config.openBaseDefaulted ? defaultOpenBase(config.workApiBase) : config.openBase,
    store: config.redis ? { kind: 'redis', topology: config.redis } : config.store,
    cwd,
    jsDomains: account.jsDomains,
  };
}

/** `WX_CORP_ID`, `WX_CORP_AGENT_ID`, `WX_CORP_SECRET`: one WeCom app, or none when all are unset. */
function wecomFromEnv(e: (name: string) => string | undefined): WecomAccountConfig | undefined {
  const corpId = e('WX_CORP_ID');
  const agentId = e('WX_CORP_AGENT_ID');
  const secret = e('WX_CORP_SECRET');
  if (corpId === undefined) {
    if (agentId !== undefined || secret !== undefined) {
      throw configError(
        `${agentId !== undefined ? 'WX_CORP_AGENT_ID' : 'WX_CORP_SECRET'} is set but WX_CORP_ID is not`,
      );
    }
    return undefined;
  }
  const missing = [
    agentId === undefined ? 'WX_CORP_AGENT_ID' : '',
    secret === undefined ? 'WX_CORP_SECRET' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  if (missing !== '') {
    // Names the other ways to start too: this is also what a deployment whose variables half arrived sees.
    throw configError(
      `WX_CORP_ID is set but ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not: a WeCom app needs WX_CORP_ID, WX_CORP_AGENT_ID and WX_CORP_SECRET (an Official Account: WX_APP_ID and WX_APP_SECRET; the sandbox on purpose: --sandbox)`,
    );
  }
  return {
    type: 'wecom',
    corpId: checkCorpId(corpId, 'WX_CORP_ID'),
    agentId: checkAgentId(agentId, 'WX_CORP_AGENT_ID'),
    secret: checkCorpSecret(secret, 'WX_CORP_SECRET', corpId),
    jsDomains: [],
  };
}

/** Card and shop ids as WeChat issues them: letters, digits, `-` and `_` (never free text: see cards.ts). */
function checkCardValues(values: string[], where: string, what: string): string[] {
  for (const id of values) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      throw configError(
        `${where}: ${JSON.stringify(id.slice(0, 70))} is not a ${what} (letters, digits, - and _)`,
      );
    }
  }
  return values;
}

/** A `{"type":"wecom",…}` entry of the file's `accounts`. */
function wecomFromFile(
  raw: Record<string, unknown>,
  where: string,
  env: NodeJS.ProcessEnv,
): WecomAccountConfig {
  for (const k of Object.keys(raw)) {
    if (!WECOM_ACCOUNT_KEYS.has(k)) {
      throw configError(
        `${where}: unknown field "${k.slice(0, 30)}" for a WeCom app (corpId, agentId, secret or secretEnv, jsDomains)`,
      );
    }
  }
  const corpId = checkCorpId(raw.corpId, `${where}.corpId`);
  const agentId = checkAgentId(raw.agentId, `${where}.agentId`);
  if (raw.secretEnv !== undefined && typeof raw.secretEnv !== 'string') {
    throw configError(`${where}.secretEnv must be the name of an environment variable`);
  }
  const secret = raw.secretEnv ? env[raw.secretEnv] : raw.secret;
  if (raw.secretEnv && !secret)
    throw configError(`${where}: the variable ${raw.secretEnv} (secretEnv) is not set`);
  if (raw.jsDomains !== undefined && typeof raw.jsDomains !== 'string' && !Array.isArray(raw.jsDomains)) {
    throw configError(`${where}.jsDomains must be a list of domains`);
  }
  return {
    type: 'wecom',
    corpId,
    agentId,
    secret: checkCorpSecret(secret, `${where}.secret`, corpId),
    jsDomains: raw.jsDomains === undefined ? [] : list(raw.jsDomains as string | string[]),
    ...(raw.push === undefined ? {} : { push: pushFromFile(raw.push, `${where}.push`, env) }),
  };
}

function checkCorpId(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value.trim())) {
    throw configError(
      `${where} must be a WeCom corp ID like ww1234567890abcdef (我的企业 → 企业信息 → 企业ID)`,
    );
  }
  return value.trim();
}

function checkAgentId(value: unknown, where: string): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,20}$/.test(text.trim())) {
    throw configError(`${where} must be the app's AgentId (digits, 应用管理 → the app)`);
  }
  return text.trim();
}

/** The secret's presence only: its value is never quoted. */
function checkCorpSecret(value: unknown, where: string, corpId: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(`${where}: the Secret of WeCom app ${corpId} is missing (WX_CORP_SECRET)`);
  }
  return value.trim();
}

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string, sources: string[]): WxkitConfigFile {
  const named = env.WXKIT_CONFIG?.trim();
  const path = named ? (isAbsolute(named) ? named : join(cwd, named)) : join(cwd, 'wxkit.config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (!named && (e as { code?: string }).code === 'ENOENT') return {};
    throw configError(`cannot read the config file ${path} (${(e as { code?: string }).code ?? 'error'})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // Only a position: V8's message quotes the text around the error, which may be an unquoted secret.
    throw configError(`${path} is not valid JSON${jsonErrorWhere(text, e)} (check quotes and commas)`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw configError(`${path} must hold a JSON object`);
  }
  for (const k of Object.keys(data)) {
    if (!FILE_KEYS.has(k)) throw configError(`${path}: unknown field "${k.slice(0, 30)}"`);
  }
  const f = data as WxkitConfigFile;
  if (f.accounts !== undefined && !Array.isArray(f.accounts))
    throw configError(`${path}: accounts must be an array`);
  for (const k of [
    'tokenMode',
    'apiBase',
    'workApiBase',
    'openBase',
    'store',
    'remoteUrl',
    'remoteKey',
    'sessionSecret',
    'publicUrl',
    'host',
  ] as const) {
    if (f[k] !== undefined && typeof f[k] !== 'string') throw configError(`${path}: ${k} must be a string`);
  }
  sources.push(path);
  return f;
}

/** ` at line L, column C` of a JSON.parse error, from its position or the context V8 quotes; else ''. */
function jsonErrorWhere(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : '';
  let pos = Number(/at position (\d+)/.exec(msg)?.[1] ?? Number.NaN);
  if (Number.isNaN(pos)) {
    const ctx = /"([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(msg)?.[1];
    const token = /^Unexpected token '([\s\S])'/.exec(msg)?.[1];
    const at = ctx === undefined ? -1 : text.indexOf(ctx);
    if (at !== -1 && ctx !== undefined) pos = at + Math.max(0, token ? ctx.indexOf(token) : 0);
  }
  if (Number.isNaN(pos)) return '';
  const before = text.slice(0, pos).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function checkTopology(raw: unknown, env: NodeJS.ProcessEnv, field = 'redis'): RedisTopology {
  const where = `wxkit.config.json ${field}`;
  if (typeof raw !== 'object' || raw === null) throw configError(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  const known = new Set(['sentinels', 'name', 'cluster', 'username', 'password', 'passwordEnv', 'db', 'tls']);
  for (const k of Object.keys(r))
    if (!known.has(k)) throw configError(`${where}: unknown field "${k.slice(0, 30)}"`);
  const nodes = (v: unknown, field: string) => {
    if (v === undefined) return undefined;
    const ok =
      Array.isArray(v) &&
      v.length > 0 &&
      v.every(
        (n) =>
          typeof n === 'object' &&
          n !== null &&
          typeof (n as RedisNode).host === 'string' &&
          Number.isInteger((n as RedisNode).port) &&
          (n as RedisNode).port > 0 &&
          (n as RedisNode).port < 65536,
      );
    if (!ok) throw configError(`${where}.${field} must be a list of {"host","port"}`);
    return (v as RedisNode[]).map((n) => ({ host: n.host, port: n.port }));
  };
  const sentinels = nodes(r.sentinels, 'sentinels');
  const cluster = nodes(r.cluster, 'cluster');
  if (!sentinels === !cluster)
    throw configError(`${where} needs either "sentinels" (with "name") or "cluster"`);
  for (const k of ['name', 'username', 'password', 'passwordEnv'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') throw configError(`${where}.${k} must be a string`);
  }
  if (r.db !== undefined && !(Number.isInteger(r.db) && (r.db as number) >= 0)) {
    throw configError(`${where}.db must be a database number`);
  }
  if (r.tls !== undefined && typeof r.tls !== 'boolean')
    throw configError(`${where}.tls must be true or false`);
  const password = r.passwordEnv ? env[r.passwordEnv as string] : (r.password as string | undefined);
  if (r.passwordEnv && !password)
    throw configError(`${where}: the variable ${r.passwordEnv} (passwordEnv) is not set`);
  return {
    ...(sentinels ? { sentinels, name: (r.name as string | undefined) ?? 'mymaster' } : {}),
    ...(cluster ? { cluster } : {}),
    ...(r.username === undefined ? {} : { username: r.username as string }),
    ...(password === undefined ? {} : { password }),
    ...(r.db === undefined ? {} : { db: r.db as number }),
    ...(r.tls === undefined ? {} : { tls: r.tls as boolean }),
  };
}

function checkAccount(a: AccountConfig, where: string): AccountConfig {
  if (a.tokenMode === 'remote') {
    if (!a.remoteUrl || !a.remoteKey) {
      throw configError(`${where}: remote token mode needs WXKIT_REMOTE_URL and WXKIT_REMOTE_KEY`);
    }
  } else if (!a.secret) {
    throw configError(`${where}: the AppSecret of ${a.appId} is missing (WX_APP_SECRET)`);
  }
  return a;
}

function checkAppId(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value.trim())) {
    throw configError(`${where} must be an AppID like wx1234567890abcdef`);
  }
  return value.trim();
}

function checkMode(value: unknown, where: string): TokenMode {
  if (value === 'stable' || value === 'classic' || value === 'remote') return value;
  throw configError(
    `${where} must be stable, classic or remote; got ${JSON.stringify(String(value).slice(0, 20))}`,
  );
}

function list(value: string | readonly string[] | undefined): string[] {
  const items = typeof value === 'string' ? value.split(',') : [...(value ?? [])];
  return items.map((s) => String(s).trim()).filter(Boolean);
}

function configError(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, message);
}
