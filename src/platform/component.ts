import { type AccountKind, createEngine, type Engine } from '../accounts/engine.ts';
import type { AccountOptions } from '../accounts/options.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import type { IndexedStore } from '../stores/types.ts';
import { componentTokenRequest, processComponentTokenResponse } from './requests.ts';
import { readVerifyTicket, ticketExpired, verifyTicketHealth } from './verify-ticket.ts';

/**
 * The component itself as an account for the engine (src/accounts/engine.ts): one credential, the
 * component_access_token, fetched from the latest verify ticket with every custody rule of docs/custody.md —
 * one fetch across processes and machines, refresh ahead, compare-and-invalidate on 40001/42001 with
 * exactly one retry, backoff and a negative cache. Every other component API call goes through
 * {@link Component.call}, which carries that token.
 */

export interface ComponentOptions extends AccountOptions {
  componentAppId: string;
  componentSecret: string;
  apiBase: string;
  store: IndexedStore;
}

export interface Component {
  readonly engine: Engine<never>;
  /** Calls a component endpoint with the component token (a token errcode: drop it, ask once more). */
  call<R>(
    endpoint: string,
    makeRequest: (componentToken: string) => Request,
    interpret: (res: Response, sentAt: number) => Promise<R>,
  ): Promise<R>;
}

function noTicket(component: string): WxkitError {
  return new WxkitError(
    ErrorCodes.UPSTREAM_UNAVAILABLE,
    `No component_verify_ticket has reached ${component} yet`,
    {
      retryAfter: 30,
      hint: {
        en: 'WeChat pushes a ticket every 10 minutes to the 授权事件接收URL (POST /platform/events). Check that URL is configured on the open platform and reachable; the first ticket can take 10 minutes.',
        zh: '微信每 10 分钟向「授权事件接收URL」（POST /platform/events）推送一次 ticket。请确认开放平台已配置该地址且可访问；首次推送最多需要 10 分钟。',
      },
    },
  );
}

export function createComponent(options: ComponentOptions): Component {
  const { componentAppId, componentSecret, apiBase, store } = options;
  const now = options.now ?? Date.now;
  const kind: AccountKind<never> = {
    id: `component:${componentAppId}`,
    platform: 'official',
    upstreamName: 'WeChat',
    apiBase,
    token: {
      name: 'component_access_token',
      upstream: apiBase,
      async fetch(up) {
        const ticket = await readVerifyTicket(store, componentAppId);
        if (!ticket) throw noTicket(componentAppId);
        // WeChat would answer 61005: say what stopped instead, without spending a call.
        if (verifyTicketHealth(ticket, now()) === 'expired')
          throw ticketExpired(componentAppId, ticket, now());
        return up.call(
          '/cgi-bin/component/api_component_token',
          apiBase,
          () =>
            componentTokenRequest(apiBase, { componentAppId, componentSecret, verifyTicket: ticket.value }),
          processComponentTokenResponse,
        );
      },
    },
    tickets: {},
  };
  const engine = createEngine(kind, options);
  return {
    engine,
    call: (endpoint, makeRequest, interpret) =>
      engine.withToken((token) => engine.call(endpoint, apiBase, () => makeRequest(token), interpret)),
  };
}
