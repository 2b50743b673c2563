import { parseJsDomains } from '../domains.ts';
import { isWxkitError } from '../errors.ts';
import type { Platform, PlatformStatus } from '../platform/platform.ts';
import { TICKET_EXPIRED_CAUSE } from '../platform/verify-ticket.ts';
import { createPushCrypto } from '../push/crypto.ts';
import { type CliIO, duration, parseFlags } from './io.ts';
import { openPlatform } from './platform.ts';

export const platformDoctorUsage = `wxkit doctor --platform [--app-id A] [--json]   (also plain \`wxkit doctor\` when WX_COMPONENT_APP_ID is set)
  Checks a third-party platform set-up (WX_COMPONENT_*), one line each: the four settings (the AES key is
  43 characters), the component_verify_ticket in the store (present, its age, 12 hours at most), the
  component token (cached, or fetched now), the authorized and revoked accounts, WX_COMPONENT_JS_DOMAINS,
  and with --app-id whether that account is authorized and signs pages. Exit 0 when nothing fails, 1
  otherwise. Never prints a secret, token or ticket.
  检查第三方平台配置（WX_COMPONENT_*），每项一行：四个设置（AES Key 为 43 位）、存储中的
  component_verify_ticket（是否存在、已有多久、不超过 12 小时）、component_access_token（已缓存或现在获取）、
  已授权与已取消授权的账号数、WX_COMPONENT_JS_DOMAINS，以及带 --app-id 时该账号是否已授权并能签名。
  没有失败项退出 0，否则退出 1。从不打印密钥、token 或票据。`;

interface Check {
  code: string;
  level: 'ok' | 'warn' | 'fail';
  en: string;
  zh: string;
}

const SETTINGS = ['WX_COMPONENT_APP_ID', 'WX_COMPONENT_SECRET', 'WX_COMPONENT_TOKEN', 'WX_COMPONENT_AES_KEY'];

/** The four settings: present, the appId well-formed, the AES key a 43-character EncodingAESKey. */
function settingsCheck(io: CliIO): Check {
  const value = (name: string) => io.env[name]?.trim() ?? '';
  const missing = SETTINGS.filter((n) => value(n) === '');
  if (missing.length > 0) {
    return {
      code: 'platform_settings_missing',
      level: 'fail',
      en: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set (开放平台 → 第三方平台 → 开发资料)`,
      zh: `未设置 ${missing.join('、')}（见「开放平台 → 第三方平台 → 开发资料」）`,
    };
  }
  const appId = value('WX_COMPONENT_APP_ID');
  if (!/^[\w-]{1,64}$/.test(appId)) {
    return {
      code: 'platform_settings_malformed',
      level: 'fail',
      en: 'WX_COMPONENT_APP_ID is not an AppID (letters, digits, _ or -)',
      zh: 'WX_COMPONENT_APP_ID 不是合法的 AppID（字母、数字、_ 或 -）',
    };
  }
  try {
    createPushCrypto({ encodingAESKey: value('WX_COMPONENT_AES_KEY'), receiveId: appId });
  } catch {
    return {
      code: 'platform_settings_malformed',
      level: 'fail',
      en: `WX_COMPONENT_AES_KEY is not a 43-character EncodingAESKey (A–Z, a–z, 0–9; it has ${value('WX_COMPONENT_AES_KEY').length}): every ticket push would fail to decrypt`,
      zh: `WX_COMPONENT_AES_KEY 不是 43 位的消息加解密Key（A–Z、a–z、0–9；当前 ${value('WX_COMPONENT_AES_KEY').length} 位）：所有 ticket 推送都无法解密`,
    };
  }
  return {
    code: 'platform_settings',
    level: 'ok',
    en: `${appId}: the four WX_COMPONENT_* settings are present; the AES key has 43 characters`,
    zh: `${appId}：四个 WX_COMPONENT_* 设置齐全，AES Key 为 43 位`,
  };
}

function ticketCheck({ verifyTicket: t }: PlatformStatus): Check {
  const age = t.ageMs === undefined ? '' : duration(t.ageMs);
  const left = t.expiresAt === undefined ? 0 : t.expiresAt - Date.now();
  switch (t.health) {
    case 'missing':
      return {
        code: 'platform_ticket_missing',
        level: 'fail',
        en: 'no component_verify_ticket in the store: check that the 授权事件接收URL on open.weixin.qq.com reaches POST /platform/events (WeChat pushes every 10 minutes)',
        zh: '存储中没有 component_verify_ticket：请确认开放平台上的「授权事件接收URL」能访问到 POST /platform/events（微信每 10 分钟推送一次）',
      };
    case 'expired':
      return { code: 'platform_ticket_expired', level: 'fail', ...TICKET_EXPIRED_CAUSE };
    case 'late':
      return {
        code: 'platform_ticket_late',
        level: 'warn',
        en: `the last component_verify_ticket was pushed ${age} ago (WeChat pushes every 10 minutes): check the 授权事件接收URL; it stops working in ${duration(left)}`,
        zh: `最近一次 component_verify_ticket 推送在 ${age} 前（微信每 10 分钟推送一次）：请检查「授权事件接收URL」；它将在 ${duration(left)} 后失效`,
      };
    default:
      return {
        code: 'platform_ticket',
        level: 'ok',
        en: `component_verify_ticket pushed ${age} ago, valid ${duration(left)} more`,
        zh: `component_verify_ticket 于 ${age} 前推送，还可用 ${duration(left)}`,
      };
  }
}

async function componentTokenCheck(
  platform: Platform,
  { componentToken: cached }: PlatformStatus,
): Promise<Check> {
  try {
    const { expiresAt } = await platform.componentTokenInfo();
    const how = cached.cached ? 'cached' : 'fetched now';
    const howZh = cached.cached ? '已缓存' : '刚刚获取';
    return {
      code: 'platform_component_token',
      level: 'ok',
      en: `component_access_token ${how}, expires in ${duration(expiresAt - Date.now())}`,
      zh: `component_access_token ${howZh}，${duration(expiresAt - Date.now())} 后过期`,
    };
  } catch (e) {
    const err = isWxkitError(e) ? e : undefined;
    const code = err?.errcode === undefined ? '' : ` (errcode ${err.errcode})`;
    return {
      code: 'platform_component_token_failed',
      level: 'fail',
      en: `the component_access_token cannot be obtained${code}: ${err?.message ?? String(e)}${err?.hint.en ? ` — ${err.hint.en}` : ''}`,
      zh: `无法获取 component_access_token${code}：${err?.messageZh ?? String(e)}${err?.hint.zh ? `——${err.hint.zh}` : ''}`,
    };
  }
}

function accountsCheck({ authorizers, revoked }: PlatformStatus): Check {
  if (authorizers === 0) {
    return {
      code: 'platform_no_accounts',
      level: 'warn',
      en: `no authorized account in the store (${revoked} revoked): send admins the link at GET /platform/authorize; after a store loss run \`wxkit platform sync\``,
      zh: `存储中没有已授权账号（已取消授权 ${revoked} 个）：请把 GET /platform/authorize 的链接发给公众号管理员；存储数据丢失后请执行 \`wxkit platform sync\``,
    };
  }
  return {
    code: 'platform_accounts',
    level: 'ok',
    en: `${authorizers} authorized accounts, ${revoked} revoked`,
    zh: `已授权账号 ${authorizers} 个，已取消授权 ${revoked} 个`,
  };
}

function domainsCheck(io: CliIO): Check {
  const raw = io.env.WX_COMPONENT_JS_DOMAINS ?? '';
  let hosts: string[];
  try {
    hosts = parseJsDomains(raw).map((d) => d.host + d.path);
  } catch (e) {
    return {
      code: 'platform_js_domains_invalid',
      level: 'fail',
      en: `WX_COMPONENT_JS_DOMAINS: ${e instanceof Error ? e.message : String(e)}`,
      zh: `WX_COMPONENT_JS_DOMAINS 无效：${isWxkitError(e) ? e.messageZh : String(e)}`,
    };
  }
  if (hosts.length === 0) {
    return {
      code: 'platform_js_domains_missing',
      level: 'fail',
      en: 'WX_COMPONENT_JS_DOMAINS is empty: no page of an authorized account can be signed. Set it to the platform’s 公众号开发域名',
      zh: 'WX_COMPONENT_JS_DOMAINS 为空：已授权账号的页面都无法签名。请设为第三方平台的「公众号开发域名」',
    };
  }
  return {
    code: 'platform_js_domains',
    level: 'ok',
    en: `JS domains (公众号开发域名): ${hosts.join(', ')}`,
    zh: `JS 安全域名（公众号开发域名）：${hosts.join('、')}`,
  };
}

/** Whether `appId` authorized the platform and gets a signature (its token and jsapi_ticket). */
async function appCheck(platform: Platform, appId: string, io: CliIO): Promise<Check> {
  try {
    const wx = await platform.authorizer(appId);
    const host = parseJsDomains(io.env.WX_COMPONENT_JS_DOMAINS ?? '')[0];
    if (host) await wx.jssdkConfig({ url: `https://${host.host}${host.path}/`, jsApiList: [] });
    else await wx.ticketInfo('jsapi');
    return {
      code: 'platform_app',
      level: 'ok',
      en: `${appId} is authorized and signs pages (its access_token and jsapi_ticket were obtained)`,
      zh: `${appId} 已授权，能为页面签名（已取得其 access_token 与 jsapi_ticket）`,
    };
  } catch (e) {
    const err = isWxkitError(e) ? e : undefined;
    const reason = err?.code ?? 'error';
    return {
      code: `platform_app_${reason}`,
      level: 'fail',
      en: `${appId}: ${err?.message ?? String(e)}${err?.hint.en ? ` — ${err.hint.en}` : ''}`,
      zh: `${appId}：${err?.messageZh ?? String(e)}${err?.hint.zh ? `——${err.hint.zh}` : ''}`,
    };
  }
}

/** `wxkit doctor --platform [--app-id A] [--json]`. */
export async function runPlatformDoctor(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    platform: { type: 'boolean', default: false },
    'app-id': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const checks: Check[] = [settingsCheck(io)];
  if (checks[0]?.level !== 'fail') {
    const platform = openPlatform(io);
    try {
      const status = await platform.status();
      checks.push(ticketCheck(status));
      checks.push(await componentTokenCheck(platform, status));
      checks.push(accountsCheck(status));
      checks.push(domainsCheck(io));
      const appId = values['app-id'];
      if (appId !== undefined) checks.push(await appCheck(platform, appId, io));
    } finally {
      await platform.close();
    }
  }
  const ok = checks.every((c) => c.level !== 'fail');
  if (values.json) io.out(JSON.stringify({ ok, checks }));
  else {
    const label = { ok: ['OK', '正确'], warn: ['WARN', '注意'], fail: ['FAIL', '错误'] } as const;
    for (const c of checks) {
      io.out(`${label[c.level][0]} [${c.code}] ${c.en}`);
      io.out(`${label[c.level][1]} [${c.code}] ${c.zh}`);
    }
  }
  return ok ? 0 : 1;
}
