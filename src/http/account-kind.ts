import { ErrorCodes, WxkitError } from '../errors.ts';
import type { Account, Wecom, Wxkit } from '../types.ts';

/**
 * The handler holds accounts of both kinds (Official Accounts and WeCom apps) as `Account`. A route
 * that only makes sense for one kind narrows with these, so a page that selects the wrong kind gets a
 * 400 that says which kind the route needs, never a method missing at run time (a 500).
 */

/** True for a WeCom app (`createWecom()`). */
export function isWecom(account: Account): account is Wecom {
  return account.type === 'wecom';
}

/** The account as an Official Account, or `invalid_request` naming the route that needs one. */
export function officialAccount(account: Account, what: string): Wxkit {
  if (!isWecom(account)) return account as Wxkit;
  throw new WxkitError(
    ErrorCodes.INVALID_REQUEST,
    `${what} is for Official Accounts; ${account.appId} is a WeCom app (agentId ${account.agentId}).`,
    {
      zh: `${what} 仅用于公众号；${account.appId} 是企业微信应用（agentId ${account.agentId}）。`,
      hint: {
        en: 'Pass the appId of an Official Account this service holds, or use the WeCom routes (/jssdk/config, /jssdk/agent-config, /oauth/login) for the corp.',
        zh: '请传入本服务持有的公众号 appId；企业微信应用请使用 /jssdk/config、/jssdk/agent-config、/oauth/login。',
      },
      details: { reason: 'wecom_account', accountType: 'wecom' },
    },
  );
}

/** The account as a WeCom app, or `invalid_request` naming the route that needs one. */
export function wecomAccount(account: Account, what: string): Wecom {
  if (isWecom(account)) return account;
  throw new WxkitError(
    ErrorCodes.INVALID_REQUEST,
    `${what} is for WeCom apps; ${account.appId} is an Official Account.`,
    {
      zh: `${what} 仅用于企业微信应用；${account.appId} 是公众号。`,
      hint: {
        en: 'Pass appId=<corpId> of a WeCom app this service holds (and agentId when the corp has several apps).',
        zh: '请传入本服务持有的企业微信应用的 appId=<corpId>（企业有多个应用时再传 agentId）。',
      },
      details: { reason: 'official_account', accountType: 'official' },
    },
  );
}

/** An agentId from a query or body: digits, as a string or a number; undefined when absent. */
export function readAgentId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,20}$/.test(text)) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'agentId must be the digits of a WeCom AgentId.', {
      zh: 'agentId 应为企业微信应用 AgentId 的数字。',
    });
  }
  return text;
}
