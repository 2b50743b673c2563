import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LISTEN_BACKLOG, nodeHeaders } from '../adapters/node.ts';
import { errmsgFor, json, type SimContext, type SimRoute, wechatError, wecomError } from './http.ts';
import type { SimState } from './state.ts';

/**
 * The simulator's dispatcher: a `(Request, {ip}) => Promise<Response | 'drop'>` core that counts
 * calls, applies injected faults and routes, and a `node:http` adapter around it. Handlers never
 * crash the process: a throwing handler answers WeChat's `-1 system error`.
 */

/** Largest request body accepted (a 10 MB media file plus multipart overhead). */
export const MAX_BODY_BYTES = 11 * 1024 * 1024;

const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
  'access-control-max-age': '600',
};

function findRoute(routes: readonly SimRoute[], path: string): SimRoute | undefined {
  for (const r of routes) if (r.path === path) return r;
  for (const r of routes) {
    if (r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1))) return r;
  }
  return undefined;
}

function isControl(path: string): boolean {
  return path === '/__sim' || path.startsWith('/__sim/');
}

function withCors(res: Response): Response {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(CORS_HEADERS)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

export type SimDispatch = (req: Request, info: { ip: string }) => Promise<Response | 'drop'>;

/**
 * Answers whose body stalls (fault `stallBody`): the adapter sends the status, the headers and half of
 * the body, then nothing until the caller gives up (or the simulator closes) — a proxy or WeChat that
 * hangs mid-answer, which a client's header timeout does not catch.
 */
const stalled = new WeakSet<Response>();

/**
 * The simulator as a function. `baseUrl` is what handlers see as the simulator's own address.
 * Requests to `/__sim/*` are neither counted nor subject to faults.
 */
export function createDispatch(
  state: SimState,
  routes: readonly SimRoute[],
  baseUrl: () => string,
  closing?: AbortSignal,
): SimDispatch {
  return async (req, { ip }) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return json({ errcode: 40097, errmsg: `${errmsgFor(40097)} rid: ${state.rid()}` }, 400);
    }
    const path = url.pathname;
    const route = findRoute(routes, path);
    const cors = route?.cors === true || isControl(path);
    if (req.method === 'OPTIONS' && cors) return new Response(null, { status: 204, headers: CORS_HEADERS });
    let fault: ReturnType<SimState['takeFaults']> | undefined;
    if (!isControl(path)) {
      state.count(path);
      fault = state.takeFaults(path);
      if (fault.latencyMs > 0) {
        // A pending delay must not keep a closed simulator's process alive.
        const slept = await sleep(fault.latencyMs, undefined, closing ? { signal: closing } : {}).then(
          () => true,
          () => false,
        );
        if (!slept) return 'drop';
      }
      if (fault.drop) return 'drop';
      if (fault.errcode !== undefined) {
        const res =
          route?.flavor === 'wecom'
            ? wecomError(state, fault.errcode, ip)
            : wechatError(state, fault.errcode);
        return cors ? withCors(res) : res;
      }
    }
    const res = await run(state, route, req, { state, url, ip, baseUrl: baseUrl() });
    const out = cors ? withCors(res) : res;
    if (fault?.stallBody) stalled.add(out);
    return out;
  };
}

async function run(
  state: SimState,
  route: SimRoute | undefined,
  req: Request,
  ctx: SimContext,
): Promise<Response> {
  const path = ctx.url.pathname;
  if (!route) {
    // api.weixin.qq.com answers unknown paths with HTTP 404; the body here keeps WeChat's error shape.
    return json({ errcode: -1, errmsg: `no such api ${path} (simulator) rid: ${state.rid()}` }, 404);
  }
  if (!route.methods.includes(req.method)) {
    if (path.startsWith('/cgi-bin/') || path.startsWith('/sns/')) {
      const errcode = route.methods.includes('GET') ? 43001 : 43002;
      return route.flavor === 'wecom' ? wecomError(state, errcode, ctx.ip) : wechatError(state, errcode);
    }
    return json(
      { error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` } },
      405,
      { allow: route.methods.join(', ') },
    );
  }
  try {
    return await route.handler(req, ctx);
  } catch {
    return json({ errcode: -1, errmsg: `${errmsgFor(-1)} rid: ${state.rid()}` }, 500);
  }
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headersDistinct)) {
    if (!value || name.startsWith(':')) continue;
    for (const v of value) {
      try {
        headers.append(name, v);
      } catch {
        // a header value undici refuses: drop it rather than fail the request
      }
    }
  }
  return headers;
}

async function writeResponse(
  res: ServerResponse,
  response: Response,
  close = false,
  closing?: AbortSignal,
): Promise<void> {
  const headers = nodeHeaders(response);
  if (close) headers.connection = 'close';
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  if (stalled.has(response)) {
    res.write(body ? body.subarray(0, Math.floor(body.length / 2)) : '');
    // Hold the connection until the caller hangs up or the simulator closes, then cut it.
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      closing?.addEventListener('abort', () => resolve(), { once: true });
    });
    res.destroy();
    return;
  }
  res.end(body);
}

/** A running HTTP server around a dispatch function. */
export interface SimHttpServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export { LISTEN_BACKLOG };

/** Serves `dispatch` over `node:http` on `host:port` (port 0 = a free port). */
export async function listen(
  state: SimState,
  dispatch: (baseUrl: () => string, closing: AbortSignal) => SimDispatch,
  host: string,
  port: number,
): Promise<SimHttpServer> {
  let base = '';
  const closing = new AbortController();
  const handle = dispatch(() => base, closing.signal);
  const server = createServer((req, res) => {
    void (async () => {
      const ip = req.socket.remoteAddress ?? '';
      try {
        let body: Buffer | undefined;
        const method = req.method ?? 'GET';
        if (method !== 'GET' && method !== 'HEAD') {
          try {
            body = await readBody(req, MAX_BODY_BYTES);
          } catch (e) {
            if (!(e instanceof BodyTooLarge)) throw e;
            const tooBig = (req.url ?? '').startsWith('/cgi-bin/media/upload')
              ? wechatError(state, 40006)
              : json({ errcode: -1, errmsg: `request body too large rid: ${state.rid()}` }, 413);
            await writeResponse(res, tooBig, true);
            return;
          }
        }
        let request: Request;
        try {
          // Origin-form targets are joined as text: `//x/y` is a path here, not a host.
          const target = req.url ?? '/';
          request = new Request(new URL(target.startsWith('/') ? base + target : target), {
            method,
            headers: toHeaders(req),
            ...(body && body.length > 0 ? { body: new Uint8Array(body) as Uint8Array<ArrayBuffer> } : {}),
          });
        } catch {
          await writeResponse(res, json({ errcode: 40097, errmsg: `invalid args rid: ${state.rid()}` }, 400));
          return;
        }
        const response = await handle(request, { ip });
        if (response === 'drop') {
          req.socket.destroy();
          return;
        }
        await writeResponse(res, response, false, closing.signal);
      } catch {
        if (!res.headersSent) {
          await writeResponse(
            res,
            json({ errcode: -1, errmsg: `system error rid: ${state.rid()}` }, 500),
          ).catch(() => undefined);
        } else res.destroy();
      }
    })();
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A burst of cold calls (thousands of processes' fetches at once) opens thousands of connections:
    // with Node's default backlog (511) the kernel dropped the overflow, and the clients' SYN retries
    // (1 s, 3 s, 7 s) turned into 8-second upstream timeouts that opened wxkit's breakers.
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' || host.includes(':') ? `[${addr.address}]` : host;
  base = `http://${hostPart}:${addr.port}`;
  return {
    server,
    url: base,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
