import type { Metrics } from '../../metrics.ts';
import type { Wxkit } from '../../types.ts';
import { json, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';

const READY_TIMEOUT_MS = 5000;
const NO_STORE = { 'cache-control': 'no-store' };

async function readiness(wx: Wxkit) {
  const signal = AbortSignal.timeout(READY_TIMEOUT_MS);
  let error: { code: string; message: string; errcode?: number } | undefined;
  try {
    await wx.ticketInfo('jsapi', { signal });
  } catch (e) {
    const err = e as { code?: unknown; errcode?: unknown; message?: unknown };
    error = { code: typeof err.code === 'string' ? err.code : 'internal', message: String(err.message ?? e) };
    if (typeof err.errcode === 'number') error.errcode = err.errcode;
  }
  let storeReachable = false;
  try {
    storeReachable = (await wx.status()).storeReachable;
  } catch {
    storeReachable = false;
  }
  return { appId: wx.appId, storeReachable, credentials: error === undefined, ...(error ? { error } : {}) };
}

async function readyz(ctx: RouteContext) {
  const accounts = await Promise.all(ctx.accounts.map(readiness));
  const ready = accounts.every((a) => a.storeReachable && a.credentials);
  // `mode` so a probe (and whoever reads it) can tell a sandbox from a live service (SPEC §10).
  const mode = ctx.options.sandbox ? 'sandbox' : 'live';
  return json(ready ? 200 : 503, { ready, mode, accounts }, NO_STORE);
}

/**
 * Prometheus text of several registries as one exposition: families with the same name (the same
 * counter in two accounts' registries) are merged under a single HELP/TYPE header.
 */
export function mergeMetrics(registries: readonly Metrics[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  for (const registry of new Set(registries)) {
    let current: { meta: string[]; samples: string[] } | undefined;
    for (const line of registry.render().split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2] as string;
        current = families.get(name);
        if (!current) {
          current = { meta: [], samples: [] };
          families.set(name, current);
        }
        if (!current.meta.some((m) => m.startsWith(`# ${meta[1]} `))) current.meta.push(line);
      } else if (current) current.samples.push(line);
    }
  }
  let out = '';
  for (const f of families.values()) out += `${[...f.meta, ...f.samples].join('\n')}\n`;
  return out;
}

/** `/healthz`, `/readyz`, `/metrics`. Not rate limited (probes and scrapers poll them). */
export const routes: readonly Route[] = [
  {
    method: 'GET',
    path: '/healthz',
    rateLimit: false,
    handle: () => json(200, { ok: true }, NO_STORE),
  },
  { method: 'GET', path: '/readyz', rateLimit: false, handle: readyz },
  {
    method: 'GET',
    path: '/metrics',
    rateLimit: false,
    cors: false,
    handle: (ctx) =>
      send(
        200,
        mergeMetrics([ctx.metrics, ...ctx.accounts.map((a) => a.metrics)]),
        'text/plain; version=0.0.4; charset=utf-8',
        NO_STORE,
      ),
  },
];
