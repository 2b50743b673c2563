import { signJssdk } from '../../signature.ts';
import { type BridgeConfigInput, onDomains, text, verifiedUrl } from '../bridge/verify.ts';
import type { SimState } from '../state.ts';
import type { SimAgent } from './state.ts';

/**
 * What WeCom's client checks on `wx.agentConfig({corpid, agentid, timestamp, nonceStr, signature,
 * jsApiList})`, and the agent-only `wx.invoke` APIs that need it. The signature algorithm is the one of
 * `wx.config`; the ticket is the APP's (ticket/get?type=agent_config), not the corp's.
 */

/** What the bridge script sends for `wx.agentConfig`, plus the corpId of the page's successful `wx.config`. */
export interface AgentConfigInput extends Omit<BridgeConfigInput, 'appId'> {
  corpid?: unknown;
  agentid?: unknown;
  /** The appId of the page's successful `wx.config`, `undefined` when it has none. */
  configuredAppId: string | undefined;
}

export interface AgentConfigResult {
  errMsg: string;
  realAuthUrl?: string;
  agent?: SimAgent;
}

/**
 * The checks in order. The simulator imitates WeCom clients before 3.0.24, which need a successful
 * `wx.config` first (newer ones accept agentConfig alone): a page that passes here passes on both.
 *
 * - no successful `wx.config` on the page → `agentConfig:fail, …` (the old clients' rule);
 * - a required field missing → `agentConfig:fail`;
 * - corpid not a simulated corp, or not the corp of `wx.config` ("必须与当前登录的企业一致") → `agentConfig:invalid corpId`;
 * - agentid not an app of the corp (number or string of digits both accepted) → `agentConfig:invalid agentId`;
 * - the page not on the APP's trusted domains (可信域名) → `agentConfig:invalid url domain`;
 * - the signature not over the verified URL with the app's current agent_config ticket (the corp
 *   ticket is the classic mistake) → `agentConfig:invalid signature`.
 */
export function verifyAgentConfig(state: SimState, input: AgentConfigInput): AgentConfigResult {
  if (input.configuredAppId === undefined) {
    return { errMsg: 'agentConfig:fail, wx.config has not succeeded on this page' };
  }
  const corpId = text(input.corpid);
  const timestamp = text(input.timestamp);
  const nonceStr = text(input.nonceStr);
  const signature = text(input.signature);
  const current = text(input.url);
  if (!corpId || input.agentid === undefined || !timestamp || !nonceStr || !signature || !current) {
    return { errMsg: 'agentConfig:fail' };
  }
  const verified = verifiedUrl(state, input, current);
  const fail = (errMsg: string): AgentConfigResult =>
    input.debug === true ? { errMsg, realAuthUrl: verified } : { errMsg };
  if (!state.wecom.corp(corpId) || corpId !== input.configuredAppId)
    return fail('agentConfig:invalid corpId');
  const agent = state.wecom.agent(corpId, input.agentid);
  if (!agent) return fail('agentConfig:invalid agentId');
  if (!onDomains(verified, agent.jsDomains)) return fail('agentConfig:invalid url domain');
  const ticket = state.wecom.currentAgentTicket(corpId, agent.agentId);
  if (!ticket || signature !== signJssdk({ ticket, nonceStr, timestamp, url: verified })) {
    return fail('agentConfig:invalid signature');
  }
  return { errMsg: 'agentConfig:ok', agent };
}

/** The agent-only `wx.invoke` APIs the bridge implements, and what each answers on success. */
const AGENT_APIS: Record<string, (agent: SimAgent, state: SimState) => Record<string, unknown>> = {
  getCurExternalContact: (agent, state) => ({ userId: externalContacts(agent, state)[0] ?? '' }),
  selectExternalContact: (agent, state) => ({ userIds: externalContacts(agent, state) }),
  openUserProfile: () => ({}),
};

function externalContacts(agent: SimAgent, state: SimState): string[] {
  const users = state.wecom.corp(agent.corpId)?.users ?? [];
  return users.flatMap((u) => ('external_userid' in u && u.external_userid ? [u.external_userid] : []));
}

/**
 * `wx.invoke(name, args, cb)` for an agent-only API: `<name>:ok` only after a successful
 * `wx.agentConfig` whose jsApiList named it; `<name>:fail_no permission` otherwise. Answers in
 * `err_msg`, as WeCom's invoke callbacks do.
 */
export function invokeAgentApi(
  state: SimState,
  name: unknown,
  session: { agent: SimAgent | undefined; agentApis: ReadonlySet<string> },
): Record<string, unknown> {
  const api = typeof name === 'string' && /^\w{1,64}$/.test(name) ? name : 'invoke';
  const run = AGENT_APIS[api];
  if (!run) return { err_msg: `${api}:fail, function not exist` };
  if (!session.agent || !session.agentApis.has(api)) return { err_msg: `${api}:fail_no permission` };
  return { err_msg: `${api}:ok`, ...run(session.agent, state) };
}
