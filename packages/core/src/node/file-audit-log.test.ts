import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pollUntil } from "../../test/fixtures/poll.js";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import type { AuditEvent } from "../audit/audit-event.js";
import { isAgentGateError } from "../errors.js";
import { CheckpointKey, FileAuditLog, readAuditLog, verifyAuditLog } from "./index.js";
import { parseNote } from "./signed-note.js";
import { parseCheckpoint } from "./tlog-checkpoint.js";

const WRITER = fileURLToPath(new URL("../../test/fixtures/audit-writer.mjs", import.meta.url));

function event(index: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    v: 1,
    id: `event-${index}`,
    type: "decision",
    time: new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString(),
    agent: "spiffe://acme.example/agent/support",
    tool: { name: index % 2 === 0 ? "crm_lookup" : "crm_update" },
    decision: { allowed: index % 3 !== 0, policies: ["p"], reason: "r" },
    ...extra,
  };
}

async function logWith(count: number, options: Parameters<typeof FileAuditLog.open>[0] = {}) {
  const directory = join(tempDir("agentgate-audit-"), "audit");
  const log = await FileAuditLog.open({ directory, checkpointEvery: 5, ...options });
  for (let index = 0; index < count; index++) await log.write(event(index));
  return { directory, log };
}

function lines(directory: string): string[] {
  return readFileSync(join(directory, "audit-000001.jsonl"), "utf8").split("\n").filter(Boolean);
}
function rewrite(directory: string, next: string[]): void {
  writeFileSync(join(directory, "audit-000001.jsonl"), `${next.join("\n")}\n`);
}

describe("FileAuditLog and verifyAuditLog", () => {
  it("writes a hash chain that verifies, in every durability mode", async () => {
    for (const durability of ["process", "fsync", "group"] as const) {
      const { directory, log } = await logWith(0, { durability });
      await Promise.all(Array.from({ length: 40 }, (_, index) => log.write(event(index))));
      await log.close();
      expect(await verifyAuditLog(directory)).toMatchObject({
        ok: true,
        records: 40,
        checkpoint: { size: 40, verified: true },
      });
      const records = lines(directory).map((line) => JSON.parse(line));
      expect(records.map((record) => record.seq)).toEqual(
        Array.from({ length: 40 }, (_, index) => index),
      );
      expect(records[1].prev).toBe(records[0].hash);
    }
  });

  it("E40: an edited field is reported at its sequence number", async () => {
    const { directory, log } = await logWith(10);
    await log.close();
    const next = lines(directory);
    next[4] = (next[4] as string).replace('"allowed":true', '"allowed":false');
    rewrite(directory, next);
    expect(await verifyAuditLog(directory)).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      reason: "record 4 was edited",
    });
  });

  it("E40: a deleted event, two swapped events and a forked chain are reported at the first bad number", async () => {
    const { directory, log } = await logWith(10);
    await log.close();
    const original = lines(directory);
    rewrite(
      directory,
      original.filter((_, index) => index !== 6),
    );
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: false, firstBadSeq: 6 });
    const swapped = [...original];
    [swapped[3], swapped[4]] = [swapped[4] as string, swapped[3] as string];
    rewrite(directory, swapped);
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: false, firstBadSeq: 3 });
    rewrite(directory, [...original.slice(0, 8), original[7] as string, ...original.slice(8)]);
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: false, firstBadSeq: 8 });
  });

  it("E40 + I62: a cut tail is detected through the signed checkpoint kept outside the log", async () => {
    const { directory, log } = await logWith(12);
    await log.close();
    // Outside the log directory, and outside `.agentgate/` too (beside the checkpoint key).
    expect(log.checkpointPath.startsWith(join(directory, ".."))).toBe(false);
    rewrite(directory, lines(directory).slice(0, 9));
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: false, firstBadSeq: 9 });
    // A forged checkpoint (signed with another key) does not verify.
    const attacker = CheckpointKey.load({
      path: join(tempDir("agentgate-attacker-"), "key.json"),
    });
    const head = parseCheckpoint(parseNote(readFileSync(log.checkpointPath, "utf8")).body);
    writeFileSync(log.checkpointPath, attacker.signCheckpoint({ ...head, size: 9 }));
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: false, check: "checkpoint" });
  });

  it("E45: newlines, ANSI escapes and JSON fragments in arguments cannot forge a line or an event", async () => {
    const { directory, log } = await logWith(0);
    const nasty =
      'x"}\n{"seq":1,"prev":"0","type":"decision","decision":{"allowed":true}}\n\u001b[2K\r';
    await log.write(event(0, { arguments: { note: nasty, [nasty]: 1 } }));
    await log.write(event(1));
    await log.close();
    expect(lines(directory)).toHaveLength(2);
    const [first] = lines(directory);
    expect(JSON.parse(first as string).arguments.note).toBe(nasty);
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: true, records: 2 });
  });

  it("rotates segments by size, with the chain continuing across files", async () => {
    const { directory, log } = await logWith(30, { maxSegmentBytes: 2000 });
    await log.close();
    expect(readdirSync(directory).filter((name) => name.endsWith(".jsonl")).length).toBeGreaterThan(
      3,
    );
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: true, records: 30 });
    const reopened = await FileAuditLog.open({ directory, maxSegmentBytes: 2000 });
    await reopened.write(event(30));
    await reopened.close();
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: true, records: 31 });
  });

  it("J75: a record torn by a crash is cut on reopen, reported, and the chain continues", async () => {
    const { directory, log } = await logWith(5, { checkpointEvery: 0 });
    await log.close();
    const file = join(directory, "audit-000001.jsonl");
    const whole = readFileSync(file, "utf8");
    writeFileSync(file, `${whole}{"seq":5,"prev":"abc","v":1,"id":"tor`);
    const reopened = await FileAuditLog.open({ directory, checkpointEvery: 0 });
    expect(reopened.recovery?.truncatedBytes).toBeGreaterThan(10);
    await reopened.write(event(6));
    await reopened.close();
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: true, records: 7 });
    const types = [];
    for await (const record of readAuditLog(directory)) types.push(record.type);
    expect(types.slice(-2)).toEqual(["log_recovered", "decision"]);
  });

  it("J74: a failed fsync stops the log: this and every later write reject with audit_unavailable", async () => {
    let syncs = 0;
    const failing = {
      writeSync: (fd: number, data: string) => writeSync(fd, data),
      fdatasyncSync: () => {
        syncs++;
        if (syncs === 2) throw Object.assign(new Error("EIO"), { code: "EIO" });
      },
    };
    const { log } = await logWith(0, {
      durability: "fsync",
      fileSystem: failing,
      checkpointEvery: 0,
    });
    await log.write(event(0));
    const second = await log.write(event(1)).catch((error: unknown) => error);
    expect(isAgentGateError(second) && second.code).toBe("audit_unavailable");
    const third = await log.write(event(2)).catch((error: unknown) => error);
    expect(isAgentGateError(third) && third.code).toBe("audit_unavailable");
    expect(syncs).toBe(2);
  });

  it("J74: a checkpoint that cannot be written stops the log; flush and close say so", async () => {
    for (const durability of ["process", "group"] as const) {
      const root = tempDir("agentgate-audit-");
      const folder = join(root, "checkpoints");
      const { log } = await logWith(0, {
        durability,
        checkpointPath: join(folder, "log.checkpoint"),
        checkpointKeyPath: join(root, "key.json"),
        checkpointEvery: 5,
        checkpointIntervalMs: 0,
      });
      await log.flush();
      // The checkpoint's folder becomes a file: the next checkpoint cannot be written.
      rmSync(folder, { recursive: true, force: true });
      writeFileSync(folder, "not a folder");
      for (let index = 0; index < 5; index++) await log.write(event(index));
      const flushed = await log.flush().catch((error: unknown) => error);
      expect(isAgentGateError(flushed) && flushed.code, durability).toBe("audit_unavailable");
      const later = await log.write(event(5)).catch((error: unknown) => error);
      expect(isAgentGateError(later) && later.code, durability).toBe("audit_unavailable");
      const closed = await log.close().catch((error: unknown) => error);
      expect(isAgentGateError(closed) && closed.code, durability).toBe("audit_unavailable");
    }
  });

  it("readAuditLog filters by agent, tool, type, decision and time", async () => {
    const { directory, log } = await logWith(12);
    await log.close();
    const read = async (query: Parameters<typeof readAuditLog>[1]) => {
      const found = [];
      for await (const record of readAuditLog(directory, query)) found.push(record.seq);
      return found;
    };
    expect(await read({ tool: "crm_update" })).toEqual([1, 3, 5, 7, 9, 11]);
    expect(await read({ allowed: false })).toEqual([0, 3, 6, 9]);
    expect(await read({ from: "2026-01-05T10:00:10.000Z" })).toEqual([10, 11]);
    expect(await read({ agent: "spiffe://acme.example/agent/other" })).toEqual([]);
  });
});

describe("FileAuditLog across processes", () => {
  it("E41: a second writer is refused while the first runs; a crashed writer's lock is taken over", async () => {
    const directory = join(tempDir("agentgate-audit-"), "audit");
    const holder = spawn(process.execPath, [WRITER, directory, "process", "0", "1"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await firstLine(holder);
    const refused = await FileAuditLog.open({ directory }).catch((error: unknown) => error);
    expect(isAgentGateError(refused) && refused.code).toBe("audit_unavailable");
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.once("exit", resolve));
    const log = await FileAuditLog.open({ directory });
    await log.write(event(0));
    await log.close();
    expect(await verifyAuditLog(directory)).toMatchObject({ ok: true });
  });

  it("E42: kill -9 at random moments during heavy appends, 50 runs: the log always verifies and no acknowledged event is missing", async () => {
    const directory = join(tempDir("agentgate-audit-"), "audit");
    let acknowledged = -1;
    for (let run = 0; run < 50; run++) {
      const child = spawn(
        process.execPath,
        [WRITER, directory, run % 2 === 0 ? "process" : "group"],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let buffered = "";
      let ackedThisRun = 0;
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        for (const part of parts) {
          if (!/^\d+$/.test(part)) continue;
          acknowledged = Math.max(acknowledged, Number(part));
          ackedThisRun++;
        }
      });
      await firstLine(child);
      // Kill mid-append, however slow the machine: once this writer has acknowledged a few
      // events, then at a random moment after.
      await pollUntil(
        () => ackedThisRun,
        (count) => count >= 3,
        { what: `run ${run}'s first acknowledged events`, everyMs: 2 },
      );
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      const log = await FileAuditLog.open({ directory, checkpointEvery: 100 });
      const size = log.size;
      await log.close();
      const result = await verifyAuditLog(directory);
      expect(result, `run ${run}`).toMatchObject({ ok: true });
      expect(
        size,
        `run ${run}: acknowledged ${acknowledged} but the log holds ${size}`,
      ).toBeGreaterThan(acknowledged);
    }
    expect(acknowledged).toBeGreaterThan(100);
  }, 600_000); // 50 processes, one after another: seconds each on a loaded machine
});

function firstLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`writer exited with ${code}`)));
  });
}
