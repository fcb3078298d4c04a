import { hash as digest } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { pollUntil } from "../../test/fixtures/poll.js";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import type { AuditEvent, AuditRecord } from "../audit/audit-event.js";
import { AgentGateError, isAgentGateError } from "../errors.js";
import { cosignedPath, defaultCheckpointPath } from "./audit-checkpoints.js";
import { CheckpointKey } from "./checkpoint-key.js";
import { FileAuditLog, type FileAuditLogOptions } from "./file-audit-log.js";
import { auditChains, openAuditWriter } from "./open-audit-writer.js";
import { recoverAuditLog } from "./recover-audit-log.js";
import { parseNote } from "./signed-note.js";
import { auditOrigin, parseCheckpoint } from "./tlog-checkpoint.js";
import { readAuditLog, verifyAuditLog } from "./verify-audit-log.js";
import { Witness } from "./witness/witness.js";

// The writer's side of K80, pinned down exactly for mutation testing (MUTATION.md, group
// `audit-writer`): what opening a log reads, what it refuses and with which details, what it
// repairs, which chain a writer gets, and what an explicit recovery moves and records.

/** A log directory (nested, not yet created), its key and its default checkpoint path. */
function place() {
  const root = tempDir("agentgate-open-");
  const directory = join(root, "deep", "er", "audit");
  const keyPath = join(root, "home", "key.json");
  const checkpointPath = defaultCheckpointPath(directory, keyPath);
  const options = (more: Partial<FileAuditLogOptions> = {}): FileAuditLogOptions => ({
    directory,
    checkpointKeyPath: keyPath,
    checkpointIntervalMs: 0,
    ...more,
  });
  const open = (more: Partial<FileAuditLogOptions> = {}) => FileAuditLog.open(options(more));
  const refusal = (more: Partial<FileAuditLogOptions> = {}) =>
    open(more).then(
      () => {
        throw new Error("opened");
      },
      (error: unknown) => error as AgentGateError,
    );
  const witness = () =>
    Witness.open({
      directory: join(root, "witness"),
      writerKeys: [CheckpointKey.load({ path: keyPath }).publicKey],
    });
  return { root, directory, keyPath, checkpointPath, options, open, refusal, witness };
}

const event = (index: number): AuditEvent => ({
  v: 1,
  id: `event-${index}`,
  type: "decision",
  time: "2026-01-05T10:00:00.000Z",
  agent: "spiffe://acme.example/agent/support",
  tool: { name: "crm_update" },
  decision: { allowed: true, policies: ["p"], reason: "permitted" },
});

async function fill(log: FileAuditLog, count: number, from = 0) {
  for (let index = from; index < from + count; index++) await log.write(event(index));
}
const segment = (directory: string, index = 1) =>
  join(directory, `audit-${String(index).padStart(6, "0")}.jsonl`);
const lines = (directory: string, index = 1) =>
  readFileSync(segment(directory, index), "utf8").split("\n").filter(Boolean);
const store = (directory: string, next: readonly string[], index = 1) =>
  writeFileSync(segment(directory, index), next.map((line) => `${line}\n`).join(""));
const checkpointSize = (path: string) =>
  parseCheckpoint(parseNote(readFileSync(path, "utf8")).body).size;
const logId = (directory: string) =>
  (JSON.parse(readFileSync(join(directory, "log.json"), "utf8")) as { id: string }).id;

/** Verifies the log of `p` with its checkpoint and key. */
const verify = (
  p: { directory: string; checkpointPath: string; keyPath: string },
  more: Parameters<typeof verifyAuditLog>[1] = {},
) =>
  verifyAuditLog(p.directory, {
    checkpointPath: p.checkpointPath,
    checkpointKey: p.keyPath,
    ...more,
  });

async function records(directory: string): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const record of readAuditLog(directory)) out.push(record);
  return out;
}

/** A record line with a valid hash over `body` (a seq, prev and fields of one's choosing). */
function sealed(body: string): string {
  const hash = digest("sha256", `\u0000${body}`, "hex");
  return `${body.slice(0, -1)},"hash":"${hash}"}`;
}

describe("opening a log", () => {
  it("creates the nested directory (0700), its identity (0600) and a first checkpoint of size 0", async () => {
    const p = place();
    const log = await p.open();
    expect(log.directory).toBe(p.directory);
    expect(log.checkpointPath).toBe(p.checkpointPath);
    expect(p.checkpointPath).toBe(
      join(
        p.root,
        "home",
        "checkpoints",
        `${digest("sha256", resolve(p.directory), "hex").slice(0, 16)}.txt`,
      ),
    );
    expect(existsSync(p.keyPath)).toBe(true);
    expect(statSync(p.directory).mode & 0o777).toBe(0o700);
    const identity = JSON.parse(readFileSync(join(p.directory, "log.json"), "utf8"));
    expect(Object.keys(identity)).toEqual(["id", "created", "leaves"]);
    expect(identity.id).toMatch(/^[0-9a-f]{32}$/);
    expect(identity.leaves).toBe("rfc9162");
    expect(Number.isNaN(Date.parse(identity.created))).toBe(false);
    expect(statSync(join(p.directory, "log.json")).mode & 0o777).toBe(0o600);
    expect(log.origin).toBe(auditOrigin(identity.id));
    expect(log.size).toBe(0);
    expect(log.recovery).toBeUndefined();
    // The writer's memory starts at open: a checkpoint of the empty log.
    expect(checkpointSize(p.checkpointPath)).toBe(0);
    await log.write(event(0));
    expect(statSync(segment(p.directory)).mode & 0o777).toBe(0o600);
    await log.close();
    // Reopened: the same identity, the chain continues, and an unchanged log is not re-signed.
    const inode = statSync(p.checkpointPath).ino;
    const again = await p.open();
    expect(again.origin).toBe(log.origin);
    expect(again.size).toBe(1);
    expect(statSync(p.checkpointPath).ino).toBe(inode);
    await fill(again, 2, 1);
    await again.close();
    expect(await verify(p)).toMatchObject({ ok: true, records: 3 });
    expect(checkpointSize(p.checkpointPath)).toBe(3);
  });

  it("a checkpoint path given is used; a log.json that does not parse gets a new identity", async () => {
    const p = place();
    const checkpointPath = join(p.root, "elsewhere.txt");
    const log = await p.open({ checkpointPath });
    expect(log.checkpointPath).toBe(checkpointPath);
    await log.close();
    expect(checkpointSize(checkpointPath)).toBe(0);
    expect(existsSync(p.checkpointPath)).toBe(false);
    const before = logId(p.directory);
    writeFileSync(join(p.directory, "log.json"), "{");
    const refused = await p.refusal({ checkpointPath });
    expect(refused.details).toMatchObject({ check: "cut", problem: expect.stringContaining("id") });
    expect(logId(p.directory)).not.toBe(before);
  });

  it("K82: temporary files a crash left are removed, in the log and beside the checkpoint only", async () => {
    const p = place();
    await (await p.open()).close();
    const folder = dirname(p.checkpointPath);
    const base = p.checkpointPath.split("/").at(-1) as string;
    const removed = [join(p.directory, "log.json.abc.tmp"), join(p.directory, "x.tmp")];
    const kept = [
      join(p.directory, "notes.txt"),
      join(p.directory, "x.tmp.keep"),
      join(folder, `${base}.abc.tmp.keep`),
      join(folder, "other.txt.abc.tmp"),
      join(folder, `${base}.abc`),
    ];
    for (const path of [...removed, join(folder, `${base}.abc.tmp`), ...kept])
      writeFileSync(path, "");
    await (await p.open()).close();
    for (const path of [...removed, join(folder, `${base}.abc.tmp`)])
      expect(existsSync(path), path).toBe(false);
    for (const path of kept) expect(existsSync(path), path).toBe(true);
  });

  it("K80: a cut, a rewritten history and a changed identity are refused with every detail", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 12);
    await log.close();
    const whole = lines(p.directory);
    const origin = log.origin;
    store(p.directory, whole.slice(0, 9));
    const cut = await p.refusal();
    expect(cut).toBeInstanceOf(AgentGateError);
    expect(cut.code).toBe("audit_unavailable");
    expect(cut.details).toEqual({
      check: "cut",
      directory: p.directory,
      logSize: 9,
      checkpointSize: 12,
      signedBy: "writer",
      origin,
      problem:
        "the log holds 9 records but the writer signed a checkpoint of 12: 3 records were cut",
    });
    // Nothing written over the cut, and the lock released: the next open fails the same way.
    expect(lines(p.directory)).toEqual(whole.slice(0, 9));
    expect(existsSync(join(p.directory, "audit.lock"))).toBe(false);
    expect((await p.refusal()).details?.logSize).toBe(9);

    // Twelve records again, but another history.
    const other = await FileAuditLog.open({
      directory: join(p.root, "other"),
      checkpointKeyPath: p.keyPath,
      checkpointIntervalMs: 0,
    });
    await fill(other, 12, 50);
    await other.close();
    store(p.directory, lines(join(p.root, "other")));
    expect((await p.refusal()).details).toEqual({
      check: "cut",
      directory: p.directory,
      logSize: 12,
      checkpointSize: 12,
      signedBy: "writer",
      origin,
      problem: "the first 12 records differ from the ones the writer signed: history rewritten",
    });
    // The whole log, longer than the checkpoint: it opens.
    store(p.directory, whole);
    await (await p.open()).close();

    // Another log's identity in the directory.
    writeFileSync(join(p.directory, "log.json"), `${JSON.stringify({ id: "someone-else" })}\n`);
    expect((await p.refusal()).details).toEqual({
      check: "cut",
      directory: p.directory,
      logSize: 12,
      checkpointSize: 12,
      signedBy: "writer",
      origin,
      problem: `the log's id changed: the writer's checkpoint is of ${origin}, the directory holds ${auditOrigin("someone-else")}`,
    });
  });

  it("K78: a checkpoint file not signed by this writer's key is refused, naming it", async () => {
    const p = place();
    await (await p.open()).close();
    writeFileSync(p.checkpointPath, "not a note\n");
    const refused = await p.refusal();
    expect(refused.code).toBe("audit_unavailable");
    expect(refused.details).toEqual({ check: "checkpoint", checkpointPath: p.checkpointPath });
  });

  it("J75: a torn last record is cut, reported exactly and recorded; a torn earlier segment is refused", async () => {
    const time = Date.UTC(2026, 1, 2, 3, 4, 5);
    const p = place();
    const log = await p.open();
    await fill(log, 3);
    await log.close();
    const whole = readFileSync(segment(p.directory), "utf8");
    writeFileSync(segment(p.directory), `${whole}{"seq":3,"pr`);
    const reopened = await p.open({ clock: { now: () => time } });
    expect(reopened.recovery).toEqual({ segment: segment(p.directory), truncatedBytes: 12 });
    expect(reopened.size).toBe(4);
    await reopened.close();
    expect(readFileSync(segment(p.directory), "utf8").startsWith(whole)).toBe(true);
    const last = (await records(p.directory)).at(-1);
    expect(last).toMatchObject({
      seq: 3,
      type: "log_recovered",
      time: new Date(time).toISOString(),
      details: { segment: segment(p.directory), truncatedBytes: 12 },
    });
    expect(Object.keys(last?.details ?? {})).toEqual(["segment", "truncatedBytes"]);
    expect(await verify(p)).toMatchObject({ ok: true, records: 4 });

    // A torn segment that is not the last one is not a crash: refused.
    writeFileSync(segment(p.directory), `${readFileSync(segment(p.directory), "utf8")}{"seq"`);
    writeFileSync(segment(p.directory, 2), "");
    const refused = await p.refusal();
    expect(refused.details).toEqual({ check: "record", seq: 4 });
  });

  it("a malformed record, a last record that does not check or is misnumbered, are refused at their number", async () => {
    const p = place();
    const log = await p.open({ checkpointEvery: 0 });
    await fill(log, 12);
    await log.close();
    const whole = lines(p.directory);
    store(p.directory, [...whole.slice(0, 5), "{}", ...whole.slice(6)]);
    expect((await p.refusal()).details).toEqual({ check: "record", seq: 5 });
    const lastRecord = whole[11] as string;
    store(p.directory, [...whole.slice(0, 11), lastRecord.replace("event-11", "event-99")]);
    expect((await p.refusal()).details).toEqual({ check: "record", seq: 11 });
    // A last record with a valid hash but the wrong number, or no number at its start.
    const prev = (whole[10] as string).slice(-66, -2);
    for (const body of [
      `{"seq":12,"prev":"${prev}","id":"x"}`,
      `{"seq":1,"prev":"${prev}","id":"x"}`,
      `x{"seq":11,"prev":"${prev}","id":"x"}`,
    ]) {
      store(p.directory, [...whole.slice(0, 11), sealed(body)]);
      expect((await p.refusal()).details, body).toEqual({ check: "record", seq: 11 });
    }
    // The same record, well numbered: the log opens (12 records, a checkpoint of 12).
    store(p.directory, whole);
    const reopened = await p.open();
    expect(reopened.size).toBe(12);
    await reopened.close();
  });

  it("a failure that is not AgentGate's is audit_unavailable with its cause, and releases the lock", async () => {
    const p = place();
    await (await p.open()).close();
    mkdirSync(segment(p.directory, 2));
    const refused = await p.refusal();
    expect(refused.code).toBe("audit_unavailable");
    expect(refused.message).toBe("The audit log cannot be opened: EISDIR.");
    expect((refused.cause as NodeJS.ErrnoException).code).toBe("EISDIR");
    expect(existsSync(join(p.directory, "audit.lock"))).toBe(false);
  });

  it("E41: a lock younger than lockStaleMs is refused, an older one is broken; a lost lock stops the log", async () => {
    const p = place();
    await (await p.open()).close();
    const lock = join(p.directory, "audit.lock");
    writeFileSync(lock, "starting");
    // 2 s old: younger than the 10 s default by 8 s however slow the machine, older than 1 s.
    const twoSecondsAgo = new Date(Date.now() - 2_000);
    utimesSync(lock, twoSecondsAgo, twoSecondsAgo);
    expect((await p.refusal()).details).toEqual({ check: "lock", lock });
    const log = await p.open({ lockStaleMs: 1_000 });
    // Another process takes the lock over: the next heartbeat finds it and the log stops.
    const relaxed = await (async () => {
      await log.close();
      return p.open({ lockStaleMs: 200 });
    })();
    writeFileSync(lock, JSON.stringify({ pid: 1, where: "elsewhere", token: "theirs" }));
    await pollUntil(
      () =>
        relaxed.write(event(0)).then(
          () => false,
          (error: unknown) => isAgentGateError(error) && error.code === "audit_unavailable",
        ),
      (stopped) => stopped,
      { what: "the lost lock to stop the log" },
    );
    await expect(relaxed.write(event(1))).rejects.toThrow(/lock lost/);
  });
});

describe("opening a log anchored by a witness", () => {
  it("K79/K80: a reopened log continues from the cosigned size; a cut below it is refused as the witness's", async () => {
    const p = place();
    const witness = p.witness();
    const anchored = { witness, witnessKey: witness.verifierKey };
    const log = await p.open(anchored);
    await fill(log, 5);
    await log.close();
    expect(log.anchor).toEqual({ cosignedSize: 5, unanchored: 0 });
    // Reopened without a change: nothing new to submit, still anchored.
    const idle = await p.open(anchored);
    expect(idle.anchor).toEqual({ cosignedSize: 5, unanchored: 0 });
    await idle.close();
    const reopened = await p.open(anchored);
    await fill(reopened, 3, 5);
    await reopened.close();
    expect(reopened.anchor).toEqual({ cosignedSize: 8, unanchored: 0 });
    expect(await verify(p, anchored)).toMatchObject({
      ok: true,
      anchored: true,
      records: 8,
    });
    // The writer's own checkpoint deleted: the witness still remembers 8.
    const whole = lines(p.directory);
    store(p.directory, whole.slice(0, 6));
    const saved = readFileSync(p.checkpointPath, "utf8");
    writeFileSync(p.checkpointPath, saved.replace(/\n\n[\s\S]*$/, "\n\n"));
    expect((await p.refusal(anchored)).details?.check).toBe("checkpoint");
    writeFileSync(p.checkpointPath, saved);
    const both = await p.refusal(anchored);
    expect(both.details).toMatchObject({ check: "cut", signedBy: "writer", checkpointSize: 8 });
    rmSync(p.checkpointPath);
    expect((await p.refusal(anchored)).details).toEqual({
      check: "cut",
      directory: p.directory,
      logSize: 6,
      checkpointSize: 8,
      signedBy: "witness",
      origin: log.origin,
      problem:
        "the log holds 6 records but the witness signed a checkpoint of 8: 2 records were cut",
    });
  });

  it("an unreachable witness: the local cosigned copy is the memory; a cosigned note that does not check is ignored", async () => {
    const p = place();
    const witness = p.witness();
    const log = await p.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 4);
    await log.close();
    expect(checkpointSize(cosignedPath(p.checkpointPath))).toBe(4);
    const down = {
      addCheckpoint: () => Promise.reject(new Error("down")),
      latest: () => Promise.reject(new Error("down")),
      origins: () => Promise.reject(new Error("down")),
    };
    const writerNote = readFileSync(p.checkpointPath, "utf8");
    const cosignedNote = readFileSync(cosignedPath(p.checkpointPath), "utf8");
    rmSync(p.checkpointPath);
    store(p.directory, lines(p.directory).slice(0, 3));
    expect(
      (await p.refusal({ witness: down, witnessKey: witness.verifierKey })).details,
    ).toMatchObject({ check: "cut", signedBy: "witness", logSize: 3, checkpointSize: 4 });
    // Without a witness key the cosigned copy is checked as the writer's own signature.
    expect((await p.refusal({ witness: down })).details).toMatchObject({
      check: "cut",
      signedBy: "witness",
    });
    // A cosigned note that does not verify is no memory at all: the log opens.
    writeFileSync(cosignedPath(p.checkpointPath), "garbage\n");
    const opened = await p.open({ witness: down, witnessKey: witness.verifierKey });
    expect(opened.size).toBe(3);
    await opened.close();
    // A witness answering with a note the writer signed but the witness did not cosign: no memory.
    const liar = { ...down, latest: async () => writerNote };
    await (await p.open({ witness: liar, witnessKey: witness.verifierKey })).close();
    // Without a witness, the cosigned copy (of 4) is not read at all.
    writeFileSync(cosignedPath(p.checkpointPath), cosignedNote);
    await (await p.open()).close();
    expect(checkpointSize(p.checkpointPath)).toBe(3);
  });

  it("K79: a log reopened behind its witness submits, from the cosigned size, what the witness has not cosigned", async () => {
    const p = place();
    const witness = p.witness();
    const anchored = { witness, witnessKey: witness.verifierKey };
    const first = await p.open(anchored);
    await fill(first, 3);
    await first.close();
    expect(first.anchor).toEqual({ cosignedSize: 3, unanchored: 0 });
    // A session without the witness: two more records, checkpointed but not cosigned.
    const offline = await p.open();
    await fill(offline, 2, 3);
    await offline.close();
    expect(checkpointSize(cosignedPath(p.checkpointPath))).toBe(3);
    // Reopened with the witness: opening submits the checkpoint of 5, proven from 3.
    const back = await p.open(anchored);
    await pollUntil(
      () => back.anchor,
      (anchor) => anchor.cosignedSize === 5 || anchor.error !== undefined,
      { what: "the cosignature of 5", deadlineMs: 5_000 },
    );
    expect(back.anchor).toEqual({ cosignedSize: 5, unanchored: 0 });
    await back.close();
    expect(checkpointSize(cosignedPath(p.checkpointPath))).toBe(5);
    expect(checkpointSize(p.checkpointPath)).toBe(5);
    expect(parseCheckpoint(parseNote((await witness.latest(back.origin)) ?? "").body).size).toBe(5);
  });

  it("an unchanged log reopened is neither re-signed nor re-submitted", async () => {
    const p = place();
    const witness = p.witness();
    const anchored = { witness, witnessKey: witness.verifierKey };
    await (await p.open(anchored)).close();
    const cosigned = cosignedPath(p.checkpointPath);
    expect(checkpointSize(cosigned)).toBe(0);
    const inodes = () => [statSync(p.checkpointPath).ino, statSync(cosigned).ino];
    const before = inodes();
    await (await p.open(anchored)).close();
    expect(inodes()).toEqual(before);
    const log = await p.open(anchored);
    await fill(log, 2);
    await log.close();
    const after = inodes();
    expect(after[0]).not.toBe(before[0]);
    await (await p.open(anchored)).close();
    await (await p.open()).close();
    expect(inodes()).toEqual(after);
  });

  it("a log of several segments is continued in its last segment", async () => {
    const p = place();
    const log = await p.open({ maxSegmentBytes: 600 });
    await fill(log, 6);
    await log.close();
    const count = readdirSync(p.directory).filter((name) => name.endsWith(".jsonl")).length;
    expect(count).toBeGreaterThan(2);
    const last = lines(p.directory, count);
    const again = await p.open({ maxSegmentBytes: 1_000_000 });
    await again.write(event(6));
    await again.close();
    expect(lines(p.directory, count)).toEqual([...last, expect.stringMatching(/^\{"seq":6,/)]);
    expect(await verify(p)).toMatchObject({ ok: true, records: 7 });
  });
});

describe("openAuditWriter", () => {
  /** Another live process holds `chain`: its lock names our parent, which runs as long as we do. */
  const hold = (chain: string) => {
    mkdirSync(chain, { recursive: true });
    writeFileSync(join(chain, "audit.lock"), String(process.ppid));
  };

  it("K83: writer ids are 1-64 plain characters, nothing else", async () => {
    const p = place();
    for (const bad of ["", "a b", "a/b", "/ok", "ok/", "ok\n", "é", "x".repeat(65)]) {
      await expect(
        openAuditWriter(p.directory, { writerId: bad, checkpointKeyPath: p.keyPath }),
        JSON.stringify(bad),
      ).rejects.toMatchObject({ code: "invalid_configuration" });
    }
    for (const good of ["a", "A.b_c-9", "x".repeat(64)]) {
      const writer = await openAuditWriter(p.directory, {
        writerId: good,
        ownChain: true,
        checkpointKeyPath: p.keyPath,
      });
      expect(writer).toMatchObject({
        writerId: good,
        chain: join(p.directory, "writers", good),
      });
      await writer.close();
    }
    expect(auditChains(p.directory)).toEqual([
      p.directory,
      ...["A.b_c-9", "a", "x".repeat(64)].map((id) => join(p.directory, "writers", id)),
    ]);
  });

  it("ownChain writes a chain of its own even when the log's is free; its checkpoint is its own", async () => {
    const p = place();
    const given = join(p.root, "primary-checkpoint.txt");
    const writer = await openAuditWriter(p.directory, {
      writerId: "server",
      ownChain: true,
      checkpointKeyPath: p.keyPath,
      checkpointPath: given,
    });
    await writer.write(event(0));
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(lines(writer.chain)).toHaveLength(1);
    await writer.close();
    expect(existsSync(given)).toBe(false);
    expect(checkpointSize(defaultCheckpointPath(writer.chain, p.keyPath))).toBe(1);
    expect(existsSync(join(p.directory, "log.json"))).toBe(false);
    // Without ownChain the log's own chain, with the checkpoint path given.
    const primary = await openAuditWriter(p.directory, {
      writerId: "server",
      checkpointKeyPath: p.keyPath,
      checkpointPath: given,
    });
    expect(primary).toMatchObject({ writerId: "primary", chain: p.directory });
    await primary.close();
    expect(checkpointSize(given)).toBe(0);
  });

  it("K80: a cut log's own chain is refused, not written around; a named writer's held chain is refused", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 3);
    await log.close();
    store(p.directory, lines(p.directory).slice(0, 1));
    await expect(
      openAuditWriter(p.directory, { checkpointKeyPath: p.keyPath }),
    ).rejects.toMatchObject({ code: "audit_unavailable", details: { check: "cut" } });
    expect(existsSync(join(p.directory, "writers"))).toBe(false);
    // A failure without details (not a lock) is thrown as it is.
    mkdirSync(segment(p.directory, 2));
    await expect(
      openAuditWriter(p.directory, { checkpointKeyPath: p.keyPath }),
    ).rejects.toMatchObject({
      code: "audit_unavailable",
      message: expect.stringContaining("EISDIR"),
    });
    hold(p.directory);
    hold(join(p.directory, "writers", "cli-alice"));
    await expect(
      openAuditWriter(p.directory, { writerId: "cli-alice", checkpointKeyPath: p.keyPath }),
    ).rejects.toMatchObject({ code: "audit_unavailable", details: { check: "lock" } });
  });

  it("the default writer id is the OS user and host; a held one gets a random suffix", async () => {
    const p = place();
    hold(p.directory);
    const expected = `${userInfo().username}-${hostname()}`
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 64);
    const first = await openAuditWriter(p.directory, { checkpointKeyPath: p.keyPath });
    expect(first.writerId).toBe(expected);
    hold(first.chain);
    const second = await openAuditWriter(p.directory, { checkpointKeyPath: p.keyPath });
    expect(second.writerId).toMatch(/^.+-[0-9a-f]{8}$/);
    expect(second.writerId).toBe(`${expected.slice(0, 55)}-${second.writerId.slice(-8)}`);
    expect(second.chain).toBe(join(p.directory, "writers", second.writerId));
    await second.close();
  });

  it("auditChains: only directories with plain names, sorted; a writers/ that is a file is an error", () => {
    const p = place();
    expect(auditChains(p.directory)).toEqual([p.directory]);
    const writers = join(p.directory, "writers");
    const names = ["m", "b", "Z", "x", "a", "q", "C", "k", "d", "y"];
    for (const name of [...names, "bad name"]) mkdirSync(join(writers, name), { recursive: true });
    writeFileSync(join(writers, "c"), "");
    expect(auditChains(p.directory)).toEqual([
      p.directory,
      ...["C", "Z", "a", "b", "d", "k", "m", "q", "x", "y"].map((name) => join(writers, name)),
    ]);
    const other = place();
    mkdirSync(other.directory, { recursive: true });
    writeFileSync(join(other.directory, "writers"), "");
    expect(() => auditChains(other.directory)).toThrow(
      expect.objectContaining({ code: "ENOTDIR" }),
    );
  });
});

describe("recoverAuditLog", () => {
  const time = Date.UTC(2026, 0, 5, 10, 11, 12, 345);
  const clock = { now: () => time };

  it("a log that opens cleanly is left as it is", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 2);
    await log.close();
    const before = readdirSync(p.directory).sort();
    expect(await recoverAuditLog({ ...p.options(), clock })).toEqual({ recovered: false });
    expect(readdirSync(p.directory).sort()).toEqual(before);
    expect(await verify(p)).toMatchObject({ ok: true, records: 2 });
  });

  it("K80: a cut log is archived whole, and the new chain's first record says what was found, by whom and why", async () => {
    const p = place();
    const witness = p.witness();
    const anchored = { witness, witnessKey: witness.verifierKey };
    const log = await p.open(anchored);
    await fill(log, 4);
    await log.close();
    store(p.directory, lines(p.directory).slice(0, 2));
    const cutLines = lines(p.directory);
    const checkpoint = readFileSync(p.checkpointPath, "utf8");
    const cosigned = readFileSync(cosignedPath(p.checkpointPath), "utf8");
    const strangers = [
      "notes.txt",
      "audit-1.jsonl",
      "xaudit-000001.jsonl",
      "audit-000001.jsonl.bak",
    ];
    for (const name of strangers) writeFileSync(join(p.directory, name), "");
    const report = await recoverAuditLog({
      ...p.options(anchored),
      clock,
      operator: "ops@acme.example",
      reason: "restored from backup",
    });
    const archived = join(p.directory, "cut-2026-01-05T10-11-12-345Z");
    const found = {
      check: "cut",
      directory: p.directory,
      logSize: 2,
      checkpointSize: 4,
      signedBy: "writer",
      origin: log.origin,
      problem:
        "the log holds 2 records but the writer signed a checkpoint of 4: 2 records were cut",
      message: expect.stringContaining("does not match its last checkpoint"),
    };
    const fresh = await p.open(anchored);
    await fresh.close();
    expect(report).toEqual({
      recovered: true,
      previousOrigin: log.origin,
      origin: fresh.origin,
      archived,
      found,
    });
    expect(fresh.origin).not.toBe(log.origin);
    expect(statSync(archived).mode & 0o777).toBe(0o700);
    expect(readdirSync(archived).sort()).toEqual([
      "audit-000001.jsonl",
      "checkpoint.txt",
      "checkpoint.txt.cosigned",
      "log.json",
    ]);
    expect(lines(archived)).toEqual(cutLines);
    expect(readFileSync(join(archived, "checkpoint.txt"), "utf8")).toBe(checkpoint);
    expect(readFileSync(join(archived, "checkpoint.txt.cosigned"), "utf8")).toBe(cosigned);
    for (const name of strangers) expect(existsSync(join(p.directory, name)), name).toBe(true);
    const [first, ...rest] = await records(p.directory);
    expect(rest).toEqual([]);
    expect(first).toEqual({
      seq: 0,
      prev: "0".repeat(64),
      v: 1,
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      type: "log_recovered",
      time: new Date(time).toISOString(),
      details: {
        kind: "cut",
        previousOrigin: log.origin,
        found: { ...found, message: expect.any(String) },
        archived,
        operator: "ops@acme.example",
        reason: "restored from backup",
      },
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The new chain's checkpoints replaced the old ones, under the new origin.
    expect(parseCheckpoint(parseNote(readFileSync(p.checkpointPath, "utf8")).body)).toMatchObject({
      origin: fresh.origin,
      size: 1,
    });
    expect(await verify(p, anchored)).toMatchObject({
      ok: true,
      records: 1,
      recovered: [log.origin],
    });
  });

  it("K80: a second recovery in the same millisecond gets an archive of its own; the first archive is not written into", async () => {
    const p = place();
    const cut = async () => {
      const log = await p.open();
      await fill(log, 4);
      await log.close();
      store(p.directory, lines(p.directory).slice(0, 2));
      return lines(p.directory);
    };
    const firstLines = await cut();
    const first = await recoverAuditLog({ ...p.options(), clock });
    const firstFiles = readdirSync(first.archived as string).sort();
    const secondLines = await cut();
    const second = await recoverAuditLog({ ...p.options(), clock });
    expect(first.archived).toBe(join(p.directory, "cut-2026-01-05T10-11-12-345Z"));
    expect(second.archived).toBe(join(p.directory, "cut-2026-01-05T10-11-12-345Z-2"));
    expect(statSync(second.archived as string).mode & 0o777).toBe(0o700);
    expect(readdirSync(first.archived as string).sort()).toEqual(firstFiles);
    expect(lines(first.archived as string)).toEqual(firstLines);
    expect(lines(second.archived as string)).toEqual(secondLines);
    expect(second.previousOrigin).toBe(first.origin);
    expect(await verify(p)).toMatchObject({ ok: true, records: 1 });
  });

  it("no free archive name (1,000 taken): the recovery is refused and moves nothing; the lock is released", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 4);
    await log.close();
    store(p.directory, lines(p.directory).slice(0, 2));
    const cutLines = lines(p.directory);
    const name = join(p.directory, "cut-2026-01-05T10-11-12-345Z");
    for (let n = 1; n <= 1000; n++) mkdirSync(n === 1 ? name : `${name}-${n}`);
    const refused = await recoverAuditLog({ ...p.options(), clock }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "audit_unavailable" });
    expect((refused as Error).message).toContain("No free archive name");
    expect(lines(p.directory)).toEqual(cutLines);
    expect(existsSync(join(p.directory, "log.json"))).toBe(true);
    rmSync(`${name}-1000`, { recursive: true });
    const report = await recoverAuditLog({ ...p.options(), clock });
    expect(report.archived).toBe(`${name}-1000`);
    expect(lines(`${name}-1000`)).toEqual(cutLines);
  });

  it("a bad checkpoint and a bad last record are recovered too; the default operator is the OS user, no reason", async () => {
    for (const damage of ["checkpoint", "record"] as const) {
      const p = place();
      const log = await p.open();
      await fill(log, 2);
      await log.close();
      if (damage === "checkpoint") writeFileSync(p.checkpointPath, "forged\n");
      else store(p.directory, [...lines(p.directory).slice(0, 1), sealed('{"seq":7}')]);
      const report = await recoverAuditLog({ ...p.options(), clock });
      expect(report).toMatchObject({ recovered: true, found: { check: damage } });
      const [first] = await records(p.directory);
      expect(first?.details).toEqual({
        kind: "cut",
        previousOrigin: log.origin,
        found: report.found,
        archived: report.archived,
        operator: userInfo().username,
      });
      expect(readdirSync(report.archived as string).sort()).toEqual([
        "audit-000001.jsonl",
        "checkpoint.txt",
        "log.json",
      ]);
    }
  });

  it("a log held by a live writer, or unreadable, is not touched: the error is thrown as it is", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 2);
    const held = await recoverAuditLog({ ...p.options(), clock }).catch((error: unknown) => error);
    expect(held).toMatchObject({ code: "audit_unavailable", details: { check: "lock" } });
    await log.close();
    mkdirSync(segment(p.directory, 2));
    const unreadable = await recoverAuditLog({ ...p.options(), clock }).catch(
      (error: unknown) => error,
    );
    expect(unreadable).toMatchObject({
      code: "audit_unavailable",
      message: "The audit log cannot be opened: EISDIR.",
    });
    expect(readdirSync(p.directory).some((name) => name.startsWith("cut-"))).toBe(false);
  });

  it("a recovery that cannot be recorded is audit_unavailable, with the cause", async () => {
    const p = place();
    const log = await p.open();
    await fill(log, 2);
    await log.close();
    store(p.directory, lines(p.directory).slice(0, 1));
    const full = new Error("ENOSPC");
    const failing = {
      writeSync: () => {
        throw full;
      },
      fdatasyncSync: () => {},
    };
    const error = await recoverAuditLog({
      ...p.options(),
      clock,
      ...({ fileSystem: failing } as object),
    }).catch((caught: unknown) => caught as AgentGateError);
    expect(error).toMatchObject({
      code: "audit_unavailable",
      message: "The recovery could not be recorded.",
    });
    expect((error as AgentGateError).cause).toMatchObject({ code: "audit_unavailable" });
    expect(existsSync(join(p.directory, "audit.lock"))).toBe(false);
  });
});
