// createPlatform (SPEC §13) against the simulated open platform: tickets, authorization, custody of
// the authorized accounts, self-healing (61023, 61003, re-authorization), sync after a lost store.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, isWxkitError, WxkitError } from '../../src/errors.ts';
import { createHandler } from '../../src/http/handler.ts';
import { platformKeys } from '../../src/platform/keys.ts';
import { createPlatform, type Platform } from '../../src/platform/platform.ts';
import { readVerifyTicket, saveVerifyTicket } from '../../src/platform/verify-ticket.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { createFileStore } from '../../src/stores/file.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import type { IndexedStore } from '../../src/stores/types.ts';
import { listen, toRequest, writeResponse } from '../browser/stack.ts';

const COMPONENT = 'wxc0mp0nent000002';
const SECRET = 'component-secret-2';
const TOKEN = 'componenttoken2';
const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const PAGE = 'https://shop.example.com/item?id=1';

describe('createPlatform through the simulated open platform', () => {
  let sim: Simulator;
  let server: Server;
  let store: IndexedStore;
  let a: Platform;
  let b: Platform;
  const make = (s: IndexedStore) =>
    createPlatform({
      componentAppId: COMPONENT,
      componentSecret: SECRET,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      store: s,
      apiBase: sim.url,
      openBase: sim.url,
      jsDomains: ['shop.example.com'],
      now: () => sim.state.nowMs(),
    });

  before(async () => {
    sim = await startSimulator({
      components: [
        {
          componentAppId: COMPONENT,
          secret: SECRET,
          token: TOKEN,
          encodingAESKey: AES_KEY,
          authorizers: 30,
          jsDomains: ['shop.example.com'],
        },
      ],
    });
    store = createMemoryStore({ now: () => sim.state.nowMs() });
    a = make(store);
    b = make(store);
    // Two instances behind one load balancer: events land on either.
    let turn = 0;
    server = createServer(async (req, res) => {
      const platform = turn++ % 2 === 0 ? a : b;
      await writeResponse(res, await platform.handleEvents(await toRequest(req, 'http://127.0.0.1')));
    });
    const port = await listen(server);
    await fetch(`${sim.url}/__sim/platform/components`, {
      method: 'POST',
      body: JSON.stringify({
        componentAppId: COMPONENT,
        eventsUrl: `http://127.0.0.1:${port}/platform/events`,
      }),
    });
  });
  after(async () => {
    await a.close();
    await b.close();
    server.closeAllConnections();
    server.close();
    await sim.close();
  });

  const calls = (path: string) => sim.stats().calls[path] ?? 0;
  const candidates = () => sim.openPlatform.state.get(COMPONENT)!.candidates;
  const verifies = (config: { signature: string; nonceStr: string; timestamp: number }, appId: string) => {
    const ticket = sim.state.currentTicket(appId);
    assert.ok(ticket, 'the simulator issued a ticket');
    assert.equal(
      config.signature,
      signJssdk({ ticket, nonceStr: config.nonceStr, timestamp: config.timestamp, url: PAGE }),
    );
  };

  test('the pushed ticket is kept; status says fresh', async () => {
    const s = await a.status();
    assert.equal(s.verifyTicket.health, 'fresh');
    assert.equal(s.authorizers, 0);
  });

  test('the authorization link, the page and the callback: the account signs pages', async () => {
    const link = await a.authorizeUrl({ redirectUri: 'https://shop.example.com/platform/authorized' });
    assert.ok(
      link.startsWith(`${sim.url}/cgi-bin/componentloginpage?component_appid=${COMPONENT}&pre_auth_code=`),
    );
    const page = await (
      await fetch(link, { headers: { referer: 'https://shop.example.com/platform/authorize' } })
    ).text();
    assert.match(page, /id="authorize"/);
    const u = new URL(link);
    const confirm = await fetch(`${sim.url}/cgi-bin/componentloginpage/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        component_appid: COMPONENT,
        pre_auth_code: u.searchParams.get('pre_auth_code') ?? '',
        redirect_uri: 'https://shop.example.com/platform/authorized',
        appid: candidates()[0]!,
      }),
    });
    const authCode = new URL(confirm.headers.get('location') ?? '').searchParams.get('auth_code') ?? '';
    // The event (to either instance) and the callback (here, to b) bring the same code: both succeed.
    const [viaCallback] = await Promise.all([
      b.completeAuthorization(authCode),
      sim.openPlatform.pusher.settle(),
    ]);
    assert.equal(viaCallback.appId, candidates()[0]);
    assert.deepEqual(await a.authorizers(), [candidates()[0]]);
    const wx = await a.authorizer(candidates()[0]!);
    const config = await wx.jssdkConfig({ url: PAGE, jsApiList: ['chooseImage'] });
    assert.equal(config.appId, candidates()[0]);
    verifies(config, candidates()[0]!);
    await assert.rejects(wx.jssdkConfig({ url: 'https://evil.example.net/', jsApiList: [] }), /not|domain/i);
  });

  test('cold accounts under concurrency: one api_authorizer_token and one getticket per account, one component token', async () => {
    const ids = candidates().slice(1, 21);
    await fetch(`${sim.url}/__sim/platform/authorize`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, count: 21 }),
    });
    await sim.openPlatform.pusher.settle();
    const refused = sim.openPlatform.pusher.log.filter((r) => r.infoType === 'authorized' && !r.ok);
    assert.deepEqual(refused, [], 'every authorization event was answered success');
    sim.reset();
    await store.delete(`wxkit:component:${COMPONENT}:component_access_token`);
    const fresh = [make(store), make(store)];
    try {
      const results = await Promise.all(
        Array.from({ length: 600 }, async (_, i) => {
          const appId = ids[i % ids.length]!;
          const wx = await fresh[i % 2]!.authorizer(appId);
          return { appId, config: await wx.jssdkConfig({ url: PAGE, jsApiList: [] }) };
        }),
      );
      for (const r of results) verifies(r.config, r.appId);
      assert.equal(calls('/cgi-bin/component/api_authorizer_token'), ids.length);
      assert.equal(calls('/cgi-bin/ticket/getticket'), ids.length);
      assert.equal(calls('/cgi-bin/component/api_component_token'), 1);
    } finally {
      await Promise.all(fresh.map((p) => p.close()));
    }
  });

  test('re-authorization: the old token is dropped everywhere and the new refresh token is used', async () => {
    const appId = candidates()[3]!;
    const wx = await a.authorizer(appId);
    const before = await wx.accessToken();
    await fetch(`${sim.url}/__sim/platform/authorize`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, appId }),
    });
    await sim.openPlatform.pusher.settle();
    const after = await (await b.authorizer(appId)).accessToken();
    assert.notEqual(after, before);
    const check = sim.state.validateAccessToken(after);
    assert.ok('appId' in check, 'the new token is valid');
  });

  test('61023 storm: stale refresh tokens on two instances heal through get_authorizer_info, once per account', async () => {
    const ids = candidates().slice(5, 10);
    const component = sim.openPlatform.state.get(COMPONENT)!;
    // Another environment re-authorized behind our back (no event reached us): every stored refresh token is stale.
    const p = sim.openPlatform.state;
    const onEvent = p.onEvent;
    p.onEvent = undefined;
    for (const id of ids) p.authorize(component, id);
    p.onEvent = onEvent;
    // Their cached tokens and tickets end (WeChat killed the tokens): the next signature needs a token.
    for (const id of ids) for (const x of [a, b]) await (await x.authorizer(id)).clearCache();
    sim.reset();
    const configs = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const id = ids[i % ids.length]!;
        const x = i % 2 === 0 ? a : b;
        return { id, config: await (await x.authorizer(id)).jssdkConfig({ url: PAGE, jsApiList: [] }) };
      }),
    );
    for (const c of configs) verifies(c.config, c.id);
    // Per account, across both instances: the stale token's 61023, the info, the healed exchange.
    assert.equal(calls('/cgi-bin/component/api_get_authorizer_info'), ids.length);
    assert.equal(calls('/cgi-bin/component/api_authorizer_token'), 2 * ids.length);
    assert.equal(calls('/cgi-bin/ticket/getticket'), ids.length);
    assert.equal(calls('/cgi-bin/component/api_component_token'), 0);
  });

  /** Calls WeChat with the account's token (the simulator checks it): the body, or the error's code. */
  const useToken = async (x: Platform, id: string): Promise<string> => {
    try {
      const res = await (await x.authorizer(id)).request('/cgi-bin/ticket/getticket?type=jsapi');
      const body = (await res.json()) as { errcode?: number };
      return body.errcode ? `errcode ${body.errcode}` : 'ok';
    } catch (e) {
      return isWxkitError(e) ? e.code : String(e);
    }
  };
  const control = (path: string, appId: string) =>
    fetch(`${sim.url}/__sim/platform/${path}`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, appId }),
    });

  test('re-authorization storm: accounts re-authorize while two instances call WeChat with their tokens — no error, at most two token fetches each', async () => {
    const ids = candidates().slice(12, 17);
    for (const id of ids) for (const x of [a, b]) assert.equal(await useToken(x, id), 'ok');
    sim.reset();
    const [results] = await Promise.all([
      Promise.all(Array.from({ length: 200 }, (_, i) => useToken(i % 2 ? a : b, ids[i % ids.length]!))),
      Promise.all(ids.map((id) => control('authorize', id))),
    ]);
    await sim.openPlatform.pusher.settle();
    assert.deepEqual([...new Set(results)], ['ok']);
    assert.equal(
      calls('/cgi-bin/component/api_query_auth'),
      ids.length,
      'each event exchanged its code once',
    );
    const fetched = calls('/cgi-bin/component/api_authorizer_token');
    assert.ok(fetched >= ids.length && fetched <= 2 * ids.length, `${fetched} api_authorizer_token calls`);
    assert.ok(calls('/cgi-bin/component/api_get_authorizer_info') <= ids.length);
    // After the storm both instances hold live tokens: the dead ones were dropped everywhere.
    for (const id of ids) {
      for (const x of [a, b]) {
        const token = await (await x.authorizer(id)).accessToken();
        assert.ok('appId' in sim.state.validateAccessToken(token), `${id} holds a live token`);
      }
    }
  });

  test('unauthorization storm: accounts take their authorization back under load — each call succeeds or gets authorizer_revoked, then 403 with no call upstream', async () => {
    const ids = candidates().slice(17, 21);
    for (const id of ids) for (const x of [a, b]) assert.equal(await useToken(x, id), 'ok');
    sim.reset();
    const [results] = await Promise.all([
      Promise.all(Array.from({ length: 200 }, (_, i) => useToken(i % 2 ? a : b, ids[i % ids.length]!))),
      Promise.all(ids.map((id) => control('unauthorize', id))),
    ]);
    await sim.openPlatform.pusher.settle();
    assert.deepEqual(
      [...new Set(results)].filter((r) => r !== 'ok' && r !== 'authorizer_revoked'),
      [],
      'no other outcome than ok or authorizer_revoked',
    );
    // At most one 61003 per account (then it is known revoked everywhere), no retry loop.
    assert.ok(calls('/cgi-bin/component/api_authorizer_token') <= ids.length);
    sim.advance(6); // past the few seconds an instance trusts what it last read about an account
    sim.reset();
    const after = await Promise.all(
      Array.from({ length: 100 }, (_, i) => useToken(i % 2 ? a : b, ids[i % ids.length]!)),
    );
    assert.deepEqual([...new Set(after)], ['authorizer_revoked']);
    assert.deepEqual(sim.stats().calls, {});
    const status = await a.status();
    assert.ok(status.revoked >= ids.length);
    for (const id of ids) assert.ok(!(await a.authorizers()).includes(id));
  });

  test('unauthorization: authorizer_revoked at once, with no call upstream, until it authorizes again', async () => {
    const appId = candidates()[11]!;
    await (await a.authorizer(appId)).accessToken();
    await fetch(`${sim.url}/__sim/platform/unauthorize`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, appId }),
    });
    await sim.openPlatform.pusher.settle();
    // The instance that got the event knows at once; the other trusts its last read for up to 5 s.
    sim.advance(6);
    sim.reset();
    for (const p of [a, b]) {
      await assert.rejects(
        p.authorizer(appId),
        (e: unknown) => isWxkitError(e) && e.code === 'authorizer_revoked' && e.status === 403,
      );
    }
    assert.deepEqual(sim.stats().calls, {});
    assert.ok(!(await a.authorizers()).includes(appId));
    await fetch(`${sim.url}/__sim/platform/authorize`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, appId }),
    });
    await sim.openPlatform.pusher.settle();
    sim.advance(6); // as above: whichever instance got the event, both serve it again
    for (const p of [a, b])
      verifies(await (await p.authorizer(appId)).jssdkConfig({ url: PAGE, jsApiList: [] }), appId);
  });

  test('the store lost everything: sync restores every refresh token from the list (and get_authorizer_info where the list omits it)', async () => {
    const component = sim.openPlatform.state.get(COMPONENT)!;
    const authorized = sim.openPlatform.state.authorized(component).map((x) => x.authorizerAppId);
    await fetch(`${sim.url}/__sim/platform/quirks`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, listMissingRefreshToken: authorized.slice(0, 2) }),
    });
    const empty = createMemoryStore({ now: () => sim.state.nowMs() });
    const lost = make(empty);
    try {
      // The ticket is lost too: the next push brings one.
      await fetch(`${sim.url}/__sim/platform/tickets`, {
        method: 'POST',
        body: JSON.stringify({ componentAppId: COMPONENT }),
      });
      const events = createServer(async (req, res) => {
        await writeResponse(res, await lost.handleEvents(await toRequest(req, 'http://127.0.0.1')));
      });
      const port = await listen(events);
      const previous = component.eventsUrl;
      component.eventsUrl = `http://127.0.0.1:${port}/platform/events`;
      await sim.openPlatform.pusher.pushTicket(component);
      component.eventsUrl = previous;
      events.close();
      const report = await lost.sync();
      assert.equal(report.pages, 1);
      assert.equal(report.accounts, authorized.length);
      assert.equal(report.restored, authorized.length);
      assert.equal(report.fromInfo, 2);
      assert.deepEqual(await lost.authorizers(), [...authorized].sort());
      for (const id of authorized) {
        const config = await (await lost.authorizer(id)).jssdkConfig({ url: PAGE, jsApiList: [] });
        verifies(config, id);
      }
    } finally {
      await lost.close();
    }
  });

  test('an appId that never authorized gets unknown_app with no call upstream', async () => {
    sim.reset();
    await assert.rejects(
      a.authorizer('wxnever0authorized1'),
      (e: unknown) => isWxkitError(e) && e.code === 'unknown_app' && e.status === 404,
    );
    await a.ready();
    await assert.rejects(
      a.accountFor('wxnever0authorized1').jssdkConfig({ url: PAGE, jsApiList: [] }),
      (e: unknown) => isWxkitError(e) && e.code === 'unknown_app',
    );
    assert.deepEqual(sim.stats().calls, {});
  });

  test('another process’s sync that restores an account in the middle of its authorization check: waited for, never unknown_app', async () => {
    // The race a full-size FLUSHALL on a Redis Cluster showed (17 × unknown_app): this process read the
    // account's refresh token (not restored yet) while another process's sync ran, then its shard (still
    // missing it), and the sync had finished — marker deleted, index full — before the last read.
    const inner = createMemoryStore({ now: () => sim.state.nowMs() });
    const ids = candidates().slice(26, 28);
    const [served, target] = ids as [string, string];
    const syncing = `wxkit:component:${COMPONENT}:sync:running`;
    const tokenKey = platformKeys.refreshToken(COMPONENT, target);
    const shardKey = platformKeys.indexShard(COMPONENT, platformKeys.shardOf(target));
    let saved: string | undefined;
    let race: 'armed' | 'token-read' | 'done' | undefined;
    const racing = new Proxy(inner, {
      get(t, name, receiver) {
        const v = Reflect.get(t, name, receiver);
        if (name === 'get')
          return async (key: string) => {
            const value = await inner.get(key);
            if (race === 'armed' && key === tokenKey) {
              race = 'token-read';
              await inner.set(syncing, '1', 60_000); // the other process's sync starts
            }
            return value;
          };
        if (name === 'members')
          return async (key: string) => {
            const value = await inner.members(key);
            if (race === 'token-read' && key === shardKey) {
              race = 'done';
              // …restores this account and finishes before this process reads the marker again.
              await inner.set(tokenKey, saved as string);
              await inner.addMembers(shardKey, [target]);
              await inner.delete(syncing);
            }
            return value;
          };
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const p = make(racing);
    try {
      await p.ready();
      await saveVerifyTicket(inner, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
      const codes = (await (
        await fetch(`${sim.url}/__sim/platform/authorize`, {
          method: 'POST',
          body: JSON.stringify({ componentAppId: COMPONENT, count: 28, events: false }),
        })
      ).json()) as { codes: { appId: string; authCode: string }[] };
      for (const c of codes.codes.filter((x) => ids.includes(x.appId)))
        await p.completeAuthorization(c.authCode);
      verifies(await p.accountFor(served).jssdkConfig({ url: PAGE, jsApiList: [] }), served);
      // The target's data is gone (a flush the sync is repairing); other accounts are indexed already.
      saved = await inner.get(tokenKey);
      assert.ok(saved);
      await inner.delete(tokenKey);
      await inner.removeMembers(shardKey, [target]);
      race = 'armed';
      verifies(await p.accountFor(target).jssdkConfig({ url: PAGE, jsApiList: [] }), target);
      assert.equal(race, 'done', 'the check ran through the race');
    } finally {
      await p.close();
    }
  });

  test('the store is flushed while serving: accountFor() restores every account with one sync by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-platform-flush-'));
    const fileStore = createFileStore({ dir, now: () => sim.state.nowMs() });
    const p = make(fileStore);
    const p2 = make(fileStore); // a second instance on the same store, served through accountFor()
    try {
      await p.ready();
      await p2.ready();
      await saveVerifyTicket(fileStore, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
      const ids = candidates().slice(22, 25);
      const codes = (await (
        await fetch(`${sim.url}/__sim/platform/authorize`, {
          method: 'POST',
          body: JSON.stringify({ componentAppId: COMPONENT, count: 25, events: false }),
        })
      ).json()) as { codes: { appId: string; authCode: string }[] };
      for (const c of codes.codes.filter((x) => ids.includes(x.appId)))
        await p.completeAuthorization(c.authCode);
      for (const id of ids) verifies(await p.accountFor(id).jssdkConfig({ url: PAGE, jsApiList: [] }), id);
      verifies(await p2.accountFor(ids[0]!).jssdkConfig({ url: PAGE, jsApiList: [] }), ids[0]!);
      // FLUSHALL: refresh tokens, index, cached tokens and tickets are gone.
      for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
      sim.advance(6); // past the few seconds an account's authorization is trusted in memory
      sim.reset();
      // Both instances find the index empty; one of them restores it (a lease in the store), not both.
      // Meanwhile each keeps signing for the accounts it served (0 accounts to authorize again): from
      // memory, with no call upstream.
      for (const id of ids) verifies(await p.accountFor(id).jssdkConfig({ url: PAGE, jsApiList: [] }), id);
      verifies(await p2.accountFor(ids[0]!).jssdkConfig({ url: PAGE, jsApiList: [] }), ids[0]!);
      assert.equal(calls('/cgi-bin/component/api_authorizer_token'), 0);
      assert.equal(calls('/cgi-bin/ticket/getticket'), 0);
      // Another process is restoring the index (its lock held, one account back so far): an account p2
      // never served waits for that sync, then signs (with a component token from the ticket WeChat
      // pushes again), rather than being told it never authorized.
      await saveVerifyTicket(fileStore, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
      const syncLock = `wxkit:component:${COMPONENT}:sync:lock`;
      let owner: string | undefined;
      for (let i = 0; i < 100 && !owner; i++) {
        owner = await fileStore.tryLock(syncLock, 60_000); // once the automatic sync let go of it
        if (!owner) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(owner);
      await fileStore.set(`wxkit:component:${COMPONENT}:sync:running`, '1', 60_000);
      // What the automatic sync restored is gone again but for one account: a restore under way.
      for (const id of candidates()) {
        await fileStore.delete(platformKeys.refreshToken(COMPONENT, id));
        await fileStore.removeMembers(platformKeys.indexShard(COMPONENT, platformKeys.shardOf(id)), [id]);
      }
      await fileStore.addMembers(platformKeys.indexShard(COMPONENT, platformKeys.shardOf(ids[2]!)), [
        ids[2]!,
      ]);
      const waiting = p2.accountFor(ids[1]!).jssdkConfig({ url: PAGE, jsApiList: [] });
      await new Promise((r) => setTimeout(r, 300));
      await p.sync();
      await fileStore.unlock(syncLock, owner);
      verifies(await waiting, ids[1]!);
      await new Promise((r) => setTimeout(r, 50));
      await p.close(); // waits for the sync it started
      await p2.close();
      // A new instance needs a component token: the flushed ticket comes back with the next push.
      await saveVerifyTicket(fileStore, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
      const again = make(fileStore);
      try {
        for (const id of ids)
          verifies(await (await again.authorizer(id)).jssdkConfig({ url: PAGE, jsApiList: [] }), id);
        assert.equal(
          calls('/cgi-bin/component/api_get_authorizer_list'),
          2,
          'one list page restored everything (the automatic sync, and the one run here as another process)',
        );
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a store hiccup while fetching is not remembered as an upstream failure: the next call asks WeChat', async () => {
    const inner = createMemoryStore({ now: () => sim.state.nowMs() });
    // A Redis that misses one read of a key ending so (its command timed out behind a burst).
    let failNext: string | undefined;
    const flaky: IndexedStore = {
      ...inner,
      async get(key) {
        if (failNext && key.endsWith(failNext)) {
          failNext = undefined;
          throw new WxkitError(ErrorCodes.STORE_UNAVAILABLE, 'Redis did not answer in time');
        }
        return inner.get(key);
      },
    };
    const seeder = make(flaky);
    await saveVerifyTicket(flaky, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
    await seeder.sync();
    await seeder.close();
    await inner.delete(`wxkit:component:${COMPONENT}:component_access_token`);
    const p = make(flaky);
    const storeError = (e: unknown) => isWxkitError(e) && e.code === 'store_unavailable';
    try {
      const [id1, id2] = (await p.authorizers()).slice(0, 2) as [string, string];
      sim.reset();
      // The component token's fetch misses the verify ticket: the next call (any account's) fetches it.
      const wx1 = await p.authorizer(id1);
      failNext = ':verify_ticket';
      await assert.rejects(wx1.jssdkConfig({ url: PAGE, jsApiList: [] }), storeError);
      verifies(await wx1.jssdkConfig({ url: PAGE, jsApiList: [] }), id1);
      // An account's token fetch misses its refresh token: its next call fetches.
      const wx2 = await p.authorizer(id2);
      failNext = ':refresh_token';
      await assert.rejects(wx2.jssdkConfig({ url: PAGE, jsApiList: [] }), storeError);
      verifies(await wx2.jssdkConfig({ url: PAGE, jsApiList: [] }), id2);
      assert.equal(calls('/cgi-bin/component/api_component_token'), 1);
      assert.equal(calls('/cgi-bin/component/api_authorizer_token'), 2);
      // The authorization re-check (every few seconds) misses the store: the account it served keeps
      // signing from memory.
      sim.advance(6);
      failNext = ':revoked';
      verifies(await wx1.jssdkConfig({ url: PAGE, jsApiList: [] }), id1);
      assert.equal(failNext, undefined, 'the store missed the read');
    } finally {
      await p.close();
    }
  });

  test('memory and metrics do not grow with the accounts served: one store subscription, no series per appId', async () => {
    const inner = createMemoryStore({ now: () => sim.state.nowMs() });
    // Subscriptions to the store's announcements now open: each one keeps its listener (and what the
    // listener reaches) alive.
    let listening = 0;
    const counted: IndexedStore = {
      ...inner,
      async subscribe(listener) {
        const stop = await inner.subscribe!(listener);
        listening++;
        return () => {
          listening--;
          stop();
        };
      },
    };
    const seeder = make(counted);
    await saveVerifyTicket(counted, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
    await seeder.sync();
    await seeder.close();
    const warnings: string[] = [];
    const p = createPlatform({
      componentAppId: COMPONENT,
      componentSecret: SECRET,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      store: counted,
      apiBase: sim.url,
      openBase: sim.url,
      jsDomains: ['shop.example.com'],
      now: () => sim.state.nowMs(),
      maxAccounts: 5,
      logger: { warn: (m) => warnings.push(m) },
    });
    try {
      const ids = (await p.authorizers()).slice(0, 20);
      assert.equal(ids.length, 20);
      for (const id of ids)
        verifies(await (await p.authorizer(id)).jssdkConfig({ url: PAGE, jsApiList: [] }), id);
      await new Promise((r) => setTimeout(r, 20)); // evicted accounts close in the background
      // The component's subscription and the accounts' shared one, however many accounts came and went.
      assert.ok(listening <= 2, `${listening} subscriptions open for 5 accounts in memory`);
      assert.equal((await p.status()).inMemory, 5);
      const text = p.metrics.render();
      for (const id of ids) assert.ok(!text.includes(id), `a metrics series names ${id}`);
      assert.match(text, new RegExp(`appid="authorizers:${COMPONENT}"`));
      assert.deepEqual(warnings, []);
    } finally {
      await p.close();
    }
    assert.equal(listening, 0, 'close() ends every subscription');
  });

  test('a cold burst over many accounts keeps at most maxUpstreamRequests requests open at once', async () => {
    const inner = createMemoryStore({ now: () => sim.state.nowMs() });
    const seeder = make(inner);
    await saveVerifyTicket(inner, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
    await seeder.sync();
    await seeder.close();
    await inner.delete(`wxkit:component:${COMPONENT}:component_access_token`);
    let open = 0;
    let most = 0;
    const p = createPlatform({
      componentAppId: COMPONENT,
      componentSecret: SECRET,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      store: inner,
      apiBase: sim.url,
      openBase: sim.url,
      jsDomains: ['shop.example.com'],
      now: () => sim.state.nowMs(),
      maxUpstreamRequests: 3,
      fetch: async (input, init) => {
        most = Math.max(most, ++open);
        try {
          return await fetch(input, init);
        } finally {
          open--;
        }
      },
    });
    try {
      const ids = (await p.authorizers()).slice(0, 20);
      sim.reset();
      const configs = await Promise.all(
        ids.map(
          async (id) =>
            [id, await (await p.authorizer(id)).jssdkConfig({ url: PAGE, jsApiList: [] })] as const,
        ),
      );
      for (const [id, config] of configs) verifies(config, id);
      // A token and a ticket per account, and the component token: 41 requests, never more than 3 open.
      assert.equal(calls('/cgi-bin/component/api_authorizer_token'), 20);
      assert.equal(most, 3);
    } finally {
      await p.close();
    }
  });

  test("a process waiting for another one's fetch is woken by the store, not polling it every 150 ms", async () => {
    const inner = createMemoryStore({ now: () => sim.state.nowMs() });
    const seeder = make(inner);
    await saveVerifyTicket(inner, COMPONENT, (await readVerifyTicket(store, COMPONENT))!);
    await seeder.sync();
    const [id, other] = await seeder.authorizers();
    await seeder.close();
    // p2's attempts at the account's locks while p1 holds them for a 3-second api_authorizer_token.
    let attempts = 0;
    const counted: IndexedStore = {
      ...inner,
      async tryLock(key, leaseMs) {
        if (key.startsWith(`wxkit:${id}:`)) attempts++;
        return inner.tryLock(key, leaseMs);
      },
    };
    const options = {
      componentAppId: COMPONENT,
      componentSecret: SECRET,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      apiBase: sim.url,
      openBase: sim.url,
      jsDomains: ['shop.example.com'],
      now: () => sim.state.nowMs(),
    };
    const p1 = createPlatform({
      ...options,
      store: inner,
      fetch: async (input, init) => {
        if (String((input as Request).url ?? input).includes('api_authorizer_token'))
          await new Promise((r) => setTimeout(r, 3000));
        return fetch(input, init);
      },
    });
    const p2 = createPlatform({ ...options, store: counted });
    try {
      await p1.ready();
      await p2.ready();
      await (await p2.authorizer(other!)).accessToken(); // p2's link is open and subscribed
      sim.reset();
      attempts = 0;
      const first = (await p1.authorizer(id!)).jssdkConfig({ url: PAGE, jsApiList: [] });
      await new Promise((r) => setTimeout(r, 200));
      const second = (await p2.authorizer(id!)).jssdkConfig({ url: PAGE, jsApiList: [] });
      verifies(await first, id!);
      verifies(await second, id!);
      assert.equal(calls('/cgi-bin/component/api_authorizer_token'), 1);
      // Every 150 ms for 3 s would be about 20; woken by the announcement, a handful of checks.
      assert.ok(attempts <= 8, `${attempts} lock attempts while waiting`);
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  test('ticket pushes stop: 11 hours of signing without an error, a warning in status and /readyz; at 12 hours /readyz 503 names the cause and a component-token fetch says why', async () => {
    await fetch(`${sim.url}/__sim/platform/tickets`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, stop: true }),
    });
    await a.ready();
    const handler = createHandler([], {
      extra: { platform: a, readiness: { maxAgeMs: 0 } },
      log: false,
      rateLimit: false,
    });
    const get = (path: string) => handler(new Request(`http://127.0.0.1${path}`));
    const sign = (appId: string) => get(`/jssdk/config?appId=${appId}&url=${encodeURIComponent(PAGE)}`);
    const ids = candidates().slice(0, 3);
    // Every 20 simulated minutes for 11 hours, each account signs twice at once: tokens, tickets and the
    // component token are renewed several times from the last ticket WeChat pushed.
    const failures: string[] = [];
    for (let minutes = 0; minutes <= 11 * 60; minutes += 20) {
      if (minutes > 0) sim.advance(20 * 60);
      await Promise.all(
        [...ids, ...ids].map(async (appId) => {
          const res = await sign(appId);
          if (res.status !== 200) failures.push(`${minutes} min ${appId}: ${res.status} ${await res.text()}`);
          else verifies((await res.json()) as Parameters<typeof verifies>[0], appId);
        }),
      );
    }
    assert.deepEqual(failures, []);
    assert.ok(calls('/cgi-bin/component/api_component_token') >= 5, 'the component token was renewed');
    const s11 = await a.status();
    assert.equal(s11.verifyTicket.health, 'late');
    assert.match(s11.warning?.zh ?? '', /授权事件接收URL/);
    const ready11 = await get('/readyz');
    assert.equal(ready11.status, 200);
    const p11 = (
      (await ready11.json()) as { platform: { verifyTicket: { health: string }; warning: { en: string } } }
    ).platform;
    assert.equal(p11.verifyTicket.health, 'late');
    assert.match(p11.warning.en, /授权事件接收URL/);

    sim.advance(3600);
    const ready12 = await get('/readyz');
    assert.equal(ready12.status, 503);
    const p12 = (
      (await ready12.json()) as { platform: { error: { code: string; message: string; zh: string } } }
    ).platform;
    assert.equal(p12.error.code, 'verify_ticket_expired');
    assert.match(p12.error.message, /component_verify_ticket older than 12 h: check the 授权事件接收URL/);
    assert.match(p12.error.zh, /已超过 12 小时.*授权事件接收URL/);
    // The component token fetched before keeps serving until it ends; then the fetch says why, in both
    // languages, without spending a call WeChat would answer 61005. A page gets 503 (the cause is the
    // operator's: the library's error, /readyz, the log).
    sim.advance(2 * 3600);
    sim.reset();
    const res = await sign(ids[0]!);
    assert.equal(res.status, 503);
    assert.equal(
      ((await res.json()) as { error: { wechat: { errcode: number } } }).error.wechat.errcode,
      61005,
    );
    await assert.rejects((await a.authorizer(ids[1]!)).accessToken(), (e: unknown) => {
      assert.ok(isWxkitError(e));
      assert.match(e.message, /component_verify_ticket older than 12 h: check the 授权事件接收URL/);
      assert.match(e.messageZh, /已超过 12 小时.*授权事件接收URL/);
      assert.equal(e.errcode, 61005);
      return true;
    });
    assert.equal(calls('/cgi-bin/component/api_component_token'), 0);
    // The next push heals it: /readyz at once, the accounts once their brief backoff ends.
    await fetch(`${sim.url}/__sim/platform/tickets`, {
      method: 'POST',
      body: JSON.stringify({ componentAppId: COMPONENT, resume: true, push: true }),
    });
    assert.equal((await get('/readyz')).status, 200);
    sim.advance(60); // the accounts' remembered failures end (backoff), the component token is fetched again
    assert.equal((await sign(ids[0]!)).status, 200);
  });
});
