import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyForwardSignature } from '../../src/forward.ts';
import { type Service, startService } from '../../src/serve/service.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { AES_KEY, TOKEN } from '../simulator/push-helpers.ts';

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

export const APP = 'wxpushserve000001';
/** A second account in plaintext mode: no EncodingAESKey, so plaintext pushes are accepted. */
export const PLAIN_APP = 'wxpushserve000002';
export const SECRET = 'push-serve-secret';
export const CORP = 'wwpushserve000001';
export const AGENT = '1000002';
export const CORP_SECRET = 'push-serve-corp-secret';

/** The simulator, a receiver and an in-process `wxkit serve` with push on for APP (safe), PLAIN_APP and CORP. */
export interface PushStack {
  sim: Simulator;
  receiver: Receiver;
  service: Service;
  close(): Promise<void>;
}

export async function startPushStack(): Promise<PushStack> {
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-push-serve-'));
  const sim = await startSimulator({
    apps: [`${APP}:${SECRET}`, `${PLAIN_APP}:${SECRET}`],
    corps: [`${CORP}:${AGENT}:${CORP_SECRET}`],
  });
  const receiver = await startReceiver();
  // The safe/compatible account and the WeCom app take WX_PUSH_*; the plaintext one has its own "push".
  await writeFile(
    join(dir, 'wxkit.config.json'),
    JSON.stringify({
      accounts: [{ appId: PLAIN_APP, secret: SECRET, push: { token: TOKEN, forward: [receiver.url] } }],
    }),
  );
  const service = await startService({
    env: {
      WX_APP_ID: APP,
      WX_APP_SECRET: SECRET,
      WX_CORP_ID: CORP,
      WX_CORP_AGENT_ID: AGENT,
      WX_CORP_SECRET: CORP_SECRET,
      WX_API_BASE: sim.url,
      WX_WORK_API_BASE: sim.url,
      WX_OPEN_BASE: sim.url,
      WX_JS_DOMAINS: 'localhost',
      WXKIT_STORE: 'memory',
      WXKIT_LOG: 'off',
      WX_PUSH_TOKEN: TOKEN,
      WX_PUSH_AES_KEY: AES_KEY,
      WX_PUSH_FORWARD: receiver.url,
      WXKIT_PUSH_FORWARD_SECRET: FORWARD_SECRET,
      HOST: '127.0.0.1',
      PORT: '0',
    },
    cwd: dir,
  });
  return {
    sim,
    receiver,
    service,
    async close() {
      await service.close();
      await receiver.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
