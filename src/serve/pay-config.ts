import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { checkBaseUrl } from '../base-url.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { PayRouteOptions } from '../http/routes/pay.ts';
import { createPay } from '../pay/client.ts';

/**
 * `WXPAY_*`: the merchant `wxkit serve` takes JSAPI payments for. Keys may be PEM text or
 * a file path. Errors name the variable, never its value.
 */
export interface PaySettings {
  mchId: string;
  serialNo: string;
  /** PEM text (read from the file when a path was given). */
  privateKey: string;
  apiV3Key: string;
  publicKey?: string | undefined;
  publicKeyId?: string | undefined;
  apiBase?: string | undefined;
  /** `WXPAY_NOTIFY_FORWARD`: comma list of internal URLs that receive verified notifications. */
  forward: string[];
  /** `WXPAY_NOTIFY_FORWARD_SECRET`: HMAC key of `X-Wxkit-Signature` on forwarded notifications. */
  forwardSecret?: string | undefined;
  /** `WXPAY_NOTIFY_URL`: the notify_url orders carry. @default `<WXKIT_PUBLIC_URL>/pay/notify` */
  notifyUrl?: string | undefined;
}

const NAMES = [
  'WXPAY_MCH_ID',
  'WXPAY_SERIAL_NO',
  'WXPAY_PRIVATE_KEY',
  'WXPAY_API_V3_KEY',
  'WXPAY_PUBLIC_KEY',
  'WXPAY_PUBLIC_KEY_ID',
  'WXPAY_API_BASE',
  'WXPAY_NOTIFY_FORWARD',
  'WXPAY_NOTIFY_FORWARD_SECRET',
  'WXPAY_NOTIFY_URL',
] as const;

function configError(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, message, {
    hint: {
      en: 'See docs/pay.md, "Configuration".',
      zh: '见 docs/zh-CN/pay.md「配置」一节。',
    },
  });
}

/** PEM text as given (`\n` escapes allowed, for one-line environment values), or the file it names. */
function pemOrFile(value: string, name: string, cwd: string): string {
  if (value.includes('-----BEGIN')) return value.replace(/\\n/g, '\n');
  try {
    return readFileSync(isAbsolute(value) ? value : join(cwd, value), 'utf8');
  } catch {
    throw configError(`${name} is neither PEM text nor a readable file`);
  }
}

/** The payment settings, or `undefined` when `WXPAY_MCH_ID` is unset (payment off). */
export function readPaySettings(env: NodeJS.ProcessEnv, cwd: string): PaySettings | undefined {
  const e = (name: (typeof NAMES)[number]) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  const mchId = e('WXPAY_MCH_ID');
  if (mchId === undefined) {
    const stray = NAMES.find((n) => e(n) !== undefined);
    if (stray) throw configError(`${stray} is set but WXPAY_MCH_ID is not`);
    return undefined;
  }
  if (!/^\d{6,32}$/.test(mchId)) throw configError('WXPAY_MCH_ID must be the merchant id (digits)');
  const required = (name: (typeof NAMES)[number]) => {
    const v = e(name);
    if (v === undefined) throw configError(`${name} is required with WXPAY_MCH_ID`);
    return v;
  };
  const serialNo = required('WXPAY_SERIAL_NO');
  const privateKey = pemOrFile(required('WXPAY_PRIVATE_KEY'), 'WXPAY_PRIVATE_KEY', cwd);
  const apiV3Key = required('WXPAY_API_V3_KEY');
  const publicKeyRaw = e('WXPAY_PUBLIC_KEY');
  const publicKeyId = e('WXPAY_PUBLIC_KEY_ID');
  if ((publicKeyRaw === undefined) !== (publicKeyId === undefined)) {
    throw configError('WXPAY_PUBLIC_KEY and WXPAY_PUBLIC_KEY_ID go together');
  }
  const forward = required('WXPAY_NOTIFY_FORWARD')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [i, url] of forward.entries()) {
    if (!/^https?:\/\//.test(url))
      throw configError(`WXPAY_NOTIFY_FORWARD entry ${i + 1} is not an http(s) URL`);
    checkBaseUrl(url, 'WXPAY_NOTIFY_FORWARD');
  }
  const forwardSecret = e('WXPAY_NOTIFY_FORWARD_SECRET');
  if (forwardSecret !== undefined && forwardSecret.length < 16) {
    throw configError('WXPAY_NOTIFY_FORWARD_SECRET needs at least 16 characters');
  }
  const apiBase = e('WXPAY_API_BASE');
  const notifyUrl = e('WXPAY_NOTIFY_URL');
  return {
    mchId,
    serialNo,
    privateKey,
    apiV3Key,
    ...(publicKeyRaw !== undefined
      ? { publicKey: pemOrFile(publicKeyRaw, 'WXPAY_PUBLIC_KEY', cwd), publicKeyId }
      : {}),
    ...(apiBase !== undefined ? { apiBase: checkBaseUrl(apiBase, 'WXPAY_API_BASE') } : {}),
    forward,
    ...(forwardSecret !== undefined ? { forwardSecret } : {}),
    ...(notifyUrl !== undefined ? { notifyUrl: checkBaseUrl(notifyUrl, 'WXPAY_NOTIFY_URL') } : {}),
  };
}

/** The pay routes' options for the settings (the merchant client is made here, so bad keys stop the start). */
export function payRouteOptions(settings: PaySettings | undefined): PayRouteOptions | undefined {
  if (!settings) return undefined;
  const client = createPay({
    mchId: settings.mchId,
    serialNo: settings.serialNo,
    privateKey: settings.privateKey,
    apiV3Key: settings.apiV3Key,
    ...(settings.publicKey !== undefined
      ? { publicKey: settings.publicKey, publicKeyId: settings.publicKeyId }
      : {}),
    ...(settings.apiBase !== undefined ? { apiBase: settings.apiBase } : {}),
  });
  return {
    client,
    forward: settings.forward,
    forwardSecret: settings.forwardSecret,
    ...(settings.notifyUrl !== undefined ? { notifyUrl: settings.notifyUrl } : {}),
  };
}
