import { hash as digest } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentGateError } from "../errors.js";
import {
  cosignedCheckpoint,
  cosignedPath,
  defaultCheckpointPath,
  readOptional,
  type TrustedCheckpoint,
  writerCheckpoint,
} from "./audit-checkpoints.js";
import { scanSegments, splitRecordLine } from "./audit-segments.js";
import { CheckpointKey } from "./checkpoint-key.js";
import { CompactRange, inclusionProof, verifyInclusion } from "./merkle-tree.js";
import { parseNote } from "./signed-note.js";
import { auditOrigin, parseCheckpoint } from "./tlog-checkpoint.js";
import type { WitnessClient } from "./witness/witness-client.js";

/**
 * An RFC 9162 inclusion proof of one audit record: everything an auditor needs, with the
 * witness's public key, to check that this exact event is in the log the witness cosigned,
 * without the rest of the log.
 */
export interface AuditInclusionProof {
  readonly format: "agentgate-audit-inclusion/v1";
  /** The record's sequence number: its leaf index. */
  readonly index: number;
  /** The record exactly as stored (one JSON line, without the newline). */
  readonly record: string;
  /** The size of the tree the proof is against (= the checkpoint's size). */
  readonly treeSize: number;
  /** Sibling hashes from the leaf up, base64. */
  readonly proof: readonly string[];
  /** The checkpoint note (cosigned by the witness when there is one). */
  readonly checkpoint: string;
}

/** Options of {@link proveAuditRecord}. */
export interface ProveAuditRecordOptions {
  /** The checkpoint note to prove against. Default: the witness's latest, else the local copy. */
  readonly checkpoint?: string;
  /** Where to ask for the latest cosigned checkpoint. */
  readonly witness?: WitnessClient;
  /** The writer's checkpoint file. Default: {@link defaultCheckpointPath}. */
  readonly checkpointPath?: string;
}

/**
 * Builds the inclusion proof of record `seq` against the newest cosigned checkpoint (or the one
 * given). Reads the leaf hashes once (32 bytes per record in memory). Rejects with
 * `audit_unavailable` (`details.check`) when the record is not covered by the checkpoint yet,
 * or the log no longer matches it.
 */
export async function proveAuditRecord(
  directory: string,
  seq: number,
  options: ProveAuditRecordOptions = {},
): Promise<AuditInclusionProof> {
  const origin = auditOrigin(
    (JSON.parse(readFileSync(join(directory, "log.json"), "utf8")) as { id: string }).id,
  );
  const checkpointPath = options.checkpointPath ?? defaultCheckpointPath(directory);
  const note =
    options.checkpoint ??
    (options.witness === undefined ? undefined : await options.witness.latest(origin)) ??
    readOptional(cosignedPath(checkpointPath)) ??
    readOptional(checkpointPath);
  if (note === undefined)
    throw new AgentGateError("audit_unavailable", "No checkpoint to prove against.", {
      details: { check: "checkpoint" },
    });
  const head = parseCheckpoint(parseNote(note).body);
  if (head.origin !== origin)
    throw new AgentGateError(
      "audit_unavailable",
      `The checkpoint is of another log (${head.origin}).`,
      {
        details: { check: "log_id" },
      },
    );
  if (!(Number.isSafeInteger(seq) && seq >= 0 && seq < head.size)) {
    throw new AgentGateError(
      "audit_unavailable",
      `Record ${seq} is not covered by the checkpoint (${head.size} records); wait for the next one.`,
      { details: { check: "size", treeSize: head.size } },
    );
  }
  const leaves = Buffer.alloc(head.size * 32);
  const tree = new CompactRange();
  let record = "";
  scanSegments(directory, (line) => {
    const split = splitRecordLine(line);
    if (split === undefined) return false;
    if (tree.size === seq) record = line;
    const leaf = Buffer.from(split.hash, "hex");
    leaf.copy(leaves, tree.size * 32);
    tree.append(leaf);
    return tree.size < head.size;
  });
  if (tree.size < head.size || !tree.root().equals(head.root)) {
    throw new AgentGateError(
      "audit_unavailable",
      "The log does not match the checkpoint; run `agentgate audit verify`.",
      { details: { check: "rewritten" } },
    );
  }
  const proof = inclusionProof(
    (start, size) => (size === 1 ? leaves.subarray(start * 32, start * 32 + 32) : undefined),
    seq,
    head.size,
  );
  return {
    format: "agentgate-audit-inclusion/v1",
    index: seq,
    record,
    treeSize: head.size,
    proof: proof.map((hash) => hash.toString("base64")),
    checkpoint: note,
  };
}

/** Options of {@link verifyAuditProof}: the key the checkpoint must be signed with. */
export interface VerifyAuditProofOptions {
  /** The witness's verifier key (`vkey`): the checkpoint must carry its cosignature. */
  readonly witnessKey?: string;
  /** Or the writer's checkpoint public key (not anchored: the writer could have re-signed). */
  readonly checkpointKey?: string | { x: string };
  /** The event as the auditor holds it (a stored record line); default: the proof's copy. */
  readonly record?: string;
}

/** The result of {@link verifyAuditProof}. */
export interface AuditProofVerification {
  readonly ok: boolean;
  readonly reason?: string;
  readonly seq?: number;
  /** True when the checkpoint's cosignature by the witness was checked. */
  readonly anchored: boolean;
}

/**
 * Checks an inclusion proof with nothing but the proof, the event and a key: the record's hash
 * over its bytes, its sequence number as leaf index, the checkpoint's signature (the witness's
 * cosignature with `witnessKey`), and the RFC 9162 audit path up to the checkpoint's root.
 * Never throws.
 */
export function verifyAuditProof(
  proof: AuditInclusionProof,
  options: VerifyAuditProofOptions,
): AuditProofVerification {
  const fail = (reason: string, anchored = false): AuditProofVerification => ({
    ok: false,
    reason,
    anchored,
  });
  const record = (options.record ?? proof.record).replace(/\n$/, "");
  const split = splitRecordLine(record);
  const seq = /^\{"seq":(0|[1-9][0-9]*),/.exec(record)?.[1];
  if (split === undefined || seq === undefined) return fail("the event is not an audit record");
  const leaf = digest("sha256", `\u0000${split.body}`, "buffer");
  if (leaf.toString("hex") !== split.hash)
    return fail("the event was edited (its hash does not match)");
  if (Number(seq) !== proof.index)
    return fail("the event's sequence number is not the proof's index");
  let checkpoint: TrustedCheckpoint | undefined;
  let anchored = false;
  if (options.witnessKey !== undefined) {
    checkpoint = cosignedCheckpoint(proof.checkpoint, options.witnessKey);
    if (checkpoint === undefined)
      return fail("the checkpoint carries no valid cosignature of that witness");
    anchored = true;
  } else if (options.checkpointKey !== undefined) {
    let key: Buffer;
    try {
      key = CheckpointKey.publicFrom(options.checkpointKey).publicKey;
    } catch {
      return fail("the checkpoint key is not an Ed25519 public key");
    }
    checkpoint = writerCheckpoint(proof.checkpoint, key);
    if (checkpoint === undefined) return fail("the checkpoint is not signed by that key");
  } else {
    return fail("no key to check the checkpoint with (give the witness's key)");
  }
  if (checkpoint.size !== proof.treeSize)
    return fail("the proof is for another tree size", anchored);
  let path: Buffer[];
  try {
    path = proof.proof.map((hash) => Buffer.from(hash, "base64"));
  } catch {
    return fail("the proof is malformed", anchored);
  }
  if (!verifyInclusion(leaf, proof.index, checkpoint.size, path, checkpoint.root))
    return fail("the audit path does not lead to the checkpoint's root", anchored);
  return { ok: true, seq: proof.index, anchored };
}
