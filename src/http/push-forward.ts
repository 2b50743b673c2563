import { setTimeout as sleep } from 'node:timers/promises';
import { ForwardFailure, forwardJson } from '../forward.ts';

/**
 * The service's `onMessage` (SPEC §11): every verified, decrypted, de-duplicated message is POSTed as
 * JSON to every forward URL (signed, `X-Wxkit-Signature`; `X-Wxkit-Message-Id` is the same on every
 * delivery of one message, for the receiver's own de-duplication), and the first URL's JSON answer
 * becomes the reply.
 *
 * No message is lost to a forward URL that is down or slow (docs/push-service.md):
 * - a failure known before WeChat's deadline makes the message *not acknowledged*: the push handler
 *   answers an error, WeChat tries again (3 tries), and every URL gets the message again with the same
 *   message id;
 * - a failure after the deadline (WeChat already heard `success`) is retried here with backoff, and the
 *   reply, once the first URL gives one, goes out through custom/send.
 */

/** How one account forwards. */
export interface ForwardPlan {
  urls: readonly string[];
  secret: string | undefined;
  /** Each delivery's deadline (a slow AI handler may take long). */
  timeoutMs: number;
  /** The push handler's deadline: failures before it are answered "not acknowledged". */
  deadlineMs: number;
  /** Delays between retries after the deadline. @default 1 s, 5 s, 30 s, 2 min, 10 min */
  retryDelaysMs?: readonly number[];
  now?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

/** Thrown before the deadline: the push is not acknowledged, so WeChat tries again. */
export class ForwardNotAcknowledged extends Error {
  override readonly name = 'ForwardNotAcknowledged';
  constructor(readonly failures: readonly ForwardFailure[]) {
    super(`forward failed: ${failures.map((f) => f.message).join('; ')}`);
  }
}

const RETRY_DELAYS = [1_000, 5_000, 30_000, 120_000, 600_000] as const;

/**
 * The `reply` of a forward URL's answer (`{"reply":{…}}`), `undefined` for `{}` or an empty body, or
 * `'invalid'` for a body that is not a JSON object: the URL took the message, it has nothing to say.
 * The push handler checks the reply itself (its `toReply`).
 */
export function readForwardAnswer(body: string): unknown {
  if (body.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'invalid';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'invalid';
  return (value as Record<string, unknown>).reply ?? undefined;
}

/** One round over `targets` (indexes into `plan.urls`): the answers, and what failed. */
async function deliverRound(
  plan: ForwardPlan,
  targets: readonly number[],
  messageId: string,
  body: string,
  answers: Map<number, string>,
): Promise<{ pending: number[]; failures: ForwardFailure[] }> {
  const results = await Promise.allSettled(
    targets.map((i) =>
      forwardJson(plan.urls[i] as string, body, {
        secret: plan.secret,
        timeoutMs: plan.timeoutMs,
        headers: { 'x-wxkit-message-id': messageId },
      }),
    ),
  );
  const pending: number[] = [];
  const failures: ForwardFailure[] = [];
  results.forEach((r, k) => {
    const i = targets[k] as number;
    if (r.status === 'fulfilled') answers.set(i, r.value.body);
    else {
      pending.push(i);
      failures.push(
        r.reason instanceof ForwardFailure ? r.reason : new ForwardFailure(String(plan.urls[i]), 'network'),
      );
    }
  });
  return { pending, failures };
}

/**
 * After the deadline: retries `pending` with backoff until each URL took the message or the delays
 * run out (then an error line names the targets and the message id, never the content).
 */
async function retryLate(
  plan: ForwardPlan,
  pending: number[],
  failures: ForwardFailure[],
  messageId: string,
  body: string,
  answers: Map<number, string>,
  until: (pending: readonly number[]) => boolean,
): Promise<number[]> {
  const delays = plan.retryDelaysMs ?? RETRY_DELAYS;
  let left = pending;
  let failed = failures;
  for (const delay of delays) {
    if (left.length === 0 || until(left)) return left;
    plan.log?.({
      level: 'warn',
      msg: 'push forward failed after the deadline; retrying',
      messageId,
      retryInMs: delay,
      targets: failed.map((f) => f.target),
    });
    // Unref'd: a pending retry does not keep a stopping process alive.
    await sleep(delay, undefined, { ref: false });
    ({ pending: left, failures: failed } = await deliverRound(plan, left, messageId, body, answers));
  }
  if (left.length > 0) {
    plan.log?.({
      level: 'error',
      msg: 'push forward gave up after the deadline',
      messageId,
      targets: failed.map((f) => f.target),
    });
  }
  return left;
}

/**
 * Delivers `body` (the message as JSON text) to every URL of `plan`; resolves with the first URL's
 * reply. Rejects with {@link ForwardNotAcknowledged} when a URL failed before the deadline.
 */
export async function forwardMessage(plan: ForwardPlan, messageId: string, body: string): Promise<unknown> {
  const now = plan.now ?? Date.now;
  const started = now();
  const answers = new Map<number, string>();
  const all = plan.urls.map((_, i) => i);
  const { pending, failures } = await deliverRound(plan, all, messageId, body, answers);
  if (pending.length > 0) {
    if (now() - started < plan.deadlineMs) throw new ForwardNotAcknowledged(failures);
    // WeChat has heard `success`: keep trying here. The reply waits for the first URL only.
    if (pending.includes(0)) {
      const left = await retryLate(plan, pending, failures, messageId, body, answers, (l) => !l.includes(0));
      const others = left.filter((i) => i !== 0);
      if (others.length > 0) void retryLate(plan, others, [], messageId, body, answers, () => false);
    } else void retryLate(plan, pending, failures, messageId, body, answers, () => false);
  }
  const first = answers.get(0);
  if (first === undefined) return undefined;
  const reply = readForwardAnswer(first);
  if (reply === 'invalid') {
    plan.log?.({
      level: 'warn',
      msg: 'the first forward URL answered something that is not a reply; no reply sent',
      messageId,
    });
    return undefined;
  }
  return reply;
}
