import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyForwardSignature } from '../../src/forward.ts';

/**
 * The team's own service behind `wxkit serve`'s push forwarding: it checks X-Wxkit-Signature,
 * de-duplicates by X-Wxkit-Message-Id (as the docs tell receivers to), counts how often it really ran,
 * and answers with a reply (or is slow, or down) as a test asks.
 */

export const FORWARD_SECRET = 'push-forward-secret-0123456789';

export interface ForwardedMessage {
  id: string;
  appId: string;
  message: Record<string, unknown>;
}

export interface Receiver {
  url: string;
  /** Every delivery (including repeats of one id). */
  deliveries: ForwardedMessage[];
  /** Runs of the "handler": one per distinct message id. */
  runs: Map<string, number>;
  /** Deliveries with a missing or wrong signature. */
  unsigned: number;
  /** How to answer: a reply echoing the text (default), after `delayMs`; or `status` (e.g. 503). */
  mode: { delayMs?: number; status?: number; reply?: 'echo' | 'none' };
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    deliveries: [],
    runs: new Map(),
    unsigned: 0,
    mode: {},
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!verifyForwardSignature(FORWARD_SECRET, body, req.headers['x-wxkit-signature'] as string)) {
          r.unsigned++;
          res.writeHead(401).end();
          return;
        }
        const mode = r.mode;
        if (mode.status !== undefined && mode.status >= 300) {
          res.writeHead(mode.status).end('down');
          return;
        }
        const m = JSON.parse(body) as ForwardedMessage;
        r.deliveries.push(m);
        const first = !r.runs.has(m.id);
        r.runs.set(m.id, (r.runs.get(m.id) ?? 0) + 1);
        if (first && mode.delayMs) await new Promise((ok) => setTimeout(ok, mode.delayMs));
        const content = String(m.message.Content ?? m.message.Event ?? '');
        const answer = mode.reply === 'none' ? {} : { reply: { type: 'text', content: `echo: ${content}` } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      })();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat-hook`;
  r.close = () =>
    new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
  return r;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
