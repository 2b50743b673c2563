// The simulator under a burst of cold calls: thousands of connections arrive at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createHandler } from '../../src/http/handler.ts';
import { listen } from '../../src/serve/server.ts';
import { LISTEN_BACKLOG } from '../../src/simulator/server.ts';
import { start } from './helpers.ts';

function backlogOf(port: string): number {
  // `ss` shows a listening socket's backlog in its Send-Q column.
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`])
    .toString()
    .trim();
  return Number(line.split(/\s+/)[2]);
}
const somaxconn = () => Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

test('wxkit serve queues a burst of connections too (backlog 4096, not 511)', async () => {
  const account = { appId: 'wx1', jsDomains: [], metrics: { render: () => '' } };
  const running = await listen(createHandler(account as never, { log: false }), '127.0.0.1', 0);
  try {
    const backlog = backlogOf(String(running.port));
    assert.equal(backlog, Math.min(LISTEN_BACKLOG, somaxconn()));
    assert.ok(backlog > 511, `backlog ${backlog}`);
  } finally {
    await running.close(0);
  }
});

test('the listening socket queues a burst of connections (backlog 4096, not 511)', async () => {
  // With Node's default 511, the platform benchmark's 4 processes overflowed it; the kernel dropped the
  // connections (ListenOverflows), and SYN retries made 8-second upstream timeouts out of them.
  const sim = await start();
  try {
    const port = new URL(sim.url).port;
    // `ss` shows a listening socket's backlog in its Send-Q column.
    const line = execFileSync('ss', ['-ltnH', `sport = :${port}`])
      .toString()
      .trim();
    const backlog = Number(line.split(/\s+/)[2]);
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    assert.equal(backlog, Math.min(LISTEN_BACKLOG, somaxconn), line);
    assert.ok(backlog > 511, `backlog ${backlog}`);
  } finally {
    await sim.close();
  }
});
