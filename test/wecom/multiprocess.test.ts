import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { WecomOptions } from '../../src/accounts/wecom.ts';
import { signJssdk } from '../../src/signature.ts';
import type { AgentConfig, WecomJssdkConfig } from '../../src/types.ts';
import { forkReady, stopChildren, testbed } from '../credentials/processes.ts';

const CORP = 'wwmu1t1pr0c00001';
const AGENT = '1000005';
const SECRET = 'wecom-multi-process-secret';
const PAGE = 'https://work.example.com/page?x=1';
const WORKER = new URL('./fixtures/worker.ts', import.meta.url).pathname;

const bed = testbed(
  { corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET, jsDomains: ['work.example.com'] }] },
  'wxkit-wecom-mp-',
);
const { calls, fresh } = bed;

interface Reply {
  pages: [WecomJssdkConfig, AgentConfig][];
  errors: string[];
}

const startWorkers = (count: number, options: WecomOptions) =>
  forkReady(WORKER, count, { WXKIT_WORKER_OPTIONS: JSON.stringify(options) });

function ask(child: ChildProcess, n: number): Promise<Reply> {
  const reply = once(child, 'message').then(([m]) => m as Reply);
  child.send({ id: 1, n, url: PAGE, simNow: bed.sim.state.nowMs() });
  return reply;
}

const options = (store: string, cwd?: string): WecomOptions => ({
  corpId: CORP,
  agentId: AGENT,
  secret: SECRET,
  apiBase: bed.sim.url,
  jsDomains: ['work.example.com'],
  store,
  ...(cwd ? { cwd } : {}),
});

describe('WeCom: several processes sharing a store', () => {
  for (const kind of ['file', 'redis'] as const) {
    test(`1000 cold pages (wx.config + wx.agentConfig) over 4 processes sharing a ${kind} store: 1 gettoken, 1 get_jsapi_ticket, 1 ticket/get`, async () => {
      fresh();
      const children =
        kind === 'file'
          ? await startWorkers(4, options(`file:${join(bed.dir, 'store')}`))
          : [
              ...(await startWorkers(2, options(bed.redis.url, join(bed.dir, 'machine-a')))),
              ...(await startWorkers(2, options(bed.redis.url, join(bed.dir, 'machine-b')))),
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
        const corpTicket = bed.sim.state.wecom.currentCorpTicket(CORP) ?? '';
        const agentTicket = bed.sim.state.wecom.currentAgentTicket(CORP, AGENT) ?? '';
        const sign = (ticket: string, c: { nonceStr: string; timestamp: number }) =>
          signJssdk({ ticket, nonceStr: c.nonceStr, timestamp: c.timestamp, url: PAGE });
        const pages = replies.flatMap((r) => r.pages);
        assert.equal(pages.length, 1000);
        for (const [config, agent] of pages) {
          assert.equal(config.signature, sign(corpTicket, config));
          assert.equal(agent.signature, sign(agentTicket, agent));
        }
      } finally {
        await stopChildren(children);
      }
    });
  }
});
