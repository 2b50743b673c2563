import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/metrics.ts';

test('the series a request counts is found again whatever the label order, never mixed with a near one', () => {
  const m = new Metrics();
  m.inc('hits', { route: '/a', status: 200 });
  m.inc('hits', { route: '/a', status: 200 });
  m.inc('hits', { status: 200, route: '/a' }); // same series, keys in another order
  m.inc('hits', { route: '/a' }); // fewer labels: another series
  m.inc('hits', { route: '/a', status: 200, extra: 'x' }); // more labels: another series
  m.inc('hits', { route: '/a', status: 404 });
  m.inc('hits', { route: '/a', status: '200' }); // the same value as text: the same series, as rendered
  assert.equal(m.get('hits', { route: '/a', status: 200 }), 4);
  assert.equal(m.get('hits', { route: '/a' }), 1);
  assert.equal(m.get('hits', { extra: 'x', route: '/a', status: 200 }), 1);
  assert.equal(m.sum('hits'), 7);
  m.observe('latency', 0.002, { route: '/a' });
  m.observe('latency', 0.2, { route: '/a' });
  m.observe('latency', 0.2, { route: '/b' });
  const text = m.render();
  assert.match(text, /^hits\{route="\/a",status="200"\} 4$/m);
  assert.match(text, /^latency_count\{route="\/a"\} 2$/m);
  assert.match(text, /^latency_bucket\{route="\/a",le="0.0025"\} 1$/m);
  assert.match(text, /^latency_count\{route="\/b"\} 1$/m);
});

test('a counter read when rendered', () => {
  const m = new Metrics();
  let dropped = 0;
  m.counterFrom('wxkit_log_lines_dropped_total', () => dropped, 'Dropped lines.');
  dropped = 3;
  assert.equal(m.get('wxkit_log_lines_dropped_total'), 3);
  assert.match(
    m.render(),
    /^# TYPE wxkit_log_lines_dropped_total counter\nwxkit_log_lines_dropped_total 3$/m,
  );
});
