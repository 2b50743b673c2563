import { ErrorCodes, WxkitError } from '../errors.ts';
import { isoNow, jsonLines, type LogEntry, type LogSink } from '../http/log.ts';
import { asWxkitError, errorReply, type Reply } from '../http/reply.ts';
import { createMemoryStore } from '../stores/memory.ts';
import type { Store } from '../stores/types.ts';
import type { Account } from '../types.ts';
import { bodyFormat, type PushFormat, readBody as readFields } from './body.ts';
import { createPushCrypto, type PushCrypto } from './crypto.ts';
import { deliverLate } from './deliver.ts';
import { openPush, sealReply } from './envelope.ts';
import { PushError } from './errors.ts';
import { dedupeKey, Ledger, type Outcome } from './ledger.ts';
import { messageFrom, type PushMessage } from './message.ts';
import { type PushReply, renderReply, toReply } from './reply.ts';
import { checkSignature, pushSignature } from './signature.ts';
import { queryParam, verifyUrl, verifyWecomUrl } from './url-verification.ts';

/** `onMessage` threw before the deadline: answered with an error so that WeChat tries again. */
const FAILED = Symbol('failed');
/** What `onMessage` is told besides the message. */
export interface PushContext {
  /** The account the push is for (its `request()` calls WeChat with the account's token). */
  readonly account: Account;
  /** When WeChat stops waiting for this try's answer (ms since the epoch, the handler's clock). */
  readonly deadline: number;
  /** True once the passive answer went out as `success`: a reply returned now goes through custom/send. */
  readonly late: boolean;
  /** True when the push came encrypted (safe or compatible mode, WeCom). */
  readonly encrypted: boolean;
}

/** What `onMessage` may return (`void`: a handler that returns nothing on some paths, or is `async` and returns nothing). */
// biome-ignore lint/suspicious/noConfusingVoidType: `async () => {}` returns Promise<void>, which undefined does not accept
export type OnMessageResult = PushReply | undefined | void;

/** Options of `createPushHandler`. */
export interface PushHandlerOptions {
  /** The account pushes are for: its appId (WeCom: corpId) is the receiveId, its token sends late replies. */
  account: Account;
  /** The Token from the admin console (服务器配置). */
  token: string;
  /** The 43-character EncodingAESKey, for safe and compatible mode (and every WeCom app). */
  encodingAESKey?: string | undefined;
  /** Who messages are encrypted for. @default account.appId (a third-party platform: its component appId) */
  receiveId?: string | undefined;
  /**
   * Where claims and answers are shared so a push is handled once across processes and machines (a
   * Redis store for several machines). @default an in-memory store: once per process only
   */
  store?: Store | undefined;
  /**
   * How long `onMessage` may take before the handler answers WeChat `success` and sends the reply
   * later through custom/send (WeChat waits 5 s). @default 4500
   */
  deadlineMs?: number | undefined;
  /** Handles one push; returns a reply (see `reply`) or nothing. Runs once per push, whatever WeChat retries. */
  onMessage(message: PushMessage, ctx: PushContext): OnMessageResult | Promise<OnMessageResult>;
  /**
   * Accept plaintext pushes although an EncodingAESKey is configured (an account in plaintext mode
   * whose key is kept for later). @default false when `encodingAESKey` is set
   */
  allowPlaintext?: boolean | undefined;
  /** Pushes whose signed `timestamp` is further than this from the clock are refused (replays), or `false`. @default 300 */
  replayWindowSeconds?: number | false | undefined;
  /** How long a handled push is remembered (its retries and replays answered, not run). @default 600_000 */
  rememberMs?: number | undefined;
  /** Largest body accepted, in bytes (413 past it). @default 65536 */
  maxBodyBytes?: number | undefined;
  /** Where log lines go (refused pushes, handler errors, late deliveries). @default JSON lines on stdout */
  log?: LogSink | false | undefined;
  /** Clock in milliseconds (the replay window, CreateTime of replies). @default Date.now */
  now?: (() => number) | undefined;
  /**
   * What "no reply" is answered with: `success`, or an empty body (both mean "don't retry" to WeChat;
   * the release check of a third-party platform asks for the empty one). @default 'success'
   */
  noReplyBody?: 'success' | '' | undefined;
  /**
   * Where de-duplication records are kept apart. @default the account's appId — a third-party
   * platform passes its component appId: every account's messages arrive signed with one token, so a
   * push replayed to another account's URL must read as a duplicate, not as a new message.
   */
  dedupeScope?: string | undefined;
}

/** A request to the push endpoint, however it arrived. */
export interface PushRequest {
  method: string;
  query: URLSearchParams;
  /** Reads the body, failing with `payload_too_large` past `limit` bytes. */
  readBody(limit: number): Promise<Uint8Array>;
}

const TEXT = 'text/plain; charset=utf-8';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The message push endpoint of one account, independent of how requests arrive (the web handler of
 * `createPushHandler`, the service's `/wechat/push` route).
 */
export class PushEndpoint {
  private readonly account: Account;
  private readonly token: string;
  private readonly crypto: PushCrypto | undefined;
  private readonly wecom: boolean;
  private readonly ledger: Ledger;
  private readonly deadlineMs: number;
  private readonly allowPlaintext: boolean;
  private readonly replayWindowMs: number | undefined;
  private readonly maxBodyBytes: number;
  private readonly onMessage: PushHandlerOptions['onMessage'];
  private readonly sink: LogSink | undefined;
  private readonly now: () => number;
  private readonly noReplyBody: string;
  private readonly pending = new Set<Promise<void>>();

  constructor(options: PushHandlerOptions) {
    const { account } = options;
    if (typeof options.token !== 'string' || options.token === '') {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        'createPushHandler needs the Token from the admin console.',
      );
    }
    if (typeof options.onMessage !== 'function') {
      throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'createPushHandler needs onMessage(message, ctx).');
    }
    this.account = account;
    this.token = options.token;
    this.wecom = account.type === 'wecom';
    this.crypto =
      options.encodingAESKey === undefined
        ? undefined
        : createPushCrypto({
            encodingAESKey: options.encodingAESKey,
            receiveId: options.receiveId ?? account.appId,
          });
    if (this.wecom && !this.crypto) {
      throw new WxkitError(
        ErrorCodes.CONFIG_ERROR,
        'WeCom pushes are always encrypted: give the EncodingAESKey.',
      );
    }
    this.ledger = new Ledger({
      store: options.store ?? createMemoryStore(),
      appId:
        options.dedupeScope ??
        (this.wecom ? `${account.appId}:${(account as { agentId?: string }).agentId ?? ''}` : account.appId),
      doneTtlMs: options.rememberMs,
    });
    this.deadlineMs = options.deadlineMs ?? 4_500;
    if (!(this.deadlineMs > 0)) throw new WxkitError(ErrorCodes.CONFIG_ERROR, 'deadlineMs must be positive.');
    this.allowPlaintext = options.allowPlaintext ?? this.crypto === undefined;
    this.replayWindowMs =
      options.replayWindowSeconds === false ? undefined : (options.replayWindowSeconds ?? 300) * 1000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.onMessage = options.onMessage;
    this.sink = options.log === false ? undefined : (options.log ?? jsonLines());
    this.now = options.now ?? Date.now;
    this.noReplyBody = options.noReplyBody ?? 'success';
  }

  /** Answers one request: URL verification (GET) or a push (POST). Never throws. */
  async handle(request: PushRequest): Promise<Reply> {
    const started = Date.now();
    try {
      if (request.method === 'GET') return this.verify(request.query);
      if (request.method !== 'POST') {
        throw new WxkitError(
          ErrorCodes.INVALID_REQUEST,
          `${request.method} is not allowed on the push URL.`,
          {
            status: 405,
            details: { allow: 'GET, POST' },
          },
        );
      }
      return await this.push(request, started);
    } catch (e) {
      return this.refuse(e);
    }
  }

  /** Resolves once every late reply in flight has been sent (or failed). For tests and graceful shutdown. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private verify(query: URLSearchParams): Reply {
    const echostr = this.wecom
      ? verifyWecomUrl(query, { token: this.token, crypto: this.crypto as PushCrypto })
      : verifyUrl(query, { token: this.token });
    this.checkFresh(query);
    return text(echostr);
  }

  private async push(request: PushRequest, started: number): Promise<Reply> {
    const { query } = request;
    const bytes = await request.readBody(this.maxBodyBytes);
    let body: string;
    try {
      body = utf8.decode(bytes);
    } catch (e) {
      throw new PushError('bad_utf8', 'The body is not UTF-8.', { cause: e });
    }
    const encrypted = this.wecom || queryParam(query, 'encrypt_type') === 'aes' || query.has('msg_signature');
    let messageText: string;
    let format: PushFormat;
    if (encrypted) {
      if (!this.crypto) {
        throw new PushError(
          'missing_parameter',
          'An encrypted push arrived, but no EncodingAESKey is configured.',
          {
            hint: {
              en: 'Give createPushHandler the EncodingAESKey from the admin console (WX_PUSH_AES_KEY for the service).',
              zh: '请配置后台“服务器配置”中的 EncodingAESKey（服务使用 WX_PUSH_AES_KEY）。',
            },
          },
        );
      }
      // Compatible mode sends the plaintext fields beside <Encrypt>: only the decrypted copy is read.
      const opened = openPush(body, query, { crypto: this.crypto, token: this.token });
      messageText = opened.message;
      format = bodyFormat(messageText);
    } else {
      this.refuseDowngrade();
      checkSignature(
        pushSignature(this.token, queryParam(query, 'timestamp') ?? '', queryParam(query, 'nonce') ?? ''),
        queryParam(query, 'signature'),
        'signature',
      );
      messageText = body;
      format = bodyFormat(body);
    }
    this.checkFresh(query);
    const message = messageFrom(readFields(messageText, format), format);
    const answer = await this.answer(message, encrypted, started);
    if (answer === FAILED) {
      // Not `success`: WeChat tries again (3 tries in all), and the next try runs onMessage again.
      return errorReply(
        new WxkitError(ErrorCodes.INTERNAL, 'onMessage failed; WeChat will push the message again.', {
          zh: 'onMessage 出错；微信会重新推送这条消息。',
        }),
      );
    }
    return this.send(answer, format, encrypted);
  }

  /**
   * Refuses a plaintext push when an EncodingAESKey is configured.
   *
   * Stops: a downgrade — whoever learned the Token (it is typed into consoles and scripts more often
   * than the AES key) posting plaintext messages that a safe-mode server would otherwise accept.
   */
  private refuseDowngrade(): void {
    if (!this.allowPlaintext) {
      throw new PushError(
        'plaintext_refused',
        'A plaintext push reached a handler configured for encrypted pushes.',
      );
    }
  }

  /**
   * Refuses a signed `timestamp` outside the replay window.
   *
   * Stops: replaying a captured push (plaintext mode often runs over http) after its de-duplication
   * record expired — the window is shorter than the record, so a replay is either refused here or
   * recognised as a duplicate.
   */
  private checkFresh(query: URLSearchParams): void {
    if (this.replayWindowMs === undefined) return;
    const ts = queryParam(query, 'timestamp') ?? '';
    const at = /^\d{1,12}$/.test(ts) ? Number(ts) * 1000 : Number.NaN;
    if (!(Math.abs(this.now() - at) <= this.replayWindowMs)) {
      throw new PushError('stale_timestamp', 'The push timestamp is outside the replay window.');
    }
  }

  /** The plaintext answer to this try: the reply, a retry's stored reply, or `success`. */
  private async answer(
    message: PushMessage,
    encrypted: boolean,
    started: number,
  ): Promise<string | typeof FAILED> {
    const key = dedupeKey(message);
    const deadline = started + this.deadlineMs;
    let claim: Awaited<ReturnType<Ledger['claim']>>;
    try {
      claim = await this.ledger.claim(key);
    } catch (e) {
      // The store is down: answering beats dropping the message (it may run twice across processes).
      this.log('warn', 'push de-duplication unavailable', { code: asWxkitError(e).code });
      claim = { kind: 'run', release: async () => {} };
    }
    if (claim.kind === 'done') {
      this.count('duplicate');
      return answerOf(claim.outcome);
    }
    if (claim.kind === 'busy') {
      this.count('duplicate');
      const outcome = await this.ledger.wait(key, deadline).catch(() => undefined);
      if (outcome) return answerOf(outcome);
      // No outcome by the deadline: either the other try is still running (it answers late through
      // custom/send, so `success` is right) or it failed and let go — then only a failure here makes
      // WeChat try once more instead of dropping the message.
      const again = await this.ledger.claim(key).catch(() => undefined);
      if (again?.kind === 'run') {
        await again.release();
        return FAILED;
      }
      return again?.kind === 'done' ? answerOf(again.outcome) : 'success';
    }
    return this.run(key, message, encrypted, deadline, claim.release);
  }

  private async run(
    key: string,
    message: PushMessage,
    encrypted: boolean,
    deadline: number,
    release: () => Promise<void>,
  ): Promise<string | typeof FAILED> {
    const ctx = { account: this.account, deadline, late: false, encrypted };
    const work = (async (): Promise<PushReply | undefined | typeof FAILED> => {
      let r: OnMessageResult;
      try {
        r = await this.onMessage(message, ctx);
      } catch (e) {
        this.log('error', 'onMessage failed', {
          late: ctx.late,
          error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e).slice(0, 300),
        });
        return FAILED;
      }
      try {
        return r === undefined || r === null ? undefined : toReply(r);
      } catch (e) {
        // A reply that is not a reply is the handler's bug, and a retry would repeat it: `success`.
        this.log('error', 'push reply is invalid', {
          error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e).slice(0, 300),
        });
        return undefined;
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const LATE = Symbol('late');
    const expired = new Promise<typeof LATE>((resolve) => {
      timer = setTimeout(() => resolve(LATE), Math.max(0, deadline - Date.now()));
    });
    const first = await Promise.race([work, expired]);
    clearTimeout(timer);
    if (first === FAILED) {
      // No outcome recorded and the claim let go: the next try (here or on another instance) runs it.
      await release();
      this.count('failed');
      return FAILED;
    }
    if (first !== LATE) {
      const rendered = first === undefined ? 'success' : this.render(first, message);
      await this.ledger.finish(key, { reply: rendered }).catch(() => {});
      await release();
      this.count(rendered === 'success' ? 'success' : 'reply');
      return rendered;
    }
    ctx.late = true;
    this.count('late');
    const later = work.then(async (r) => {
      // Recorded before the claim goes, so a try arriving now is answered, not run.
      await this.ledger.finish(key, { late: true }).catch(() => {});
      await release();
      // Failed after the deadline: WeChat was answered `success` already; the log above says so.
      if (r === undefined || r === FAILED || r.type === 'success') return;
      try {
        const sent = await deliverLate(this.account, r, message);
        this.count(sent ? 'delivered_late' : 'undeliverable');
        if (!sent) this.log('warn', 'late reply has no customer-service form', { type: r.type });
      } catch (e) {
        const err = asWxkitError(e);
        this.count('delivery_failed');
        this.log('error', 'late reply delivery failed', {
          code: err.code,
          errcode: err.errcode,
          message: err.message,
        });
      }
    });
    const tracked = later.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return 'success';
  }

  private render(r: PushReply, message: PushMessage): string {
    try {
      return renderReply(r, message, { createTime: Math.floor(this.now() / 1000) });
    } catch (e) {
      this.log('error', 'push reply cannot be rendered', {
        error: e instanceof Error ? e.message : String(e),
      });
      return 'success';
    }
  }

  private send(answer: string, format: PushFormat, encrypted: boolean): Reply {
    if (answer === 'success') return text(this.noReplyBody);
    if (!encrypted) return { status: 200, headers: { 'content-type': contentType(format) }, body: answer };
    const sealed = sealReply(answer, {
      crypto: this.crypto as PushCrypto,
      token: this.token,
      format,
      timestamp: String(Math.floor(this.now() / 1000)),
    });
    return { status: 200, headers: { 'content-type': contentType(format) }, body: sealed };
  }

  private refuse(e: unknown): Reply {
    const err = publicError(e);
    if (err.status >= 500) {
      this.log('error', 'push failed', {
        error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e),
      });
    } else {
      this.log('warn', 'push refused', {
        code: err.code,
        ...(e instanceof PushError ? { reason: e.reason } : {}),
      });
    }
    this.count('refused');
    return errorReply(err);
  }

  private count(result: string): void {
    this.account.metrics.inc('wxkit_push_total', { result }, 1, 'Message pushes by outcome.');
  }

  private log(level: LogEntry['level'], msg: string, fields: Record<string, unknown> = {}): void {
    if (!this.sink) return;
    try {
      this.sink({ time: isoNow(), level, msg, appId: this.account.appId, ...fields });
    } catch {
      // A broken log sink must not break pushes.
    }
  }
}

function answerOf(outcome: Outcome): string {
  return 'reply' in outcome ? outcome.reply : 'success';
}

function text(body: string): Reply {
  return { status: 200, headers: { 'content-type': TEXT }, body };
}

function contentType(format: PushFormat): string {
  return format === 'json' ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8';
}

const UNDECRYPTABLE = new Set([
  'bad_base64',
  'truncated',
  'bad_padding',
  'bad_length',
  'bad_utf8',
  'wrong_receive_id',
]);

/**
 * What a refused request is told: every way a signed ciphertext fails to decrypt reads the same.
 *
 * Stops: a padding oracle. CBC without a MAC leaks plaintext to anyone who can tell "bad padding" from
 * "bad length" or "wrong appId"; the signature check comes first, so only a holder of the Token could
 * ask — this keeps a leaked Token from also leaking messages. The exact reason goes to the log.
 */
function publicError(e: unknown): WxkitError {
  if (e instanceof PushError && UNDECRYPTABLE.has(e.reason)) {
    return new WxkitError(ErrorCodes.INVALID_REQUEST, 'The message cannot be decrypted.', {
      hint: {
        en: 'Check that the EncodingAESKey and the appId match the admin console.',
        zh: '请检查 EncodingAESKey 与 appId 是否与后台配置一致。',
      },
    });
  }
  return asWxkitError(e);
}
