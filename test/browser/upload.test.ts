import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ClientApi } from './page.ts';
import { configureIn, openPage } from './page.ts';
import { setUpStack } from './stack.ts';

const APIS = ['chooseImage', 'getLocalImgData', 'uploadImage'];
const PNG_MAGIC = '89504e470d0a1a0a';

interface Flow {
  localIds: string[];
  localData: string[];
  serverIds: string[];
  saved: Array<{ id: string; contentType: string; size: number; url: string }>;
}

/** chooseImage(3) → getLocalImgData → uploadImages → saveMedia, all through the helper in the page. */
function runFlow(page: Page): Promise<Flow> {
  return page.evaluate(async () => {
    const api = (window as unknown as { wxkit: ClientApi }).wxkit;
    const { localIds } = await api.call<{ errMsg: string; localIds: string[] }>('chooseImage', { count: 3 });
    const localData: string[] = [];
    for (const localId of localIds) {
      localData.push(
        (await api.call<{ errMsg: string; localData: string }>('getLocalImgData', { localId })).localData,
      );
    }
    const serverIds = await api.uploadImages(localIds);
    const saved = [];
    for (const id of serverIds) saved.push(await api.saveMedia(id));
    return { localIds, localData, serverIds, saved };
  });
}

describe('choose → upload → save in Chromium', () => {
  const env = setUpStack();

  for (const platform of ['android', 'ios'] as const) {
    test(`${platform}: three chosen images are uploaded serially and the saved files equal the bridge's bytes`, async () => {
      const { context, page } = await openPage(env.browser, 'http://h5.example.com/upload?step=1');
      try {
        const sdkUrl = `http://sim.example/jweixin.js?platform=${platform}`;
        assert.deepEqual(await configureIn(page, { sdkUrl, jsApiList: APIS }), { ok: true });
        env.stack.sim.reset();
        const flow = await runFlow(page);
        assert.equal(flow.localIds.length, 3);
        for (const id of flow.localIds) {
          assert.ok(id.startsWith(platform === 'ios' ? 'wxLocalResource://' : 'weixin://resourceid/'), id);
        }
        assert.equal(new Set(flow.serverIds).size, 3);
        const hashes = new Set<string>();
        for (const [i, saved] of flow.saved.entries()) {
          const data = flow.localData[i] as string;
          // iOS hands out a data: URL, Android bare base64 (as WeChat does).
          assert.equal(data.startsWith('data:image/png;base64,'), platform === 'ios');
          const chosen = Buffer.from(data.replace(/^data:[^,]*,/, ''), 'base64');
          assert.equal(chosen.subarray(0, 8).toString('hex'), PNG_MAGIC);
          const res = await fetch(`http://127.0.0.1:${env.stack.pagePort}${saved.url}`);
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('content-type'), 'image/png');
          assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
          const stored = Buffer.from(await res.arrayBuffer());
          assert.ok(stored.equals(chosen), `saved file ${i} differs from the image the bridge produced`);
          assert.equal(saved.size, chosen.length);
          assert.equal(saved.contentType, 'image/png');
          assert.equal(saved.id, createHash('sha256').update(chosen).digest('hex'));
          hashes.add(saved.id);
        }
        assert.equal(hashes.size, 3, 'the three images have distinct content');
        assert.equal(env.stack.sim.stats().calls['/cgi-bin/media/get'], 3, 'one download per image');
      } finally {
        await context.close();
      }
    });
  }

  test('a second uploadImage while one runs fails like WeChat; the first still succeeds', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/upload/concurrent');
    try {
      await configureIn(page, { sdkUrl: 'http://sim.example/jweixin.js', jsApiList: APIS });
      const out = await page.evaluate(async () => {
        const api = (window as unknown as { wxkit: ClientApi }).wxkit;
        const { localIds } = await api.call<{ errMsg: string; localIds: string[] }>('chooseImage', {
          count: 2,
        });
        const both = await Promise.allSettled(
          localIds.map((localId) => api.call('uploadImage', { localId })),
        );
        return both.map((r) =>
          r.status === 'fulfilled' ? r.value.errMsg : (r.reason as { errMsg: string }).errMsg,
        );
      });
      assert.equal(out[0], 'uploadImage:ok');
      assert.match(out[1] ?? '', /^uploadImage:fail/);
    } finally {
      await context.close();
    }
  });

  test('APIs missing from jsApiList are denied; saving an unknown serverId is a wechat_error (40007), not a file', async () => {
    const { context, page } = await openPage(env.browser, 'http://h5.example.com/upload/denied');
    try {
      await configureIn(page, { sdkUrl: 'http://sim.example/jweixin.js', jsApiList: ['chooseImage'] });
      const out = await page.evaluate(async () => {
        const api = (window as unknown as { wxkit: ClientApi }).wxkit;
        const { localIds } = await api.call<{ errMsg: string; localIds: string[] }>('chooseImage', {
          count: 1,
        });
        const denied = await api.uploadImages(localIds).catch((e: { errMsg: string }) => e.errMsg);
        const save = await api.saveMedia('NoSuchMediaId123').then(
          () => ({ code: 'saved', status: 201, message: '' }),
          (e: { code: string; status: number; message: string }) => ({
            code: e.code,
            status: e.status,
            message: e.message,
          }),
        );
        return { denied, save };
      });
      assert.equal(out.denied, 'uploadImage:permission denied');
      assert.deepEqual(
        { code: out.save.code, status: out.save.status },
        { code: 'wechat_error', status: 502 },
      );
      assert.match(String(out.save.message), /40007/);
    } finally {
      await context.close();
    }
  });
});
