// Issue 14 in a real browser: the page chooses, uploads and saves an image through one wxkit instance
// (mounted on the page's own server), then shows it from another instance (svc.example) that shares
// only the media store (redis:// or s3://) and the credential store (Redis) with the first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createHandler, type WxkitHandler } from '../../src/http/handler.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import { createS3MediaStore } from '../../src/media/s3.ts';
import type { MediaStore } from '../../src/media/types.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { Wxkit } from '../../src/types.ts';
import { createWxkit } from '../../src/wxkit.ts';
import { type S3Server, startS3Server } from '../media/s3-server.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';
import { type ClientApi, configureIn, openPage } from './page.ts';
import {
  APP_ID,
  launchChromium,
  listen,
  mapHosts,
  pageHtml,
  requireChromium,
  SECRET,
  toRequest,
} from './stack.ts';

const APIS = ['chooseImage', 'getLocalImgData', 'uploadImage'];

/** Streams the handler's Response (media bodies are streams). */
async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) res.write(r.value);
  res.end();
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => res.writeHead(500).end(String(e)));
  });
  await listen(server);
  return server;
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;

describe('choose → upload → save on one instance, shown by another (Chromium)', () => {
  let sim: Simulator;
  let redis: RedisServer;
  let s3: S3Server;
  let browser: Browser;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    requireChromium();
    sim = await startSimulator({ apps: [{ appId: APP_ID, secret: SECRET, jsDomains: ['h5.example.com'] }] });
    [redis, s3] = await Promise.all([startRedisServer(), startS3Server()]);
  });
  after(async () => {
    await browser?.close();
    for (const c of closers.reverse()) await c();
    await Promise.all([sim?.close(), redis?.stop(), s3?.stop()]);
  });

  /** One instance: its own account object (credentials in the shared Redis) and its own media store client. */
  async function instance(openStore: () => Promise<MediaStore>): Promise<WxkitHandler> {
    const account: Wxkit = createWxkit({
      appId: APP_ID,
      secret: SECRET,
      apiBase: sim.url,
      openBase: sim.url,
      store: redis.url,
      jsDomains: ['h5.example.com'],
    });
    const mediaStore = await openStore();
    closers.push(
      () => account.close(),
      () => mediaStore.close(),
    );
    // Each instance also has a disk of its own (as on another machine); the shared store wins over it.
    const mediaDir = mkdtempSync(join(tmpdir(), 'wxkit-browser-instance-'));
    closers.push(async () => rmSync(mediaDir, { recursive: true, force: true }));
    return createHandler(account, { extra: { mediaStore, mediaDir }, log: false, rateLimit: false });
  }

  const stores: Record<string, () => Promise<MediaStore>> = {
    'redis://': () => createRedisMediaStore({ url: redis.url }),
    's3://': () =>
      createS3MediaStore({
        bucket: s3.bucket,
        prefix: 'browser',
        endpoint: s3.endpoint,
        accessKeyId: s3.credentials.AWS_ACCESS_KEY_ID,
        secretAccessKey: s3.credentials.AWS_SECRET_ACCESS_KEY,
      }),
  };

  for (const [name, openStore] of Object.entries(stores)) {
    test(`${name}: the image saved through the page's instance is shown by the other`, async () => {
      const a = await instance(openStore);
      const b = await instance(openStore);
      const page = await serve(async (req, res) => {
        if (req.url?.startsWith('/jssdk/')) {
          await writeResponse(res, await a(await toRequest(req, `http://${req.headers.host}`)));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(pageHtml('media across instances'));
      });
      const other = await serve(async (req, res) =>
        writeResponse(res, await b(await toRequest(req, `http://${req.headers.host}`))),
      );
      closers.push(
        () => new Promise((r) => page.close(r)),
        () => new Promise((r) => other.close(r)),
      );
      const hostRules = mapHosts({
        'h5.example.com': portOf(page),
        'svc.example': portOf(other),
        'sim.example': sim.port,
      });
      browser ??= await launchChromium(hostRules);
      // Host rules are per launch: a second store gets its own browser.
      if (name !== 'redis://') {
        await browser.close();
        browser = await launchChromium(hostRules);
      }
      const { context, page: tab } = await openPage(browser, 'http://h5.example.com/media/shared');
      try {
        assert.deepEqual(
          await configureIn(tab, { sdkUrl: 'http://sim.example/jweixin.js', jsApiList: APIS }),
          {
            ok: true,
          },
        );
        const out = await tab.evaluate(async () => {
          const api = (window as unknown as { wxkit: ClientApi }).wxkit;
          const { localIds } = await api.call<{ errMsg: string; localIds: string[] }>('chooseImage', {
            count: 1,
          });
          const localId = localIds[0] as string;
          const { localData } = await api.call<{ errMsg: string; localData: string }>('getLocalImgData', {
            localId,
          });
          const [serverId] = await api.uploadImages([localId]);
          const saved = await api.saveMedia(serverId as string);
          // Shown from the other instance.
          const img = document.createElement('img');
          img.src = `http://svc.example/jssdk/media/${saved.id}`;
          document.body.append(img);
          await img.decode();
          const res = await fetch(img.src);
          const bytes = new Uint8Array(await res.arrayBuffer());
          let binary = '';
          for (const b of bytes) binary += String.fromCharCode(b);
          return {
            id: saved.id,
            savedUrl: saved.url,
            width: img.naturalWidth,
            height: img.naturalHeight,
            status: res.status,
            type: res.headers.get('content-type'),
            served: btoa(binary),
            chosen: localData.replace(/^data:[^,]*,/, ''),
          };
        });
        assert.equal(out.savedUrl, `/jssdk/media/${out.id}`);
        assert.ok(out.width > 0 && out.height > 0, 'the other instance served a real image');
        assert.equal(out.status, 200);
        assert.equal(out.type, 'image/png');
        assert.equal(out.served, out.chosen, 'byte-identical to the chosen image');
      } finally {
        await context.close();
      }
    });
  }
});
