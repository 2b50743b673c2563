import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPushCrypto,
  openPush,
  readBody,
  sealReply,
  verifyUrl,
  verifyWecomUrl,
  writeXml,
} from '../../src/push/index.ts';

/**
 * A minimal push server for the simulator's own tests, written with the library's pure pieces
 * (verification, openPush, sealReply): it plays the developer's side so the tests can watch WeChat's.
 */

export const TOKEN = 'simPushToken1';
export const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

export type Behaviour =
  | 'echo'
  | 'success'
  | 'empty'
  | 'status500'
  | 'bad-signature'
  | 'swapped-users'
  | 'plain-reply'
  | 'not-xml'
  | { delayMs: number; then?: Behaviour };

export interface PushFixture {
  url: string;
  /** Every POST: the query and the decrypted message fields. */
  received: Array<{ query: URLSearchParams; fields: Record<string, unknown> }>;
  behaviour: Behaviour;
  /** Answer every verification GET with its echostr, signature or not (a server that checks nothing). */
  trusting: boolean;
  close(): Promise<void>;
}

function reply(
  fields: Record<string, unknown>,
  encrypted: boolean,
  format: 'xml' | 'json',
  behaviour: Behaviour,
  receiveId: string,
  token: string,
  key: string,
): string {
  if (behaviour === 'success') return 'success';
  if (behaviour === 'empty') return '';
  if (behaviour === 'not-xml') return 'hello there';
  const swapped = behaviour === 'swapped-users';
  const out = {
    ToUserName: String(swapped ? fields.ToUserName : fields.FromUserName),
    FromUserName: String(swapped ? fields.FromUserName : fields.ToUserName),
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'text',
    Content: `echo: ${String(fields.Content ?? fields.Event ?? '')}`,
  };
  const inner = format === 'json' ? JSON.stringify(out) : writeXml(out);
  if (!encrypted || behaviour === 'plain-reply') return inner;
  const sealed = sealReply(inner, {
    crypto: createPushCrypto({ encodingAESKey: key, receiveId }),
    token,
    format,
  });
  if (behaviour !== 'bad-signature') return sealed;
  return sealed.replace(/[0-9a-f]{40}/, '0'.repeat(40));
}

/** Starts the fixture on a free port. `receiveId` is the appId (corpId for WeCom). */
export async function pushFixture(
  receiveId: string,
  options: { token?: string; key?: string; wecom?: boolean } = {},
): Promise<PushFixture> {
  const token = options.token ?? TOKEN;
  const key = options.key ?? AES_KEY;
  const crypto = createPushCrypto({ encodingAESKey: key, receiveId });
  const fixture: PushFixture = {
    url: '',
    received: [],
    behaviour: 'echo',
    trusting: false,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const query = new URL(req.url ?? '/', 'http://x').searchParams;
        try {
          if (req.method === 'GET') {
            if (fixture.trusting && !options.wecom) return void res.end(query.get('echostr') ?? '');
            res.end(options.wecom ? verifyWecomUrl(query, { token, crypto }) : verifyUrl(query, { token }));
            return;
          }
          const body = Buffer.concat(chunks).toString('utf8');
          const encrypted = query.has('msg_signature');
          const format = body.trimStart().startsWith('{') ? 'json' : 'xml';
          const text = encrypted ? openPush(body, query, { crypto, token }).message : body;
          const fields = readBody(text, format) as Record<string, unknown>;
          fixture.received.push({ query, fields });
          let behaviour = fixture.behaviour;
          if (typeof behaviour === 'object') {
            await new Promise((r) => setTimeout(r, (behaviour as { delayMs: number }).delayMs));
            behaviour = behaviour.then ?? 'echo';
          }
          if (behaviour === 'status500') {
            res.statusCode = 500;
            res.end('oops');
            return;
          }
          res.end(reply(fields, encrypted, format, behaviour, receiveId, token, key));
        } catch {
          res.statusCode = 400;
          res.end('bad');
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fixture.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wx`;
  fixture.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return fixture;
}
