import { asRecord, json, parseJson, type SimRoute } from '../http.ts';
import type { SimState } from '../state.ts';
import { firstMember, type SimAgent, type SimCorp, type SimWecomUser } from './state.ts';

/**
 * WeCom's part of the control API: `GET /__sim/corps` (corps, apps, users; never a secret),
 * `POST /__sim/wecom/user` (who the simulated WeCom client is logged in as, for OAuth) and
 * `POST /__sim/wecom/token/expire` (WeCom ends an app's access_token early). Bad input → HTTP 400
 * `{"error":{"code":"invalid_request","message"}}`.
 */

export class WecomControlError extends Error {}

function corpOf(state: SimState, corpId: unknown): SimCorp {
  const corp = typeof corpId === 'string' ? state.wecom.corp(corpId) : undefined;
  if (!corp) throw new WecomControlError('corpId is not a simulated corp');
  return corp;
}

function agentOf(state: SimState, corp: SimCorp, agentId: unknown): SimAgent {
  const agent =
    agentId === undefined ? corp.agents.values().next().value : state.wecom.agent(corp.corpId, agentId);
  if (!agent) throw new WecomControlError('agentId is not an app of this corp');
  return agent;
}

function only(input: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(input))
    if (!keys.includes(k)) throw new WecomControlError(`unknown field "${k}"`);
}

/**
 * `{corpId, userid}` or `{corpId, openid}` chooses the user WeCom OAuth logs in from now on;
 * `{corpId}` alone goes back to the first member. Answers the chosen user.
 */
export function setWecomUser(state: SimState, input: Record<string, unknown>): SimWecomUser | undefined {
  only(input, ['corpId', 'userid', 'openid']);
  const corp = corpOf(state, input.corpId);
  const { userid, openid } = input;
  if (userid !== undefined && openid !== undefined)
    throw new WecomControlError('give userid or openid, not both');
  if (userid === undefined && openid === undefined) {
    corp.currentUser = undefined;
    return firstMember(corp);
  }
  const user = corp.users.find((u) =>
    userid !== undefined ? 'userid' in u && u.userid === userid : 'openid' in u && u.openid === openid,
  );
  if (!user) throw new WecomControlError('no such simulated user in this corp (see GET /__sim/corps)');
  corp.currentUser = user;
  return user;
}

/** Ends an app's access_token now; calls with it get 42001 and the next gettoken issues a new one. */
export function expireWecomToken(
  state: SimState,
  input: Record<string, unknown>,
): { corpId: string; agentId: string; expired: boolean } {
  only(input, ['corpId', 'agentId']);
  const corp = corpOf(state, input.corpId);
  const agent = agentOf(state, corp, input.agentId);
  return { corpId: corp.corpId, agentId: agent.agentId, expired: state.wecom.expireToken(agent) };
}

async function body(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.trim() === '') return {};
  const value = asRecord(parseJson(text));
  if (!value) throw new WecomControlError('body must be a JSON object');
  return value;
}

function guard(fn: (input: Record<string, unknown>, state: SimState) => unknown) {
  return async (req: Request, ctx: { state: SimState }) => {
    try {
      return json(fn(await body(req), ctx.state));
    } catch (e) {
      if (e instanceof WecomControlError) {
        return json({ error: { code: 'invalid_request', message: e.message } }, 400);
      }
      throw e;
    }
  };
}

export const wecomControlRoutes: SimRoute[] = [
  {
    path: '/__sim/corps',
    methods: ['GET'],
    cors: true,
    handler: (_req, { state }) =>
      json({
        corps: [...state.wecom.corps.values()].map((c) => ({
          corpId: c.corpId,
          agents: [...c.agents.values()].map((a) => ({ agentId: a.agentId, jsDomains: a.jsDomains })),
          users: c.users,
          currentUser: c.currentUser ?? firstMember(c) ?? null,
        })),
      }),
  },
  {
    path: '/__sim/wecom/user',
    methods: ['POST'],
    cors: true,
    handler: guard((input, state) => ({ corpId: input.corpId, user: setWecomUser(state, input) ?? null })),
  },
  {
    path: '/__sim/wecom/token/expire',
    methods: ['POST'],
    cors: true,
    handler: guard((input, state) => expireWecomToken(state, input)),
  },
];
