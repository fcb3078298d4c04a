/** How long a test waits for something another process or a timer must make true. */
export const PATIENCE_MS = 30_000;

/**
 * Resolves with the first value of `probe` that `done` accepts, asking again every `everyMs`; rejects
 * once `deadlineMs` have passed. The deadline is generous on purpose: a loaded machine may take
 * seconds for what takes milliseconds alone. How fast it really is belongs in a benchmark.
 */
export async function pollUntil<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  { what = "the condition", everyMs = 20, deadlineMs = PATIENCE_MS } = {},
): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (performance.now() > deadline) {
      throw new Error(`${what} did not hold within ${deadlineMs} ms (last: ${String(value)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
