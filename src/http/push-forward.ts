import { ForwardFailure, forwardJson } from '../forward.ts';

/**
 * The service's `onMessage`: every verified, decrypted, de-duplicated message is POSTed as
 * JSON to every forward URL (signed, `X-Wxkit-Signature`; `X-Wxkit-Message-Id` is the same on every
 * delivery of one message, for the receiver's own de-duplication), and the first URL's JSON answer
 * becomes the reply.
 *
 * No message is lost to a forward URL that is down or slow (docs/push-service.md): the URLs a round
 * did not reach are kept in the store's outbox (./push-outbox.ts) and delivered later by whichever
 * instance sweeps it; a reply the first URL gives then goes to the user through custom/send.
 */

/** How one account forwards. */
export interface ForwardPlan {
  urls: readonly string[];
  secret: string | undefined;
  /** Each delivery's deadline (a slow AI handler may take long). */
  timeoutMs: number;
  log?: (entry: Record<string, unknown>) => void;
}

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
export async function deliverRound(
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
 * Delivers `body` (the message as JSON text) to every URL of `plan`; resolves with the first URL's
 * reply (`undefined` for none). URLs it did not reach are handed to `keep` (the outbox) before it
 * resolves, so the message is stored before WeChat is answered.
 */
export async function forwardMessage(
  plan: ForwardPlan,
  messageId: string,
  body: string,
  keep: (pending: number[], failures: ForwardFailure[]) => Promise<void>,
): Promise<unknown> {
  const answers = new Map<number, string>();
  const { pending, failures } = await deliverRound(
    plan,
    plan.urls.map((_, i) => i),
    messageId,
    body,
    answers,
  );
  if (pending.length > 0) {
    plan.log?.({
      level: 'warn',
      msg: 'push forward failed; kept in the outbox for another try',
      messageId,
      targets: failures.map((f) => f.target),
      reasons: failures.map((f) => f.reason),
    });
    await keep(pending, failures);
  }
  return replyOf(plan, messageId, answers.get(0));
}

/** The reply in URL 0's answer, if it gave one (a malformed answer is logged and means no reply). */
export function replyOf(plan: ForwardPlan, messageId: string, answer: string | undefined): unknown {
  if (answer === undefined) return undefined;
  const reply = readForwardAnswer(answer);
  if (reply === 'invalid') {
    plan.log?.({
      level: 'warn',
      msg: 'the first forward URL answered something that is not JSON; no reply',
      messageId,
    });
    return undefined;
  }
  return reply;
}
