import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleNode, LISTEN_BACKLOG } from '../adapters/node.ts';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { HANDLE_INPUT, type WxkitHandler } from '../http/handler.ts';

/**
 * How long the server waits on a client, in milliseconds. Each limit ends a way a client could hold
 * a connection (and the memory behind it) for ever.
 */
export interface ServerTimeouts {
  /** The whole request (headers and body) must arrive within this. @default 30000 */
  requestTimeoutMs?: number;
  /** The request headers must arrive within this (at most `requestTimeoutMs`). @default 15000 */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** A connection with no traffic either way for this long is closed (`server.timeout`). @default 60000 */
  idleTimeoutMs?: number;
  /** A response the client has not drained for this long is dropped with its connection. @default 30000 */
  writeStallMs?: number;
}

const DEFAULT_TIMEOUTS = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  writeStallMs: 30_000,
} satisfies Required<ServerTimeouts>;

/**
 * How often Node looks for requests past `headersTimeoutMs`/`requestTimeoutMs`. Node's default (30 s)
 * let a client that never finished its headers hold its connection for up to 45 s instead of 15.
 */
const TIMEOUT_CHECK_MS = 1_000;

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(text) || Number(text) <= 0) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      `${name} must be a number of seconds greater than 0; got ${JSON.stringify(text.slice(0, 20))}`,
      {
        hint: {
          en: `Set ${name} to a number of seconds (for example 30), or leave it unset for the default.`,
          zh: `请将 ${name} 设为秒数（例如 30），或不设置以使用默认值。`,
        },
      },
    );
  }
  return Number(text) * 1000;
}

/**
 * `WXKIT_WRITE_TIMEOUT` (seconds a response may stay undrained) and `WXKIT_IDLE_TIMEOUT` (seconds a
 * connection may stay silent; also caps the keep-alive wait).
 *
 * @throws {WxkitError} `config_error` naming the variable.
 */
export function readServerTimeouts(env: NodeJS.ProcessEnv): ServerTimeouts {
  const writeStallMs = seconds(env, 'WXKIT_WRITE_TIMEOUT');
  const idleTimeoutMs = seconds(env, 'WXKIT_IDLE_TIMEOUT');
  return {
    ...(writeStallMs === undefined ? {} : { writeStallMs }),
    ...(idleTimeoutMs === undefined
      ? {}
      : { idleTimeoutMs, keepAliveTimeoutMs: Math.min(idleTimeoutMs, DEFAULT_TIMEOUTS.keepAliveTimeoutMs) }),
  };
}

/** A listening wxkit server. */
export interface RunningServer {
  /** `http://host:port` as bound. */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

const BAD_REQUEST_BODY = JSON.stringify({
  error: {
    code: 'invalid_request',
    message: 'The HTTP request is malformed (bad request line, header or encoding).',
    messageZh: 'HTTP 请求格式有误（请求行、请求头或编码不正确）。',
    hint: 'Send a well-formed HTTP/1.1 request. / 请发送格式正确的 HTTP/1.1 请求。',
  },
});

const TIMED_OUT_BODY = JSON.stringify({
  error: {
    code: 'invalid_request',
    message: 'The request headers or body did not arrive in time.',
    hint: 'Send the whole request within the server timeouts (headers 15 s, request 30 s). / 请在服务器超时内发完整个请求（请求头 15 秒，整个请求 30 秒）。',
  },
});

/**
 * Serves the handler on `host:port` with Node's http server. Malformed requests that Node's parser
 * refuses (CRLF or NUL in the request line, bad headers) still get the JSON error shape. `handler` may
 * be a function returning the handler, for handlers that need the bound port first.
 */
export function listen(
  handler: WxkitHandler | (() => WxkitHandler),
  host: string,
  port: number,
  timeouts: ServerTimeouts = {},
): Promise<RunningServer> {
  const current =
    typeof handler === 'function' && !(HANDLE_INPUT in handler)
      ? (handler as () => WxkitHandler)
      : () => handler as WxkitHandler;
  const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
  const server = createServer({
    requestTimeout: t.requestTimeoutMs,
    headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs),
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  });
  // A silent connection is destroyed (no 'timeout' listener: Node's default).
  server.timeout = t.idleTimeoutMs;
  const mount = { writeStallMs: t.writeStallMs };
  let active = 0;
  let onIdle: (() => void) | undefined;
  const done = () => {
    if (--active === 0) onIdle?.();
  };
  const failed = (res: ServerResponse) => {
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"error":{"code":"internal","message":"Internal error.","hint":""}}');
    } else res.destroy();
    done();
  };
  server.on('request', (req, res) => {
    active++;
    handleNode(current(), req, res, mount).then(done, () => failed(res));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const late = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = tooLarge
      ? '431 Request Header Fields Too Large'
      : late
        ? '408 Request Timeout'
        : '400 Bad Request';
    const body = tooLarge
      ? BAD_REQUEST_BODY.replace('invalid_request', 'payload_too_large')
      : late
        ? TIMED_OUT_BODY
        : BAD_REQUEST_BODY;
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A burst of new connections (a load balancer's cold start, a campaign going out) queues here
    // instead of being dropped by the kernel past Node's default 511 (the clients' SYN retries turn
    // drops into 1–7 s stalls).
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? 'localhost' : shownHost}:${addr.port}`,
        port: addr.port,
        server,
        close: (graceMs = 10_000) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            // Connections that finish their in-flight request are closed as they go idle.
            onIdle = () => server.closeIdleConnections();
            if (active === 0) onIdle();
          }),
      });
    });
  });
}
