import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { createFileMediaStore } from '../../src/media/file.ts';
import { sha256 } from '../../src/media/id.ts';
import { createRedisMediaStore } from '../../src/media/redis.ts';
import type { MediaStore } from '../../src/media/types.ts';
import { type RedisServer, startRedisServer } from '../stores/redis-server.ts';

async function run(argv: string[], env: Record<string, string>, cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, cwd });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Saves `n` files as if `ageSeconds` ago (the store's clock), returns their ids. */
async function seed(store: MediaStore, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes = new Uint8Array(randomBytes(200));
    ids.push((await store.put(sha256(bytes), bytes, 'image/png')).id);
    await store.setAlias(`wxapp\0cli-${i}-${ids[i]}`, ids[i] as string);
  }
  return ids;
}

describe('wxkit media sweep', () => {
  let cwd: string;
  let redis: RedisServer;
  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wxkit-media-cli-'));
    redis = await startRedisServer();
  });
  after(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await redis?.stop();
  });

  test('file: removes what is older than WXKIT_MEDIA_TTL, prints each id (en + zh), keeps the rest', async () => {
    const dir = join(cwd, 'media');
    const past = createFileMediaStore({ dir, now: () => Date.now() - 120_000 });
    const old = await seed(past, 3);
    const fresh = await seed(createFileMediaStore({ dir }), 1);
    const r = await run(
      ['media', 'sweep', '--limit', '2'],
      { WXKIT_MEDIA_DIR: 'media', WXKIT_MEDIA_TTL: '60' },
      cwd,
    );
    assert.equal(r.code, 0, r.err);
    for (const id of old) assert.match(r.out, new RegExp(`^removed ${id}$`, 'm'));
    assert.doesNotMatch(r.out, new RegExp(fresh[0] as string));
    assert.match(r.out, /removed 3 files and 3 serverId records older than 60 s from file:.*media \/ 已从/);
    const left = readdirSync(dir).filter((f) => f !== 'by-server');
    assert.deepEqual(left.sort(), [fresh[0], `${fresh[0]}.json`].sort());
    assert.equal(readdirSync(join(dir, 'by-server')).length, 1);
    const again = await run(
      ['media', 'sweep'],
      { WXKIT_MEDIA_STORE: 'file:media', WXKIT_MEDIA_TTL: '60' },
      cwd,
    );
    assert.match(again.out, /removed 0 files/);
  });

  test('redis://: the same, through WXKIT_MEDIA_STORE', async () => {
    const past = await createRedisMediaStore({ url: redis.url, now: () => Date.now() - 120_000 });
    const old = await seed(past, 2);
    const now = await createRedisMediaStore({ url: redis.url });
    const fresh = await seed(now, 1);
    const r = await run(['media', 'sweep'], { WXKIT_MEDIA_STORE: redis.url, WXKIT_MEDIA_TTL: '60' }, cwd);
    assert.equal(r.code, 0, r.err);
    for (const id of old) assert.match(r.out, new RegExp(`^removed ${id}$`, 'm'));
    assert.ok(await now.head(fresh[0] as string));
    assert.equal(await now.head(old[0] as string), undefined);
    await past.close();
    await now.close();
  });

  test('exit codes: 2 for bad usage, 1 for a bad configuration (en + zh)', async () => {
    assert.equal((await run(['media'], {}, cwd)).code, 2);
    assert.equal((await run(['media', 'purge'], {}, cwd)).code, 2);
    assert.equal((await run(['media', 'sweep', '--limit', '0'], {}, cwd)).code, 2);
    assert.equal((await run(['media', 'sweep', '--force'], {}, cwd)).code, 2);
    const bad = await run(['media', 'sweep'], { WXKIT_MEDIA_STORE: 'ftp://x' }, cwd);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /WXKIT_MEDIA_STORE: unknown media store.*s3:\/\/.* \/ .*可用值/);
    const ttl = await run(['media', 'sweep'], { WXKIT_MEDIA_TTL: 'soon' }, cwd);
    assert.equal(ttl.code, 1);
    assert.match(ttl.err, /WXKIT_MEDIA_TTL must be a number of seconds.* \/ 例如/);
    const help = await run(['media', '--help'], {}, cwd);
    assert.equal(help.code, 0);
    assert.match(help.out, /wxkit media sweep/);
  });
});
