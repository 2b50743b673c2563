/**
 * What a hint calls a setting. A library user passes options (`createHandler(wx, { sessionSecret })`,
 * `createWxkit({ jsDomains })`) and has no use for the name of a variable `wxkit serve` reads; a
 * `wxkit serve` operator sets variables and never sees the options. The handler reads no environment
 * itself (docs/decisions.md), so each hint names what its reader actually sets.
 */
const SETTINGS = {
  jsDomains: { option: 'jsDomains', env: 'WX_JS_DOMAINS' },
  corsOrigins: { option: 'corsOrigins', env: 'WXKIT_CORS_ORIGINS' },
  apiKeys: { option: 'apiKeys', env: 'WXKIT_API_KEYS' },
  sessionSecret: { option: 'sessionSecret', env: 'WXKIT_SESSION_SECRET' },
  publicUrl: { option: 'publicUrl', env: 'WXKIT_PUBLIC_URL' },
} as const;

/** A setting a hint may name. */
export type Setting = keyof typeof SETTINGS;

/** `options`: the handler's and accounts' option names (library mode); `env`: `wxkit serve`'s variables. */
export type SettingNames = 'options' | 'env';

/** The name of `setting` for a reader who configures wxkit by `names`. */
export function settingName(setting: Setting, names: SettingNames): string {
  const s = SETTINGS[setting];
  return names === 'env' ? s.env : s.option;
}
