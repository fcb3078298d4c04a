import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made = new Set<string>();

// Registered when a test file first imports this module: every directory that file made is
// removed once its tests are done, whether they passed or not.
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  made.clear();
});

/** A fresh directory under the OS temp folder, removed after the test file that made it. */
export function tempDir(prefix = "agentgate-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}
