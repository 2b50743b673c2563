/**
 * `p`'s outcome (its value or its error) if it settles within `ms`, else a failure saying it still
 * hangs. Tests of timeouts use it with a bound far above the timeout under test and far below the hang
 * they guard against: it turns a hang (the bug) into a failure instead of a stuck test, and asserts no
 * timing.
 */
export async function settles<T>(p: Promise<T>, what: string, ms = 30_000): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still hangs after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      p.then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
