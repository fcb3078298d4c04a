import { hash as digest } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AuditRecord } from "../audit/audit-event.js";
import {
  cosignedCheckpoint,
  cosignedPath,
  defaultCheckpointPath,
  readOptional,
  type TrustedCheckpoint,
  writerCheckpoint,
} from "./audit-checkpoints.js";
import { GENESIS_HASH, listSegments, scanSegments, splitRecordLine } from "./audit-segments.js";
import { CHECKPOINT_KEY_ENV, CheckpointKey, defaultCheckpointKeyPath } from "./checkpoint-key.js";
import { CompactRange } from "./merkle-tree.js";
import { auditOrigin } from "./tlog-checkpoint.js";
import type { WitnessClient } from "./witness/witness-client.js";

/** What `audit verify` says of a log that no witness anchors. */
export const NOT_ANCHORED = "not anchored: anyone who can write this directory can rewrite it";

/** Options of {@link verifyAuditLog}. */
export interface VerifyAuditLogOptions {
  /** The writer's newest checkpoint. Default: {@link defaultCheckpointPath} of the directory. */
  readonly checkpointPath?: string;
  /**
   * The writer's checkpoint public key: a key file, a public JWK or base64 of the raw key.
   * Default: the public part of the default checkpoint key file. Auditors should pin the key
   * they were given rather than trust the one on the writer's host.
   */
  readonly checkpointKey?: string | { x: string };
  /**
   * The witness's verifier key (`vkey`). When given, the log must match the latest checkpoint
   * that witness cosigned, and a log without one fails unless `allowUnanchored`.
   */
  readonly witnessKey?: string;
  /** Where to ask for the latest cosigned checkpoint (and every log the witness holds). */
  readonly witness?: WitnessClient;
  /** A cosigned checkpoint note to check against, instead of the witness or the local copy. */
  readonly cosigned?: string;
  /** With `witnessKey`: a log without a cosigned checkpoint is checked as not anchored. */
  readonly allowUnanchored?: boolean;
  /**
   * Logs the witness may hold that are accounted for elsewhere: the origins of the other chains
   * of the same log (each writer's, see {@link verifyAuditChains}) and what they recovered.
   * Every other log the witness holds must be this one or recovered by it (K77).
   */
  readonly otherLogs?: readonly string[];
}

/** The result of {@link verifyAuditLog}. */
export interface AuditVerification {
  readonly ok: boolean;
  /** Whole records that check. */
  readonly records: number;
  /** The first sequence number that does not check, when `ok` is false and it is known. */
  readonly firstBadSeq?: number;
  readonly reason?: string;
  /** Which check failed: `record`, `chain`, `sequence`, `torn`, `checkpoint`, `log_id`, `cut`, `rewritten`, `witness`. */
  readonly check?: string;
  /** True when a witness's cosignature covers the log (and was checked). */
  readonly anchored: boolean;
  /** Said plainly when the log is not anchored ({@link NOT_ANCHORED}). */
  readonly notice?: string;
  /** The checkpoint the log was checked against: the cosigned one when there is one. */
  readonly checkpoint?: {
    readonly size: number;
    /** Same as `size` (the number of records the checkpoint covers). */
    readonly seq: number;
    readonly verified: boolean;
    readonly signedBy: "writer" | "witness";
    /** ISO 8601 time of the witness's cosignature. */
    readonly time?: string;
  };
  /** Records newer than that checkpoint: the ones that could still vanish undetected (K81). */
  readonly unanchoredRecords?: number;
  /** Logs a recovery replaced, as recorded in this log's `log_recovered` events. */
  readonly recovered?: readonly string[];
}

interface Anchor extends TrustedCheckpoint {
  readonly source: "writer" | "witness";
}

const PREFIX = /^\{"seq":(0|[1-9][0-9]*),"prev":"([0-9a-f]{64})"/;

/**
 * Verifies a log directory end to end, streaming (constant memory, whatever the size): every
 * record's hash over its exact bytes, the chain of `prev` hashes, consecutive sequence numbers
 * across segments, the Merkle tree's root against the checkpoints (the writer's, signed with
 * its key, and the witness's latest cosigned one when a witness key is given: signature, log id,
 * that the log still reaches it, and with the same root). Reports the first bad sequence number
 * and why: an edited field, a deleted event, two swapped events, a fork, a torn record, a cut
 * tail, a rewritten history, a missing checkpoint (SECURITY.md E40, K77–K79). Never throws
 * for a bad log.
 *
 * @example
 * ```ts
 * const result = await verifyAuditLog(".agentgate/audit", { witnessKey, witness });
 * if (!result.ok) console.error(`audit log broken at #${result.firstBadSeq}: ${result.reason}`);
 * ```
 */
export async function verifyAuditLog(
  directory: string,
  options: VerifyAuditLogOptions = {},
): Promise<AuditVerification> {
  const logId = readLogId(directory);
  const origin = logId === undefined ? undefined : auditOrigin(logId);
  const checkpointPath = options.checkpointPath ?? defaultCheckpointPath(directory);
  const anchors: Anchor[] = [];
  let anchorFailure: { check: string; reason: string } | undefined;

  // The writer's checkpoint: required unless a cosigned one anchors the log.
  const writerText = readOptional(checkpointPath);
  if (writerText !== undefined) {
    const key = writerKey(options.checkpointKey);
    const checked = key === undefined ? undefined : writerCheckpoint(writerText, key);
    if (checked === undefined)
      anchorFailure = { check: "checkpoint", reason: "the checkpoint's signature does not check" };
    else anchors.push({ ...checked, source: "writer" });
  }
  let cosigned: Anchor | undefined;
  if (options.witnessKey !== undefined) {
    let text = options.cosigned;
    if (text === undefined && options.witness !== undefined && origin !== undefined) {
      try {
        text = await options.witness.latest(origin);
      } catch (error) {
        anchorFailure ??= {
          check: "witness",
          reason: `the witness is unreachable: ${(error as Error).message}`,
        };
      }
    } else if (text === undefined && options.witness === undefined) {
      text = readOptional(cosignedPath(checkpointPath));
    }
    if (text !== undefined) {
      const checked = cosignedCheckpoint(text, options.witnessKey);
      if (checked === undefined)
        anchorFailure ??= {
          check: "witness",
          reason: "the cosigned checkpoint does not verify with the witness's key",
        };
      else {
        cosigned = { ...checked, source: "witness" };
        anchors.push(cosigned);
      }
    }
  }

  const sizes = new Set(anchors.map((anchor) => anchor.size));
  const roots = new Map<number, Buffer>();
  const tree = new CompactRange();
  const recovered: string[] = [];
  if (sizes.has(0)) roots.set(0, tree.root());
  let expected = 0;
  let prev = GENESIS_HASH;
  let broken: AuditVerification | undefined;
  const fail = (check: string, reason: string, seq: number | undefined = expected) => {
    broken = {
      ok: false,
      records: expected,
      ...(seq === undefined ? {} : { firstBadSeq: seq }),
      reason,
      check,
      anchored: false,
    };
    return false;
  };

  scanSegments(
    directory,
    (line) => {
      const split = splitRecordLine(line);
      const prefix = PREFIX.exec(line);
      if (split === undefined || prefix === null)
        return fail("record", "a record has no well-formed sequence number, link or hash");
      const seq = Number(prefix[1]);
      if (seq !== expected) {
        return seq < expected
          ? fail(
              "sequence",
              `sequence ${seq} appears again after ${expected - 1} (reordered or forked)`,
            )
          : fail(
              "sequence",
              `sequence jumps from ${expected - 1} to ${seq} (records deleted or reordered)`,
            );
      }
      if (digest("sha256", `\u0000${split.body}`, "hex") !== split.hash)
        return fail("record", `record ${expected} was edited`);
      if (prefix[2] !== prev)
        return fail("chain", `record ${expected} does not chain to record ${expected - 1}`);
      if (line.includes('"type":"log_recovered"')) {
        const previous = (JSON.parse(line) as { details?: { previousOrigin?: unknown } }).details
          ?.previousOrigin;
        if (typeof previous === "string") recovered.push(previous);
      }
      prev = split.hash;
      tree.append(Buffer.from(split.hash, "hex"));
      expected++;
      if (sizes.has(expected)) roots.set(expected, tree.root());
      return true;
    },
    (segment) => {
      fail("torn", `record ${expected} is torn (incomplete at the end of ${segment})`);
    },
  );
  if (broken !== undefined) return broken;

  const records = expected;
  const failWith = (
    check: string,
    reason: string,
    firstBadSeq?: number,
    anchor?: Anchor,
  ): AuditVerification => ({
    ok: false,
    records,
    ...(firstBadSeq === undefined ? {} : { firstBadSeq }),
    reason,
    check,
    anchored: false,
    ...(anchor === undefined ? {} : { checkpoint: summary(anchor, false) }),
  });
  if (anchorFailure !== undefined) return failWith(anchorFailure.check, anchorFailure.reason);
  if (
    options.witnessKey !== undefined &&
    cosigned === undefined &&
    options.allowUnanchored !== true
  )
    return failWith(
      "witness",
      "no checkpoint cosigned by the witness covers this log (--allow-unanchored checks it as not anchored)",
    );
  if (anchors.length === 0)
    return failWith(
      "checkpoint",
      "no signed checkpoint: a log without one cannot be told from a cut or rewritten one",
    );
  for (const anchor of anchors) {
    if (anchor.origin !== origin)
      return failWith(
        "log_id",
        `the ${anchor.source}'s checkpoint is of another log (${anchor.origin}, this is ${origin ?? "a log without log.json"})`,
        undefined,
        anchor,
      );
    if (records < anchor.size)
      return failWith(
        "cut",
        `the log ends at ${records - 1} but the ${anchor.source}'s checkpoint covers ${anchor.size - 1} (tail cut)`,
        records,
        anchor,
      );
    const root = roots.get(anchor.size);
    if (root === undefined || !root.equals(anchor.root))
      return failWith(
        "rewritten",
        `the first ${anchor.size} records differ from those the ${anchor.source} signed (history rewritten)`,
        undefined,
        anchor,
      );
  }
  if (options.witness !== undefined && options.witnessKey !== undefined) {
    let origins: string[] = [];
    try {
      origins = await options.witness.origins();
    } catch (error) {
      return failWith("witness", `the witness is unreachable: ${(error as Error).message}`);
    }
    const here = new Set([...(options.otherLogs ?? []), ...recovered]);
    const missing = origins.filter((other) => other !== origin && !here.has(other));
    if (missing.length > 0)
      return failWith(
        "witness",
        `the witness holds checkpoints of ${missing.length} log(s) not here and not recorded as recovered (${missing.slice(0, 3).join(", ")}): deleted?`,
      );
  }
  const best = cosigned ?? (anchors.reduce((a, b) => (b.size > a.size ? b : a)) as Anchor);
  return {
    ok: true,
    records,
    anchored: cosigned !== undefined,
    ...(cosigned === undefined ? { notice: NOT_ANCHORED } : {}),
    checkpoint: summary(best, true),
    unanchoredRecords: records - best.size,
    ...(recovered.length > 0 ? { recovered } : {}),
  };
}

function summary(anchor: Anchor, verified: boolean): NonNullable<AuditVerification["checkpoint"]> {
  return {
    size: anchor.size,
    seq: anchor.size,
    verified,
    signedBy: anchor.source,
    ...(anchor.cosignedAt === undefined
      ? {}
      : { time: new Date(anchor.cosignedAt * 1000).toISOString() }),
  };
}

/** The pinned key, else the environment's, else the public part of the default key file. */
function writerKey(key: VerifyAuditLogOptions["checkpointKey"]): Buffer | undefined {
  try {
    if (key === undefined && (process.env[CHECKPOINT_KEY_ENV] ?? "") !== "")
      return CheckpointKey.load().publicKey;
    return CheckpointKey.publicFrom(key ?? defaultCheckpointKeyPath()).publicKey;
  } catch {
    return undefined;
  }
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

/** The log id of the chain in `directory` (its `log.json`), when it has one. */
export function readLogId(directory: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(directory, "log.json"), "utf8")) as { id: string }).id;
  } catch {
    return undefined;
  }
}
