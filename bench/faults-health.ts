// Fault scenarios of issue 11 items 2 and 4, run by bench/faults.ts: `/readyz` latency while Redis
// hangs (SIGSTOP) and is gone (SIGKILL), and the self-heal sequence of a ticket WeChat ended early.
// In-process wxkit and handler served over real HTTP, a real redis-server, the simulator.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeListener } from '../src/adapters/node.ts';
import { createHandler } from '../src/http/handler.ts';
import { verifyBridgeConfig } from '../src/simulator/bridge/verify.ts';
import type { Simulator } from '../src/simulator/index.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { createRedisStore } from '../src/stores/redis.ts';
import type { Wxkit } from '../src/types.ts';
import { createWxkit } from '../src/wxkit.ts';
import { startRedisServer } from '../test/stores/redis-server.ts';

/** What these scenarios need of bench/faults.ts's context. */
export interface HealthContext {
  sim: Simulator;
}

export interface HealthScenario {
  id: string;
  run(ctx: HealthContext): Promise<string>;
}

const APP = { appId: 'wxfau1t5000000001', secret: 'bench-faults-secret' };
const PAGE = 'https://h5.example.com/faults?x=1';

async function serve(wx: Wxkit): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(nodeListener(createHandler(wx, { log: false, rateLimit: false })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function ms(n: number): string {
  return n < 10 ? n.toFixed(1) : n.toFixed(0);
}

/**
 * Issue 11 item 2. `/readyz` polled every 100 ms (a load balancer) through four phases: healthy, Redis
 * stopped (SIGSTOP: connections stay open, nothing answers), Redis gone (SIGKILL), Redis back. Default
 * readiness timing (1 s probe timeout, re-probe after 2 s) and the Redis store's default 1 s command
 * timeout.
 */
export const readyzOutage: HealthScenario = {
  id: 'readyz',
  async run({ sim }) {
    // The scenario before may have left WeChat black-holed.
    sim.clearFaults();
    const redis = await startRedisServer();
    const store = await createRedisStore({ url: redis.url });
    const wx = createWxkit({ ...APP, apiBase: sim.url, store, jsDomains: ['h5.example.com'] });
    const http = await serve(wx);
    const rows: string[] = [];
    const phase = async (name: string, seconds: number) => {
      const times: number[] = [];
      const statuses = new Map<number, number>();
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const t0 = performance.now();
        const res = await fetch(`${http.url}/readyz`);
        await res.arrayBuffer();
        times.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 100));
      }
      times.sort((a, b) => a - b);
      const p50 = times[Math.floor(times.length / 2)] ?? 0;
      const max = times.at(-1) ?? 0;
      const codes = [...statuses].map(([s, n]) => `${n}× ${s}`).join(', ');
      console.log(`[faults] readyz ${name}: p50 ${ms(p50)} ms, max ${ms(max)} ms (${codes})`);
      rows.push(`| ${name} | ${times.length} | ${ms(p50)} ms | **${ms(max)} ms** | ${codes} |`);
    };
    try {
      await wx.ticket();
      await phase('healthy', 3);
      await redis.kill('SIGSTOP');
      await phase('Redis stopped (SIGSTOP)', 6);
      await redis.kill('SIGKILL');
      await phase('Redis gone (SIGKILL)', 6);
      await redis.start();
      await phase('Redis back', 6);
    } finally {
      await redis.kill('SIGCONT');
      await redis.kill('SIGKILL');
      await http.close();
      await wx.close();
      await store.close();
    }
    return `**\`/readyz\` during a Redis outage** (issue 11 item 2): polled every 100 ms by one client. Before: 1–4 s
per answer while Redis was down (3 ms when healthy). Target: < 100 ms always.

| phase | answers | p50 | **max** | statuses |
|---|---:|---:|---:|---|
${rows.join('\n')}

It answers from its last probe; one probe at a time (1 s timeout) runs in the background when the result is
older than 2 s, so the 503 arrives within a few seconds of the outage and the 200 within a few seconds of
the recovery.`;
  },
};

/**
 * Issue 11 item 4, without a browser (test/browser/self-heal.test.ts runs it in Chromium): each "page"
 * gets its wx.config over HTTP and WeChat's check is the simulator bridge's own; a failed page posts
 * what it got to /jssdk/diagnose as the browser helper does.
 */
export const ticketSelfHeal: HealthScenario = {
  id: 'selfheal',
  async run({ sim }) {
    sim.clearFaults();
    const wx = createWxkit({
      ...APP,
      apiBase: sim.url,
      store: createMemoryStore(),
      jsDomains: ['h5.example.com'],
      now: () => sim.state.nowMs(),
    });
    const http = await serve(wx);
    const lines: string[] = [];
    const page = async (n: number) => {
      const config = (await (
        await fetch(`${http.url}/jssdk/config?url=${encodeURIComponent(PAGE)}`)
      ).json()) as Record<string, unknown>;
      const { errMsg } = verifyBridgeConfig(sim.state, { ...config, url: PAGE, platform: 'android' });
      let line = `page ${n}: wx.config → ${errMsg}`;
      if (errMsg !== 'config:ok') {
        const report = (await (
          await fetch(`${http.url}/jssdk/diagnose`, {
            method: 'POST',
            body: JSON.stringify({ ...config, url: PAGE, errMsg }),
          })
        ).json()) as { code: string; ticketRecheck?: unknown };
        line += `; diagnose → ${report.code}, ticketRecheck ${JSON.stringify(report.ticketRecheck)}`;
      }
      lines.push(line);
      console.log(`[faults] selfheal ${line}`);
    };
    try {
      await page(1);
      sim.reset();
      sim.expireTicket(APP.appId, 'jsapi');
      lines.push('WeChat ends the ticket (POST /__sim/tickets/expire)');
      await page(2);
      await page(3);
      const calls = sim.stats().calls;
      const upstream = `getticket ${calls['/cgi-bin/ticket/getticket'] ?? 0}, stable_token ${calls['/cgi-bin/stable_token'] ?? 0}, token ${calls['/cgi-bin/token'] ?? 0}`;
      console.log(`[faults] selfheal upstream calls after the expiry: ${upstream}`);
      lines.push(`upstream calls after the expiry: ${upstream}`);
    } finally {
      await http.close();
      await wx.close();
    }
    return `**A ticket WeChat ended early heals itself** (issue 11 item 4). Before: every page failed
\`config:invalid signature\` until wxkit's own expiry (up to 2 h).

\`\`\`text
${lines.join('\n')}
\`\`\``;
  },
};
