// `wxkit serve` sweeps its media store in the background: a file older than WXKIT_MEDIA_TTL leaves the
// disk even though nobody reads it (reads would remove it lazily anyway). Polls with a deadline; never
// asserts on timing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFileMediaStore } from '../../src/media/file.ts';
import { sha256 } from '../../src/media/id.ts';
import { startServe } from '../serve/spawn.ts';

test('wxkit serve removes expired media in the background and logs it', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'wxkit-serve-sweep-'));
  const dir = join(cwd, 'media');
  const old = new Uint8Array(randomBytes(500));
  const fresh = new Uint8Array(randomBytes(500));
  await createFileMediaStore({ dir, now: () => Date.now() - 3_600_000 }).put(sha256(old), old, 'image/png');
  await createFileMediaStore({ dir, now: () => Date.now() + 3_600_000 }).put(
    sha256(fresh),
    fresh,
    'image/png',
  );
  const serve = await startServe(
    { WXKIT_MEDIA_STORE: `file:${dir}`, WXKIT_MEDIA_TTL: '60', WXKIT_LOG: 'all' },
    [],
    cwd,
  );
  try {
    const deadline = Date.now() + 60_000;
    while (existsSync(join(dir, sha256(old))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.ok(!existsSync(join(dir, sha256(old))), 'the expired file was swept');
    assert.ok(!existsSync(join(dir, `${sha256(old)}.json`)));
    assert.ok(existsSync(join(dir, sha256(fresh))), 'a fresh file stays');
  } finally {
    await serve.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
  assert.match(serve.stdout(), /"msg":"media store".*"store":"file:/);
  assert.match(serve.stdout(), /"msg":"media swept","removed":1/);
});
