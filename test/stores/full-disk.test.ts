// Issue 18 item 15: the file stores on a full disk. A failed write must leave nothing behind (no empty
// lock file that makes every process wait, no `.tmp` file, no partial media file), and `ping()` must
// really write, so `/readyz` says "not ready" while saves fail.
//
// The disk is real: a 512 KiB tmpfs, filled up by a file. Mounting needs root (CI runs as root); as
// another user the tests are skipped, saying so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WxkitError } from '../../src/errors.ts';
import { createHandler } from '../../src/http/handler.ts';
import { createFileMediaStore } from '../../src/media/file.ts';
import { sha256 } from '../../src/media/id.ts';
import { createFileStore } from '../../src/stores/file.ts';
import { createWxkit } from '../../src/wxkit.ts';

const root = process.getuid?.() === 0;
const skip = root ? false : 'mounting a small tmpfs (a real full disk) needs root; CI runs as root';

/** Every file under `dir`, recursively, as `relative path (size)`. */
async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await files(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

function unavailable(e: unknown): boolean {
  assert.equal((e as WxkitError).code, 'store_unavailable', String(e));
  return true;
}

describe('file stores on a full disk (a real tmpfs)', { skip }, () => {
  let mount: string;
  let filler: string;
  before(() => {
    mount = mkdtempSync(join(tmpdir(), 'wxkit-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', mount]);
    filler = join(mount, 'filler');
  });
  after(() => {
    if (!mount) return;
    execFileSync('umount', [mount]);
    rmdirSync(mount);
  });

  /** Writes the filler until the file system refuses (ENOSPC). */
  const fill = async () => {
    const fh = await open(filler, 'a');
    try {
      for (;;) await fh.write(randomBytes(16 * 1024));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      await fh.close();
    }
  };
  const free = () => unlink(filler);

  test('credential store: a lock, a write and ping() fail with store_unavailable and leave no file', async () => {
    const dir = join(mount, 'store');
    const store = createFileStore({ dir });
    await store.set('kept', 'v'); // the directory and one record exist before the disk fills
    const before = await files(dir);
    await fill();
    try {
      await assert.rejects(store.tryLock('token-lock', 10_000), unavailable);
      await assert.rejects(store.set('other', 'x'.repeat(8192)), unavailable);
      assert.deepEqual(await files(dir), before, 'no empty lock, no temp file, no guard left behind');
      await assert.rejects(store.ping(), (e: WxkitError) => {
        unavailable(e);
        assert.match(e.message, /cannot write to the store directory/);
        return true;
      });
      assert.equal(await store.get('kept'), 'v', 'what was saved before still reads');
    } finally {
      await free();
    }
    // Space again: the lock is free at once (no empty lock file to age out first), ping is happy.
    await store.ping();
    assert.ok(await store.tryLock('token-lock', 10_000));
    await store.close();
  });

  test('media store: a failed save leaves no .tmp and no partial file; ping() fails until there is space', async () => {
    const dir = join(mount, 'media');
    const store = createFileMediaStore({ dir });
    const small = new Uint8Array(randomBytes(100));
    await store.put(sha256(small), small, 'image/png');
    const before = await files(dir);
    await fill();
    const big = new Uint8Array(randomBytes(64 * 1024));
    try {
      await assert.rejects(store.put(sha256(big), big, 'image/png'), unavailable);
      await assert.rejects(store.setAlias(`wx\0${'a'.repeat(2000)}`, sha256(small)), unavailable);
      assert.deepEqual(await files(dir), before, 'nothing new on disk: no .tmp, no bytes without metadata');
      await assert.rejects(store.ping?.() ?? Promise.resolve(), unavailable);
      assert.equal(await store.head(sha256(big)), undefined);
    } finally {
      await free();
    }
    await store.ping?.();
    assert.equal((await store.put(sha256(big), big, 'image/png')).size, big.length);
    await store.close();
  });

  test('/readyz: 503 while the disk is full (credential and media stores), 200 once there is space', async () => {
    const account = createWxkit({
      appId: 'wxfulldisk0000001',
      secret: 'full-disk-secret',
      store: `file:${join(mount, 'readyz-store')}`,
      // No upstream is asked: the ticket check fails, but only the stores are looked at below.
      apiBase: 'http://127.0.0.1:9',
    });
    const media = createFileMediaStore({ dir: join(mount, 'readyz-media') });
    await mkdir(join(mount, 'readyz-media'), { recursive: true });
    const handler = createHandler(account, {
      log: false,
      extra: { mediaStore: media, readiness: { timeoutMs: 5000, maxAgeMs: 0, graceMs: 5000 } },
    });
    const readyz = async () => {
      const res = await handler(new Request('http://svc.test/readyz'), { clientIp: '127.0.0.1' });
      return (await res.json()) as {
        ready: boolean;
        accounts: { storeReachable: boolean }[];
        media?: { reachable: boolean; store?: string; error?: { code: string } };
      };
    };
    try {
      const healthy = await readyz();
      assert.equal(healthy.accounts[0]?.storeReachable, true);
      assert.equal(healthy.media?.reachable, true);
      await fill();
      try {
        const full = await readyz();
        assert.equal(full.ready, false);
        assert.equal(full.accounts[0]?.storeReachable, false, 'the credential store cannot write');
        assert.equal(full.media?.reachable, false, 'the media store cannot save');
        assert.equal(full.media?.error?.code, 'store_unavailable');
        assert.deepEqual(
          readdirSync(join(mount, 'readyz-media')).filter((n) => n.endsWith('.tmp')),
          [],
          'the probes left nothing',
        );
      } finally {
        await free();
      }
      const again = await readyz();
      assert.equal(again.accounts[0]?.storeReachable, true);
      assert.equal(again.media?.reachable, true);
    } finally {
      await account.close();
      await media.close();
    }
  });
});
