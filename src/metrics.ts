/**
 * A small Prometheus-text metrics registry: counters with labels and one kind of histogram. The
 * credential layer counts upstream calls, refreshes, lock waits and cache hits; the service adds its
 * request latency. Label values never contain secrets (callers pass endpoint paths and errcodes only).
 */
export type Labels = Record<string, string | number>;

interface Series {
  labels: Labels;
  value: number;
}

interface HistogramSeries {
  labels: Labels;
  /** How many labels (see {@link sameLabels}). */
  size: number;
  buckets: number[];
  sum: number;
  count: number;
}

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  private readonly counters = new Map<
    string,
    { help: string; series: Map<string, Series & { size: number }>; last?: Series & { size: number } }
  >();
  private readonly gauges = new Map<string, { help: string; series: Map<string, Series> }>();
  private readonly histograms = new Map<
    string,
    { help: string; bounds: number[]; series: Map<string, HistogramSeries>; last?: HistogramSeries }
  >();
  private readonly readers = new Map<string, { help: string; read: () => number }>();

  /**
   * A counter whose value is kept elsewhere and read when rendered (such as the log writer's dropped
   * lines, which exist before the registry does).
   */
  counterFrom(name: string, read: () => number, help = ''): void {
    this.readers.set(name, { help, read });
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, labels: Labels = {}, by = 1, help = ''): void {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, series: new Map() };
      this.counters.set(name, c);
    }
    // Requests in a row mostly count the same series: found again without building its key.
    if (c.last && sameLabels(c.last, labels)) {
      c.last.value += by;
      return;
    }
    const key = labelKey(labels);
    let s = c.series.get(key);
    if (s) s.value += by;
    else {
      s = { labels, size: Object.keys(labels).length, value: by };
      c.series.set(key, s);
    }
    c.last = s;
  }

  /** Sets a gauge (a value that goes up and down, such as a circuit breaker's state). */
  set(name: string, labels: Labels, value: number, help = ''): void {
    let g = this.gauges.get(name);
    if (!g) {
      g = { help, series: new Map() };
      this.gauges.set(name, g);
    }
    g.series.set(labelKey(labels), { labels, value });
  }

  /** Current value of a gauge series, or `undefined` when never set. */
  gauge(name: string, labels: Labels = {}): number | undefined {
    return this.gauges.get(name)?.series.get(labelKey(labels))?.value;
  }

  /** Records one observation (seconds) in a histogram. */
  observe(name: string, seconds: number, labels: Labels = {}, help = '', bounds = DEFAULT_BUCKETS): void {
    let h = this.histograms.get(name);
    if (!h) {
      h = { help, bounds, series: new Map() };
      this.histograms.set(name, h);
    }
    let s = h.last && sameLabels(h.last, labels) ? h.last : undefined;
    if (!s) {
      const key = labelKey(labels);
      s = h.series.get(key);
      if (!s) {
        s = { labels, size: Object.keys(labels).length, buckets: h.bounds.map(() => 0), sum: 0, count: 0 };
        h.series.set(key, s);
      }
      h.last = s;
    }
    for (let i = 0; i < h.bounds.length; i++) if (seconds <= (h.bounds[i] as number)) s.buckets[i]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** Current value of a counter series (0 when never incremented). */
  get(name: string, labels: Labels = {}): number {
    const reader = this.readers.get(name);
    if (reader) return reader.read();
    return this.counters.get(name)?.series.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over all series of a counter whose labels include `match`. */
  sum(name: string, match: Labels = {}): number {
    let total = 0;
    for (const s of this.counters.get(name)?.series.values() ?? []) {
      if (Object.entries(match).every(([k, v]) => String(s.labels[k]) === String(v))) total += s.value;
    }
    return total;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      if (c.help) lines.push(`# HELP ${name} ${c.help}`);
      lines.push(`# TYPE ${name} counter`);
      for (const s of c.series.values()) lines.push(`${name}${fmt(s.labels)} ${s.value}`);
    }
    for (const [name, r] of this.readers) {
      if (r.help) lines.push(`# HELP ${name} ${r.help}`);
      lines.push(`# TYPE ${name} counter`, `${name} ${r.read()}`);
    }
    for (const [name, g] of this.gauges) {
      if (g.help) lines.push(`# HELP ${name} ${g.help}`);
      lines.push(`# TYPE ${name} gauge`);
      for (const s of g.series.values()) lines.push(`${name}${fmt(s.labels)} ${s.value}`);
    }
    for (const [name, h] of this.histograms) {
      if (h.help) lines.push(`# HELP ${name} ${h.help}`);
      lines.push(`# TYPE ${name} histogram`);
      for (const s of h.series.values()) {
        h.bounds.forEach((b, i) => {
          lines.push(`${name}_bucket${fmt({ ...s.labels, le: b })} ${s.buckets[i]}`);
        });
        lines.push(`${name}_bucket${fmt({ ...s.labels, le: '+Inf' })} ${s.count}`);
        lines.push(`${name}_sum${fmt(s.labels)} ${s.sum}`);
        lines.push(`${name}_count${fmt(s.labels)} ${s.count}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Whether `labels` are exactly the series' labels (same keys, same values). */
function sameLabels(series: { labels: Labels; size: number }, labels: Labels): boolean {
  let n = 0;
  for (const k in labels) {
    if (series.labels[k] !== labels[k]) return false;
    n++;
  }
  return n === series.size;
}

// Called twice per request: labels come with their keys in order almost always, so no array and no
// sort unless they do not.
function labelKey(labels: Labels): string {
  let key = '';
  let previous = '';
  for (const k in labels) {
    if (k < previous) return sortedLabelKey(labels);
    previous = k;
    key += key === '' ? `${k}=${labels[k]}` : `,${k}=${labels[k]}`;
  }
  return key;
}

function sortedLabelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function fmt(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const esc = (v: string | number) =>
    String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(labels[k] as string | number)}"`).join(',')}}`;
}
