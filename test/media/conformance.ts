import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isWxkitError } from '../../src/errors.ts';
import { sha256 } from '../../src/media/id.ts';
import type { MediaStore } from '../../src/media/types.ts';

/** A media store under test, on a virtual clock, and a raw view of what its backend holds. */
export interface MediaFixture {
  store: MediaStore;
  /** Moves the store's clock forward. */
  advance(ms: number): void;
  /** Every object/key/file name the backend holds for this store (to check nothing is left behind). */
  list(): Promise<string[]>;
  close(): Promise<void>;
}

/** The TTL every fixture's store is opened with. */
export const CONFORMANCE_TTL_SECONDS = 3600;

const bytesOf = (n: number) => new Uint8Array(randomBytes(n));

async function readAll(body: ReadableStream<Uint8Array>): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Uint8Array[] = [];
  const reader = body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

const holds = (names: string[], id: string) => names.some((n) => n.includes(id));

/** The MediaStore contract, run against every implementation. */
export function mediaStoreConformance(name: string, open: () => Promise<MediaFixture>): void {
  describe(`MediaStore conformance: ${name}`, () => {
    let fx: MediaFixture;
    let store: MediaStore;
    before(async () => {
      fx = await open();
      store = fx.store;
    });
    after(async () => {
      await store.close();
      await fx.close();
    });

    test('put then head and open: the same bytes, type, size; the id is the sha256', async () => {
      const bytes = bytesOf(3000);
      const id = sha256(bytes);
      const saved = await store.put(id, bytes, 'image/png');
      assert.deepEqual({ ...saved, savedAt: 0 }, { id, contentType: 'image/png', size: 3000, savedAt: 0 });
      assert.equal((await store.head(id))?.contentType, 'image/png');
      const opened = await store.open(id);
      assert.ok(opened);
      assert.equal(opened.media.size, 3000);
      assert.ok((await readAll(opened.body)).bytes.equals(Buffer.from(bytes)));
    });

    test('an id that is not the sha256 of the bytes is refused and nothing is written', async () => {
      const bytes = bytesOf(100);
      const before = await fx.list();
      for (const id of ['0'.repeat(64), '../../etc/passwd', sha256(bytesOf(5))]) {
        await assert.rejects(
          store.put(id, bytes, 'image/png'),
          (e) => isWxkitError(e) && e.code === 'invalid_request',
        );
      }
      assert.deepEqual((await fx.list()).sort(), before.sort());
    });

    test('write-once: the first save keeps its type and age; concurrent saves agree', async () => {
      const bytes = bytesOf(500);
      const id = sha256(bytes);
      // Concurrent first saves of the same file (two instances saving one upload) agree. With different
      // types they would race on an object store without conditional writes (s3rver, Aliyun OSS).
      const all = await Promise.all(Array.from({ length: 4 }, () => store.put(id, bytes, 'image/jpeg')));
      const first = await store.head(id);
      assert.ok(first);
      for (const s of all) assert.deepEqual({ ...s, savedAt: 0 }, { ...first, savedAt: 0 });
      fx.advance(1000);
      const again = await store.put(id, bytes, 'text/html');
      assert.equal(again.contentType, 'image/jpeg');
      assert.equal(again.savedAt, first.savedAt);
      assert.equal(
        (await fx.list()).filter((n) => n.includes(id) && !n.endsWith('.json') && !n.endsWith(':meta'))
          .length,
        1,
      );
    });

    test('open streams in pieces as the consumer reads, and calls onClose once (end and cancel)', async () => {
      const bytes = bytesOf(1024 * 1024 + 17);
      const id = sha256(bytes);
      await store.put(id, bytes, 'video/mp4');
      let closes = 0;
      const opened = await store.open(id, { onClose: () => closes++ });
      assert.ok(opened);
      const { bytes: read, chunks } = await readAll(opened.body);
      assert.ok(read.equals(Buffer.from(bytes)));
      assert.ok(chunks > 1, 'the body came in several pieces, not one buffer');
      assert.equal(closes, 1);

      let cancelled = 0;
      const second = await store.open(id, { onClose: () => cancelled++ });
      assert.ok(second);
      const reader = second.body.getReader();
      const firstChunk = await reader.read();
      assert.ok(firstChunk.value && firstChunk.value.length < bytes.length);
      await reader.cancel();
      assert.equal(cancelled, 1);
    });

    test('absent and malformed ids: head and open are undefined (onClose still runs); delete is fine', async () => {
      let closes = 0;
      for (const id of [sha256('never saved'), 'abc', '../x', `${'a'.repeat(64)}/..`]) {
        assert.equal(await store.head(id), undefined);
        assert.equal(await store.open(id, { onClose: () => closes++ }), undefined);
        await store.delete(id);
      }
      assert.equal(closes, 4);
    });

    test('delete removes the file from the backend', async () => {
      const bytes = bytesOf(64);
      const id = sha256(bytes);
      await store.put(id, bytes, 'image/png');
      assert.ok(holds(await fx.list(), id));
      await store.delete(id);
      assert.equal(await store.head(id), undefined);
      assert.ok(!holds(await fx.list(), id));
    });

    test('aliases remember which id a serverId became', async () => {
      const bytes = bytesOf(64);
      const id = sha256(bytes);
      await store.put(id, bytes, 'image/png');
      await store.setAlias(`wxapp\0server-${id.slice(0, 8)}`, id);
      assert.equal(await store.alias(`wxapp\0server-${id.slice(0, 8)}`), id);
      assert.equal(await store.alias('wxapp\0never'), undefined);
    });

    test('virtual clock: a file older than the TTL is gone on read (lazily) and from the backend', async () => {
      const bytes = bytesOf(2000);
      const id = sha256(bytes);
      await store.put(id, bytes, 'image/png');
      await store.setAlias(`wxapp\0lazy-${id.slice(0, 8)}`, id);
      fx.advance(CONFORMANCE_TTL_SECONDS * 1000 - 60_000);
      assert.ok(await store.head(id), 'still there a minute before the TTL');
      fx.advance(61_000);
      assert.equal(await store.head(id), undefined);
      assert.equal(await store.open(id), undefined);
      assert.equal(await store.alias(`wxapp\0lazy-${id.slice(0, 8)}`), undefined);
      assert.ok(!holds(await fx.list(), id), 'removed from the backend, not only hidden');
      // Saved again after it expired: a fresh file.
      const again = await store.put(id, bytes, 'image/jpeg');
      assert.equal(again.contentType, 'image/jpeg');
      assert.ok(await store.head(id));
    });

    test('virtual clock: sweep removes every expired file, bounded per call, and keeps fresh ones', async () => {
      // Finish any pass a previous test left half-done, so this one starts from the beginning.
      for (let i = 0; i < 100 && !(await store.sweep({ limit: 1000 })).done; i++);
      const old: string[] = [];
      for (let i = 0; i < 7; i++) {
        const bytes = bytesOf(300 + i);
        const id = sha256(bytes);
        await store.put(id, bytes, 'image/png');
        await store.setAlias(`wxapp\0sweep-${i}`, id);
        old.push(id);
      }
      fx.advance(CONFORMANCE_TTL_SECONDS * 1000 + 1000);
      const freshBytes = bytesOf(299);
      const fresh = sha256(freshBytes);
      await store.put(fresh, freshBytes, 'image/png');
      const removed: string[] = [];
      let aliases = 0;
      let calls = 0;
      for (;;) {
        const r = await store.sweep({ limit: 3 });
        calls++;
        removed.push(...r.removed);
        aliases += r.aliases;
        if (r.done || calls > 200) break;
      }
      assert.ok(calls > 1, 'a sweep call looks at a bounded number of entries');
      for (const id of old) assert.ok(removed.includes(id), `swept ${id}`);
      assert.ok(!removed.includes(fresh));
      const names = await fx.list();
      for (const id of old) assert.ok(!holds(names, id), `${id} is gone from the backend`);
      assert.ok(holds(names, fresh));
      assert.ok((await store.head(fresh)) !== undefined);
      assert.ok(aliases >= 0);
    });
  });
}
