import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPay, type PayClient, type PayOptions } from '../../src/pay/index.ts';
import type { Simulator } from '../../src/simulator/index.ts';

/** What a receiver got: the raw bytes and headers, as a merchant's server sees them. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A real HTTP server on 127.0.0.1 standing for a merchant endpoint (a notify URL or a forward URL).
 * `answer` decides the status for each request; every request is kept in `received`.
 */
export async function startReceiver(answer: (r: Received) => number | Promise<number> = () => 200): Promise<{
  url: string;
  received: Received[];
  setAnswer(fn: (r: Received) => number | Promise<number>): void;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  let decide = answer;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      void Promise.resolve(decide(r)).then(
        (status) =>
          res
            .writeHead(status, { 'content-type': 'application/json' })
            .end(status === 204 ? undefined : '{}'),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    setAnswer: (fn) => {
      decide = fn;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A `createPay()` client for the simulator's merchant, with the simulator's clock: what a merchant
 * configures from `GET /__sim/pay/keys` (public-key mode; platform certificates otherwise).
 */
export function simPayClient(sim: Simulator, over: Partial<PayOptions> = {}, mchId?: string): PayClient {
  const k = sim.pay.keys(mchId);
  return createPay({
    mchId: k.mchId,
    serialNo: k.serialNo,
    privateKey: k.privateKey,
    apiV3Key: k.apiV3Key,
    ...(k.keyMode === 'public-key' ? { publicKey: k.publicKey, publicKeyId: k.publicKeyId } : {}),
    apiBase: sim.url,
    now: () => sim.state.nowMs(),
    ...over,
  });
}
