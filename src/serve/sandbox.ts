import type { WxkitConfig } from '../config.ts';
import { isLoopbackHost } from '../domains.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';

/**
 * Variables that only a deployment sets: any of them means "this is not a laptop". Half an account (a
 * secret, an agent id, a token mode) says the other half did not arrive; the rest describe traffic a
 * laptop does not have (a proxy in front, page origins, card ids, limits and timeouts tuned for it,
 * remote custody). Left out on purpose: `WXKIT_LOG`, the `WX_*_BASE` pointers (how one reaches the
 * simulator), `WXKIT_SESSION_SECRET` (a sandbox with `--workers` shares sessions with it) and a
 * `file:` media store.
 */
const PRODUCTION_VARIABLES = [
  'WX_APP_SECRET',
  'WX_CORP_ID',
  'WX_CORP_SECRET',
  'WX_CORP_AGENT_ID',
  'WX_TOKEN_MODE',
  'WX_JS_DOMAINS',
  'WXKIT_PUBLIC_URL',
  'WXKIT_STORE',
  'WXKIT_API_KEYS',
  'WXKIT_CONFIG',
  'WXKIT_TRUST_PROXY',
  'WXKIT_CORS_ORIGINS',
  'WXKIT_CARD_IDS',
  'WXKIT_CARD_SHOP_IDS',
  'WXKIT_RATE_LIMIT',
  'WXKIT_IDLE_TIMEOUT',
  'WXKIT_WRITE_TIMEOUT',
  'WXKIT_REMOTE_URL',
  'WXKIT_REMOTE_KEY',
] as const;

/** A media store other machines share (`redis://`, `s3://`): a deployment's, never a laptop's. */
function sharedMediaStore(env: NodeJS.ProcessEnv): boolean {
  const spec = env.WXKIT_MEDIA_STORE?.trim() ?? '';
  return spec !== '' && !spec.startsWith('file:');
}

function isSet(env: NodeJS.ProcessEnv, name: string): boolean {
  return (env[name]?.trim() ?? '') !== '';
}

/** `host` as a listen address is loopback (`127.0.0.1`, `::1`, `localhost`), not `0.0.0.0` or a LAN address. */
export function isLoopbackListen(host: string): boolean {
  const h = host.trim();
  return isLoopbackHost(h.startsWith('[') ? h : h.includes(':') ? `[${h}]` : h);
}

/** `WXKIT_SANDBOX`: `1`/`true` asks for the sandbox; unset, `0`, `false` do not. */
function sandboxVariable(env: NodeJS.ProcessEnv): boolean {
  const v = env.WXKIT_SANDBOX?.trim().toLowerCase() ?? '';
  if (v === '1' || v === 'true') return true;
  if (v === '' || v === '0' || v === 'false') return false;
  throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'WXKIT_SANDBOX must be 1 or 0');
}

/**
 * What says this process is a deployment rather than a laptop: a non-loopback listen address, a
 * production variable, a config file. Names only — `WXKIT_STORE` may hold a Redis password.
 */
export function productionSignals(config: WxkitConfig, env: NodeJS.ProcessEnv, host: string): string[] {
  const signals: string[] = [];
  if (!isLoopbackListen(host)) signals.push(`HOST=${host.slice(0, 60)}`);
  for (const name of PRODUCTION_VARIABLES) if (isSet(env, name)) signals.push(name);
  if (sharedMediaStore(env)) signals.push('WXKIT_MEDIA_STORE');
  // A config file without accounts expected them from the environment (WX_APP_ID): it is missing.
  const file = config.sources.find((s) => s !== 'env');
  if (file !== undefined && !isSet(env, 'WXKIT_CONFIG')) signals.push('wxkit.config.json');
  return signals;
}

/**
 * Whether `wxkit serve` runs the sandbox (SPEC §10).
 *
 * Stops a deployment whose account did not arrive (an unset `WX_APP_ID`, an unmounted config file) from
 * quietly becoming a sandbox on the public interface: `/readyz` green, the real domain's pages signed
 * with the sandbox appId, sandbox tokens on `/v1`. Without an account the sandbox runs only on a
 * loopback address with no production variable, or when asked for with `--sandbox` / `WXKIT_SANDBOX=1`.
 *
 * @throws {WxkitError} `config_error` (exit 1, one line naming `WX_APP_ID`) otherwise.
 */
export function decideSandbox(
  config: WxkitConfig,
  env: NodeJS.ProcessEnv,
  options: { host: string; flag?: boolean | undefined },
): boolean {
  const asked = options.flag === true || sandboxVariable(env);
  if (config.accounts.length > 0 || config.wecom.length > 0) {
    if (asked) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        '--sandbox (WXKIT_SANDBOX=1) asks for the simulator, but an account is configured (WX_APP_ID, WX_CORP_ID or the config file)',
        {
          hint: {
            en: 'Drop --sandbox / WXKIT_SANDBOX to serve the account, or unset WX_APP_ID to run the sandbox.',
            zh: '要服务已配置的公众号请去掉 --sandbox / WXKIT_SANDBOX；要运行沙箱请取消 WX_APP_ID。',
          },
        },
      );
    }
    return false;
  }
  if (asked) return true;
  const signals = productionSignals(config, env, options.host);
  if (signals.length === 0) return true;
  throw new WxkitError(
    ErrorCodes.CONFIG_ERROR,
    `WX_APP_ID is not set (no account is configured), but ${signals.join(', ')} ${signals.length === 1 ? 'says' : 'say'} this is a deployment: refusing to start the sandbox`,
    {
      hint: {
        en: 'Set WX_APP_ID and WX_APP_SECRET, or run the sandbox on purpose with wxkit serve --sandbox (WXKIT_SANDBOX=1).',
        zh: '未设置 WX_APP_ID：请设置 WX_APP_ID 与 WX_APP_SECRET；确需沙箱模式请用 wxkit serve --sandbox（或 WXKIT_SANDBOX=1）。',
      },
    },
  );
}
