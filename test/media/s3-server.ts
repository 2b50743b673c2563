import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untilPrinted } from '../stores/redis-server.ts';

/**
 * A real S3-compatible server (the `s3rver` package's CLI, a devDependency) on a free port, for tests.
 * It knows one key pair, `S3RVER`/`S3RVER`: an unknown access key id is refused (InvalidAccessKeyId),
 * but s3rver does not verify SigV4 signatures, so a wrong secret with the right key id is accepted.
 */
export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** `s3://<bucket>/<prefix>?endpoint=…&region=us-east-1`. */
  spec(prefix: string, extra?: string): string;
  /** Environment with the server's credentials. */
  credentials: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  /**
   * Black-holes the store (SIGSTOP: the kernel still accepts connections, nothing answers), or
   * brings it back (SIGCONT).
   */
  kill(signal: 'SIGSTOP' | 'SIGCONT'): void;
  stop(): Promise<void>;
}

const BIN = join(createRequire(import.meta.url).resolve('s3rver/package.json'), '..', 'bin', 's3rver.js');

export async function startS3Server(bucket = 'wxkit-media'): Promise<S3Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wxkit-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    // s3rver makes list continuation tokens with DES, which OpenSSL 3 only has in its legacy provider.
    [
      '--openssl-legacy-provider',
      BIN,
      '-d',
      dir,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--silent',
      '--configure-bucket',
      bucket,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await untilPrinted(child, 'listening on', 's3rver');
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    spec: (prefix, extra = '') =>
      `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1${extra}`,
    credentials: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT'); // a stopped process would hold SIGTERM until resumed
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
