import { originalIdOf, type PushEndpoint } from '../push/state.ts';
import type { SimState } from '../state.ts';
import { platformOf } from './routes.ts';
import type { SimComponent } from './state.ts';

/**
 * Where WeChat sends an authorized account's messages: to its platform's 消息与事件接收URL (`$APPID$`
 * replaced by the account), encrypted in safe mode with the component's token and key for the
 * component appId — in place of the account's own server URL while the authorization lasts.
 */

/** The push endpoint of `appId` at component `c` (`toUserName`: the account's original id). */
export function componentMessagesEndpoint(
  c: SimComponent & { messagesUrl: string },
  appId: string,
  toUserName: string = originalIdOf(appId),
): PushEndpoint {
  return {
    kind: 'official',
    appId,
    urls: [c.messagesUrl.replaceAll('$APPID$', appId)],
    token: c.token,
    encodingAESKey: c.encodingAESKey,
    mode: 'safe',
    toUserName,
    receiveId: c.componentAppId,
  };
}

/** The endpoint of an account authorized (not revoked) to a component that has a messages URL. */
export function platformEndpointOf(state: SimState, appId: string): PushEndpoint | undefined {
  for (const c of platformOf(state).components.values()) {
    const auth = c.authorizations.get(appId);
    if (auth && !auth.revoked && c.messagesUrl) {
      return componentMessagesEndpoint(c as SimComponent & { messagesUrl: string }, appId);
    }
  }
  return undefined;
}
