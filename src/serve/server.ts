import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleNode } from '../adapters/node.ts';
import { HANDLE_INPUT, type WxkitHandler } from '../http/handler.ts';

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
    hint: 'Send a well-formed HTTP/1.1 request. / 请发送格式正确的 HTTP/1.1 请求。',
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
): Promise<RunningServer> {
  const current =
    typeof handler === 'function' && !(HANDLE_INPUT in handler)
      ? (handler as () => WxkitHandler)
      : () => handler as WxkitHandler;
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 });
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
    handleNode(current(), req, res).then(done, () => failed(res));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const body = tooLarge
      ? BAD_REQUEST_BODY.replace('invalid_request', 'payload_too_large')
      : BAD_REQUEST_BODY;
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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
