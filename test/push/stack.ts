import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWxkit } from '../../src/accounts/official.ts';
import { nodeListener } from '../../src/adapters/node.ts';
import type { LogEntry } from '../../src/http/log.ts';
import {
  type CreatePushHandlerOptions,
  createPushCrypto,
  createPushHandler,
  type PushHandler,
  type PushMessage,
  pushSignature,
  sealPush,
  writeXml,
} from '../../src/push/index.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import type { Account } from '../../src/types.ts';

export const TOKEN = 'pushToken2026';
export const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** A gate a test opens when it wants a slow handler to finish (no sleeping, no wall-clock asserts). */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

export interface PushServer {
  url: string;
  handler: PushHandler;
  /** Every message onMessage was called with. */
  calls: PushMessage[];
  logs: LogEntry[];
  close(): Promise<void>;
}

/** An account of the simulator (its custom/send serves the late replies). */
export function simAccount(sim: Simulator, appId: string, secret: string): Account {
  return createWxkit({ appId, secret, apiBase: sim.url, openBase: sim.url, store: 'memory' });
}

/** The push handler on a real node:http server on 127.0.0.1, at /wechat/push. */
export async function pushServer(
  options: Omit<CreatePushHandlerOptions, 'onMessage' | 'token'> & {
    token?: string;
    onMessage?: CreatePushHandlerOptions['onMessage'];
  },
): Promise<PushServer> {
  const calls: PushMessage[] = [];
  const logs: LogEntry[] = [];
  const given = options.onMessage;
  const handler = createPushHandler({
    token: TOKEN,
    log: (e) => logs.push(e),
    ...options,
    path: options.path ?? '/wechat/push',
    onMessage: (m, ctx) => {
      calls.push(m);
      return given?.(m, ctx);
    },
  });
  const server: Server = createServer(nodeListener(handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat/push`,
    handler,
    calls,
    logs,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The same message again, as WeChat's next try sends it (same MsgId, new timestamp and nonce). */
export async function retry(
  url: string,
  fields: Record<string, string>,
  options: { encrypted: boolean; receiveId?: string },
): Promise<Response> {
  const xml = writeXml(fields);
  const timestamp = String(Math.floor(Date.now() / 1000));
  if (!options.encrypted) {
    const q = new URLSearchParams({
      signature: pushSignature(TOKEN, timestamp, '123'),
      timestamp,
      nonce: '123',
    });
    return fetch(`${url}?${q}`, { method: 'POST', body: xml });
  }
  const crypto = createPushCrypto({ encodingAESKey: AES_KEY, receiveId: options.receiveId ?? '' });
  const sealed = sealPush(xml, { crypto, token: TOKEN, toUserName: fields.ToUserName ?? '', timestamp });
  return fetch(`${url}?${new URLSearchParams(sealed.query)}`, { method: 'POST', body: sealed.body });
}

/** Registers `url` as the account's server URL in safe mode (the simulator verifies it first). */
export async function configureSafe(sim: Simulator, appId: string, url: string | string[]): Promise<void> {
  await sim.configurePush({ appId, url, token: TOKEN, encodingAESKey: AES_KEY, mode: 'safe' });
}
