import type { SimState } from '../state.ts';
import { flatFields, type PushFields, pushRequest } from './message.ts';
import { judgeReply } from './reply.ts';
import {
  PUSH_LIMITS,
  type PushEndpoint,
  type PushFormat,
  type PushMode,
  type PushRecord,
  type PushTry,
  pushStateOf,
  SERVICE_UNAVAILABLE,
} from './state.ts';

/**
 * WeChat pushing one message to a server URL: each try waits 5 seconds (real time); a try
 * that times out, cannot connect or is answered with a non-2xx status is repeated, up to 3 tries of the
 * same request (same MsgId); the first 2xx answer is judged and is final. The user sees the reply, WeChat's
 * notice "该公众号暂时无法提供服务，请稍后再试" (a bad reply, or no valid answer after the last try), or
 * nothing (`success`, an empty body, a transfer to customer service).
 */

/** Largest reply body read (WeChat's replies are small; more is a bad reply). */
const MAX_REPLY_BYTES = 1024 * 1024;

export interface PushInput {
  endpoint: PushEndpoint;
  /** The completed message (ToUserName, FromUserName, CreateTime, MsgId filled in). */
  fields: PushFields;
  mode: PushMode;
  format: PushFormat;
  /**
   * Time the answer spends travelling back to WeChat: a try fails when the server's answer comes later
   * than `5000 - networkDelayMs` ms. One value for every try, or one per try (`[4900, 4900, 0]`: the
   * first two answers arrive too late). For tests of slow networks; @default 0
   */
  networkDelayMs?: number | readonly number[];
}

async function readCapped(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_REPLY_BYTES) {
      await reader.cancel();
      throw new RangeError('reply too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type TryResult = { try: PushTry; body?: string };

async function oneTry(
  url: string,
  n: number,
  at: number,
  req: { query: string; body: string; contentType: string },
  budgetMs: number,
): Promise<TryResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(Math.max(1, budgetMs));
  const target = `${url}${url.includes('?') ? '&' : '?'}${req.query}`;
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': req.contentType, 'user-agent': 'Mozilla/4.0 (wxkit simulator)' },
      body: req.body,
      redirect: 'manual',
      signal,
    });
    let body: string;
    try {
      body = await readCapped(res);
    } catch (e) {
      if (signal.aborted) return { try: { n, url, at, outcome: 'timeout', ms: ms() } };
      if (e instanceof RangeError) {
        return {
          try: { n, url, at, outcome: 'answered', status: res.status, ms: ms() },
          body: '\u0000too-large',
        };
      }
      throw e;
    }
    return {
      try: { n, url, at, outcome: 'answered', status: res.status, ms: ms(), body: body.slice(0, 2000) },
      body,
    };
  } catch {
    return { try: { n, url, at, outcome: signal.aborted ? 'timeout' : 'network', ms: ms() } };
  }
}

/** Pushes one message with WeChat's tries and deadline; resolves when WeChat is done with it. */
export async function deliver(state: SimState, input: PushInput): Promise<PushRecord> {
  const push = pushStateOf(state);
  const { endpoint, fields, mode, format } = input;
  const user = String(fields.FromUserName);
  const req = pushRequest(endpoint, fields, mode, format, push.clock(state));
  const record = push.open({
    appId: endpoint.appId,
    ...(endpoint.agentId === undefined ? {} : { agentId: endpoint.agentId }),
    mode,
    format,
    message: flatFields(fields),
    tries: [],
    result: 'failed',
    userSaw: null,
  });
  const delay = input.networkDelayMs ?? 0;
  for (let n = 1; n <= PUSH_LIMITS.tries; n++) {
    const budget = PUSH_LIMITS.deadlineMs - (typeof delay === 'number' ? delay : (delay[n - 1] ?? 0));
    const url = push.nextUrl(endpoint);
    const result = await oneTry(url, n, state.now(), req, budget);
    record.tries.push(result.try);
    const status = result.try.status;
    if (result.body === undefined || status === undefined || status < 200 || status > 299) continue;
    const verdict =
      result.body === '\u0000too-large'
        ? ({ kind: 'bad', problem: 'the reply is larger than 1 MiB' } as const)
        : judgeReply(result.body, endpoint, mode, format, user);
    if (verdict.kind === 'none') {
      record.result = 'no-reply';
      return record;
    }
    if (verdict.kind === 'reply') {
      record.result = 'replied';
      record.reply = verdict.fields;
      if (verdict.visible) {
        record.userSaw = push.see({
          at: state.now(),
          appId: endpoint.appId,
          user,
          via: 'reply',
          msgType: verdict.msgType,
          content: verdict.content,
          pushId: record.id,
        });
      }
      return record;
    }
    record.result = 'bad-reply';
    record.problem = verdict.problem;
    break;
  }
  record.userSaw = push.see({
    at: state.now(),
    appId: endpoint.appId,
    user,
    via: 'system',
    msgType: 'text',
    content: SERVICE_UNAVAILABLE,
    pushId: record.id,
  });
  return record;
}
