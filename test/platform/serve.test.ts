// `wxkit serve` as a third-party platform (SPEC §13): WX_COMPONENT_* configure it, the simulated open
// platform pushes tickets and authorizations to POST /platform/events, and every authorized appId is
// signed for by /jssdk/config — with 404/403 and no call upstream for the others.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Service, startService } from '../../src/serve/service.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

const COMPONENT = 'wxc0mp0nent0serve1';
const SECRET = 'serve-component-secret-DO-NOT-PRINT';
const TOKEN = 'servecomponenttoken';
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const PAGE = 'https://shop.example.com/item?id=9';

describe('wxkit serve as a third-party platform', () => {
  let sim: Simulator;
  let service: Service;
  let dir: string;
  const lines: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wxkit-platform-serve-'));
    sim = await startSimulator({
      components: [
        {
          componentAppId: COMPONENT,
          secret: SECRET,
          token: TOKEN,
          encodingAESKey: AES_KEY,
          authorizers: 4,
          jsDomains: ['shop.example.com'],
        },
      ],
    });
    service = await startService({
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        WX_API_BASE: sim.url,
        WX_OPEN_BASE: sim.url,
        WXKIT_STORE: `file:${join(dir, 'store')}`,
        WXKIT_MEDIA_STORE: `file:${join(dir, 'media')}`,
        WX_COMPONENT_APP_ID: COMPONENT,
        WX_COMPONENT_SECRET: SECRET,
        WX_COMPONENT_TOKEN: TOKEN,
        WX_COMPONENT_AES_KEY: AES_KEY,
        WX_COMPONENT_JS_DOMAINS: 'shop.example.com',
        WXKIT_LOG: 'all',
      },
      cwd: dir,
      logLine: (line) => lines.push(line),
    });
    await fetch(`${sim.url}/__sim/platform/components`, {
      method: 'POST',
      body: JSON.stringify({ eventsUrl: `${service.url}/platform/events` }),
    });
  });
  after(async () => {
    await service.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const candidates = () => sim.openPlatform.state.get(COMPONENT)!.candidates;
  const config = (appId: string) =>
    fetch(`${service.url}/jssdk/config?appId=${appId}&url=${encodeURIComponent(PAGE)}&apis=chooseImage`, {
      headers: { origin: 'https://shop.example.com' },
    });

  test('not a sandbox; the ticket push reached POST /platform/events and was answered success', async () => {
    assert.equal(service.sandbox, false);
    const log = (await (await fetch(`${sim.url}/__sim/platform/log`)).json()) as {
      pushes: { ok: boolean; infoType: string }[];
    };
    assert.ok(log.pushes.some((p) => p.infoType === 'component_verify_ticket' && p.ok));
    assert.ok(!lines.join('\n').includes(SECRET), 'the secret never reaches the log');
  });

  test('the authorization page carries the link with a fresh pre_auth_code; the callback stores the account', async () => {
    const html = await (await fetch(`${service.url}/platform/authorize`)).text();
    const href = /id="authorize" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(href?.startsWith(`${sim.url}/cgi-bin/componentloginpage?component_appid=${COMPONENT}`), html);
    const link = new URL(href as string);
    // WXKIT_PUBLIC_URL is unset: the public origin is http://localhost:PORT.
    const publicUrl = `http://localhost:${service.port}`;
    assert.equal(link.searchParams.get('redirect_uri'), `${publicUrl}/platform/authorized`);
    // The admin clicks on the service's page (the Referer is its origin), chooses an account, confirms.
    const shown = await (
      await fetch(link, { headers: { referer: `${publicUrl}/platform/authorize` } })
    ).text();
    assert.match(shown, /id="authorize"/);
    const appId = candidates()[0]!;
    const confirm = await fetch(`${sim.url}/cgi-bin/componentloginpage/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        component_appid: COMPONENT,
        pre_auth_code: link.searchParams.get('pre_auth_code') ?? '',
        redirect_uri: `${publicUrl}/platform/authorized`,
        appid: appId,
      }),
    });
    const location = new URL(confirm.headers.get('location') ?? '');
    const back = await fetch(`${service.url}${location.pathname}${location.search}`);
    assert.equal(back.status, 200, await back.clone().text());
    assert.match(await back.text(), new RegExp(`id="appid">${appId}<`));
  });

  test('/jssdk/config signs for an authorized appId with a signature the simulator accepts', async () => {
    const appId = candidates()[0]!;
    const res = await config(appId);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      appId: string;
      signature: string;
      nonceStr: string;
      timestamp: number;
    };
    assert.equal(body.appId, appId);
    const ticket = sim.state.currentTicket(appId);
    assert.equal(
      body.signature,
      signJssdk({ ticket: ticket ?? '', nonceStr: body.nonceStr, timestamp: body.timestamp, url: PAGE }),
    );
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example.com');
  });

  test('never authorized: 404 unknown_app; unauthorized: 403 authorizer_revoked — neither calls WeChat', async () => {
    sim.reset();
    const never = await config(candidates()[3]!);
    assert.equal(never.status, 404);
    assert.equal(((await never.json()) as { error: { code: string } }).error.code, 'unknown_app');
    assert.deepEqual(sim.stats().calls, {});
    const appId = candidates()[0]!;
    await fetch(`${sim.url}/__sim/platform/unauthorize`, { method: 'POST', body: JSON.stringify({ appId }) });
    await sim.openPlatform.pusher.settle();
    sim.reset();
    const revoked = await config(appId);
    assert.equal(revoked.status, 403);
    const err = ((await revoked.json()) as { error: { code: string; messageZh?: string } }).error;
    assert.equal(err.code, 'authorizer_revoked');
    assert.deepEqual(sim.stats().calls, {});
  });

  test('a forged event is refused with the JSON error shape and changes nothing', async () => {
    const res = await fetch(
      `${service.url}/platform/events?timestamp=1&nonce=2&msg_signature=forged&encrypt_type=aes`,
      {
        method: 'POST',
        body: `<xml><AppId>${COMPONENT}</AppId><Encrypt>AAAA</Encrypt></xml>`,
      },
    );
    assert.ok(res.status >= 400 && res.status < 500);
    assert.ok(((await res.json()) as { error: { code: string } }).error.code);
  });
});
