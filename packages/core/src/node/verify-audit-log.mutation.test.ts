import { hash as digest, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cosignedCheckpoint,
  cosignedPath,
  defaultCheckpointPath,
  readOptional,
  writerCheckpoint,
} from "./audit-checkpoints.js";
import { CHECKPOINT_KEY_ENV, CHECKPOINT_KEY_FILE_ENV, CheckpointKey } from "./checkpoint-key.js";
import { CompactRange } from "./merkle-tree.js";
import { WRITERS_DIRECTORY } from "./open-audit-writer.js";
import {
  cosignNoteBody,
  ED25519_COSIGNATURE,
  formatNote,
  formatVerifierKey,
  parseNote,
  rawPublicKey,
} from "./signed-note.js";
import { auditOrigin, formatCheckpoint } from "./tlog-checkpoint.js";
import { verifyAuditChains } from "./verify-audit-chains.js";
import {
  type AuditVerification,
  NOT_ANCHORED,
  readAuditLog,
  readLogId,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "./verify-audit-log.js";
import type { WitnessClient } from "./witness/witness-client.js";

// Each test pins down one result of the verifier exactly (every member of the answer), so that
// a mutation of any check, reason or summary is seen (MUTATION.md; SECURITY.md E40, K77–K79,
// K83). The logs are written by hand, line by line, so that each malformed field stands alone.

const GENESIS = "0".repeat(64);
const SEAL = ',"hash":"';

const roots: string[] = [];
const saved: Record<string, string | undefined> = {};
beforeEach(() => {
  for (const name of [CHECKPOINT_KEY_ENV, CHECKPOINT_KEY_FILE_ENV]) saved[name] = process.env[name];
  delete process.env[CHECKPOINT_KEY_ENV];
  // The default key file of these tests: a key that signs nothing (never the user's own).
  const root = mkdtempSync(join(tmpdir(), "agentgate-verify-default-"));
  roots.push(root);
  process.env[CHECKPOINT_KEY_FILE_ENV] = join(root, "default-key.json");
  CheckpointKey.load({ path: join(root, "default-key.json") });
});
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A record line: `{"seq":…,"prev":…,<rest>,"hash":…}` with the hash over its exact bytes. */
function line(head: string, rest = `"type":"decision","id":"e"`): string {
  const body = `${head},${rest}}`;
  const hash = digest("sha256", `\u0000${body}`, "hex");
  return `${body.slice(0, -1)}${SEAL}${hash}"}`;
}
const hashOf = (record: string): string => record.slice(-66, -2);
const headOf = (seq: number | string, prev: string) => `{"seq":${seq},"prev":"${prev}"`;

/** `count` well-formed records, each `rest(seq)` after seq and prev. */
function chain(count: number, rest: (seq: number) => string = (seq) => `"id":"e${seq}"`) {
  const out: string[] = [];
  let prev = GENESIS;
  for (let seq = 0; seq < count; seq++) {
    const next = line(headOf(seq, prev), rest(seq));
    out.push(next);
    prev = hashOf(next);
  }
  return out;
}

function rootOf(records: readonly string[]): Buffer {
  const tree = new CompactRange();
  for (const record of records) tree.append(Buffer.from(hashOf(record), "hex"));
  return tree.root();
}

function witnessKeys() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const name = "witness.example";
  return {
    privateKey,
    name,
    vkey: formatVerifierKey(name, ED25519_COSIGNATURE, rawPublicKey(publicKey)),
  };
}

/** A log directory of hand-written lines, its writer key, and checkpoint helpers. */
function log(options: { id?: string | null; directory?: string } = {}) {
  const root = mkdtempSync(join(tmpdir(), "agentgate-verify-"));
  roots.push(root);
  const directory = options.directory ?? join(root, "audit");
  mkdirSync(directory, { recursive: true });
  const id = options.id === undefined ? `log-${randomBytes(4).toString("hex")}` : options.id;
  if (id !== null) writeFileSync(join(directory, "log.json"), `${JSON.stringify({ id })}\n`);
  const origin = auditOrigin(id ?? "none");
  const keyPath = join(root, "key.json");
  const key = CheckpointKey.load({ path: keyPath });
  const checkpointPath = join(root, "checkpoint.txt");
  const witness = witnessKeys();
  const write = (records: readonly string[], tail = "") =>
    writeFileSync(
      join(directory, "audit-000001.jsonl"),
      `${records.map((record) => `${record}\n`).join("")}${tail}`,
    );
  const sign = (records: readonly string[], head: { origin?: string; size?: number } = {}) =>
    key.signCheckpoint({
      origin: head.origin ?? origin,
      size: head.size ?? records.length,
      root: rootOf(records.slice(0, head.size ?? records.length)),
    });
  const checkpoint = (records: readonly string[], head: { origin?: string; size?: number } = {}) =>
    writeFileSync(checkpointPath, sign(records, head));
  /** The writer's checkpoint of `records` cosigned by the witness at `time`. */
  const cosign = (records: readonly string[], time = 1_767_000_000, head = {}) => {
    const note = parseNote(sign(records, head));
    return formatNote({
      body: note.body,
      signatures: [
        ...note.signatures,
        cosignNoteBody(note.body, witness.name, witness.privateKey, time),
      ],
    });
  };
  const verify = (more: VerifyAuditLogOptions = {}) =>
    verifyAuditLog(directory, { checkpointPath, checkpointKey: key.toString(), ...more });
  return {
    root,
    directory,
    origin,
    key,
    keyPath,
    checkpointPath,
    witness,
    write,
    sign,
    checkpoint,
    cosign,
    verify,
  };
}

/** A witness client answering from memory; `latest` and `origins` may throw. */
function fakeWitness(
  latest: (origin: string) => string | undefined | Error,
  origins: () => string[] | Error,
): WitnessClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    addCheckpoint: () => Promise.reject(new Error("not in these tests")),
    latest: async (origin) => {
      asked.push(origin);
      const answer = latest(origin);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    origins: async () => {
      const answer = origins();
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const okWriter = (records: number, size = records): AuditVerification => ({
  ok: true,
  records,
  anchored: false,
  notice: NOT_ANCHORED,
  checkpoint: { size, seq: size, verified: true, signedBy: "writer" },
  unanchoredRecords: records - size,
});

const broken = (records: number, check: string, reason: string, firstBadSeq = records) => ({
  ok: false,
  records,
  firstBadSeq,
  reason,
  check,
  anchored: false,
});

describe("verifyAuditLog: the records", () => {
  it("an empty log with a checkpoint of size 0 verifies (the empty tree's root)", async () => {
    const l = log();
    l.write([]);
    l.checkpoint([]);
    expect(await l.verify()).toStrictEqual(okWriter(0));
  });

  it("records newer than the checkpoint are counted as unanchored", async () => {
    const l = log();
    const records = chain(12);
    l.write(records);
    l.checkpoint(records, { size: 10 });
    expect(await l.verify()).toStrictEqual(okWriter(12, 10));
  });

  it("E40: every malformed prefix is a `record` failure at its own number, and the scan stops there", async () => {
    const records = chain(3);
    const prev = hashOf(records[0] as string);
    const bad = [
      line(`x${headOf(1, prev)}`),
      line(` ${headOf(1, prev)}`),
      line(headOf("01", prev)),
      line(headOf("+1", prev)),
      line(headOf('"1"', prev)),
      line(headOf(1, `${prev}0`)),
      line(headOf(1, prev.slice(1))),
      line(headOf(1, prev.toUpperCase())),
      line(`{"seq":1,"prev":"${prev}"`.replace(',"prev"', ', "prev"')),
      line(`{"seq" :1,"prev":"${prev}"`),
      `${headOf(1, prev)},"id":"e1"}`,
      `${headOf(1, prev)},"id":"e1","hash":"${"a".repeat(63)}"}`,
    ];
    for (const record of bad) {
      const l = log();
      l.write([records[0] as string, record, records[2] as string]);
      l.checkpoint(records);
      expect(await l.verify(), record).toStrictEqual(
        broken(1, "record", "a record has no well-formed sequence number, link or hash"),
      );
    }
  });

  it("E40: a sequence number seen again, or skipped, is named with the numbers around it", async () => {
    const records = chain(6);
    const l = log();
    l.write([...records.slice(0, 3), records[1] as string, ...records.slice(3)]);
    l.checkpoint(records);
    expect(await l.verify()).toStrictEqual(
      broken(3, "sequence", "sequence 1 appears again after 2 (reordered or forked)"),
    );
    l.write([...records.slice(0, 3), ...records.slice(5)]);
    expect(await l.verify()).toStrictEqual(
      broken(3, "sequence", "sequence jumps from 2 to 5 (records deleted or reordered)"),
    );
    l.write([records[0] as string, records[2] as string]);
    expect(await l.verify()).toStrictEqual(
      broken(1, "sequence", "sequence jumps from 0 to 2 (records deleted or reordered)"),
    );
    l.write([records[1] as string]);
    expect(await l.verify()).toStrictEqual(
      broken(0, "sequence", "sequence jumps from -1 to 1 (records deleted or reordered)"),
    );
  });

  it("E40: an edited record, and a record that does not chain, are named at their number", async () => {
    const records = chain(5);
    const l = log();
    l.checkpoint(records);
    l.write([
      ...records.slice(0, 2),
      (records[2] as string).replace('"e2"', '"e9"'),
      ...records.slice(3),
    ]);
    expect(await l.verify()).toStrictEqual(broken(2, "record", "record 2 was edited"));
    const unlinked = line(headOf(2, GENESIS), `"id":"e2"`);
    l.write([...records.slice(0, 2), unlinked, ...records.slice(3)]);
    expect(await l.verify()).toStrictEqual(
      broken(2, "chain", "record 2 does not chain to record 1"),
    );
    l.write([line(headOf(0, "1".repeat(64))), ...records.slice(1)]);
    expect(await l.verify()).toStrictEqual(
      broken(0, "chain", "record 0 does not chain to record -1"),
    );
  });

  it("a torn last record is named with its segment", async () => {
    const records = chain(4);
    const l = log();
    l.checkpoint(records);
    l.write(records.slice(0, 3), '{"seq":3,"pr');
    expect(await l.verify()).toStrictEqual(
      broken(
        3,
        "torn",
        `record 3 is torn (incomplete at the end of ${join(l.directory, "audit-000001.jsonl")})`,
      ),
    );
  });

  it("blank lines are not records; records continue across segments", async () => {
    const records = chain(4);
    const l = log();
    l.checkpoint(records);
    writeFileSync(join(l.directory, "audit-000001.jsonl"), `${records[0]}\n\n${records[1]}\n`);
    writeFileSync(join(l.directory, "audit-000002.jsonl"), `${records[2]}\n${records[3]}\n`);
    expect(await l.verify()).toStrictEqual(okWriter(4));
  });

  it("the logs a recovery replaced are the string previousOrigins of log_recovered records only", async () => {
    const records = chain(
      6,
      (seq) =>
        [
          `"type":"log_recovered","details":{"previousOrigin":"agentgate.dev/audit/old"}`,
          `"type":"log_recovered","details":{"previousOrigin":7}`,
          `"type":"log_recovered"`,
          `"type":"decision","details":{"previousOrigin":"agentgate.dev/audit/not-recovered"}`,
          `"type":"log_recovered","details":{}`,
          `"type":"log_recovered","details":{"previousOrigin":"agentgate.dev/audit/older"}`,
        ][seq] as string,
    );
    const l = log();
    l.write(records);
    l.checkpoint(records);
    expect(await l.verify()).toStrictEqual({
      ...okWriter(6),
      recovered: ["agentgate.dev/audit/old", "agentgate.dev/audit/older"],
    });
  });
});

describe("verifyAuditLog: the checkpoints", () => {
  it("I62/K77: no checkpoint, a checkpoint of another key, or an unreadable key: `checkpoint`, with the records counted", async () => {
    const records = chain(3);
    const l = log();
    l.write(records);
    expect(await l.verify()).toStrictEqual({
      ok: false,
      records: 3,
      reason: "no signed checkpoint: a log without one cannot be told from a cut or rewritten one",
      check: "checkpoint",
      anchored: false,
    });
    l.checkpoint(records);
    const badSignature = {
      ok: false,
      records: 3,
      reason: "the checkpoint's signature does not check",
      check: "checkpoint",
      anchored: false,
    };
    const other = CheckpointKey.load({ path: join(l.root, "other-key.json") });
    expect(await l.verify({ checkpointKey: other.toString() })).toStrictEqual(badSignature);
    expect(await l.verify({ checkpointKey: join(l.root, "no-such-key.json") })).toStrictEqual(
      badSignature,
    );
    // The default key (the environment's file) is not this log's key either.
    expect(await verifyAuditLog(l.directory, { checkpointPath: l.checkpointPath })).toStrictEqual(
      badSignature,
    );
  });

  it("the writer key: the one given, else the environment's key, else the default key file", async () => {
    const records = chain(2);
    const l = log();
    l.write(records);
    l.checkpoint(records);
    const other = CheckpointKey.load({ path: join(l.root, "other-key.json") });
    const seedOf = (path: string) =>
      (JSON.parse(readOptional(path) as string) as { privateJwk: { d: string } }).privateJwk.d;
    // A public JWK and a key file are keys too.
    expect(await l.verify({ checkpointKey: { x: l.key.toString() } })).toStrictEqual(okWriter(2));
    expect(await l.verify({ checkpointKey: l.keyPath })).toStrictEqual(okWriter(2));
    // The environment's key, when no key is given.
    process.env[CHECKPOINT_KEY_ENV] = seedOf(l.keyPath);
    expect(await verifyAuditLog(l.directory, { checkpointPath: l.checkpointPath })).toStrictEqual(
      okWriter(2),
    );
    // A key given wins over the environment's.
    process.env[CHECKPOINT_KEY_ENV] = seedOf(join(l.root, "other-key.json"));
    expect(await l.verify()).toStrictEqual(okWriter(2));
    expect(await verifyAuditLog(l.directory, { checkpointPath: l.checkpointPath })).toMatchObject({
      ok: false,
      check: "checkpoint",
    });
    // An empty environment variable is no key: the default key file is used.
    process.env[CHECKPOINT_KEY_ENV] = "";
    process.env[CHECKPOINT_KEY_FILE_ENV] = l.keyPath;
    expect(await verifyAuditLog(l.directory, { checkpointPath: l.checkpointPath })).toStrictEqual(
      okWriter(2),
    );
    expect(await l.verify({ checkpointKey: other.toString() })).toMatchObject({
      ok: false,
      check: "checkpoint",
    });
  });

  it("I62: verifying never creates a key: without one, the signature does not check", async () => {
    const records = chain(2);
    const l = log();
    l.write(records);
    l.checkpoint(records);
    const missing = join(l.root, "no-key-here.json");
    process.env[CHECKPOINT_KEY_FILE_ENV] = missing;
    expect(await verifyAuditLog(l.directory, { checkpointPath: l.checkpointPath })).toMatchObject({
      ok: false,
      check: "checkpoint",
    });
    expect(readOptional(missing)).toBeUndefined();
  });

  it("the default checkpoint path is the writer's, beside the default key", async () => {
    const records = chain(2);
    const l = log();
    l.write(records);
    process.env[CHECKPOINT_KEY_FILE_ENV] = l.keyPath;
    const path = defaultCheckpointPath(l.directory);
    expect(path).toBe(
      join(
        l.root,
        "checkpoints",
        `${digest("sha256", resolve(l.directory), "hex").slice(0, 16)}.txt`,
      ),
    );
    mkdirSync(join(l.root, "checkpoints"));
    writeFileSync(path, l.sign(records));
    expect(await verifyAuditLog(l.directory)).toStrictEqual(okWriter(2));
    expect(defaultCheckpointPath(l.directory, join(l.root, "elsewhere", "k.json"))).toBe(
      join(l.root, "elsewhere", "checkpoints", path.split("/").at(-1) as string),
    );
  });

  it("K78: a checkpoint of another log is `log_id`, naming both, with the checkpoint it was checked against", async () => {
    const records = chain(3);
    const l = log();
    l.write(records);
    l.checkpoint(records, { origin: auditOrigin("other") });
    expect(await l.verify()).toStrictEqual({
      ok: false,
      records: 3,
      reason: `the writer's checkpoint is of another log (agentgate.dev/audit/other, this is ${l.origin})`,
      check: "log_id",
      anchored: false,
      checkpoint: { size: 3, seq: 3, verified: false, signedBy: "writer" },
    });
    const bare = log({ id: null });
    bare.write(records);
    writeFileSync(bare.checkpointPath, l.sign(records, { origin: auditOrigin("other") }));
    expect(await bare.verify({ checkpointKey: l.key.toString() })).toMatchObject({
      check: "log_id",
      reason:
        "the writer's checkpoint is of another log (agentgate.dev/audit/other, this is a log without log.json)",
    });
    writeFileSync(join(bare.directory, "log.json"), "not json");
    expect(readLogId(bare.directory)).toBeUndefined();
  });

  it("K77: a cut tail is `cut` at the first missing number; a checkpoint of exactly the log's size is not", async () => {
    const records = chain(8);
    const l = log();
    l.checkpoint(records);
    l.write(records.slice(0, 5));
    expect(await l.verify()).toStrictEqual({
      ok: false,
      records: 5,
      firstBadSeq: 5,
      reason: "the log ends at 4 but the writer's checkpoint covers 7 (tail cut)",
      check: "cut",
      anchored: false,
      checkpoint: { size: 8, seq: 8, verified: false, signedBy: "writer" },
    });
    l.write(records.slice(0, 7));
    expect(await l.verify()).toMatchObject({
      records: 7,
      firstBadSeq: 7,
      reason: "the log ends at 6 but the writer's checkpoint covers 7 (tail cut)",
    });
    l.write(records);
    expect(await l.verify()).toStrictEqual(okWriter(8));
  });

  it("K79: another history of the same size is `rewritten`", async () => {
    const records = chain(4);
    const other = chain(4, (seq) => `"id":"x${seq}"`);
    const l = log();
    l.checkpoint(records);
    l.write(other);
    expect(await l.verify()).toStrictEqual({
      ok: false,
      records: 4,
      reason: "the first 4 records differ from those the writer signed (history rewritten)",
      check: "rewritten",
      anchored: false,
      checkpoint: { size: 4, seq: 4, verified: false, signedBy: "writer" },
    });
    // Of size 0 too, against a root that is not the empty tree's.
    const zero = log();
    zero.write([]);
    writeFileSync(
      zero.checkpointPath,
      zero.key.signCheckpoint({ origin: zero.origin, size: 0, root: Buffer.alloc(32, 1) }),
    );
    expect(await zero.verify()).toMatchObject({ ok: false, check: "rewritten" });
  });
});

describe("verifyAuditLog: the witness", () => {
  it("K79: a cosigned checkpoint anchors the log, with its time; the writer's may be missing", async () => {
    const records = chain(5);
    const l = log();
    l.write(records);
    const cosigned = l.cosign(records, 1_767_000_000, { size: 4 });
    const anchored = {
      ok: true,
      records: 5,
      anchored: true,
      checkpoint: {
        size: 4,
        seq: 4,
        verified: true,
        signedBy: "witness",
        time: "2025-12-29T09:20:00.000Z",
      },
      unanchoredRecords: 1,
    };
    expect(await l.verify({ witnessKey: l.witness.vkey, cosigned })).toStrictEqual(anchored);
    // The local cosigned copy, when no witness is asked and no note given.
    writeFileSync(cosignedPath(l.checkpointPath), cosigned);
    expect(await l.verify({ witnessKey: l.witness.vkey })).toStrictEqual(anchored);
    // With the writer's own checkpoint too (larger): the cosigned one is what is reported.
    l.checkpoint(records);
    expect(await l.verify({ witnessKey: l.witness.vkey })).toStrictEqual(anchored);
    // Without a witness key, the cosigned copy is not read: the writer's checkpoint counts.
    expect(await l.verify()).toStrictEqual(okWriter(5));
  });

  it("K78: a note given wins over the local copy; a witness asked wins over the local copy", async () => {
    const records = chain(3);
    const l = log();
    l.write(records);
    l.checkpoint(records);
    writeFileSync(cosignedPath(l.checkpointPath), "garbage\n");
    const cosigned = l.cosign(records);
    expect(await l.verify({ witnessKey: l.witness.vkey, cosigned })).toMatchObject({
      ok: true,
      anchored: true,
    });
    // The witness has nothing for this log: the local copy is not consulted instead.
    writeFileSync(cosignedPath(l.checkpointPath), cosigned);
    const empty = fakeWitness(
      () => undefined,
      () => [],
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: empty })).toStrictEqual({
      ok: false,
      records: 3,
      reason:
        "no checkpoint cosigned by the witness covers this log (--allow-unanchored checks it as not anchored)",
      check: "witness",
      anchored: false,
    });
    expect(empty.asked).toStrictEqual([l.origin]);
    // A note given is not replaced by the witness's answer.
    const older = l.cosign(records, 1_767_000_000, { size: 2 });
    const answering = fakeWitness(
      () => older,
      () => [l.origin],
    );
    expect(
      await l.verify({ witnessKey: l.witness.vkey, witness: answering, cosigned }),
    ).toMatchObject({ ok: true, checkpoint: { size: 3 } });
    expect(answering.asked).toStrictEqual([]);
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: answering })).toMatchObject({
      ok: true,
      checkpoint: { size: 2 },
      unanchoredRecords: 1,
    });
  });

  it("K78: without a cosigned checkpoint the log fails unless allowUnanchored; a bad one always fails", async () => {
    const records = chain(3);
    const l = log();
    l.write(records);
    l.checkpoint(records);
    const unanchored = {
      ok: false,
      records: 3,
      reason:
        "no checkpoint cosigned by the witness covers this log (--allow-unanchored checks it as not anchored)",
      check: "witness",
      anchored: false,
    };
    expect(await l.verify({ witnessKey: l.witness.vkey })).toStrictEqual(unanchored);
    expect(await l.verify({ witnessKey: l.witness.vkey, allowUnanchored: false })).toStrictEqual(
      unanchored,
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, allowUnanchored: true })).toStrictEqual(
      okWriter(3),
    );
    const stranger = witnessKeys();
    const badCosignature = {
      ok: false,
      records: 3,
      reason: "the cosigned checkpoint does not verify with the witness's key",
      check: "witness",
      anchored: false,
    };
    expect(
      await l.verify({
        witnessKey: stranger.vkey,
        cosigned: l.cosign(records),
        allowUnanchored: true,
      }),
    ).toStrictEqual(badCosignature);
    // The first failure is the one reported: the writer's checkpoint before the witness's.
    writeFileSync(l.checkpointPath, "garbage\n");
    expect(
      await l.verify({ witnessKey: stranger.vkey, cosigned: l.cosign(records) }),
    ).toMatchObject({ check: "checkpoint" });
    const down = fakeWitness(
      () => new Error("connection refused"),
      () => [],
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: down })).toMatchObject({
      check: "checkpoint",
    });
  });

  it("K79: a cosigned checkpoint of a longer log, or of another history, fails against the witness", async () => {
    const records = chain(6);
    const l = log();
    l.write(records.slice(0, 4));
    l.checkpoint(records.slice(0, 4));
    expect(
      await l.verify({ witnessKey: l.witness.vkey, cosigned: l.cosign(records, 1_767_000_001) }),
    ).toStrictEqual({
      ok: false,
      records: 4,
      firstBadSeq: 4,
      reason: "the log ends at 3 but the witness's checkpoint covers 5 (tail cut)",
      check: "cut",
      anchored: false,
      checkpoint: {
        size: 6,
        seq: 6,
        verified: false,
        signedBy: "witness",
        time: "2025-12-29T09:20:01.000Z",
      },
    });
    const other = chain(4, (seq) => `"id":"x${seq}"`);
    expect(await l.verify({ witnessKey: l.witness.vkey, cosigned: l.cosign(other) })).toMatchObject(
      {
        check: "rewritten",
        reason: "the first 4 records differ from those the witness signed (history rewritten)",
      },
    );
  });

  it("K77: an unreachable witness, and logs the witness holds that are not here, fail as `witness`", async () => {
    const records = chain(3);
    const l = log();
    l.write(records);
    l.checkpoint(records);
    const cosigned = l.cosign(records);
    const witnessFail = (reason: string) => ({
      ok: false,
      records: 3,
      reason,
      check: "witness",
      anchored: false,
    });
    const down = fakeWitness(
      () => new Error("connection refused"),
      () => new Error("connection refused"),
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: down })).toStrictEqual(
      witnessFail("the witness is unreachable: connection refused"),
    );
    const listDown = fakeWitness(
      () => cosigned,
      () => new Error("timed out"),
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: listDown })).toStrictEqual(
      witnessFail("the witness is unreachable: timed out"),
    );
    const others = ["a", "b", "c", "d"].map((id) => auditOrigin(id));
    const holding = (held: string[]) =>
      fakeWitness(
        () => cosigned,
        () => held,
      );
    expect(
      await l.verify({ witnessKey: l.witness.vkey, witness: holding([l.origin, ...others]) }),
    ).toStrictEqual(
      witnessFail(
        "the witness holds checkpoints of 4 log(s) not here and not recorded as recovered (agentgate.dev/audit/a, agentgate.dev/audit/b, agentgate.dev/audit/c): deleted?",
      ),
    );
    expect(
      await l.verify({
        witnessKey: l.witness.vkey,
        witness: holding([others[1] as string, l.origin]),
        otherLogs: [others[0] as string],
      }),
    ).toStrictEqual(
      witnessFail(
        "the witness holds checkpoints of 1 log(s) not here and not recorded as recovered (agentgate.dev/audit/b): deleted?",
      ),
    );
    const anchored = {
      ok: true,
      records: 3,
      anchored: true,
      checkpoint: {
        size: 3,
        seq: 3,
        verified: true,
        signedBy: "witness",
        time: "2025-12-29T09:20:00.000Z",
      },
      unanchoredRecords: 0,
    };
    expect(
      await l.verify({
        witnessKey: l.witness.vkey,
        witness: holding([l.origin, ...others]),
        otherLogs: others,
      }),
    ).toStrictEqual(anchored);
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: holding([]) })).toStrictEqual(
      anchored,
    );
    // Without a witness key the witness is not consulted at all.
    expect(await l.verify({ witness: down })).toStrictEqual(okWriter(3));
    expect(down.asked).toStrictEqual([l.origin]);
  });

  it("K77: a log a recovery replaced, recorded in this log, is accounted for", async () => {
    const records = chain(2, (seq) =>
      seq === 0
        ? `"type":"log_recovered","details":{"previousOrigin":"agentgate.dev/audit/old"}`
        : `"id":"e1"`,
    );
    const l = log();
    l.write(records);
    l.checkpoint(records);
    const held = fakeWitness(
      () => l.cosign(records),
      () => [l.origin, "agentgate.dev/audit/old"],
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: held })).toMatchObject({
      ok: true,
      anchored: true,
      recovered: ["agentgate.dev/audit/old"],
    });
  });

  it("a log without log.json does not ask the witness for an origin", async () => {
    const records = chain(2);
    const l = log({ id: null });
    l.write(records);
    const asking = fakeWitness(
      () => new Error("asked"),
      () => [],
    );
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: asking })).toStrictEqual({
      ok: false,
      records: 2,
      reason:
        "no checkpoint cosigned by the witness covers this log (--allow-unanchored checks it as not anchored)",
      check: "witness",
      anchored: false,
    });
    expect(asking.asked).toStrictEqual([]);
    // Nor does it fall back to the local cosigned copy: a witness is configured.
    writeFileSync(cosignedPath(l.checkpointPath), l.cosign(records));
    expect(await l.verify({ witnessKey: l.witness.vkey, witness: asking })).toMatchObject({
      check: "witness",
      reason:
        "no checkpoint cosigned by the witness covers this log (--allow-unanchored checks it as not anchored)",
    });
  });
});

describe("the checkpoints read back", () => {
  it("a missing file is undefined; any other read error is thrown", () => {
    const l = log();
    expect(readOptional(join(l.root, "missing.txt"))).toBeUndefined();
    expect(() => readOptional(l.root)).toThrow(expect.objectContaining({ code: "EISDIR" }));
  });

  it("a writer checkpoint and a cosigned one carry their tree head and note", () => {
    const records = chain(2);
    const l = log();
    const note = l.sign(records);
    expect(writerCheckpoint(note, l.key.publicKey)).toStrictEqual({
      origin: l.origin,
      size: 2,
      root: rootOf(records),
      note,
    });
    const cosigned = l.cosign(records, 42);
    expect(cosignedCheckpoint(cosigned, l.witness.vkey)).toStrictEqual({
      origin: l.origin,
      size: 2,
      root: rootOf(records),
      note: cosigned,
      cosignedAt: 42,
    });
    expect(formatCheckpoint({ origin: l.origin, size: 2, root: rootOf(records) })).toBe(
      parseNote(note).body,
    );
  });
});

describe("readAuditLog", () => {
  const record = (seq: number, fields: Record<string, unknown>) =>
    JSON.stringify({ seq, prev: GENESIS, v: 1, id: `e${seq}`, ...fields, hash: "h" });

  it("every filter must match; from is inclusive, to exclusive; unparsable lines are skipped", async () => {
    const l = log();
    const time = (second: number) => `2026-01-05T10:00:0${second}.000Z`;
    writeFileSync(
      join(l.directory, "audit-000001.jsonl"),
      [
        record(0, {
          type: "decision",
          time: time(0),
          agent: "a",
          tool: { name: "t" },
          invocationId: "i1",
          decision: { allowed: true },
        }),
        "",
        "{not json",
        record(1, { type: "decision", time: time(1), agent: "b", decision: { allowed: false } }),
        record(2, { type: "outcome", time: time(2), agent: "a", tool: { name: "u" } }),
      ].join("\n"),
    );
    writeFileSync(
      join(l.directory, "audit-000002.jsonl"),
      `${record(3, { type: "revocation", time: time(3), invocationId: "i2" })}\n`,
    );
    const ids = async (query: Parameters<typeof readAuditLog>[1]) => {
      const out: string[] = [];
      for await (const next of readAuditLog(l.directory, query)) out.push(next.id);
      return out;
    };
    expect(await ids(undefined)).toStrictEqual(["e0", "e1", "e2", "e3"]);
    expect(await ids({ agent: "a" })).toStrictEqual(["e0", "e2"]);
    expect(await ids({ tool: "t" })).toStrictEqual(["e0"]);
    expect(await ids({ type: "decision" })).toStrictEqual(["e0", "e1"]);
    expect(await ids({ allowed: true })).toStrictEqual(["e0"]);
    expect(await ids({ allowed: false })).toStrictEqual(["e1"]);
    expect(await ids({ invocationId: "i2" })).toStrictEqual(["e3"]);
    expect(await ids({ from: time(1) })).toStrictEqual(["e1", "e2", "e3"]);
    expect(await ids({ to: time(2) })).toStrictEqual(["e0", "e1"]);
    expect(await ids({ from: time(1), to: time(3), agent: "a" })).toStrictEqual(["e2"]);
    expect(await ids({ agent: "a", type: "outcome", tool: "u" })).toStrictEqual(["e2"]);
    expect(await ids({ agent: "nobody" })).toStrictEqual([]);
    // A log directory that does not exist has no records.
    expect(
      await (async () => {
        const out: string[] = [];
        for await (const next of readAuditLog(join(l.root, "none"))) out.push(next.id);
        return out;
      })(),
    ).toStrictEqual([]);
  });
});

describe("verifyAuditChains", () => {
  it("K83: the log's own chain and each writer's, each against its own checkpoint", async () => {
    const primary = log();
    const writers = join(primary.directory, WRITERS_DIRECTORY);
    const w1 = log({ directory: join(writers, "cli-alice") });
    const w2 = log({ directory: join(writers, "cli-bob") });
    // The writers' chains keep their checkpoints at the default place of the default key.
    process.env[CHECKPOINT_KEY_FILE_ENV] = primary.keyPath;
    const records = chain(2);
    for (const chainLog of [primary, w1, w2]) chainLog.write(records);
    primary.checkpoint(records);
    for (const writer of [w1, w2]) {
      const path = defaultCheckpointPath(writer.directory);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(
        path,
        primary.key.signCheckpoint({ origin: writer.origin, size: 2, root: rootOf(records) }),
      );
    }
    // A file under writers/ is not a chain.
    writeFileSync(join(writers, "notes.txt"), "");
    const results = await verifyAuditChains(primary.directory, {
      checkpointPath: primary.checkpointPath,
    });
    expect(results).toStrictEqual([
      { writer: "primary", chain: primary.directory, ...okWriter(2) },
      { writer: "cli-alice", chain: w1.directory, ...okWriter(2) },
      { writer: "cli-bob", chain: w2.directory, ...okWriter(2) },
    ]);
    // The checkpoint given is only the log's own chain's.
    writeFileSync(primary.checkpointPath, "garbage\n");
    expect(
      (await verifyAuditChains(primary.directory, { checkpointPath: primary.checkpointPath })).map(
        (result) => result.check,
      ),
    ).toStrictEqual(["checkpoint", undefined, undefined]);
  });

  it("K77: with a witness, every chain's log and what a writer recovered are accounted for", async () => {
    const primary = log();
    const writers = join(primary.directory, WRITERS_DIRECTORY);
    const w1 = log({ directory: join(writers, "cli-alice") });
    process.env[CHECKPOINT_KEY_FILE_ENV] = primary.keyPath;
    const plain = chain(2);
    const recovering = chain(2, (seq) =>
      seq === 0
        ? `"type":"log_recovered","details":{"previousOrigin":"agentgate.dev/audit/old"}`
        : `"id":"e1"`,
    );
    primary.write(plain);
    primary.checkpoint(plain);
    w1.write(recovering);
    const cosigned = new Map([
      [primary.origin, primary.cosign(plain)],
      [
        w1.origin,
        formatNote({
          body: formatCheckpoint({ origin: w1.origin, size: 2, root: rootOf(recovering) }),
          signatures: [
            cosignNoteBody(
              formatCheckpoint({ origin: w1.origin, size: 2, root: rootOf(recovering) }),
              primary.witness.name,
              primary.witness.privateKey,
              1_767_000_000,
            ),
          ],
        }),
      ],
    ]);
    const held = [primary.origin, w1.origin, "agentgate.dev/audit/old"];
    const witness = fakeWitness(
      (origin) => cosigned.get(origin),
      () => held,
    );
    const results = await verifyAuditChains(primary.directory, {
      checkpointPath: primary.checkpointPath,
      witness,
      witnessKey: primary.witness.vkey,
    });
    expect(results.map(({ writer, ok, check }) => ({ writer, ok, check }))).toStrictEqual([
      { writer: "primary", ok: true, check: undefined },
      { writer: "cli-alice", ok: true, check: undefined },
    ]);
    // Without the recovered log in the writer's chain, the old log is missing from both.
    w1.write(plain);
    cosigned.set(
      w1.origin,
      formatNote({
        body: formatCheckpoint({ origin: w1.origin, size: 2, root: rootOf(plain) }),
        signatures: [
          cosignNoteBody(
            formatCheckpoint({ origin: w1.origin, size: 2, root: rootOf(plain) }),
            primary.witness.name,
            primary.witness.privateKey,
            1_767_000_000,
          ),
        ],
      }),
    );
    const again = await verifyAuditChains(primary.directory, {
      checkpointPath: primary.checkpointPath,
      witness,
      witnessKey: primary.witness.vkey,
    });
    expect(again.map(({ writer, ok, check }) => ({ writer, ok, check }))).toStrictEqual([
      { writer: "primary", ok: false, check: "witness" },
      { writer: "cli-alice", ok: false, check: "witness" },
    ]);
  });
});
