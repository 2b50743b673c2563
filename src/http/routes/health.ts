import type { Metrics } from '../../metrics.ts';
import { isInternalCaller } from '../internal-caller.ts';
import { anonymousMetrics } from '../metrics-visibility.ts';
import {
  type AccountReadiness,
  DEFAULT_READINESS,
  type PlatformProbe,
  type PlatformReadiness,
  ReadinessMonitor,
  type ReadinessOptions,
} from '../readiness.ts';
import { json, send } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';
import { openedMediaStore } from './media.ts';

const NO_STORE = { 'cache-control': 'no-store' };

/** The handler's readiness monitor, made on first use with `extra.readiness` overrides (tests, tuning). */
function monitorOf(ctx: RouteContext): ReadinessMonitor {
  let m = ctx.state.get('readiness') as ReadinessMonitor | undefined;
  if (!m) {
    const given = (ctx.options.extra.readiness ?? {}) as Partial<Record<keyof ReadinessOptions, unknown>>;
    const pick = (k: keyof ReadinessOptions) => {
      const v = given[k];
      return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : DEFAULT_READINESS[k];
    };
    m = new ReadinessMonitor(
      ctx.accounts,
      { timeoutMs: pick('timeoutMs'), maxAgeMs: pick('maxAgeMs'), graceMs: pick('graceMs') },
      () => openedMediaStore(ctx),
      () => ctx.options.extra.platform as PlatformProbe | undefined,
    );
    ctx.state.set('readiness', m);
  }
  return m;
}

/**
 * What an anonymous caller (a load balancer, anyone on the internet) learns: ready or not, and per
 * account the codes only. No appIds (the list of configured accounts), no WeChat errmsg (it quotes the
 * server's egress IP), no upstream base URL (`WX_API_BASE` may be an internal proxy), no store.
 */
function publicAccount(a: AccountReadiness) {
  return {
    storeReachable: a.storeReachable,
    credentials: a.credentials,
    ...(a.error
      ? {
          error: {
            code: a.error.code,
            ...(a.error.errcode === undefined ? {} : { errcode: a.error.errcode }),
          },
        }
      : {}),
    ...(a.breaker ? { breaker: a.breaker.state } : {}),
  };
}

/** An anonymous caller learns the verify ticket's state and the cause, not the platform or its counts. */
function publicPlatform(p: PlatformReadiness) {
  return {
    ready: p.ready,
    verifyTicket: { health: p.verifyTicket.health },
    ...(p.warning ? { warning: p.warning } : {}),
    ...(p.error ? { error: p.error } : {}),
  };
}

async function readyz(ctx: RouteContext) {
  const { result, probing } = await monitorOf(ctx).read();
  const ready =
    result.accounts.every((a) => a.storeReachable && a.credentials) &&
    result.media?.reachable !== false &&
    result.platform?.ready !== false;
  // `mode` so a probe (and whoever reads it) can tell a sandbox from a live service (SPEC §10).
  const mode = ctx.options.sandbox ? 'sandbox' : 'live';
  const internal = isInternalCaller(ctx.input, ctx.options.apiKeyHashes);
  const body = {
    ready,
    mode,
    checkedAt: new Date(result.at).toISOString(),
    probing,
    accounts: internal ? result.accounts : result.accounts.map(publicAccount),
    // Anonymous callers learn whether saves can work, not where media are kept.
    ...(result.media
      ? {
          media: internal
            ? result.media
            : {
                reachable: result.media.reachable,
                ...(result.media.error ? { error: { code: result.media.error.code } } : {}),
              },
        }
      : {}),
    ...(result.platform ? { platform: internal ? result.platform : publicPlatform(result.platform) } : {}),
  };
  return json(ready ? 200 : 503, body, NO_STORE);
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

/** The exposition; appIds, corpIds, agentIds and upstream hosts only for internal callers (as `/readyz`). */
function metrics(ctx: RouteContext) {
  const text = mergeMetrics([ctx.metrics, ...ctx.accounts.map((a) => a.metrics)]);
  const internal = isInternalCaller(ctx.input, ctx.options.apiKeyHashes);
  return send(
    200,
    internal ? text : anonymousMetrics(text, ctx.accounts),
    'text/plain; version=0.0.4; charset=utf-8',
    NO_STORE,
  );
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
    handle: metrics,
  },
];
