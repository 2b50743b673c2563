import { readPlatformJson } from '../credentials/upstream.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { readBody, webInput } from '../http/handler.ts';
import { isoNow, jsonLines, type LogEntry, type LogSink } from '../http/log.ts';
import { asWxkitError, errorReply, type Reply, toResponse } from '../http/reply.ts';
import { customSendBody } from '../push/deliver.ts';
import { type OnMessageResult, type PushContext, PushEndpoint, type PushRequest } from '../push/endpoint.ts';
import type { PushMessage } from '../push/message.ts';
import { reply } from '../push/reply.ts';
import type { Store } from '../stores/types.ts';
import type { Account } from '../types.ts';
import { isReleaseTestAccount, type ReleaseAction, releaseAction } from './release-check.ts';
import type { Authorization } from './requests.ts';

/**
 * The 消息与事件接收URL of a third-party platform (`…/$APPID$`): one push endpoint per authorized
 * account, all decrypting with the component's token and EncodingAESKey (the envelope's receiveId is
 * the component appId), de-duplicated in one scope for the component. Messages of an account that is
 * not (or no longer) authorized are answered `success` and logged; WeChat's release-check accounts
 * are answered here and never reach `onMessage`.
 */

/** Options of {@link Platform.messages}. */
export interface PlatformMessagesOptions {
  /**
   * Handles one message of an authorized account (`ctx.account` is that account: its `request()` uses
   * the authorizer token); returns a reply or nothing, as `createPushHandler`'s `onMessage`.
   * @default none: every message is answered `success`
   */
  onMessage?:
    | ((message: PushMessage, ctx: PushContext) => OnMessageResult | Promise<OnMessageResult>)
    | undefined;
  /** Where de-duplication is shared across processes. @default the platform's store */
  store?: Store | undefined;
  /** When the answer is `success` and a late reply goes through custom/send. @default 4500 */
  deadlineMs?: number | undefined;
  /** Largest body accepted, in bytes (413 past it). @default 65536 */
  maxBodyBytes?: number | undefined;
  /** Where log lines go. @default JSON lines on stdout */
  log?: LogSink | false | undefined;
}

/** The 消息与事件接收URL as a web handler: the appId comes from the path (`$APPID$`). */
export interface PlatformMessageHandler {
  (request: Request, appId: string): Promise<Response>;
  /** Resolves once late replies and release-check calls in flight are done (shutdown, tests). */
  drain(): Promise<void>;
}

/** What the messages need of the platform. */
export interface PlatformMessagesHost {
  componentAppId: string;
  token: string;
  encodingAESKey: string;
  apiBase: string;
  maxAccounts: number;
  fetch: typeof fetch;
  now: () => number;
  store(): Promise<Store>;
  account(appId: string): Promise<Account>;
  authorization(appId: string): Promise<'ok' | 'revoked' | 'unknown'>;
  /** `api_query_auth` with the component token. */
  queryAuth(authCode: string): Promise<Authorization>;
}

/** The service calls the endpoint with its own request reader (body limits, no web Request). */
export const HANDLE_PUSH: unique symbol = Symbol.for('wxkit.platform.handlePush');

export interface PlatformMessageHandlerInternal extends PlatformMessageHandler {
  [HANDLE_PUSH](appId: string, request: PushRequest): Promise<Reply>;
}

const APP_ID = /^[\w-]{1,64}$/;

export class PlatformMessages {
  private readonly endpoints = new Map<string, PushEndpoint>();
  private readonly pending = new Set<Promise<void>>();
  private readonly sink: LogSink | undefined;

  constructor(
    private readonly host: PlatformMessagesHost,
    private readonly o: PlatformMessagesOptions,
  ) {
    this.sink = o.log === false ? undefined : (o.log ?? jsonLines());
  }

  /** Answers one request to `…/messages/:appId`. Never throws. */
  async handle(appId: string, request: PushRequest): Promise<Reply> {
    try {
      if (!APP_ID.test(appId)) {
        throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'The appId in the path is malformed.', {
          zh: '路径中的 appId 格式不正确。',
          hint: {
            en: 'The 消息与事件接收URL ends with $APPID$, which WeChat replaces with the account’s appId.',
            zh: '「消息与事件接收URL」应以 $APPID$ 结尾，微信会将其替换为公众号的 appId。',
          },
        });
      }
      return (await this.endpointFor(appId)).handle(request);
    } catch (e) {
      return errorReply(asWxkitError(e));
    }
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.endpoints.values()].map((e) => e.drain()));
  }

  /** The account's endpoint (least recently used first out: memory does not grow with appIds seen). */
  private async endpointFor(appId: string): Promise<PushEndpoint> {
    let endpoint = this.endpoints.get(appId);
    if (endpoint) {
      this.endpoints.delete(appId);
      this.endpoints.set(appId, endpoint);
      return endpoint;
    }
    const test = isReleaseTestAccount(appId);
    const account = await this.host.account(appId);
    const store = this.o.store ?? (await this.host.store());
    // Another request for the same account may have made it while this one waited.
    const made = this.endpoints.get(appId);
    if (made) return made;
    endpoint = new PushEndpoint({
      account,
      token: this.host.token,
      encodingAESKey: this.host.encodingAESKey,
      receiveId: this.host.componentAppId,
      dedupeScope: this.host.componentAppId,
      store,
      deadlineMs: this.o.deadlineMs,
      maxBodyBytes: this.o.maxBodyBytes,
      log: this.sink ?? false,
      now: this.host.now,
      // The release check's API case wants an empty body, not `success`.
      ...(test ? { noReplyBody: '' as const } : {}),
      onMessage: test ? (m) => this.release(appId, m) : (m, ctx) => this.forApp(appId, m, ctx),
    });
    this.endpoints.set(appId, endpoint);
    while (this.endpoints.size > this.host.maxAccounts) {
      const oldest = this.endpoints.keys().next().value as string;
      const gone = this.endpoints.get(oldest);
      this.endpoints.delete(oldest);
      // Late replies still on their way finish; drain() waits for them.
      if (gone) this.track(gone.drain());
    }
    return endpoint;
  }

  /**
   * A message of an ordinary account: handed to `onMessage` only while the account is authorized.
   * One that is not (never authorized, or unauthorized since) is answered `success` — WeChat would
   * otherwise retry it three times, and again for every later message — and logged once per message.
   */
  private async forApp(appId: string, message: PushMessage, ctx: PushContext): Promise<OnMessageResult> {
    const state = await this.host.authorization(appId);
    if (state !== 'ok') {
      this.log(
        'warn',
        'platform message for an account that is not authorized: answered success, not handled',
        {
          appId,
          authorization: state,
          msgType: message.MsgType,
        },
      );
      return undefined;
    }
    return this.o.onMessage?.(message, ctx);
  }

  /** A release-check message: answered by its rule, never handed to the application. */
  private release(appId: string, message: PushMessage): OnMessageResult {
    const action: ReleaseAction = releaseAction(message);
    this.log('info', 'release check (全网发布) message answered', { appId, case: action.kind });
    if (action.kind === 'reply') return reply.text(action.content);
    if (action.kind === 'query-auth') this.track(this.answerByApi(appId, action, message.FromUserName));
    return undefined;
  }

  /** The API case: the code → `api_query_auth` → that authorizer token → a customer-service text. */
  private async answerByApi(
    appId: string,
    action: Extract<ReleaseAction, { kind: 'query-auth' }>,
    user: string,
  ): Promise<void> {
    try {
      const auth = await this.host.queryAuth(action.code);
      if (auth.authorizerAppId !== appId) {
        this.log('warn', 'release check: the authorization code belongs to another account', {
          appId,
          authorizerAppId: auth.authorizerAppId,
        });
      }
      const url = new URL('/cgi-bin/message/custom/send', this.host.apiBase);
      url.searchParams.set('access_token', auth.accessToken.value);
      const res = await this.host.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(customSendBody(reply.text(action.content), user)),
        signal: AbortSignal.timeout(10_000),
      });
      const answer = await readPlatformJson(res, '/cgi-bin/message/custom/send');
      const errcode = typeof answer.errcode === 'number' ? answer.errcode : 0;
      if (errcode !== 0) throw new WxkitError(ErrorCodes.WECHAT_ERROR, 'custom/send refused', { errcode });
      this.log('info', 'release check (全网发布): api_query_auth and custom/send done', { appId });
    } catch (e) {
      const err = asWxkitError(e);
      this.log('error', 'release check (全网发布): the API case failed', {
        appId,
        code: err.code,
        ...(err.errcode === undefined ? {} : { errcode: err.errcode }),
      });
    }
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private log(level: LogEntry['level'], msg: string, fields: Record<string, unknown>): void {
    if (!this.sink) return;
    try {
      this.sink({ time: isoNow(), level, msg, componentAppId: this.host.componentAppId, ...fields });
    } catch {
      // A broken log sink must not break pushes.
    }
  }
}

/** The web handler over {@link PlatformMessages}. */
export function platformMessageHandler(messages: PlatformMessages): PlatformMessageHandlerInternal {
  const handler = (async (request: Request, appId: string): Promise<Response> => {
    const reply = await messages.handle(appId, {
      method: request.method.toUpperCase(),
      query: new URL(request.url).searchParams,
      readBody: (limit) => readBody(webInput(request, undefined), limit),
    });
    return toResponse(reply, request.method === 'HEAD');
  }) as PlatformMessageHandlerInternal;
  Object.defineProperty(handler, 'drain', { value: () => messages.drain() });
  Object.defineProperty(handler, HANDLE_PUSH, {
    value: (appId: string, request: PushRequest) => messages.handle(appId, request),
  });
  return handler;
}
