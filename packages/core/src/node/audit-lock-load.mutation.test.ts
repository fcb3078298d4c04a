import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/fixtures/temp-dir.js";

// The writer's lock reads where it runs (host, boot id, PID namespace) when its module loads
// (SECURITY.md E41). Imported inside the test, not at the top of the file, so that a module
// that fails to load fails this test rather than leaving the file without tests, which a
// mutation run would not count as a failure (MUTATION.md, group `audit-store`).

describe("the audit lock module", () => {
  it("E41: loads, and a lock taken through it names this host and is removed on release", async () => {
    const { AuditLock } = await import("./audit-lock.js");
    const path = join(tempDir("agentgate-lock-"), "audit.lock");
    const lock = AuditLock.acquire(path);
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    expect(JSON.parse(readFileSync(path, "utf8")).where).toContain(`|${boot}|`);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });
});
