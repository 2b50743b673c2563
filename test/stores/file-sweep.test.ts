// The file store's sweep runs in the background and bounded, and the directory is private
// (issue 10, items 6 and 15).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createFileStore } from '../../src/stores/file.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wxkit-sweep-'));
  dirs.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jsonFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.json')).length;

/** Opens the FIFO for writing once something reads it: the fd, or undefined when nobody reads yet. */
function writerIfRead(fifo: string): number | undefined {
  try {
    return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENXIO') return undefined;
    throw e;
  }
}

describe('file store sweep', () => {
  test('writes and reads go on while a sweep is stuck on an entry', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const store = createFileStore({ dir });
    await store.set('first', 'x');
    // An entry the sweep cannot read until someone writes to it: any sweep that reaches it waits there.
    const fifo = join(dir, 'stuck.json');
    execFileSync('mkfifo', [fifo]);
    for (let i = 0; i < 254; i++) await store.set(`k${i}`, 'v', 60_000);
    const write256 = store.set('k254', 'v', 60_000); // the 256th write starts a sweep
    let fd: number | undefined;
    for (let i = 0; i < 2000 && fd === undefined; i++) {
      fd = writerIfRead(fifo);
      if (fd === undefined) await sleep(5);
    }
    assert.ok(fd !== undefined, 'the sweep reached the stuck entry');
    try {
      // The sweep now waits on the FIFO (we hold it open and write nothing): nothing else may wait.
      const blocked = sleep(10_000).then(() => 'blocked');
      const work = (async () => {
        await write256;
        await store.set('during', 'y');
        assert.equal(await store.get('during'), 'y');
        await store.delete('k0');
        return 'done';
      })();
      assert.equal(await Promise.race([work, blocked]), 'done', 'a write waited for the sweep');
    } finally {
      closeSync(fd); // end of file for the sweep: it carries on
    }
    await store.close();
  });

  test('one sweep looks at a bounded number of entries', async () => {
    const dir = await tempDir();
    let t = 1_000_000;
    const filling = createFileStore({ dir, now: () => t });
    for (let i = 0; i < 1500; i++) await filling.set(`abandoned:${i}`, 'x', 1000);
    await filling.close();
    assert.equal(await jsonFiles(dir), 1500);
    t += 10_000; // all 1500 expired
    const store = createFileStore({ dir, now: () => t });
    for (let i = 0; i < 256; i++) await store.set(`fresh:${i}`, 'y'); // one sweep
    await store.close(); // waits for the sweep in flight
    const left = (await jsonFiles(dir)) - 256;
    assert.ok(left < 1500, `the sweep removed expired records (${left} left)`);
    assert.ok(left >= 1500 - 1024, `one sweep removed at most 1024 (${left} left)`);
    assert.equal(await createFileStore({ dir }).get('fresh:255'), 'y');
  });

  test('expired lock leases (used OAuth claims) are swept too', async () => {
    const dir = await tempDir();
    let t = 1_000_000;
    const store = createFileStore({ dir, now: () => t });
    assert.ok(await store.tryLock('wxkit:oauth:code-state:abc:claim', 60_000));
    const held = await store.tryLock('still-held', 600_000);
    assert.ok(held);
    t += 120_000;
    for (let i = 0; i < 256; i++) await store.set(`k${i}`, 'v');
    await store.close();
    const locks = (await readdir(dir)).filter((n) => n.endsWith('.lock'));
    assert.equal(locks.length, 1, 'only the live lease is left');
  });
});

describe('file store directory mode', () => {
  test('a pre-existing 0755 directory is made 0700; files are 0600', async () => {
    const base = await tempDir();
    const dir = join(base, 'store');
    await mkdir(dir);
    await chmod(dir, 0o755);
    const store = createFileStore({ dir });
    await store.set('k', 'v');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const name of await readdir(dir)) {
      assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600, name);
    }
    await store.close();
  });
});
