import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isLoopbackUrl } from '../../accounts/engine.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

interface Script {
  path: string;
  mtimeMs: number;
  body: Uint8Array;
  etag: string;
}

const STATE_KEY = 'client.js';

/**
 * Directories to search upward for `client.global.js` / `dist/client.global.js`: this module's own file
 * (read from a stack frame, because `import.meta` cannot appear in the CommonJS build), the running
 * script (`dist/cli.js` under `wxkit serve`), and the working directory.
 */
function startDirs(): string[] {
  const dirs: string[] = [];
  const frame = /(?:file:\/\/)?(\/[^():]+\.[cm]?[jt]s):\d+:\d+/.exec(new Error().stack?.split('\n')[1] ?? '');
  if (frame?.[1]) dirs.push(dirname(decodeURIComponent(frame[1])));
  const script = process.argv[1];
  if (script) {
    try {
      dirs.push(dirname(realpathSync(script)));
    } catch {
      // not a file (node -e)
    }
  }
  dirs.push(process.cwd());
  return dirs;
}

/** dist/client.global.js next to the built module, else in the package root above it. */
function findScript(explicit: string | undefined): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  for (let dir of startDirs()) {
    for (let i = 0; i < 6; i++) {
      for (const candidate of [join(dir, 'client.global.js'), join(dir, 'dist', 'client.global.js')]) {
        if (existsSync(candidate)) return candidate;
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

function load(ctx: RouteContext): Script {
  const cached = ctx.state.get(STATE_KEY) as Script | undefined;
  const path = cached?.path ?? findScript(ctx.options.clientScriptPath);
  if (!path) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'The browser helper is not built (dist/client.global.js is missing).',
      {
        zh: '浏览器助手尚未构建（缺少 dist/client.global.js）。',
        status: 503,
        hint: {
          en: 'Run `npm run build` in the wxkit package.',
          zh: '请在 wxkit 包中运行 `npm run build`。',
        },
      },
    );
  }
  const mtimeMs = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  if (cached && cached.mtimeMs === mtimeMs) return cached;
  const body = withSandboxSdk(readFileSync(path), clientOptions(ctx));
  const script = {
    path,
    mtimeMs: mtimeMs ?? 0,
    body,
    etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 27)}"`,
  };
  ctx.state.set(STATE_KEY, script);
  return script;
}

/**
 * In sandbox mode the service names the simulator's JS bridge as the helper's default JS-SDK, so a page
 * written for production (`<script src=".../jssdk/client.js">`, no `sdkUrl`) runs offline as it is.
 */
function withSandboxSdk(body: Buffer, options: unknown): Buffer {
  const sdkUrl = (options as { sdkUrl?: unknown } | undefined)?.sdkUrl;
  if (typeof sdkUrl !== 'string' || !/^https?:\/\//.test(sdkUrl)) return body;
  const line = `window.__wxkitSdkUrl=${JSON.stringify(sdkUrl).replace(/</g, '\\u003c')};\n`;
  return Buffer.concat([Buffer.from(line), body]);
}

/**
 * `extra.client`, or — for a default account on the simulator (a loopback `apiBase`) — the simulator's
 * JS bridge as the JS-SDK: the library user's own app then serves pages that configure offline, as the
 * sandbox's do, instead of loading WeChat's real SDK, which does nothing outside WeChat.
 */
function clientOptions(ctx: RouteContext): unknown {
  const given = ctx.options.extra.client as { sdkUrl?: unknown } | undefined;
  const account = ctx.account();
  if (given?.sdkUrl !== undefined || account.allowLoopback !== true || !isLoopbackUrl(account.apiBase)) {
    return given;
  }
  return { ...given, sdkUrl: `${account.apiBase}/jweixin.js` };
}

function client(ctx: RouteContext) {
  const script = load(ctx);
  const headers = { etag: script.etag, 'cache-control': 'public, max-age=300, must-revalidate' };
  const inm = ctx.input.header('if-none-match');
  if (inm?.split(',').some((t) => t.trim().replace(/^W\//, '') === script.etag)) {
    return { status: 304, headers, body: null };
  }
  return send(200, script.body, 'text/javascript; charset=utf-8', headers);
}

/** `GET /jssdk/client.js`: the browser helper IIFE (`window.wxkit`). */
export const routes: readonly Route[] = [{ method: 'GET', path: '/jssdk/client.js', handle: client }];
