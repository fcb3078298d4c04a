import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The writers' checkpoint key lives outside every log directory (SECURITY.md K78), by default
 * in the user's `~/.config/agentgate/`. The CLI's tests, and the processes they spawn, keep
 * theirs in a directory of the run instead, removed when the run ends.
 */
let root: string | undefined;

export function setup(): void {
  if (process.env.AGENTGATE_CHECKPOINT_KEY_FILE !== undefined) return;
  root = mkdtempSync(join(tmpdir(), "agentgate-cli-checkpoint-key-"));
  process.env.AGENTGATE_CHECKPOINT_KEY_FILE = join(root, "audit-checkpoint-key.json");
}

export function teardown(): void {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
}
