import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';

// Issue 10 item 7: a keyed caller looping get → invalidate must not burn the token quota.

const APP = 'wxa000000000000007';
const SECRET = 'secret-for-token-throttle';
const KEYS = ['first-key-0123456789', 'second-key-0123456789'];

let sim: Simulator;
let wx: Wxkit;
let handler: WxkitHandler;
const logs: Record<string, unknown>[] = [];

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['h5.example.com'] }] });
  // classic mode: every token fetch issues a new token and counts against the 2000/day quota.
  wx = createWxkit({
    appId: APP,
    secret: SECRET,
    tokenMode: 'classic',
    apiBase: sim.url,
    // Store leases follow the same virtual clock, so the invalidation interval can be stepped over.
    store: createMemoryStore({ now: () => sim.state.nowMs() }),
    now: () => sim.state.nowMs(),
  });
  handler = createHandler(wx, {
    apiKeys: KEYS,
    log: (e) => logs.push(e),
    now: () => sim.state.nowMs(),
    rateLimit: false,
  });
});
after(async () => {
  await wx.close();
  await sim.close();
});

const auth = (i: number) => ({ authorization: `Bearer ${KEYS[i]}` });

async function getToken(key = 0): Promise<string> {
  const res = await handler(
    new Request(`http://svc.test/v1/apps/${APP}/access_token`, { headers: auth(key) }),
  );
  assert.equal(res.status, 200);
  return ((await res.json()) as { value: string }).value;
}

function invalidate(value: string, key = 0): Promise<Response> {
  return handler(
    new Request(`http://svc.test/v1/apps/${APP}/access_token/invalidate`, {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
    }),
  );
}

test('100 get → invalidate loops make one token fetch, not one per loop', async () => {
  sim.reset();
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    const res = await invalidate(await getToken());
    if (res.status === 429) {
      refused++;
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'rate_limited');
    } else await res.body?.cancel();
  }
  assert.equal(refused, 100, 'a token seconds old is never dropped');
  assert.equal(sim.stats().calls['/cgi-bin/token'], 1);
});

test('an old token is dropped once; a second drop within the interval is refused, from any key', async () => {
  sim.advance(30);
  const t1 = await getToken();
  const first = await invalidate(t1, 1);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { invalidated: true });
  const entry = logs.find((e) => e.msg === 'access_token invalidated through the token API');
  assert.ok(entry, 'each invalidation is logged');
  assert.equal(entry.key, 'key #2', 'with the label of the key that asked');
  assert.ok(!JSON.stringify(logs).includes(t1), 'never the token');
  assert.ok(!JSON.stringify(logs).includes(KEYS[1] as string), 'never the key');

  sim.advance(11); // the new token is old enough, but the account's last invalidation is recent
  const t2 = await getToken();
  assert.notEqual(t2, t1);
  const again = await invalidate(t2, 0);
  assert.equal(again.status, 429);
  // A value that is not the current token drops nothing and is never refused.
  const stale = await invalidate(t1, 0);
  assert.equal(stale.status, 200);
  assert.deepEqual(await stale.json(), { invalidated: false });

  sim.advance(11);
  const later = await invalidate(t2, 0);
  assert.equal(later.status, 200);
  assert.deepEqual(await later.json(), { invalidated: true });
});
