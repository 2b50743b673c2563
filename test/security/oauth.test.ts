// Attacks on web OAuth in `wxkit serve`, performed end to end over HTTP against the simulator
// (issue 10: items 1, 2, 6, 9, 13, 14). Each test is the attack; it succeeded before the fix.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { isWxkitError } from '../../src/errors.ts';
import { createHandler } from '../../src/http/handler.ts';
import { safeReturnTo } from '../../src/http/return-to.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createFileStore } from '../../src/stores/file.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { Store } from '../../src/stores/types.ts';
import { APP, Browser, SECRET, SESSION_SECRET, type Service, startService } from '../oauth/stack.ts';

let sim: Simulator;
const dirs: string[] = [];

before(async () => {
  sim = await startSimulator({ apps: [{ appId: APP, secret: SECRET, jsDomains: ['localhost'] }] });
});
after(async () => {
  await sim.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-security-'));
  dirs.push(dir);
  return dir;
}

async function reasonOf(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { error?: { details?: { reason?: string } } };
  return body.error?.details?.reason;
}

const sessionCookieOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith('wxkit_session='))
    ?.split(';')[0];

/** Starts a login in `browser` and returns the state the service issued (the browser keeps its cookie). */
async function startLogin(browser: Browser, svc: Service, query = ''): Promise<string> {
  const res = await browser.fetch(`${svc.url}/oauth/login${query}`);
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location') ?? '').searchParams.get('state') ?? '';
}

const stores: [string, () => Promise<Store>][] = [
  ['memory store', async () => createMemoryStore()],
  ['file store', async () => createFileStore({ dir: await tempDir() })],
];

for (const [kind, makeStore] of stores) {
  describe(`item 1: OAuth code replay (${kind})`, () => {
    let svc: Service;
    before(async () => {
      svc = await startService(sim, await makeStore());
    });
    after(() => svc.close());

    test("another browser replaying the victim's code with its own state gets code_used and no session", async () => {
      const victim = new Browser();
      const cb = await victim.toCallback(svc, { scope: 'snsapi_userinfo' });
      const code = cb.searchParams.get('code') ?? '';
      const login = await victim.fetch(cb.href);
      assert.equal(login.status, 302);
      const victimSession = sessionCookieOf(login);
      assert.ok(victimSession);

      const attack = async () => {
        const attacker = new Browser();
        const state = await startLogin(attacker, svc);
        const res = await attacker.fetch(
          `${svc.url}/oauth/callback?code=${encodeURIComponent(code)}&state=${state}`,
        );
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
        assert.deepEqual(res.headers.getSetCookie(), [], 'no cookie for the attacker');
        assert.equal(await reasonOf(res), 'code_used');
        assert.equal((await attacker.me(svc)).status, 401);
      };
      await attack();
      await attack(); // several browsers in turn
      // the victim is still logged in, with the same session as before
      assert.equal((await victim.me(svc)).status, 200);

      // after the victim logs out the code is still not anyone else's
      const out = await victim.fetch(`${svc.url}/oauth/logout`, { method: 'POST' });
      assert.equal(out.status, 200);
      await attack();
    });

    test('the same browser and state repeating the callback gets the same session (double request, back button)', async () => {
      const b = new Browser();
      const cb = await b.toCallback(svc);
      const [x, y] = await Promise.all([b.fetch(cb.href), b.fetch(cb.href)]);
      const z = await b.fetch(cb.href);
      for (const res of [x, y, z]) assert.equal(res.status, 302);
      const first = sessionCookieOf(x);
      assert.ok(first);
      assert.equal(sessionCookieOf(y), first);
      assert.equal(sessionCookieOf(z), first);
      assert.equal((await b.me(svc)).status, 200);
    });

    test('after logout, replaying the callback from history does not log the browser back in', async () => {
      const b = new Browser();
      const cb = await b.toCallback(svc);
      const nonce = b.cookies.get(new URL(svc.url).host)?.get('wxkit_oauth_nonce');
      assert.equal((await b.fetch(cb.href)).status, 302);
      const out = await b.fetch(`${svc.url}/oauth/logout`, { method: 'POST' });
      assert.ok(out.headers.getSetCookie().some((c) => /^wxkit_oauth_nonce=;.*Max-Age=0/.test(c)));
      // the back button: the login cookie is gone
      assert.equal((await b.fetch(cb.href)).status, 403);
      // even with the old login cookie kept (copied before logout), the ended session stays ended
      const res = await fetch(cb.href, {
        redirect: 'manual',
        headers: { cookie: `wxkit_oauth_nonce=${nonce}` },
      });
      assert.equal(res.status, 401);
      assert.equal(await reasonOf(res), 'code_used');
      assert.deepEqual(res.headers.getSetCookie(), []);
    });
  });
}

describe('item 2: open redirect through returnTo', () => {
  const ORIGIN = 'https://svc.example';
  let svc: Service;
  before(async () => {
    svc = await startService(sim, createMemoryStore());
  });
  after(() => svc.close());

  /** Never another origin, never a protocol-relative or backslash path. */
  function assertStaysHome(location: string, base: string) {
    assert.ok(!location.startsWith('//'), location);
    assert.ok(!location.startsWith('/\\'), location);
    for (const b of [base, `${base}/a/b/`]) assert.equal(new URL(location, b).origin, base, location);
  }

  /** login → WeChat (snsapi_base comes straight back) → callback: the Location, or the login's 400. */
  async function flow(returnTo: string): Promise<{ refused: true } | { location: string }> {
    const b = new Browser();
    const login = await b.fetch(`${svc.url}/oauth/login?returnTo=${encodeURIComponent(returnTo)}`);
    if (login.status === 400) {
      assert.equal(await reasonOf(login), 'return_to_not_allowed', returnTo);
      return { refused: true };
    }
    assert.equal(login.status, 302, returnTo);
    const back = await b.fetch(login.headers.get('location') ?? '');
    assert.equal(back.status, 302, returnTo);
    const cb = await b.fetch(back.headers.get('location') ?? '');
    assert.equal(cb.status, 302, returnTo);
    return { location: cb.headers.get('location') ?? '' };
  }

  test('dot segments that resolve to //evil.example are refused end to end', async () => {
    for (const returnTo of [
      '/.//evil.example',
      '/x/..//evil.example',
      '/%2e//evil.example',
      '/.///evil.example',
      '/%2E%2E//evil.example',
      '/a/%2e%2e/%2f%2fevil.example',
    ]) {
      const r = await flow(returnTo);
      if ('location' in r) assertStaysHome(r.location, new URL(svc.url).origin);
    }
    // dot segments that stay on the site still work, normalized
    assert.deepEqual(await flow('/a/./b/../c?x=1#y'), { location: '/a/c?x=1#y' });
  });

  const pieces = [
    '/',
    '//',
    '\\',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2e%2e',
    '.%2e',
    '%2f',
    '%2F',
    '%5c',
    '%5C',
    '%252f',
    '%252e',
    '%25',
    '%09',
    '%0a',
    '%00',
    '\t',
    '\n',
    ' ',
    'evil.example',
    'x',
    '?',
    '#',
    '@',
    ':',
    'http:',
    'javascript:',
    ';',
    '\uff0f',
    '\uff3c',
    '%ef%bc%8f',
  ];
  const returnTos = fc.oneof(
    fc.array(fc.constantFrom(...pieces), { maxLength: 10 }).map((a) => a.join('')),
    fc.array(fc.constantFrom(...pieces), { maxLength: 10 }).map((a) => `/${a.join('')}`),
    fc.string({ maxLength: 12 }).map((s) => `/${s}`),
  );

  test('property: whatever safeReturnTo returns stays on the service origin', () => {
    fc.assert(
      fc.property(returnTos, (value) => {
        let location: string;
        try {
          location = safeReturnTo(value);
        } catch (e) {
          assert.ok(isWxkitError(e), String(e));
          assert.equal(e.details?.reason, 'return_to_not_allowed');
          return;
        }
        assertStaysHome(location, ORIGIN);
        assert.equal(safeReturnTo(location), location, 'normalized output is stable');
      }),
      { numRuns: 5000 },
    );
  });

  test('property, end to end: the callback never redirects off the service origin', async () => {
    const home = new URL(svc.url).origin;
    await fc.assert(
      fc.asyncProperty(returnTos, async (value) => {
        const r = await flow(value);
        if ('location' in r) assertStaysHome(r.location, home);
      }),
      { numRuns: 60, examples: [['/.//evil.example'], ['/x/..//evil.example'], ['/%2e//evil.example']] },
    );
  });
});

describe('item 6: anonymous logins and the store', () => {
  test('logins write nothing to the store', async () => {
    const dir = await tempDir();
    const svc = await startService(sim, createFileStore({ dir }));
    try {
      const count = () =>
        readdir(dir).then(
          (n) => n.length,
          () => 0,
        );
      const before = await count();
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${svc.url}/oauth/login?returnTo=/p${i}`, { redirect: 'manual' });
        assert.equal(res.status, 302);
      }
      assert.equal(await count(), before);
      // and the login still works: the record came back from the cookie
      const b = new Browser();
      const res = await b.fetch((await b.toCallback(svc, { returnTo: '/shop?x=1' })).href);
      assert.equal(res.headers.get('location'), '/shop?x=1');
    } finally {
      await svc.close();
    }
  });

  test('/oauth/login costs more of the rate limit than signing a page', async () => {
    const svc = await startService(sim, createMemoryStore());
    try {
      const handler = createHandler(svc.wx, {
        publicUrl: 'http://localhost',
        sessionSecret: SESSION_SECRET,
        log: false,
        now: () => 1_800_000_000_000, // no refill: each bucket holds its burst
        rateLimit: { perSecond: 1, burst: 20 },
      });
      const served = async (path: string, clientIp: string) => {
        let n = 0;
        for (; n < 30; n++) {
          const res = await handler(new Request(`http://localhost${path}`), { clientIp });
          if (res.status === 429) break;
          assert.ok(res.status < 400, `${path}: ${res.status} ${await res.text()}`);
        }
        return n;
      };
      const logins = await served('/oauth/login', '203.0.113.1');
      const signs = await served(
        `/jssdk/config?url=${encodeURIComponent('http://localhost/page')}`,
        '203.0.113.2',
      );
      assert.equal(signs, 20);
      assert.ok(logins <= signs / 4, `${logins} logins vs ${signs} signatures`);
    } finally {
      await svc.close();
    }
  });
});

describe('issue 18 item 5: a callback with a made-up code', () => {
  /** A memory store that counts the OAuth writes (claims, sessions, exchange results, locks). */
  function countingStore() {
    const inner = createMemoryStore();
    const writes: string[] = [];
    const oauth = (key: string) => key.includes('oauth');
    const store: Store = {
      ...inner,
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      compareAndDelete: (key, expected) => inner.compareAndDelete(key, expected),
      renew: (key, owner, ms) => inner.renew(key, owner, ms),
      unlock: (key, owner) => inner.unlock(key, owner),
      ping: () => inner.ping(),
      close: () => inner.close(),
      set: (key, value, ttlMs) => {
        if (oauth(key)) writes.push(`set ${key}`);
        return inner.set(key, value, ttlMs);
      },
      tryLock: async (key, ms) => {
        const owner = await inner.tryLock(key, ms);
        if (oauth(key) && owner !== undefined) writes.push(`lock ${key}`);
        return owner;
      },
    };
    return { store, writes, inner };
  }

  test('is exchanged first and leaves nothing in the store; a real code still logs in', async () => {
    const { store, writes, inner } = countingStore();
    const svc = await startService(sim, store);
    try {
      sim.reset();
      const exchanges = () => sim.stats().calls['/sns/oauth2/access_token'] ?? 0;
      const attacker = new Browser();
      for (let i = 0; i < 5; i++) {
        const state = await startLogin(attacker, svc);
        const res = await attacker.fetch(
          `${svc.url}/oauth/callback?code=madeUpCode${i}xxxxxxxxxx&state=${state}`,
        );
        assert.equal(res.status, 401);
        assert.deepEqual(res.headers.getSetCookie(), []);
      }
      assert.equal(exchanges(), 5, 'one upstream exchange per made-up code: WeChat is the only judge');
      assert.deepEqual(
        writes.filter((w) => w.startsWith('set ')),
        [],
        'no claim, session or exchange result was written for a refused code',
      );
      // The exchange lock (one process at a time per code) was taken and given back: nothing is left.
      for (const w of writes) assert.equal(await inner.get(w.slice(w.indexOf(' ') + 1)), undefined, w);

      // The same made-up code again (a reload of the failed callback): answered without WeChat.
      const state = await startLogin(attacker, svc);
      const again = await attacker.fetch(
        `${svc.url}/oauth/callback?code=madeUpCode0xxxxxxxxxx&state=${state}`,
      );
      assert.equal(again.status, 401);
      assert.equal(exchanges(), 5);

      const user = new Browser();
      const cb = await user.toCallback(svc);
      const [x, y] = await Promise.all([user.fetch(cb.href), user.fetch(cb.href)]);
      assert.equal(x.status, 302);
      assert.equal(y.status, 302, 'a double callback of a real code gets its session too');
      assert.equal(sessionCookieOf(x), sessionCookieOf(y));
      assert.equal((await user.me(svc)).status, 200);
      assert.ok(writes.some((w) => w.includes('state-code')) && writes.some((w) => w.includes('code-state')));
    } finally {
      await svc.close();
    }
  });
});

describe('items 9, 13, 14: logout, login cookie, session cookie', () => {
  let svc: Service;
  before(async () => {
    svc = await startService(sim, createMemoryStore());
  });
  after(() => svc.close());

  async function loggedIn(): Promise<Browser> {
    const b = new Browser();
    assert.equal((await b.fetch((await b.toCallback(svc)).href)).status, 302);
    assert.equal((await b.me(svc)).status, 200);
    return b;
  }

  test('item 9: a cross-site POST /oauth/logout is refused with 403 cross_site_request', async () => {
    const b = await loggedIn();
    for (const headers of [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site', origin: 'https://sub.localhost' },
      { 'sec-fetch-site': 'cross-site' },
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:1' },
    ]) {
      const res = await b.fetch(`${svc.url}/oauth/logout`, { method: 'POST', headers, body: '' });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(await reasonOf(res), 'cross_site_request');
      assert.deepEqual(res.headers.getSetCookie(), []);
      assert.equal((await b.me(svc)).status, 200, 'still logged in');
    }
  });

  test('item 9: same-origin logouts (page fetch, typed URL, curl) are accepted', async () => {
    const origin = new URL(svc.url).origin;
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', origin },
      { 'sec-fetch-site': 'none' },
      { origin },
      {},
    ] as Record<string, string>[]) {
      const b = await loggedIn();
      const res = await b.fetch(`${svc.url}/oauth/logout`, { method: 'POST', headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal((await b.me(svc)).status, 401);
    }
  });

  test('item 13: every login issues a new login cookie; an older tab fails with a state_* error', async () => {
    const b = new Browser();
    const host = new URL(svc.url).host;
    const firstState = await startLogin(b, svc, '?returnTo=/tab1');
    const firstCookie = b.cookies.get(host)?.get('wxkit_oauth_nonce');
    const secondState = await startLogin(b, svc, '?returnTo=/tab2');
    const secondCookie = b.cookies.get(host)?.get('wxkit_oauth_nonce');
    assert.ok(firstCookie && secondCookie);
    assert.notEqual(firstCookie.split('.')[0], secondCookie.split('.')[0], 'a fresh nonce');

    const codeFor = (state: string) => b.codeFor(sim.url, APP, svc, state);
    const tab1 = await b.fetch((await codeFor(firstState)).href);
    assert.equal(tab1.status, 403);
    const body = (await tab1.json()) as { error: { message: string; details: { reason: string } } };
    assert.match(body.error.details.reason, /^state_/);
    assert.match(body.error.message, /newer login/);
    const tab2 = await b.fetch((await codeFor(secondState)).href);
    assert.equal(tab2.status, 302);
    assert.equal(tab2.headers.get('location'), '/tab2');
  });

  test('item 14: only the exact session cookie encoding is accepted', async () => {
    // Find a session whose MAC uses both base64url-only characters, so +/ variants differ.
    let b = await loggedIn();
    const host = new URL(svc.url).host;
    let value = b.cookies.get(host)?.get('wxkit_session') ?? '';
    for (let i = 0; i < 50 && !/[-_]/.test(value.split('.')[1] ?? ''); i++) {
      b = await loggedIn();
      value = b.cookies.get(host)?.get('wxkit_session') ?? '';
    }
    const [sid = '', sig = ''] = value.split('.');
    assert.match(sig, /[-_]/);
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = ALPHABET.indexOf(sig.slice(-1));
    const me = (cookie: string) =>
      fetch(`${svc.url}/oauth/me`, { headers: { cookie: `wxkit_session=${cookie}` } });
    assert.equal((await me(value)).status, 200);
    for (const variant of [
      `${sid}.${sig}=`,
      `${sid}.${sig}==`,
      `${sid}.${sig.replace(/-/g, '+').replace(/_/g, '/')}`,
      `${sid}.${sig}!!`,
      `${sid}.${sig}*`,
      `${sid}.${sig.slice(0, -1)}${ALPHABET[last + 1]}`, // same bytes: the unused low bits set
      `${sid}.${sig.slice(0, 20)}!${sig.slice(20)}`,
      `${sid.toUpperCase()}.${sig}`,
    ]) {
      const res = await me(variant);
      assert.equal(res.status, 401, variant);
      assert.equal(await reasonOf(res), 'invalid_session_cookie', variant);
    }
  });
});
