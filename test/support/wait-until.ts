/** Polls a condition until it holds, or fails the test after a bound (never a bare sleep). */
export async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 15_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Bounds one step of a test, naming it in the error: a test timeout would only say "too slow". */
export async function within<T>(timeoutMs: number, step: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step}: not done within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } catch (error) {
    if (error instanceof Error && !error.message.startsWith(`${step}:`)) error.message = `${step}: ${error.message}`;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
