import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

const APP = 'wxoauthmp00000001';
const SECRET = 'oauth-mp-secret';
const WORKER = new URL('./fixtures/exchange-worker.ts', import.meta.url).pathname;
const PROCESSES = 4;

type Result = { ok: boolean; openid?: string; token?: string; code?: string; errcode?: number | null };

async function startWorkers(sim: Simulator, store: string): Promise<ChildProcess[]> {
  const children = Array.from({ length: PROCESSES }, () =>
    fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        WXKIT_OAUTH_WORKER: JSON.stringify({ appId: APP, secret: SECRET, apiBase: sim.url, store }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  return children;
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      await exited;
    }),
  );
}

/** A fresh code, as the authorize page gives it. */
async function newCode(sim: Simulator): Promise<string> {
  const url = `${sim.url}/connect/oauth2/authorize?appid=${APP}&redirect_uri=${encodeURIComponent('http://localhost/cb')}&response_type=code&scope=snsapi_base&state=s`;
  const res = await fetch(url, { redirect: 'manual' });
  return new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
}

/** Every process exchanges the same code at the same moment. */
async function exchangeEverywhere(children: ChildProcess[], code: string): Promise<Result[]> {
  const replies = children.map((c) => once(c, 'message').then(([m]) => m as Result));
  for (const c of children) c.send({ code });
  return Promise.all(replies);
}

describe(`one code, ${PROCESSES} processes, one exchange`, () => {
  let sim: Simulator;
  let dir: string;
  let redis: RedisServer;
  before(async () => {
    sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET }] });
    dir = await mkdtemp(join(tmpdir(), 'wxkit-oauth-mp-'));
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ['file', 'redis'] as const) {
    test(`through a ${kind} store: every process gets the first result`, async () => {
      const children = await startWorkers(sim, kind === 'file' ? `file:${dir}` : redis.url);
      try {
        for (let round = 0; round < 2; round++) {
          const code = await newCode(sim);
          sim.reset();
          const results = await exchangeEverywhere(children, code);
          assert.equal(sim.stats().calls['/sns/oauth2/access_token'], 1, JSON.stringify(results));
          for (const r of results) {
            assert.equal(r.ok, true, JSON.stringify(r));
            assert.equal(r.token, results[0]?.token);
            assert.equal(r.openid, results[0]?.openid);
          }
        }
      } finally {
        await stopWorkers(children);
      }
    });
  }
});
