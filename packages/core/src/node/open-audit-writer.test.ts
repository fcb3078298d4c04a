import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../audit/audit-event.js";
import { isAgentGateError } from "../errors.js";
import {
  auditChains,
  CheckpointKey,
  openAuditWriter,
  readAuditLog,
  verifyAuditChains,
  verifyAuditLog,
  Witness,
} from "./index.js";

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

  it("K77/K79/K80: every writer's chain is a full audit log: cosigned by the witness under its own log id, refused once cut", async () => {
    const directory = logDirectory();
    const witness = Witness.open({
      directory: join(directory, "..", "witness"),
      writerKeys: [CheckpointKey.load().publicKey],
    });
    const anchored = { witness, witnessKey: witness.verifierKey };
    const primary = await openAuditWriter(directory, anchored);
    // The log's own chain is held (as by a gate): the next writer gets a chain of its own.
    const second = await openAuditWriter(directory, { ...anchored, writerId: "cli-alice" });
    expect(second.chain).toBe(join(directory, "writers", "cli-alice"));
    await primary.write(change("p1"));
    for (const id of ["w1", "w2", "w3"]) await second.write(change(id));
    await second.close();
    await primary.close();

    // Two chains, two log ids, each cosigned and each verifying against its cosignature.
    const origins = await witness.origins();
    expect(new Set(origins).size).toBe(2);
    const chains = await verifyAuditChains(directory, anchored);
    expect(chains.map((chain) => [chain.writer, chain.ok, chain.anchored])).toEqual([
      ["primary", true, true],
      ["cli-alice", true, true],
    ]);
    // Each chain alone does not account for the other's log id: the witness holds one more.
    expect(await verifyAuditLog(directory, anchored)).toMatchObject({
      ok: false,
      check: "witness",
    });

    // The writer's chain cut by one record: verify names the cut, and no writer appends to it.
    const segment = join(second.chain, "audit-000001.jsonl");
    const records = readFileSync(segment, "utf8").split("\n").filter(Boolean);
    writeFileSync(segment, `${records.slice(0, -1).join("\n")}\n`);
    expect(await verifyAuditLog(second.chain, anchored)).toMatchObject({ ok: false, check: "cut" });
    heldByAnotherProcess(directory);
    const refused = await openAuditWriter(directory, { ...anchored, writerId: "cli-alice" }).catch(
      (error: unknown) => error,
    );
    expect(isAgentGateError(refused) && refused.details?.check).toBe("cut");
    expect(readFileSync(segment, "utf8").split("\n").filter(Boolean)).toHaveLength(2);

    // K77: the writer's whole chain deleted: the witness still holds its log id.
    rmSync(second.chain, { recursive: true });
    expect((await verifyAuditChains(directory, anchored))[0]).toMatchObject({
      ok: false,
      check: "witness",
    });
  });
});
