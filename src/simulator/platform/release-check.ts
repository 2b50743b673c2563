import { randomBytes } from 'node:crypto';
import { badRequest, json, type SimRoute } from '../http.ts';
import { deliver } from '../push/deliver.ts';
import type { PushFields } from '../push/message.ts';
import { originalIdOf, type PushEndpoint, type PushRecord, pushStateOf } from '../push/state.ts';
import type { SimState } from '../state.ts';
import { componentRoute } from './control.ts';
import { componentMessagesEndpoint } from './messages.ts';
import { pusherOf } from './pusher.ts';
import { platformOf } from './routes.ts';
import type { SimComponent } from './state.ts';

/**
 * 全网发布 (the release check), as WeChat's robot runs it before a third-party platform may go live:
 * (1) a component_verify_ticket push to the 授权事件接收URL must be answered `success`; (2) the text
 * `TESTCOMPONENT_MSG_TYPE_TEXT` from a fan of the test account, pushed encrypted to the
 * 消息与事件接收URL, must get the encrypted passive reply `TESTCOMPONENT_MSG_TYPE_TEXT_callback`;
 * (3) `QUERY_AUTH_CODE:$code$` must be answered with an empty body within 5 s, after which the platform
 * calls `api_query_auth` with the code and sends `$code$_from_api` to the fan through
 * `cgi-bin/message/custom/send` with the authorizer token it got. The pushes are real HTTP exchanges
 * (logged in `/__sim/push/log`); the test account is one of WeChat's fixed ones (docs/wechat-facts.md).
 */

/** WeChat's fixed test Official Accounts and their original ids (docs/wechat-facts.md). */
export const RELEASE_TEST_ACCOUNTS: Readonly<Record<string, string>> = {
  wx570bc396a51b8ff8: 'gh_3c884a361561',
  wx9252c5e0bb1836fc: 'gh_c0f28a78b318',
  wx8e1097c5bc82cde9: 'gh_3f222ed8d140',
  wx14550af28c71a144: 'gh_26128078e9ab',
  wxa35b9c23cfe664eb: 'gh_2b3713f184a6',
};
/** The test account used unless the request names another. */
export const RELEASE_TEST_APP_ID = 'wx570bc396a51b8ff8';
/** How long (real ms) the API case waits for api_query_auth and custom/send after the empty answer. */
const DEFAULT_WAIT_MS = 10_000;

/** One case of the check. */
export interface ReleaseCase {
  name: 'ticket' | 'text' | 'api';
  passed: boolean;
  /** Why it failed, or what passed. */
  reason: string;
  /** The push in `/__sim/push/log` (message cases). */
  pushId?: number;
}

export interface ReleaseReport {
  componentAppId: string;
  authorizerAppId: string;
  passed: boolean;
  cases: ReleaseCase[];
}

function pass(name: ReleaseCase['name'], reason: string, pushId?: number): ReleaseCase {
  return { name, passed: true, reason, ...(pushId === undefined ? {} : { pushId }) };
}

function fail(name: ReleaseCase['name'], reason: string, pushId?: number): ReleaseCase {
  return { name, passed: false, reason, ...(pushId === undefined ? {} : { pushId }) };
}

/** Why the first try of a push is not a usable answer, or undefined when it is. */
function transportProblem(record: PushRecord): string | undefined {
  const first = record.tries[0];
  if (!first) return 'no request was made';
  if (first.outcome === 'timeout') return 'no answer within 5 s';
  if (first.outcome === 'network') return `cannot connect to ${first.url}`;
  if (first.status === undefined || first.status < 200 || first.status > 299) {
    return `answered HTTP ${first.status}: ${JSON.stringify((first.body ?? '').slice(0, 120))}`;
  }
  return undefined;
}

async function ticketCase(state: SimState, c: SimComponent): Promise<ReleaseCase> {
  if (!c.eventsUrl) return fail('ticket', 'no 授权事件接收URL is configured (eventsUrl)');
  const r = await pusherOf(state, platformOf(state)).pushTicket(c);
  if (r.ok) return pass('ticket', 'the ticket push was answered "success"');
  if (r.status === 0) return fail('ticket', `no answer from ${c.eventsUrl} within 5 s`);
  return fail(
    'ticket',
    `answered HTTP ${r.status} ${JSON.stringify(r.answer.slice(0, 120))} instead of "success"`,
  );
}

interface Exchange {
  state: SimState;
  endpoint: PushEndpoint;
  fan: string;
}

/** Pushes a text from the fan to the test account, encrypted for the component. */
function pushText(x: Exchange, content: string): Promise<PushRecord> {
  const push = pushStateOf(x.state);
  const fields: PushFields = {
    ToUserName: x.endpoint.toUserName,
    FromUserName: x.fan,
    CreateTime: push.clock(x.state),
    MsgType: 'text',
    Content: content,
    MsgId: push.msgId(),
  };
  // The fan just wrote: custom/send may reach them for 48 hours.
  push.active(x.endpoint.appId, x.fan, x.state.now());
  return deliver(x.state, { endpoint: x.endpoint, fields, mode: 'safe', format: 'xml' });
}

const TEXT = 'TESTCOMPONENT_MSG_TYPE_TEXT';

async function textCase(x: Exchange): Promise<ReleaseCase> {
  const record = await pushText(x, TEXT);
  const problem = transportProblem(record);
  if (problem) return fail('text', problem, record.id);
  const wanted = `${TEXT}_callback`;
  if (record.result === 'replied' && record.reply?.MsgType === 'text' && record.reply.Content === wanted) {
    return pass('text', `replied "${wanted}" (encrypted)`, record.id);
  }
  if (record.result === 'no-reply') {
    return fail('text', `no reply; expected the encrypted text reply "${wanted}"`, record.id);
  }
  if (record.result === 'bad-reply')
    return fail('text', `the reply was refused: ${record.problem}`, record.id);
  const got = record.reply?.Content ?? record.reply?.MsgType;
  return fail(
    'text',
    `replied ${JSON.stringify(String(got).slice(0, 120))} instead of "${wanted}"`,
    record.id,
  );
}

async function apiCase(x: Exchange, c: SimComponent, waitMs: number): Promise<ReleaseCase> {
  const p = platformOf(x.state);
  // WeChat configures the test account as an authorizer itself: no authorization event is pushed.
  const onEvent = p.onEvent;
  p.onEvent = undefined;
  let code: string;
  try {
    code = p.authorize(c, x.endpoint.appId).authCode;
  } finally {
    p.onEvent = onEvent;
  }
  const push = pushStateOf(x.state);
  const seenBefore = push.seen.length;
  const record = await pushText(x, `QUERY_AUTH_CODE:${code}`);
  const problem = transportProblem(record);
  if (problem) return fail('api', problem, record.id);
  const body = record.tries[0]?.body ?? '';
  if (record.tries.length > 1 || body.trim() !== '') {
    return fail(
      'api',
      `answered ${JSON.stringify(body.slice(0, 120))}; the check wants an empty body within 5 s`,
      record.id,
    );
  }
  const wanted = `${code}_from_api`;
  const until = Date.now() + waitMs;
  const queried = () => c.authCodes.get(code)?.used === true;
  const sent = () =>
    push.seen
      .slice(seenBefore)
      .some(
        (s) => s.appId === x.endpoint.appId && s.user === x.fan && s.via === 'custom' && s.content === wanted,
      );
  while (Date.now() < until && !(queried() && sent())) await new Promise((r) => setTimeout(r, 25));
  if (!queried()) {
    return fail('api', `api_query_auth was not called with the code within ${waitMs} ms`, record.id);
  }
  if (!sent()) {
    const other = push.seen.slice(seenBefore).find((s) => s.appId === x.endpoint.appId && s.via === 'custom');
    return fail(
      'api',
      other
        ? `custom/send sent ${JSON.stringify(other.content.slice(0, 120))} instead of "${wanted}"`
        : `no customer-service text "${wanted}" reached the fan within ${waitMs} ms`,
      record.id,
    );
  }
  return pass('api', `empty answer, then api_query_auth and custom/send "${wanted}"`, record.id);
}

/** Runs the three cases against the component's URLs, in WeChat's order. */
export async function runReleaseCheck(
  state: SimState,
  c: SimComponent,
  input: { authorizerAppId: string; waitMs: number },
): Promise<ReleaseReport> {
  const appId = input.authorizerAppId;
  const app = state.app(appId) ?? state.addApp({ appId, secret: randomBytes(16).toString('base64url') });
  const cases: ReleaseCase[] = [await ticketCase(state, c)];
  const fan = app.users[0]?.openid ?? `o${appId.slice(-12)}fan`;
  if (!c.messagesUrl) {
    const reason = 'no 消息与事件接收URL is configured (messagesUrl)';
    cases.push(fail('text', reason), fail('api', reason));
  } else {
    const x: Exchange = {
      state,
      fan,
      endpoint: componentMessagesEndpoint(
        c as SimComponent & { messagesUrl: string },
        appId,
        RELEASE_TEST_ACCOUNTS[appId] ?? originalIdOf(appId),
      ),
    };
    cases.push(await textCase(x), await apiCase(x, c, input.waitMs));
  }
  return {
    componentAppId: c.componentAppId,
    authorizerAppId: appId,
    passed: cases.every((k) => k.passed),
    cases,
  };
}

/**
 * `POST /__sim/platform/release-check` `{componentAppId?, authorizerAppId?, waitMs?}`: runs the check
 * and answers the report (200 whether it passed or not; 400 for bad input).
 */
export const releaseCheckRoute: SimRoute = componentRoute(
  '/__sim/platform/release-check',
  async (ctx, c, body) => {
    const appId = body.authorizerAppId ?? RELEASE_TEST_APP_ID;
    if (
      typeof appId !== 'string' ||
      !/^[\w-]{1,64}$/.test(appId) ||
      !(appId in RELEASE_TEST_ACCOUNTS || ctx.state.app(appId))
    ) {
      return badRequest(
        'authorizerAppId must be one of WeChat’s release-check test accounts or a simulated account',
      );
    }
    const waitMs = body.waitMs ?? DEFAULT_WAIT_MS;
    if (!Number.isInteger(waitMs) || (waitMs as number) < 100 || (waitMs as number) > 60_000) {
      return badRequest('waitMs must be an integer from 100 to 60000');
    }
    return json(await runReleaseCheck(ctx.state, c, { authorizerAppId: appId, waitMs: waitMs as number }));
  },
);
