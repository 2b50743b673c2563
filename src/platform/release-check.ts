import type { PushMessage } from '../push/message.ts';

/**
 * 全网发布 (the release check): before a third-party platform may go live, WeChat's robot runs fixed
 * cases through the platform's 消息与事件接收URL as one of its own test accounts (docs/wechat-facts.md).
 * This file holds the rules — which accounts, which messages, what answer — as pure functions; the
 * responder that acts on them is ./messages.ts.
 */

/**
 * WeChat's fixed test accounts of 全网发布: five Official Accounts and five Mini Programs. WeChat
 * picks one group at random for a run, so each of them is answered.
 */
export const RELEASE_TEST_APP_IDS: readonly string[] = [
  'wx570bc396a51b8ff8',
  'wx9252c5e0bb1836fc',
  'wx8e1097c5bc82cde9',
  'wx14550af28c71a144',
  'wxa35b9c23cfe664eb',
  'wxd101a85aa106f53e',
  'wxc39235c15087f6f3',
  'wx7720d01d4b2a4500',
  'wx05d483572dcd5d8b',
  'wx5910277cae6fd970',
];

const TEST_IDS = new Set(RELEASE_TEST_APP_IDS);

/** The text WeChat sends for the passive-reply case, and the reply it expects. */
export const RELEASE_TEXT = 'TESTCOMPONENT_MSG_TYPE_TEXT';
export const RELEASE_TEXT_REPLY = `${RELEASE_TEXT}_callback`;
/** The prefix of the API case: `QUERY_AUTH_CODE:$query_auth_code$`. */
export const QUERY_AUTH_CODE_PREFIX = 'QUERY_AUTH_CODE:';

/**
 * Whether messages for `appId` are the release check's, answered by wxkit and never handed to the
 * application.
 *
 * Stops: a follower of a real account typing `QUERY_AUTH_CODE:…` or `TESTCOMPONENT_MSG_TYPE_TEXT` and
 * getting robot answers, or making the platform spend an authorization code and send customer-service
 * messages on a stranger's word — only WeChat's fixed test accounts get the test behaviour.
 */
export function isReleaseTestAccount(appId: string): boolean {
  return TEST_IDS.has(appId);
}

/** What a test message asks for. */
export type ReleaseAction =
  /** Reply at once with this text (passive, encrypted). */
  | { kind: 'reply'; content: string }
  /** Answer an empty body now, then `api_query_auth` with `code` and a customer-service text `code_from_api`. */
  | { kind: 'query-auth'; code: string; content: string }
  /** Nothing the check expects: answer an empty body. */
  | { kind: 'none' };

/**
 * The answer the release check expects to a message of a test account: the three documented cases,
 * and the event case of the older check (`Event + "from_callback"`), which some runs still send.
 */
export function releaseAction(message: PushMessage): ReleaseAction {
  if (message.type === 'text') {
    const content = message.Content;
    if (content === RELEASE_TEXT) return { kind: 'reply', content: RELEASE_TEXT_REPLY };
    if (content.startsWith(QUERY_AUTH_CODE_PREFIX)) {
      const code = content.slice(QUERY_AUTH_CODE_PREFIX.length);
      if (code !== '' && code.length <= 512) return { kind: 'query-auth', code, content: `${code}_from_api` };
    }
    return { kind: 'none' };
  }
  const event = (message as { Event?: unknown }).Event;
  if (message.MsgType === 'event' && typeof event === 'string' && event !== '') {
    return { kind: 'reply', content: `${event}from_callback` };
  }
  return { kind: 'none' };
}
