import { hash as digest } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AuditRecord } from "../audit/audit-event.js";
import { GENESIS_HASH, listSegments, splitRecordLine } from "./audit-segments.js";
import { type AuditCheckpoint, CheckpointKey } from "./checkpoint-key.js";

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /** The newest checkpoint. Default `<directory>.checkpoint.json`. */
  readonly checkpointPath?: string;
  /**
   * The checkpoint public key: a key file or a public JWK. Default `<directory>.checkpoint-key.json`.
   * Auditors should pin the key they were given rather than trust the one beside the log.
   */
  readonly checkpointKey?: string | { x: string };
}

/** The result of {@link verifyAuditLog}. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Whole records that check. */
  readonly records: number;
  /** The first sequence number that does not check, when `ok` is false. */
  readonly firstBadSeq?: number;
  readonly reason?: string;
  /** The checkpoint that was checked, if any. */
  readonly checkpoint?: { readonly seq: number; readonly time: string; readonly verified: boolean };
}

/**
 * Verifies a log directory end to end: every record's hash over its exact bytes, the chain of
 * `prev` hashes, consecutive sequence numbers across segments, and the newest signed checkpoint
 * (signature, log id, and that the log still reaches it with the same hash). Reports the first
 * bad sequence number and why: an edited field, a deleted event, two swapped events, a fork, a
 * torn record or a cut tail (SECURITY.md E40). Never throws for a bad log; rejects only when
 * the directory cannot be read.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog(".agentgate/audit");
 * if (!result.ok) console.error(`audit log broken at #${result.firstBadSeq}: ${result.reason}`);
 * ```
 */
export async function verifyAuditLog(
  directory: string,
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerification> {
  const checkpoint = readCheckpoint(options.checkpointPath ?? `${directory}.checkpoint.json`);
  const logId = readLogId(directory);
  let expected = 0;
  let prev = GENESIS_HASH;
  let hashAtCheckpoint: string | undefined;
  const fail = (reason: string, seq = expected): AuditVerification => ({
    ok: false,
    records: expected,
    firstBadSeq: seq,
    reason,
  });

  for (const segment of listSegments(directory)) {
    const text = readFileSync(segment, "utf8");
    if (text.length > 0 && !text.endsWith("\n"))
      return fail(`a torn record at the end of ${segment}`);
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const split = splitRecordLine(line);
      let record: Partial<AuditRecord>;
      try {
        record = JSON.parse(line) as Partial<AuditRecord>;
      } catch {
        return fail("a record is not JSON");
      }
      if (split === undefined || record.hash !== split.hash)
        return fail("a record has no well-formed hash");
      if (record.seq !== expected) {
        return typeof record.seq === "number" && record.seq < expected
          ? fail(`sequence ${record.seq} appears again after ${expected - 1} (reordered or forked)`)
          : fail(
              `sequence jumps from ${expected - 1} to ${String(record.seq)} (records deleted or reordered)`,
            );
      }
      if (digest("sha256", split.body, "hex") !== split.hash)
        return fail(`record ${expected} was edited`);
      if (record.prev !== prev)
        return fail(`record ${expected} does not chain to record ${expected - 1}`);
      prev = split.hash;
      expected++;
      if (checkpoint !== undefined && expected === checkpoint.seq) hashAtCheckpoint = split.hash;
    }
  }

  if (checkpoint === undefined) return { ok: true, records: expected };
  const key = checkpointKeyOf(directory, options.checkpointKey);
  const verified = key !== undefined && checkpoint.log === logId && key.verify(checkpoint);
  const summary = { seq: checkpoint.seq, time: checkpoint.time, verified };
  if (!verified)
    return {
      ...fail("the checkpoint's signature or log id does not check", expected),
      checkpoint: summary,
    };
  if (expected < checkpoint.seq) {
    return {
      ...fail(
        `the log ends at ${expected - 1} but a checkpoint covers ${checkpoint.seq - 1} (tail cut)`,
        expected,
      ),
      checkpoint: summary,
    };
  }
  if (hashAtCheckpoint !== checkpoint.hash) {
    return {
      ...fail(
        `record ${checkpoint.seq - 1} differs from the checkpointed one (history rewritten)`,
        checkpoint.seq - 1,
      ),
      checkpoint: summary,
    };
  }
  return { ok: true, records: expected, checkpoint: summary };
}

/** Filters of {@link readAuditLog}; all optional, all must match. */
export interface AuditQuery {
  readonly agent?: string;
  readonly tool?: string;
  readonly type?: AuditRecord["type"];
  /** Only decisions (and checks) with this outcome. */
  readonly allowed?: boolean;
  readonly invocationId?: string;
  /** ISO 8601, inclusive. */
  readonly from?: string;
  /** ISO 8601, exclusive. */
  readonly to?: string;
}

/**
 * Streams the records of a log directory, oldest first, that match `query`. Reads line by line,
 * so a large log costs constant memory. Does not verify: run {@link verifyAuditLog} for that.
 */
export async function* readAuditLog(
  directory: string,
  query: AuditQuery = {},
): AsyncGenerator<AuditRecord> {
  const from = query.from === undefined ? undefined : Date.parse(query.from);
  const to = query.to === undefined ? undefined : Date.parse(query.to);
  for (const segment of listSegments(directory)) {
    const lines = createInterface({
      input: createReadStream(segment, "utf8"),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      if (line === "") continue;
      let record: AuditRecord;
      try {
        record = JSON.parse(line) as AuditRecord;
      } catch {
        continue;
      }
      if (query.agent !== undefined && record.agent !== query.agent) continue;
      if (query.tool !== undefined && record.tool?.name !== query.tool) continue;
      if (query.type !== undefined && record.type !== query.type) continue;
      if (query.allowed !== undefined && record.decision?.allowed !== query.allowed) continue;
      if (query.invocationId !== undefined && record.invocationId !== query.invocationId) continue;
      const time = Date.parse(record.time);
      if (from !== undefined && time < from) continue;
      if (to !== undefined && time >= to) continue;
      yield record;
    }
  }
}

function readCheckpoint(path: string): AuditCheckpoint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as AuditCheckpoint;
  } catch {
    return { log: "", seq: Number.POSITIVE_INFINITY, hash: "", time: "", kid: "", sig: "" };
  }
}

function readLogId(directory: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(directory, "log.json"), "utf8")) as { id: string }).id;
  } catch {
    return undefined;
  }
}

function checkpointKeyOf(
  directory: string,
  key: VerifyAuditLogOptions["checkpointKey"],
): CheckpointKey | undefined {
  try {
    return CheckpointKey.publicFrom(key ?? `${directory}.checkpoint-key.json`);
  } catch {
    return undefined;
  }
}
