import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WecomOptions } from '../../src/accounts/wecom.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { AgentConfig, WecomJssdkConfig } from '../../src/types.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

const CORP = 'wwmu1t1pr0c00001';
const AGENT = '1000005';
const SECRET = 'wecom-multi-process-secret';
const PAGE = 'https://work.example.com/page?x=1';
const WORKER = new URL('./fixtures/worker.ts', import.meta.url).pathname;

let sim: Simulator;
let redis: RedisServer;
let dir: string;
before(async () => {
  sim = await startSimulator({
    corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['work.example.com'] }],
  });
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), 'wxkit-wecom-mp-'));
});
after(async () => {
  await sim.close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Reply {
  pages: [WecomJssdkConfig, AgentConfig][];
  errors: string[];
}

async function startWorkers(count: number, options: WecomOptions): Promise<ChildProcess[]> {
  const children = Array.from({ length: count }, () =>
    fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, WXKIT_WORKER_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  return children;
}

function ask(child: ChildProcess, n: number): Promise<Reply> {
  const reply = once(child, 'message').then(([m]) => m as Reply);
  child.send({ id: 1, n, url: PAGE, simNow: sim.state.nowMs() });
  return reply;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      await exited;
    }),
  );
}

const calls = (path: string) => sim.stats().calls[path] ?? 0;
const options = (store: string, cwd?: string): WecomOptions => ({
  corpId: CORP,
  agentId: AGENT,
  secret: SECRET,
  apiBase: sim.url,
  jsDomains: ['work.example.com'],
  store,
  ...(cwd ? { cwd } : {}),
});

describe('WeCom: several processes sharing a store', () => {
  for (const kind of ['file', 'redis'] as const) {
    test(`1000 cold pages (wx.config + wx.agentConfig) over 4 processes sharing a ${kind} store: 1 gettoken, 1 get_jsapi_ticket, 1 ticket/get`, async () => {
      sim.clearFaults();
      sim.advance(8000);
      sim.reset();
      const children =
        kind === 'file'
          ? await startWorkers(4, options(`file:${join(dir, 'store')}`))
          : [
              ...(await startWorkers(2, options(redis.url, join(dir, 'machine-a')))),
              ...(await startWorkers(2, options(redis.url, join(dir, 'machine-b')))),
            ];
      try {
        const replies = await Promise.all(children.map((c) => ask(c, 250)));
        assert.deepEqual(
          replies.flatMap((r) => r.errors),
          [],
        );
        assert.equal(calls('/cgi-bin/gettoken'), 1);
        assert.equal(calls('/cgi-bin/get_jsapi_ticket'), 1);
        assert.equal(calls('/cgi-bin/ticket/get'), 1);
        const corpTicket = sim.state.wecom.currentCorpTicket(CORP) ?? '';
        const agentTicket = sim.state.wecom.currentAgentTicket(CORP, AGENT) ?? '';
        const sign = (ticket: string, c: { nonceStr: string; timestamp: number }) =>
          signJssdk({ ticket, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE });
        const pages = replies.flatMap((r) => r.pages);
        assert.equal(pages.length, 1000);
        for (const [config, agent] of pages) {
          assert.equal(config.signature, sign(corpTicket, config));
          assert.equal(agent.signature, sign(agentTicket, agent));
        }
      } finally {
        await stop(children);
      }
    });
  }
});
