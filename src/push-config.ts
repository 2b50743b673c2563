import { checkBaseUrl } from './base-url.ts';
import { ErrorCodes, WxkitError } from './errors.ts';

/**
 * Message-push settings of the service: `WX_PUSH_TOKEN`, `WX_PUSH_AES_KEY`, `WX_PUSH_FORWARD`
 * for every account that has none of its own, a `push` object per account in `wxkit.config.json`, and
 * `WXKIT_PUSH_FORWARD_SECRET`, which signs every forwarded body.
 */

/** One account's server-URL settings (服务器配置). */
export interface PushAccountConfig {
  /** The Token: 3–32 letters and digits. */
  token: string;
  /** The 43-character EncodingAESKey; absent in plaintext mode. */
  encodingAESKey?: string | undefined;
  /** Internal URLs every message is POSTed to; the first one's answer is the reply. */
  forward: string[];
}

/** The `push` object of an account in `wxkit.config.json`. */
export interface PushAccountFile {
  token?: string;
  /** Name of an environment variable holding the Token. */
  tokenEnv?: string;
  encodingAESKey?: string;
  /** Name of an environment variable holding the EncodingAESKey. */
  encodingAESKeyEnv?: string;
  forward?: string[] | string;
}

const PUSH_KEYS = new Set(['token', 'tokenEnv', 'encodingAESKey', 'encodingAESKeyEnv', 'forward']);

/** The shortest `WXKIT_PUSH_FORWARD_SECRET` accepted. */
export const MIN_FORWARD_SECRET_LENGTH = 16;

function configError(message: string, hint?: { en: string; zh: string }): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, message, hint ? { hint } : {});
}

function list(value: string | readonly string[] | undefined): string[] {
  const items = typeof value === 'string' ? value.split(',') : [...(value ?? [])];
  return items.map((s) => String(s).trim()).filter(Boolean);
}

/**
 * Checks one account's push settings; `where` names the variable or field in errors (never a value).
 *
 * @throws {WxkitError} `config_error`.
 */
export function checkPushConfig(
  raw: { token?: unknown; encodingAESKey?: unknown; forward?: unknown },
  where: { token: string; key: string; forward: string },
): PushAccountConfig {
  const { token, encodingAESKey } = raw;
  if (typeof token !== 'string' || !/^[A-Za-z0-9]{3,32}$/.test(token)) {
    throw configError(`${where.token} must be the Token of 服务器配置: 3–32 letters and digits`);
  }
  if (
    encodingAESKey !== undefined &&
    (typeof encodingAESKey !== 'string' || !/^[A-Za-z0-9+/]{43}$/.test(encodingAESKey))
  ) {
    throw configError(`${where.key} must be the 43-character EncodingAESKey of 服务器配置`, {
      en: 'Copy the EncodingAESKey whole from the admin console (服务器配置); it has 43 characters.',
      zh: '请从公众平台“服务器配置”完整复制 EncodingAESKey（43 位）。',
    });
  }
  if (raw.forward !== undefined && typeof raw.forward !== 'string' && !Array.isArray(raw.forward)) {
    throw configError(`${where.forward} must be a list of URLs`);
  }
  const forward = list(raw.forward as string | string[] | undefined).map((u) =>
    checkBaseUrl(u, where.forward),
  );
  return {
    token,
    ...(encodingAESKey === undefined ? {} : { encodingAESKey: encodingAESKey as string }),
    forward,
  };
}

/** `WX_PUSH_TOKEN`, `WX_PUSH_AES_KEY`, `WX_PUSH_FORWARD`: the default for every account, or none. */
export function pushFromEnv(e: (name: string) => string | undefined): PushAccountConfig | undefined {
  const token = e('WX_PUSH_TOKEN');
  const key = e('WX_PUSH_AES_KEY');
  const forward = e('WX_PUSH_FORWARD');
  if (token === undefined) {
    if (key !== undefined || forward !== undefined) {
      throw configError(
        `${key !== undefined ? 'WX_PUSH_AES_KEY' : 'WX_PUSH_FORWARD'} is set but WX_PUSH_TOKEN is not`,
      );
    }
    return undefined;
  }
  return checkPushConfig(
    { token, encodingAESKey: key, forward },
    { token: 'WX_PUSH_TOKEN', key: 'WX_PUSH_AES_KEY', forward: 'WX_PUSH_FORWARD' },
  );
}

/** An account's `push` object of the config file. */
export function pushFromFile(raw: unknown, where: string, env: NodeJS.ProcessEnv): PushAccountConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw configError(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!PUSH_KEYS.has(k)) throw configError(`${where}: unknown field "${k.slice(0, 30)}"`);
  const fromEnv = (name: unknown, field: string) => {
    if (name === undefined) return undefined;
    if (typeof name !== 'string')
      throw configError(`${where}.${field} must be the name of an environment variable`);
    const v = env[name]?.trim();
    if (!v) throw configError(`${where}: the variable ${name} (${field}) is not set`);
    return v;
  };
  return checkPushConfig(
    {
      token: fromEnv(r.tokenEnv, 'tokenEnv') ?? r.token,
      encodingAESKey: fromEnv(r.encodingAESKeyEnv, 'encodingAESKeyEnv') ?? r.encodingAESKey,
      forward: r.forward,
    },
    { token: `${where}.token`, key: `${where}.encodingAESKey`, forward: `${where}.forward` },
  );
}

/**
 * `WXKIT_PUSH_FORWARD_SECRET`: required once any account forwards, at least
 * {@link MIN_FORWARD_SECRET_LENGTH} characters.
 *
 * Stops forwarded messages that the team's services cannot tell from forgeries: without the HMAC, anyone
 * who reaches an internal URL can post "a user said…".
 */
export function checkForwardSecret(secret: string | undefined, forwarding: boolean): string | undefined {
  if (!forwarding) return secret;
  if (secret === undefined || secret.length < MIN_FORWARD_SECRET_LENGTH) {
    throw configError(
      `WXKIT_PUSH_FORWARD_SECRET ${secret === undefined ? 'is not set' : `is ${secret.length} characters`}; forwarding pushed messages needs a secret of at least ${MIN_FORWARD_SECRET_LENGTH} characters`,
      {
        en: 'Set WXKIT_PUSH_FORWARD_SECRET to a long random value (openssl rand -hex 24) and check X-Wxkit-Signature in the receiving service.',
        zh: '请将 WXKIT_PUSH_FORWARD_SECRET 设为足够长的随机值（openssl rand -hex 24），并在接收服务中校验 X-Wxkit-Signature。',
      },
    );
  }
  return secret;
}
