import type { Route } from './route.ts';

/** The matched route, its `:name` parameters, or the methods the path does allow. */
export type Match = { route: Route; params: Record<string, string> } | { route: undefined; allow: string[] };

interface Pattern {
  segments: string[];
  routes: Route[];
}

/** Literal paths are looked up in a Map (the hot path); parameterised ones are scanned. */
export class Router {
  private readonly literal = new Map<string, Route[]>();
  private readonly patterns: Pattern[] = [];

  constructor(routes: Iterable<Route>) {
    for (const route of routes) {
      if (!route.path.includes('/:')) {
        const list = this.literal.get(route.path) ?? [];
        list.push(route);
        this.literal.set(route.path, list);
        continue;
      }
      const segments = route.path.split('/');
      let p = this.patterns.find((x) => x.segments.join('/') === segments.join('/'));
      if (!p) {
        p = { segments, routes: [] };
        this.patterns.push(p);
      }
      p.routes.push(route);
    }
  }

  match(method: string, pathname: string): Match {
    const m = method === 'HEAD' ? 'GET' : method;
    const exact = this.literal.get(pathname);
    if (exact) return pick(exact, m, {});
    const parts = pathname.split('/');
    for (const p of this.patterns) {
      const params = matchSegments(p.segments, parts);
      if (params) return pick(p.routes, m, params);
    }
    return { route: undefined, allow: [] };
  }

  /** Every route at this path, whatever its method (what a preflight for the path may approve). */
  routesAt(pathname: string): readonly Route[] {
    const exact = this.literal.get(pathname);
    if (exact) return exact;
    const parts = pathname.split('/');
    for (const p of this.patterns) if (matchSegments(p.segments, parts)) return p.routes;
    return [];
  }
}

function pick(routes: Route[], method: string, params: Record<string, string>): Match {
  for (const r of routes) if (r.method === method) return { route: r, params };
  return { route: undefined, allow: routes.map((r) => r.method) };
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as string;
    const part = parts[i] as string;
    if (seg.startsWith(':')) {
      if (part === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      params[seg.slice(1)] = value;
    } else if (seg !== part) return undefined;
  }
  return params;
}
