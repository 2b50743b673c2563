import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  concat,
  createHandler,
  HANDLE_INPUT,
  type HandlerOptions,
  tooLarge,
  type WxkitHandler,
} from '../http/handler.ts';
import { type HttpInput, type RouteResult, UNMATCHED } from '../http/route.ts';
import type { Account } from '../types.ts';

/**
 * The one converter between Node's `IncomingMessage`/`ServerResponse` and the handler. The Express,
 * Koa and Fastify adapters and `wxkit serve` all go through {@link handleNode}.
 */

/** Options for mounting the handler in a Node framework. */
export interface NodeMountOptions {
  /** The body a body-parser already consumed (`req.body`); re-serialized as JSON when it is an object. */
  parsedBody?: unknown;
  /** Let the framework go on (`next()`) when no wxkit route matches. */
  passThrough?: boolean;
  /** Path and query to route on, when the framework rewrote `req.url`. @default req.url */
  target?: string;
  /** The path the framework stripped from `req.url` (Express `req.baseUrl`, a Fastify prefix). */
  mountPath?: string;
  /**
   * Drop the connection when a streamed response (a media file) has not drained for this many
   * milliseconds: a client that stopped reading. @default no limit (the server's own timeouts apply)
   */
  writeStallMs?: number;
}

/** A handler built from accounts, or one built already. */
export function toHandler(
  source: Account | readonly Account[] | WxkitHandler,
  options?: HandlerOptions,
): WxkitHandler {
  if (typeof source === 'function' && HANDLE_INPUT in source) return source;
  return createHandler(source as Account | readonly Account[], options);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

function readStream(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return resolve(new Uint8Array(0));
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain without keeping it, so the connection can answer 413
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(concat(chunks, size));
    };
    const onError = (e: unknown) => {
      cleanup();
      reject(e);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/** The handler's view of a Node request. */
export function nodeInput(req: IncomingMessage, options: NodeMountOptions = {}): HttpInput {
  const parsed = options.parsedBody;
  return {
    method: req.method ?? 'GET',
    target: options.target ?? req.url ?? '/',
    mountPath: options.mountPath,
    header: (name) => header(req, name),
    clientIp: req.socket?.remoteAddress,
    passThrough: options.passThrough,
    readBody(limit) {
      if (parsed !== undefined && (req.readableEnded || req.readableFlowing !== null)) {
        const bytes =
          parsed instanceof Uint8Array
            ? parsed
            : Buffer.from(typeof parsed === 'string' ? parsed : (JSON.stringify(parsed) ?? ''));
        return bytes.length > limit ? Promise.reject(tooLarge(limit)) : Promise.resolve(bytes);
      }
      return readStream(req, limit);
    },
  };
}

/** Writes a handler result to a Node response. */
export async function writeResult(
  res: ServerResponse,
  result: RouteResult,
  head: boolean,
  writeStallMs?: number,
): Promise<void> {
  if (result instanceof Response) await sendWebResponse(res, result, head, writeStallMs);
  else writeReply(res, result, head);
}

/** Writes a plain reply (the hot path: synchronous, one header block and the body in one `end`). */
function writeReply(res: ServerResponse, reply: Exclude<RouteResult, Response>, head: boolean): void {
  const body = reply.body;
  const noBody = reply.status === 204 || reply.status === 304;
  // writeHead sends the header block as given: without a length Node would fall back to chunked
  // encoding (an extra write per response).
  if (!noBody && !('content-length' in reply.headers)) {
    reply.headers['content-length'] = String(
      body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
    );
  }
  res.writeHead(reply.status, reply.headers);
  res.end(head || noBody || body === null ? undefined : body);
}

/** Connections waiting to be accepted by a listening server (the kernel caps it at net.core.somaxconn). */
export const LISTEN_BACKLOG = 4096;

/** A web Response's headers for `res.writeHead`, each `Set-Cookie` kept apart (the Headers join would merge them). */
export function nodeHeaders(response: Response): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  return headers;
}

/**
 * Writes a web `Response` (any body, streaming) to a Node response, one chunk at a time: the next
 * chunk is read from the body only once the socket took the last one (backpressure), and a response
 * that has not drained for `writeStallMs` is dropped with its connection.
 */
export async function sendWebResponse(
  res: ServerResponse,
  response: Response,
  head = false,
  writeStallMs?: number,
): Promise<void> {
  res.writeHead(response.status, nodeHeaders(response));
  if (head || !response.body) {
    res.end();
    // A HEAD answer never reads the body: cancel it so its source stops.
    await response.body?.cancel().catch(() => {});
    return;
  }
  const reader = response.body.getReader();
  // The client went away: stop the source (a file handle, an upstream fetch) at once.
  const onClose = () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value) && !(await drained(res, writeStallMs))) {
        res.destroy();
        await reader.cancel().catch(() => {});
        return;
      }
    }
    res.end();
  } catch (e) {
    res.destroy();
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    res.off('close', onClose);
  }
}

/** Resolves true when `res` drains, false when it closes or stays full for `stallMs`. */
function drained(res: ServerResponse, stallMs: number | undefined): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onClose = () => finish(false);
    const timer = stallMs === undefined ? undefined : setTimeout(() => finish(false), stallMs);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** A web `Request` from a Node request (for handlers without the internal fast path). */
export function toWebRequest(req: IncomingMessage, base = 'http://localhost'): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k.startsWith(':')) continue;
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else headers.set(k, v);
  }
  const host = header(req, 'host');
  const origin = host ? `http://${host}` : base;
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  let url: URL;
  try {
    url = new URL(`${origin}${req.url ?? '/'}`);
  } catch {
    url = new URL(`${base}${req.url ?? '/'}`);
  }
  return new Request(url, init);
}

/**
 * Serves one Node request with the handler. Resolves `false` (nothing written) when `passThrough` is
 * set and no wxkit route matches, so the framework can go on; `true` once the answer is written.
 */
export async function handleNode(
  handler: WxkitHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeMountOptions = {},
): Promise<boolean> {
  const result = await handler[HANDLE_INPUT](nodeInput(req, options));
  if (result === UNMATCHED) return false;
  // A plain reply is written without another promise in between (one per request adds up).
  if (result instanceof Response)
    await sendWebResponse(res, result, req.method === 'HEAD', options.writeStallMs);
  else writeReply(res, result, req.method === 'HEAD');
  return true;
}

/** A `(req, res)` listener for `http.createServer`. */
export function nodeListener(handler: WxkitHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handleNode(handler, req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"error":{"code":"internal","message":"Internal error.","hint":""}}');
      } else res.destroy();
    });
  };
}
