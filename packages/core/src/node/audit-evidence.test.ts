import { spawn } from "node:child_process";
import { hash as digest, generateKeyPairSync } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../audit/audit-event.js";
import { isAgentGateError } from "../errors.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import {
  CheckpointKey,
  cosignedPath,
  createGate,
  defaultCheckpointPath,
  FileAuditLog,
  type FileAuditLogOptions,
  HttpWitnessClient,
  NOT_ANCHORED,
  proveAuditRecord,
  readAuditLog,
  recoverAuditLog,
  verifyAuditLog,
  verifyAuditProof,
  Witness,
  type WitnessClient,
} from "./index.js";
import { formatNote, parseNote, signNoteBody } from "./signed-note.js";
import { formatCheckpoint, parseCheckpoint } from "./tlog-checkpoint.js";

const WITNESS_SERVER = fileURLToPath(
  new URL("../../test/fixtures/witness-server.mjs", import.meta.url),
);

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A deployment: the log in `.agentgate/audit`, the writer's key and memory elsewhere. */
function deployment() {
  const root = mkdtempSync(join(tmpdir(), "agentgate-evidence-"));
  roots.push(root);
  const keyPath = join(root, "home", "audit-checkpoint-key.json");
  const directory = join(root, ".agentgate", "audit");
  const checkpointPath = defaultCheckpointPath(directory, keyPath);
  const open = (options: Partial<FileAuditLogOptions> = {}) =>
    FileAuditLog.open({ directory, checkpointKeyPath: keyPath, ...options });
  const verify = (options: Parameters<typeof verifyAuditLog>[1] = {}) =>
    verifyAuditLog(directory, { checkpointPath, checkpointKey: keyPath, ...options });
  const witness = () =>
    Witness.open({
      directory: join(root, "witness"),
      writerKeys: [CheckpointKey.load({ path: keyPath }).publicKey],
    });
  return { root, keyPath, directory, checkpointPath, open, verify, witness };
}

function event(index: number, allowed = index % 3 !== 0): AuditEvent {
  return {
    v: 1,
    id: `event-${index}`,
    type: "decision",
    time: new Date(Date.UTC(2026, 0, 5, 10, 0, index)).toISOString(),
    agent: "spiffe://acme.example/agent/support",
    tool: { name: "crm_update" },
    decision: { allowed, policies: ["p"], reason: allowed ? "permitted" : "forbidden" },
  };
}

async function fill(log: FileAuditLog, count: number, from = 0): Promise<void> {
  for (let index = from; index < from + count; index++) await log.write(event(index));
}

const segment = (directory: string) => join(directory, "audit-000001.jsonl");
const lines = (directory: string) =>
  readFileSync(segment(directory), "utf8").split("\n").filter(Boolean);
const store = (directory: string, next: readonly string[]) =>
  writeFileSync(segment(directory), next.length === 0 ? "" : `${next.join("\n")}\n`);

/** What an attacker with the code in hand does: edit records and recompute every hash after. */
function rewriteChain(
  records: readonly string[],
  edit: (record: Record<string, unknown>, index: number) => void,
  from = 0,
): string[] {
  let prev = "0".repeat(64);
  return records.map((line, index) => {
    if (index < from) {
      prev = line.slice(-66, -2);
      return line;
    }
    const record = JSON.parse(line) as Record<string, unknown>;
    delete record.hash;
    record.prev = prev;
    edit(record, index);
    const body = JSON.stringify(record);
    const hash = digest("sha256", `\u0000${body}`, "hex");
    prev = hash;
    return `${body.slice(0, -1)},"hash":"${hash}"}`;
  });
}

async function poll(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("audit evidence without a witness (embedded default)", () => {
  it("verifies, and says plainly that it is not anchored", async () => {
    const d = deployment();
    const log = await d.open();
    await fill(log, 12);
    await log.close();
    expect(await d.verify()).toMatchObject({
      ok: true,
      records: 12,
      anchored: false,
      notice: NOT_ANCHORED,
      checkpoint: { size: 12, verified: true, signedBy: "writer" },
    });
  });

  it("E40: an edit with its own hash recomputed is caught by the chain link of the next record", async () => {
    const d = deployment();
    const log = await d.open();
    await fill(log, 10);
    await log.close();
    // Only record 3 is rewritten (a valid hash over its new bytes); record 4 still links the old one.
    const edited = rewriteChain(lines(d.directory).slice(0, 4), (record, index) => {
      if (index === 3) (record.decision as { allowed: boolean }).allowed = true;
    });
    expect(edited[3]).not.toBe(lines(d.directory)[3]);
    store(d.directory, [...edited, ...lines(d.directory).slice(4)]);
    expect(await d.verify()).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      check: "chain",
      reason: "record 4 does not chain to record 3",
    });
  });

  it("I62/K77: deleting the checkpoint is a failure, never ok", async () => {
    const d = deployment();
    const log = await d.open();
    await fill(log, 8);
    await log.close();
    rmSync(d.checkpointPath);
    expect(await d.verify()).toMatchObject({ ok: false, check: "checkpoint" });
  });

  it("K77: a cut tail, a cut tail with the checkpoint deleted, and a deleted log all fail", async () => {
    const d = deployment();
    const log = await d.open();
    await fill(log, 12);
    await log.close();
    const whole = lines(d.directory);
    store(d.directory, whole.slice(0, 9));
    expect(await d.verify()).toMatchObject({ ok: false, check: "cut", firstBadSeq: 9 });
    const saved = readFileSync(d.checkpointPath, "utf8");
    rmSync(d.checkpointPath);
    expect(await d.verify()).toMatchObject({ ok: false, check: "checkpoint" });
    writeFileSync(d.checkpointPath, saved);
    rmSync(join(d.root, ".agentgate"), { recursive: true });
    expect(await d.verify()).toMatchObject({ ok: false });
    rmSync(d.checkpointPath);
    expect(await d.verify()).toMatchObject({ ok: false, records: 0, check: "checkpoint" });
  });

  it("K78: the directory holds no key to re-sign with; a checkpoint re-signed with another key fails", async () => {
    const d = deployment();
    const log = await d.open();
    await fill(log, 6);
    await log.close();
    const agentgate = join(d.root, ".agentgate");
    const files = readdirSync(agentgate, { recursive: true }).map(String);
    for (const file of files) {
      const path = join(agentgate, file);
      if (statSync(path).isFile()) expect(readFileSync(path, "utf8")).not.toMatch(/"d"\s*:/);
    }
    expect(statSync(d.keyPath).mode & 0o777).toBe(0o600);
    // Refused inside the log directory.
    const inside = await FileAuditLog.open({
      directory: d.directory,
      checkpointKeyPath: join(d.directory, "key.json"),
    }).catch((error: unknown) => error);
    expect(isAgentGateError(inside) && inside.code).toBe("invalid_configuration");
    // The attacker cuts the tail and signs a matching checkpoint with a key of their own.
    store(d.directory, lines(d.directory).slice(0, 3));
    const head = parseCheckpoint(parseNote(readFileSync(d.checkpointPath, "utf8")).body);
    const forged = await FileAuditLog.open({
      directory: join(d.root, "scratch"),
      checkpointKeyPath: join(d.root, "attacker-key.json"),
    });
    await forged.close();
    const attacker = CheckpointKey.load({ path: join(d.root, "attacker-key.json") });
    const tree = await proveRoot(d.directory, 3);
    writeFileSync(
      d.checkpointPath,
      attacker.signCheckpoint({ origin: head.origin, size: 3, root: tree }),
    );
    expect(await d.verify()).toMatchObject({ ok: false, check: "checkpoint" });
  });

  it("the log-id check: a checkpoint of another log signed by the same key does not vouch for this one", async () => {
    const a = deployment();
    const log = await a.open();
    await fill(log, 4);
    await log.close();
    const other = await FileAuditLog.open({
      directory: join(a.root, "other", "audit"),
      checkpointKeyPath: a.keyPath,
    });
    await fill(other, 4);
    await other.close();
    writeFileSync(a.checkpointPath, readFileSync(other.checkpointPath, "utf8"));
    expect(await a.verify()).toMatchObject({ ok: false, check: "log_id" });
  });

  it("a torn last record is reported at its own sequence number", async () => {
    const d = deployment();
    const log = await d.open({ checkpointEvery: 0 });
    await fill(log, 5);
    await log.close();
    writeFileSync(
      segment(d.directory),
      `${readFileSync(segment(d.directory), "utf8")}{"seq":5,"pr`,
    );
    expect(await d.verify()).toMatchObject({ ok: false, check: "torn", firstBadSeq: 5 });
  });
});

describe("audit evidence with a witness", () => {
  it("K79: a denial flipped to an allow, the whole chain recomputed and re-signed with the writer's own key, fails against the cosigned checkpoint", async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 10);
    await log.close();
    expect(log.anchor).toMatchObject({ cosignedSize: 10, unanchored: 0 });
    expect(await d.verify({ witness, witnessKey: witness.verifierKey })).toMatchObject({
      ok: true,
      anchored: true,
      checkpoint: { size: 10, signedBy: "witness" },
    });
    // The attacker reads the writer's key (same OS user), rewrites and re-signs.
    const rewritten = rewriteChain(lines(d.directory), (record, index) => {
      if (index === 3) (record.decision as { allowed: boolean }).allowed = true;
    });
    store(d.directory, rewritten);
    const writer = CheckpointKey.load({ path: d.keyPath });
    const head = parseCheckpoint(parseNote(readFileSync(d.checkpointPath, "utf8")).body);
    writeFileSync(
      d.checkpointPath,
      writer.signCheckpoint({ ...head, root: await proveRoot(d.directory, 10) }),
    );
    // Without the witness this is indistinguishable from the truth, and verify says so.
    expect(await d.verify()).toMatchObject({ ok: true, anchored: false, notice: NOT_ANCHORED });
    // Against the witness's cosigned checkpoint it is not.
    expect(await d.verify({ witness, witnessKey: witness.verifierKey })).toMatchObject({
      ok: false,
      check: "rewritten",
    });
    // The witness refuses to cosign the rewritten history too (not append-only).
    const reopened = await d.open({ witness, witnessKey: witness.verifierKey }).catch((e) => e);
    expect(isAgentGateError(reopened) && reopened.details?.check).toBe("cut");
  });

  it("K78: a checkpoint without the witness's cosignature, or cosigned by another key, fails; no checkpoint fails unless --allow-unanchored", async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 5);
    await log.close();
    const impostor = Witness.open({
      directory: join(d.root, "impostor"),
      writerKeys: [CheckpointKey.load({ path: d.keyPath }).publicKey],
    });
    expect(await d.verify({ witnessKey: impostor.verifierKey })).toMatchObject({
      ok: false,
      check: "witness",
    });
    rmSync(cosignedPath(d.checkpointPath));
    expect(await d.verify({ witnessKey: witness.verifierKey })).toMatchObject({
      ok: false,
      check: "witness",
    });
    expect(
      await d.verify({ witnessKey: witness.verifierKey, allowUnanchored: true }),
    ).toMatchObject({ ok: true, anchored: false, notice: NOT_ANCHORED });
  });

  it("K77 with a witness: deleting the log, its checkpoints and starting afresh fails against the witness", async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 5);
    await log.close();
    rmSync(join(d.root, ".agentgate"), { recursive: true });
    rmSync(d.checkpointPath);
    rmSync(cosignedPath(d.checkpointPath));
    const fresh = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(fresh, 2);
    await fresh.close();
    expect(await d.verify({ witness, witnessKey: witness.verifierKey })).toMatchObject({
      ok: false,
      check: "witness",
    });
  });

  it("K80: a writer refuses a cut log; the gate's log fails closed until recovery records what was lost", async () => {
    const d = deployment();
    const witness = d.witness();
    const options = { witness, witnessKey: witness.verifierKey };
    const log = await d.open(options);
    await fill(log, 10);
    await log.close();
    store(d.directory, lines(d.directory).slice(0, 6));
    const before = readFileSync(segment(d.directory), "utf8");
    const refused = await d.open(options).catch((error: unknown) => error);
    expect(isAgentGateError(refused) && refused.code).toBe("audit_unavailable");
    expect(isAgentGateError(refused) && refused.details).toMatchObject({
      check: "cut",
      logSize: 6,
      checkpointSize: 10,
    });
    // Nothing was written over the cut, and no checkpoint was signed over it.
    expect(readFileSync(segment(d.directory), "utf8")).toBe(before);
    expect(parseCheckpoint(parseNote(readFileSync(d.checkpointPath, "utf8")).body).size).toBe(10);
    // Also without the witness: the writer's own checkpoint remembers.
    const alone = await d.open().catch((error: unknown) => error);
    expect(isAgentGateError(alone) && alone.details?.check).toBe("cut");

    const report = await recoverAuditLog({
      directory: d.directory,
      checkpointKeyPath: d.keyPath,
      ...options,
      operator: "ops@acme.example",
      reason: "restored from backup",
    });
    expect(report).toMatchObject({ recovered: true, found: { logSize: 6, checkpointSize: 10 } });
    const reopened = await d.open(options);
    await fill(reopened, 2, 100);
    await reopened.close();
    const first = (await readAuditLog(d.directory).next()).value;
    expect(first).toMatchObject({
      seq: 0,
      type: "log_recovered",
      details: {
        previousOrigin: report.previousOrigin,
        operator: "ops@acme.example",
        found: { logSize: 6, checkpointSize: 10 },
      },
    });
    expect(await d.verify({ witness, witnessKey: witness.verifierKey })).toMatchObject({
      ok: true,
      records: 3,
      recovered: [report.previousOrigin],
    });
  });

  it("K81: records are cosigned within N records and within the interval; only newer ones are unanchored", {
    timeout: 90_000,
  }, async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({
      witness,
      witnessKey: witness.verifierKey,
      checkpointEvery: 10,
      checkpointIntervalMs: 200,
    });
    await fill(log, 25);
    // Every 10 records a checkpoint goes out at once: 20 are anchored without waiting for time.
    await poll(() => log.anchor.cosignedSize >= 20, "the count-triggered checkpoint");
    // The last 5 are anchored by the timer, with no further write.
    await poll(() => log.anchor.cosignedSize === 25, "the time-triggered checkpoint");
    expect(log.anchor.unanchored).toBe(0);
    await log.close();
  });

  it("K81: a slow witness answer does not move the anchor past what it cosigned; later checkpoints still anchor", {
    timeout: 90_000,
  }, async () => {
    const d = deployment();
    const witness = d.witness();
    // Holds the first submission until records and checkpoints were written behind it.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const slow: WitnessClient = {
      addCheckpoint: async (request) => {
        if (calls++ === 0) await held;
        return witness.addCheckpoint(request);
      },
      latest: (origin) => witness.latest(origin),
      origins: () => witness.origins(),
    };
    const log = await d.open({
      witness: slow,
      witnessKey: witness.verifierKey,
      checkpointEvery: 10,
      checkpointIntervalMs: 0,
    });
    await fill(log, 10);
    await poll(() => calls === 1, "the first submission");
    // Checkpoints at 20 and 30 are signed while the first waits; 5 more records follow them.
    await fill(log, 25, 10);
    release();
    // The queued checkpoint (30) goes out after the first: the anchor is 30, never the 35 written.
    await poll(() => log.anchor.cosignedSize >= 30, "the queued checkpoint");
    expect(log.anchor).toEqual({ cosignedSize: 30, unanchored: 5 });
    await fill(log, 15, 35);
    await poll(() => log.anchor.cosignedSize === 50, "the next checkpoint");
    await log.close();
    const latest = await witness.latest(log.origin);
    expect(latest?.split("\n")[1]).toBe("50");
    expect((await d.verify({ witnessKey: witness.verifierKey, witness })).ok).toBe(true);
  });
  it("the witness cosigns only append-only growth, from the size it last cosigned, signed by a writer it trusts", async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 4);
    await log.close();
    const note = readFileSync(d.checkpointPath, "utf8");
    const head = parseCheckpoint(parseNote(note).body);
    const writer = CheckpointKey.load({ path: d.keyPath });
    // Another history of the same size: no proof connects it.
    const other = writer.signCheckpoint({ ...head, size: 5, root: Buffer.alloc(32, 7) });
    expect(witness.add({ oldSize: 4, proof: [Buffer.alloc(32)], checkpoint: other })).toMatchObject(
      {
        status: "rejected",
      },
    );
    expect(witness.add({ oldSize: 2, proof: [], checkpoint: other })).toEqual({
      status: "conflict",
      size: 4,
    });
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const body = formatCheckpoint({ ...head, size: 5 });
    const unsigned = formatNote({ body, signatures: [signNoteBody(body, head.origin, stranger)] });
    expect(witness.add({ oldSize: 4, proof: [], checkpoint: unsigned })).toMatchObject({
      status: "rejected",
      reason: expect.stringContaining("trusts"),
    });
    // State survives a restart of the witness.
    const restarted = d.witness();
    expect(await restarted.latest(head.origin)).toContain(`\n4\n`);
    expect(restarted.verifierKey).toBe(witness.verifierKey);
  });

  it("an inclusion proof of one event verifies with only the proof, the event and the witness key", async () => {
    const d = deployment();
    const witness = d.witness();
    const log = await d.open({ witness, witnessKey: witness.verifierKey });
    await fill(log, 13);
    await log.close();
    const proof = await proveAuditRecord(d.directory, 6, {
      witness,
      checkpointPath: d.checkpointPath,
    });
    const portable = JSON.parse(JSON.stringify(proof));
    expect(verifyAuditProof(portable, { witnessKey: witness.verifierKey })).toEqual({
      ok: true,
      seq: 6,
      anchored: true,
    });
    const flipped = proof.record.replace('"allowed":false', '"allowed":true');
    expect(flipped).not.toBe(proof.record);
    expect(
      verifyAuditProof(portable, { witnessKey: witness.verifierKey, record: flipped }),
    ).toMatchObject({ ok: false });
    const [recomputed] = rewriteChain([proof.record], () => {}, 0).map((line) => line);
    expect(
      verifyAuditProof(
        {
          ...portable,
          record: (recomputed as string).replace('"allowed":false', '"allowed":true'),
        },
        { witnessKey: witness.verifierKey },
      ),
    ).toMatchObject({ ok: false });
    const impostor = Witness.open({ directory: join(d.root, "impostor"), writerKeys: [] });
    expect(verifyAuditProof(portable, { witnessKey: impostor.verifierKey })).toMatchObject({
      ok: false,
    });
    expect(
      verifyAuditProof({ ...portable, index: 7 }, { witnessKey: witness.verifierKey }),
    ).toMatchObject({
      ok: false,
    });
    expect(existsSync(d.checkpointPath)).toBe(true);
  });
});

/** The Merkle root of the first `size` records of a directory, as an attacker computes it. */
async function proveRoot(directory: string, size: number): Promise<Buffer> {
  const { CompactRange } = await import("./merkle-tree.js");
  const tree = new CompactRange();
  for (const line of lines(directory).slice(0, size))
    tree.append(Buffer.from(line.slice(-66, -2), "hex"));
  return tree.root();
}

describe("audit evidence through the API, with a witness in its own process on 127.0.0.1", () => {
  it("K79/K80: the gate's log is anchored over HTTP; after a cut the gate does not start (audit_unavailable naming the cut); verify against the witness fails", {
    timeout: 120_000,
  }, async () => {
    const d = deployment();
    const writerKey = CheckpointKey.load({ path: d.keyPath }).toString();
    const server = spawn(process.execPath, [WITNESS_SERVER, join(d.root, "witness"), writerKey], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const { url, key } = await new Promise<{ url: string; key: string }>((resolve, reject) => {
        server.stdout?.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
        server.once("exit", (code) => reject(new Error(`witness exited with ${code}`)));
      });
      const home = join(d.root, ".agentgate");
      mkdirSync(home, { recursive: true });
      writeFileSync(
        join(home, "config.json"),
        JSON.stringify({
          trustDomain: "acme.example",
          audience: "https://tools.acme.example",
          audit: { witness: { url, key } },
        }),
      );
      process.env.AGENTGATE_CHECKPOINT_KEY_FILE = d.keyPath;
      const policy = new FunctionPolicyClient(() => ({
        allowed: false,
        policies: [],
        reason: "no",
        safeReason: "no",
        obligations: [],
      }));
      const gate = await createGate({ directory: home, policy, watchPolicies: false });
      await gate.close();
      const witness = new HttpWitnessClient(url);
      const anchored = await d.verify({ witness, witnessKey: key });
      expect(anchored).toMatchObject({ ok: true, anchored: true });
      expect(anchored.records).toBeGreaterThan(0);
      // The tail cut: the gate refuses to start over it, naming the cut.
      store(d.directory, lines(d.directory).slice(0, -1));
      const refused = await createGate({ directory: home, policy, watchPolicies: false }).catch(
        (error: unknown) => error,
      );
      expect(isAgentGateError(refused) && refused.code).toBe("audit_unavailable");
      expect(isAgentGateError(refused) && refused.details).toMatchObject({
        check: "cut",
        logSize: anchored.records - 1,
        checkpointSize: anchored.records,
      });
      expect(await d.verify({ witness, witnessKey: key })).toMatchObject({
        ok: false,
        check: "cut",
      });
    } finally {
      delete process.env.AGENTGATE_CHECKPOINT_KEY_FILE;
      server.kill("SIGKILL");
    }
  });
});
