import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { createHandler, type HandlerOptions, type WxkitHandler } from '../../src/http/handler.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

/**
 * The three parties of a real deployment on three origins: the page (`h5.example.com`, also
 * `other.example`), the wxkit service (`svc.example`, plus the same handler mounted on the page's own
 * server under /jssdk), and the WeChat simulator (`sim.example`). Chromium maps those names to local
 * ports with --host-resolver-rules, so pages really live at http://h5.example.com/….
 */

export const APP_ID = 'wxb0a1c2d3e4f50607';
export const SECRET = 'browser-test-secret';
export const CHROMIUM = '/usr/bin/chromium';

export interface Stack {
  sim: Simulator;
  account: Wxkit;
  handler: WxkitHandler;
  mediaDir: string;
  pagePort: number;
  servicePort: number;
  hostRules: string;
  /** Method, path and headers of every /jssdk request the page's own server received. */
  seen: Array<{ method: string; path: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** JS-safe domains the simulator binds for the account. @default ['h5.example.com'] */
  simDomains?: string[];
  /** JS-safe domains the service knows. @default ['h5.example.com', 'other.example'] */
  serviceDomains?: string[];
  /** More handler options (card ids…). */
  handlerOptions?: HandlerOptions;
  /**
   * The account's allowLoopback. Unset, it follows the simulator's loopback apiBase, and client.js then
   * points the helper at the simulator's /jweixin.js; `false` serves client.js as in production.
   */
  allowLoopback?: boolean;
  /** WeChat Pay merchants of the simulator (SPEC §12). @default none */
  mchs?: SimulatorOptions['mchs'];
  /** Path prefixes the page's own server hands to the handler. @default ['/jssdk/'] */
  pageRoutes?: string[];
}

/** The Node request as a web Request for the handler, `origin` giving its scheme and host. */
export async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const body =
    chunks.length > 0 && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : null;
  return new Request(new URL(req.url ?? '/', origin), { method: req.method ?? 'GET', headers, body });
}

/** The handler's Response written to the Node response (buffered). */
export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

/** Listens on a free loopback port; resolves with the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** The test page: loads the helper from the service, leaves everything else to page.evaluate. */
export function pageHtml(title: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script src="/jssdk/client.js"></script></head><body><h1>${title}</h1></body></html>`;
}

/** Browser tests run, never skip: without Chromium they fail with the command that installs it. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it with \`apt-get install -y chromium\` (browser tests need it).`,
    );
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  requireChromium();
  if (!existsSync(new URL('../../dist/client.global.js', import.meta.url))) {
    throw new Error('dist/client.global.js is missing: run `npx tsup` first (npm test does).');
  }
  const sim = await startSimulator({
    apps: [{ appId: APP_ID, secret: SECRET, jsDomains: options.simDomains ?? ['h5.example.com'] }],
    ...(options.mchs ? { mchs: options.mchs } : {}),
  });
  const account = createWxkit({
    appId: APP_ID,
    secret: SECRET,
    apiBase: sim.url,
    openBase: sim.url,
    store: 'memory',
    jsDomains: options.serviceDomains ?? ['h5.example.com', 'other.example'],
    ...(options.allowLoopback === undefined ? {} : { allowLoopback: options.allowLoopback }),
  });
  const mediaDir = mkdtempSync(join(tmpdir(), 'wxkit-browser-media-'));
  const handler = createHandler(account, {
    extra: { mediaDir },
    log: false,
    rateLimit: false,
    ...options.handlerOptions,
  });
  const seen: Stack['seen'] = [];
  const page = createServer(async (req, res) => {
    try {
      const url = req.url ?? '';
      if ((options.pageRoutes ?? ['/jssdk/']).some((prefix) => url.startsWith(prefix))) {
        seen.push({ method: req.method ?? '', path: url, headers: req.headers });
        await writeResponse(res, await handler(await toRequest(req, `http://${req.headers.host}`)));
        return;
      }
      if (req.url === '/esm/client.js') {
        // The ESM build, as a bundler-free <script type="module"> would import it.
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(distFile('client.js'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(pageHtml(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  const service = createServer(async (req, res) => {
    try {
      await writeResponse(res, await handler(await toRequest(req, `http://${req.headers.host}`)));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  const pagePort = await listen(page);
  const servicePort = await listen(service);
  const hostRules = mapHosts({
    'h5.example.com': pagePort,
    'other.example': pagePort,
    'third.example': pagePort,
    'svc.example': servicePort,
    'sim.example': sim.port,
  });
  return {
    sim,
    account,
    handler,
    mediaDir,
    pagePort,
    servicePort,
    hostRules,
    seen,
    async close() {
      page.closeAllConnections();
      service.closeAllConnections();
      await Promise.all([
        new Promise((r) => page.close(r)),
        new Promise((r) => service.close(r)),
        account.close(),
        sim.close(),
      ]);
      rmSync(mediaDir, { recursive: true, force: true });
    },
  };
}

/** Chromium flags for the tests (DEVELOPERS.md) plus the host mapping. */
export function chromiumArgs(hostRules: string): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--host-resolver-rules=${hostRules}`,
  ];
}

/** A --host-resolver-rules value mapping each name to its port on 127.0.0.1. */
export function mapHosts(ports: Record<string, number>): string {
  return Object.entries(ports)
    .map(([name, port]) => `MAP ${name} 127.0.0.1:${port}`)
    .join(', ');
}

/**
 * Chromium with the test flags and `hostRules` (from {@link mapHosts}). The default maps only a name no
 * test uses, for pages that need no mapping.
 */
export function launchChromium(hostRules = 'MAP unused.example 127.0.0.1'): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs(hostRules) });
}

/**
 * For the tests of the enclosing describe (or file): a stack and a Chromium mapped onto it, started in a
 * `before` hook and closed in an `after` hook. The returned object is filled in by that `before`.
 */
export function setUpStack(options: StackOptions = {}): { readonly stack: Stack; readonly browser: Browser } {
  const env = {} as { stack: Stack; browser: Browser };
  before(async () => {
    env.stack = await startStack(options);
    env.browser = await launchChromium(env.stack.hostRules);
  });
  after(async () => {
    await env.browser?.close();
    await env.stack?.close();
  });
  return env;
}

/** Bytes of a file in dist/, for size checks. */
export function distFile(name: string): Buffer {
  return readFileSync(new URL(`../../dist/${name}`, import.meta.url));
}
