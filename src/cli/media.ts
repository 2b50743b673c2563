import { mediaStoreFromEnv, mediaTtlFromEnv, openMediaStore } from '../media/spec.ts';
import { type CliIO, parseFlags, UsageError } from './io.ts';

export const mediaUsage = `wxkit media sweep [--limit 1000]
  Removes saved media older than WXKIT_MEDIA_TTL (default 30 days) from the media store
  (WXKIT_MEDIA_STORE: file:<dir>, redis://… or s3://…; WXKIT_MEDIA_DIR as file:<dir>) and prints each
  file it removed. --limit is how many entries one pass step looks at. wxkit serve also sweeps in the
  background; run this from cron, or after lowering WXKIT_MEDIA_TTL.
  删除媒体存储中超过 WXKIT_MEDIA_TTL（默认 30 天）的文件，并逐个列出删除的文件。`;

/** Calls per run at most: a pass over a very large store is finished by the next run. */
const MAX_CALLS = 100_000;

export async function runMedia(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, { limit: { type: 'string', default: '1000' } }, true);
  if (positionals.length !== 1 || positionals[0] !== 'sweep') {
    const action = (positionals[0] ?? '').slice(0, 20);
    throw new UsageError(
      `unknown media action "${action}" (sweep)`,
      `未知的 media 操作 "${action}"（可用：sweep）`,
    );
  }
  if (!/^\d{1,5}$/.test(values.limit) || Number(values.limit) < 1) {
    throw new UsageError('--limit must be a number from 1 to 99999', '--limit 必须是 1 到 99999 之间的数字');
  }
  const ttlSeconds = mediaTtlFromEnv(io.env);
  const store = await openMediaStore(mediaStoreFromEnv(io.env), { ttlSeconds, cwd: io.cwd, env: io.env });
  let files = 0;
  let aliases = 0;
  try {
    for (let calls = 0; calls < MAX_CALLS; calls++) {
      const r = await store.sweep({ limit: Number(values.limit) });
      for (const id of r.removed) io.out(`removed ${id}`);
      files += r.removed.length;
      aliases += r.aliases;
      if (r.done) break;
    }
  } finally {
    await store.close();
  }
  io.out(
    `wxkit media sweep: removed ${files} files and ${aliases} serverId records older than ${ttlSeconds} s from ${store.description} / 已从 ${store.description} 删除 ${files} 个文件和 ${aliases} 条 serverId 记录（超过 ${ttlSeconds} 秒）`,
  );
  return 0;
}
