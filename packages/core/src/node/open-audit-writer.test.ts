import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../audit/audit-event.js";
import { auditChains, openAuditWriter, readAuditLog, verifyAuditLog } from "./index.js";

const made: string[] = [];
afterEach(() => {
  for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function logDirectory(): string {
  const root = mkdtempSync(join(tmpdir(), "agentgate-writer-"));
  made.push(root);
  return join(root, "audit");
}

/** Another live process holds `chain`: its lock names our parent, which runs as long as we do. */
function heldByAnotherProcess(chain: string): void {
  mkdirSync(chain, { recursive: true });
  writeFileSync(join(chain, "audit.lock"), String(process.ppid));
}

const change = (id: string): AuditEvent => ({
  v: 1,
  id,
  type: "revocation",
  time: "2026-01-05T09:00:00.000Z",
  actor: { type: "user", id: "os:alice" },
  details: { kind: "agent", id: "spiffe://acme.example/agent/support" },
});

async function recorded(chain: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of readAuditLog(chain)) ids.push(record.id);
  return ids;
}

describe("openAuditWriter: one chain per writer", () => {
  it("writes the directory's own chain when no other process holds it", async () => {
    const directory = logDirectory();
    const writer = await openAuditWriter(directory);
    expect(writer).toMatchObject({ writerId: "primary", chain: directory });
    await writer.write(change("e1"));
    await writer.close();
    expect(await recorded(directory)).toEqual(["e1"]);
    expect(auditChains(directory)).toEqual([directory]);
  });

  it("K83: while another process holds the log, a second writer records to a chain of its own, which verifies", async () => {
    const directory = logDirectory();
    heldByAnotherProcess(directory);
    const writer = await openAuditWriter(directory, { writerId: "cli-alice" });
    expect(writer.chain).toBe(join(directory, "writers", "cli-alice"));
    await writer.write(change("e1"));
    await writer.close();
    expect(auditChains(directory)).toEqual([directory, writer.chain]);
    expect(await recorded(writer.chain)).toEqual(["e1"]);
    expect(await verifyAuditLog(writer.chain)).toMatchObject({ ok: true, records: 1 });
  });

  it("two writers under one default id never share a chain", async () => {
    const directory = logDirectory();
    heldByAnotherProcess(directory);
    const first = await openAuditWriter(directory);
    heldByAnotherProcess(first.chain);
    const second = await openAuditWriter(directory);
    expect(second.chain).not.toBe(first.chain);
    expect(second.writerId.startsWith(first.writerId.slice(0, 55))).toBe(true);
    await second.close();
    await first.close();
  });

  it("refuses a writer id that is not a plain name", async () => {
    await expect(openAuditWriter(logDirectory(), { writerId: "../escape" })).rejects.toMatchObject({
      code: "invalid_configuration",
    });
  });
});
