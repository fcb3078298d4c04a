import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { AgentGateError } from "../errors.js";

/**
 * The single-writer lock of an audit log: a lock file created exclusively, holding the owner's
 * pid. A lock whose pid no longer runs was left by a crashed writer and is taken over, so a
 * `kill -9` never blocks the log for good (SECURITY.md E41, E42).
 */
export class AuditLock {
  private constructor(private readonly path: string) {}

  /** Takes the lock or rejects with `audit_unavailable` naming the process that holds it. */
  static acquire(path: string): AuditLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new AuditLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number.parseInt(readSafely(path), 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
          throw new AgentGateError(
            "audit_unavailable",
            `The audit log is being written by process ${holder} (${path}); one writer per log.`,
            // Lets a second process write a chain of its own instead (openAuditWriter).
            { details: { check: "lock", holder } },
          );
        }
        rmSync(path, { force: true });
      }
    }
    throw new AgentGateError("audit_unavailable", `Could not take the audit log lock ${path}.`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

function readSafely(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
