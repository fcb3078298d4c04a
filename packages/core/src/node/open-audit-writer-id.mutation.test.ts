import { mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import { auditChains, openAuditWriter } from "./open-audit-writer.js";

// The default writer id of openAuditWriter (SECURITY.md K83) for hosts and users the test
// machine does not have: a long host name, characters a writer id may not hold, no passwd entry.
// The id must stay a valid writer id (1-64 plain characters), or auditChains would not list the
// chain and verification would skip it (MUTATION.md, group `audit-writer`).

const host = vi.hoisted(() => ({ name: "", noUser: false }));
vi.mock("node:os", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:os")>();
  return {
    ...actual,
    hostname: () => host.name,
    userInfo: (...args: Parameters<typeof actual.userInfo>) => {
      if (host.noUser) throw new Error("no passwd entry");
      return actual.userInfo(...args);
    },
  };
});

afterEach(() => {
  host.name = "";
  host.noUser = false;
});

/** Another live process holds `chain`: its lock names our parent, which runs as long as we do. */
function hold(chain: string): void {
  mkdirSync(chain, { recursive: true });
  writeFileSync(join(chain, "audit.lock"), String(process.ppid));
}

function place() {
  const root = tempDir("agentgate-writer-id-");
  return { directory: join(root, "audit"), checkpointKeyPath: join(root, "key.json") };
}

describe("the default writer id", () => {
  it("K83: a long host name is cut to 64, and the fallback id to 55 plus a suffix: both are chains", async () => {
    host.name = "h".repeat(80);
    const { directory, checkpointKeyPath } = place();
    hold(directory);
    const first = await openAuditWriter(directory, { checkpointKeyPath });
    const base = `${userInfo().username}-${"h".repeat(80)}`.slice(0, 64);
    expect(first.writerId).toBe(base);
    hold(first.chain);
    const second = await openAuditWriter(directory, { checkpointKeyPath });
    expect(second.writerId).toHaveLength(64);
    expect(second.writerId).toMatch(new RegExp(`^${base.slice(0, 55)}-[0-9a-f]{8}$`));
    await second.close();
    expect(auditChains(directory)).toEqual([directory, ...[first.chain, second.chain].sort()]);
  });

  it("characters a writer id may not hold become _; without a passwd entry the user is `user`", async () => {
    host.name = "my host/é.example";
    host.noUser = true;
    const { directory, checkpointKeyPath } = place();
    hold(directory);
    const writer = await openAuditWriter(directory, { checkpointKeyPath });
    expect(writer.writerId).toBe("user-my_host__.example");
    await writer.close();
  });
});
