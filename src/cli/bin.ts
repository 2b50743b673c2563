import { lineWriter } from './io.ts';
import { main } from './main.ts';

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
process.exitCode = await main(process.argv.slice(2), {
  out: lineWriter(process.stdout),
  outFd: 1,
  err: lineWriter(process.stderr),
  env: process.env,
  cwd: process.cwd(),
  stopSignal: controller.signal,
});
