import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { Simulator } from '../../src/simulator/index.ts';
import { forkReady, stopChildren, testbed } from '../credentials/processes.ts';

const APP = 'wxoauthmp00000001';
const SECRET = 'oauth-mp-secret';
const WORKER = new URL('./fixtures/exchange-worker.ts', import.meta.url).pathname;
const PROCESSES = 4;

type Result = { ok: boolean; openid?: string; token?: string; code?: string; errcode?: number | null };

const startWorkers = (sim: Simulator, store: string) =>
  forkReady(WORKER, PROCESSES, {
    WXKIT_OAUTH_WORKER: JSON.stringify({ appId: APP, secret: SECRET, apiBase: sim.url, store }),
  });

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
  const bed = testbed({ apps: [{ appId: APP, secret: SECRET }] }, 'wxkit-oauth-mp-');

  for (const kind of ['file', 'redis'] as const) {
    test(`through a ${kind} store: every process gets the first result`, async () => {
      const children = await startWorkers(bed.sim, kind === 'file' ? `file:${bed.dir}` : bed.redis.url);
      try {
        for (let round = 0; round < 2; round++) {
          const code = await newCode(bed.sim);
          bed.sim.reset();
          const results = await exchangeEverywhere(children, code);
          assert.equal(bed.sim.stats().calls['/sns/oauth2/access_token'], 1, JSON.stringify(results));
          for (const r of results) {
            assert.equal(r.ok, true, JSON.stringify(r));
            assert.equal(r.token, results[0]?.token);
            assert.equal(r.openid, results[0]?.openid);
          }
        }
      } finally {
        await stopChildren(children);
      }
    });
  }
});
