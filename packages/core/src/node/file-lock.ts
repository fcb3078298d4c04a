import { closeSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const STALE_MS = 10_000;
const WAIT_MS = 5_000;

/**
 * Runs `work` while holding `<path>.lock`, an exclusive-create lock file shared by every process
 * on the host. A lock older than 10 s is taken as left by a crashed process and broken. Rejects
 * when the lock cannot be had within 5 s.
 */
export async function withFileLock<T>(path: string, work: () => T | Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_MS) rmSync(lock, { force: true });
      } catch {
        // The holder released it between our two calls: try again.
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${lock}.`);
      await sleep(5 + Math.random() * 20);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}
