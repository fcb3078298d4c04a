import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { withDeadline } from "./deadline.js";

const timeout = () => new Error("timed out");
const never = () => new Promise<never>(() => {});
const built = fileURLToPath(new URL("../../dist/internal/deadline.js", import.meta.url));

describe("withDeadline", () => {
  it("passes a settlement through before the deadline", async () => {
    await expect(withDeadline(Promise.resolve(7), 1000, timeout)).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error("no")), 1000, timeout)).rejects.toThrow(
      "no",
    );
  });

  it("rejects at the deadline and ignores a late settlement", async () => {
    let settle: (value: number) => void = () => {};
    const late = new Promise<number>((resolve) => {
      settle = resolve;
    });
    const raced = withDeadline(late, 20, timeout);
    await expect(raced).rejects.toThrow("timed out");
    settle(1);
    await expect(raced).rejects.toThrow("timed out");
  });

  it("expires each of many waiting calls at its own deadline", async () => {
    const started = performance.now();
    const finished: number[] = [];
    const calls = [80, 20, 50].map((ms) =>
      withDeadline(never(), ms, timeout).catch(() => finished.push(ms)),
    );
    const quick = withDeadline(Promise.resolve("quick"), 10_000, timeout);
    await expect(quick).resolves.toBe("quick");
    await Promise.all(calls);
    expect(finished).toEqual([20, 50, 80]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it("times out in fake time, even after real calls left a real timer armed", async () => {
    await withDeadline(Promise.resolve(1), 5000, timeout);
    vi.useFakeTimers();
    try {
      const outcome = withDeadline(never(), 2000, timeout).catch((error: Error) => error.message);
      await vi.advanceTimersByTimeAsync(2001);
      await expect(Promise.race([outcome, Promise.resolve("pending")])).resolves.toBe("timed out");
    } finally {
      vi.useRealTimers();
    }
  });

  // The shared timer holds the process open only while something waits: a short script that made
  // one fast call must not linger for the whole deadline, and one waiting on a hung call must not
  // exit before its deadline fires.
  const run = (body: string) =>
    promisify(execFile)(process.execPath, [
      "--input-type=module",
      "-e",
      `import { withDeadline } from ${JSON.stringify(built)}; ${body}`,
    ]);

  it("does not keep a process alive once nothing waits", async () => {
    const started = performance.now();
    await run(`await withDeadline(Promise.resolve(1), 60_000, () => new Error("late"));`);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it("keeps a process alive until a waiting call's deadline", async () => {
    const { stdout } = await run(
      `withDeadline(new Promise(() => {}), 200, () => new Error("late")).catch((error) => console.log(error.message));`,
    );
    expect(stdout.trim()).toBe("late");
  });
});
