import { after, before } from 'node:test';
import { createHandler, type HandlerOptions, type WxkitHandler } from '../../src/http/handler.ts';
import { Metrics } from '../../src/metrics.ts';
import { listen, type RunningServer } from '../../src/serve/server.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

export const APP_A = 'wxa000000000000001';
export const SECRET_A = 'secret-a-for-http-tests';
export const APP_B = 'wxb000000000000002';
export const SECRET_B = 'secret-b-for-http-tests';
export const API_KEY = 'test-api-key-0123456789';

/** A simulator with two accounts bound to h5.example.com / b.example.org, and wxkit accounts on it. */
export interface Fixture {
  sim: Simulator;
  a: Wxkit;
  b: Wxkit;
  handler: WxkitHandler;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function fixture(options: HandlerOptions = {}): Promise<Fixture> {
  const sim = await startSimulator({
    apps: [
      { appId: APP_A, secret: SECRET_A, jsDomains: ['h5.example.com'] },
      { appId: APP_B, secret: SECRET_B, jsDomains: ['b.example.org'] },
    ],
  });
  const metrics = new Metrics();
  const common = { apiBase: sim.url, openBase: sim.url, store: 'memory', metrics, allowLoopback: false };
  const a = createWxkit({ appId: APP_A, secret: SECRET_A, jsDomains: ['h5.example.com'], ...common });
  const b = createWxkit({ appId: APP_B, secret: SECRET_B, jsDomains: ['b.example.org/app'], ...common });
  const logs: Record<string, unknown>[] = [];
  const handler = createHandler([a, b], {
    apiKeys: [API_KEY],
    log: (e) => logs.push(e),
    logRequests: true,
    metrics,
    ...options,
  });
  return {
    sim,
    a,
    b,
    handler,
    logs,
    async close() {
      await a.close();
      await b.close();
      await sim.close();
    },
  };
}

/** A {@link fixture} served by `wxkit serve`'s Node server on 127.0.0.1; both are set in `before`. */
export interface ServedFixture {
  f: Fixture;
  server: RunningServer;
}

/** Registers before/after hooks that start `fixture(options)` under the Node server and close both. */
export function servedFixture(options: HandlerOptions = {}): ServedFixture {
  const served = {} as ServedFixture;
  before(async () => {
    served.f = await fixture(options);
    served.server = await listen(served.f.handler, '127.0.0.1', 0);
  });
  after(async () => {
    await served.server.close();
    await served.f.close();
  });
  return served;
}

/** A simulator with one Official Account bound to localhost, and a wxkit account on it (memory store). */
export async function localAccount(
  appId: string,
  secret: string,
): Promise<{ sim: Simulator; account: Wxkit }> {
  const sim = await startSimulator({ apps: [{ appId, secret, jsDomains: ['localhost'] }] });
  const account = createWxkit({ appId, secret, apiBase: sim.url, openBase: sim.url, store: 'memory' });
  return { sim, account };
}

export function get(handler: WxkitHandler, path: string, headers: Record<string, string> = {}) {
  return handler(new Request(`http://svc.test${path}`, { headers }));
}

export function post(
  handler: WxkitHandler,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return handler(
    new Request(`http://svc.test${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

/** The error body of SPEC §3, checked for shape: the message in English and in Chinese. */
export async function errorOf(
  res: Response,
): Promise<{ code: string; message: string; messageZh: string; hint: string; [k: string]: unknown }> {
  const text = await res.text();
  const body = JSON.parse(text) as {
    error: { code: string; message: string; messageZh: string; hint: string };
  };
  if (!body.error || typeof body.error.code !== 'string' || typeof body.error.message !== 'string') {
    throw new Error(`not an error body: ${text}`);
  }
  if (!bilingual(body.error.message, body.error.messageZh)) {
    throw new Error(`the error's message is not in English and Chinese: ${text}`);
  }
  if (/\bat .+:\d+:\d+/.test(text)) throw new Error(`stack trace in body: ${text}`);
  return body.error;
}

/** English `message` and Chinese `messageZh`: both there, the Chinese one in Chinese, not a copy. */
export function bilingual(message: unknown, messageZh: unknown): boolean {
  return (
    typeof message === 'string' &&
    /[A-Za-z]{3}/.test(message) &&
    typeof messageZh === 'string' &&
    /[\u4e00-\u9fff]/.test(messageZh) &&
    message !== messageZh
  );
}
