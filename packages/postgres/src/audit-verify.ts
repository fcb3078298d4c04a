import { hash as digest } from "node:crypto";
import { AgentGateError, type AuditEvent } from "@agentgate/core";
import {
  type AuditInclusionProof,
  CheckpointKey,
  CompactRange,
  cosignedCheckpoint,
  inclusionProof,
  writerCheckpoint,
} from "@agentgate/core/node";
import type pg from "pg";
import { GENESIS_HASH } from "./audit-log.js";

/** One chain's verification. */
export interface PostgresChainVerification {
  /** The writer's id. */
  readonly writer: string;
  readonly ok: boolean;
  /** The records checked. */
  readonly records: number;
  /** The checkpoints whose signature and root were checked. */
  readonly checkpoints: number;
  /** The size of the newest checkpoint the witness cosigned (with `witnessKey`), else 0. */
  readonly anchoredSize: number;
  /** What is wrong, when not ok. */
  readonly problems: readonly string[];
}

/** Options of {@link verifyPostgresAudit}. */
export interface VerifyPostgresAuditOptions {
  /** The witness's verifier key: cosigned checkpoints are checked with it. */
  readonly witnessKey?: string;
  /**
   * The writers' checkpoint public key(s) you trust. Default: the key each chain recorded when
   * it was created (which a database administrator could replace; the witness anchors against that).
   */
  readonly checkpointKeys?: readonly string[];
}

interface RecordRow {
  seq: string;
  hash: string;
  record: string;
}

/**
 * Verifies every audit chain in the database (SECURITY.md K77–K83 on PostgreSQL): each record's
 * hash over its bytes, its sequence number and link to the one before, no gap; each checkpoint's
 * signature by the chain's key and its root against the records; with `witnessKey`, the
 * witness's cosignature of the newest cosigned one. Reads in pages of 10,000 records.
 */
export async function verifyAuditTables(
  pool: pg.Pool,
  schema: string,
  options: VerifyPostgresAuditOptions = {},
): Promise<PostgresChainVerification[]> {
  const chains = await pool.query<{ writer: string; public_key: string }>(
    `select writer, public_key from ${schema}.audit_chains order by writer`,
  );
  const results: PostgresChainVerification[] = [];
  for (const chain of chains.rows) {
    const problems: string[] = [];
    const checkpoints = await pool.query<{ size: string; note: string; cosigned: string | null }>(
      `select size, note, cosigned from ${schema}.audit_checkpoints where writer = $1 order by size`,
      [chain.writer],
    );
    const sizes = new Map<number, { note: string; cosigned: string | null }>();
    for (const row of checkpoints.rows) sizes.set(Number(row.size), row);
    const tree = new CompactRange();
    const roots = new Map<number, Buffer>();
    if (sizes.has(0)) roots.set(0, tree.root());
    let prev = GENESIS_HASH;
    for (let from = 0; ; ) {
      const page = await pool.query<RecordRow>(
        `select seq, hash, record from ${schema}.audit_records where writer = $1 and seq >= $2 order by seq limit 10000`,
        [chain.writer, from],
      );
      for (const row of page.rows) {
        const seq = Number(row.seq);
        if (seq !== tree.size) problems.push(`record ${tree.size} is missing (next is ${seq})`);
        const problem = checkRecord(row.record, seq, prev, row.hash);
        if (problem !== undefined) problems.push(`record ${seq}: ${problem}`);
        const leaf = Buffer.from(row.hash, "hex");
        tree.append(leaf);
        prev = row.hash;
        if (sizes.has(tree.size)) roots.set(tree.size, tree.root());
      }
      if (page.rows.length < 10000 || problems.length > 100) break;
      from = Number(page.rows.at(-1)?.seq ?? 0) + 1;
    }
    const keys = (options.checkpointKeys ?? [chain.public_key]).map(
      (key) => CheckpointKey.publicFrom(key).publicKey,
    );
    let checked = 0;
    let anchoredSize = 0;
    for (const [size, row] of sizes) {
      const signed = keys
        .map((key) => writerCheckpoint(row.note, key))
        .find((checkpoint) => checkpoint !== undefined);
      if (signed === undefined) {
        problems.push(`the checkpoint of size ${size} is not signed by the chain's key`);
        continue;
      }
      const root = roots.get(size);
      if (size > tree.size)
        problems.push(
          `a checkpoint of ${size} was signed but ${tree.size} records remain: records were cut`,
        );
      else if (root === undefined || !root.equals(signed.root))
        problems.push(`the first ${size} records differ from those the checkpoint signed`);
      checked++;
      if (row.cosigned !== null && options.witnessKey !== undefined) {
        const cosigned = cosignedCheckpoint(row.cosigned, options.witnessKey);
        if (
          cosigned === undefined ||
          cosigned.size !== size ||
          root === undefined ||
          !cosigned.root.equals(root)
        )
          problems.push(
            `the cosigned checkpoint of size ${size} does not verify with the witness's key`,
          );
        else anchoredSize = Math.max(anchoredSize, size);
      }
    }
    results.push({
      writer: chain.writer,
      ok: problems.length === 0,
      records: tree.size,
      checkpoints: checked,
      anchoredSize,
      problems,
    });
  }
  return results;
}

/** Why a stored record does not check, or undefined. */
function checkRecord(record: string, seq: number, prev: string, hash: string): string | undefined {
  const suffix = `,"hash":"${hash}"}`;
  if (!record.endsWith(suffix)) return "its stored hash is not the one in the record";
  const body = `${record.slice(0, -suffix.length)}}`;
  if (digest("sha256", `\u0000${body}`, "hex") !== hash) return "edited (its hash does not match)";
  const head = `{"seq":${seq},"prev":"${prev}"`;
  if (!body.startsWith(head)) return "its sequence number or link to the previous record is wrong";
  return undefined;
}

/** The events of one chain, in order (the record's own `seq`, `prev` and `hash` removed). */
export async function readAuditTable(
  pool: pg.Pool,
  schema: string,
  writer: string,
): Promise<AuditEvent[]> {
  const rows = await pool.query<{ record: string }>(
    `select record from ${schema}.audit_records where writer = $1 order by seq`,
    [writer],
  );
  return rows.rows.map((row) => {
    const {
      seq: _seq,
      prev: _prev,
      hash: _hash,
      ...event
    } = JSON.parse(row.record) as Record<string, unknown>;
    return event as unknown as AuditEvent;
  });
}

/**
 * The RFC 9162 inclusion proof of record `seq` of `writer`'s chain against its newest cosigned
 * checkpoint covering it (else its newest signed one): the format `verifyAuditProof` checks.
 */
export async function proveAuditRow(
  pool: pg.Pool,
  schema: string,
  writer: string,
  seq: number,
): Promise<AuditInclusionProof> {
  const checkpoint = await pool.query<{ size: string; note: string; cosigned: string | null }>(
    `select size, note, cosigned from ${schema}.audit_checkpoints where writer = $1 and size > $2
     order by (cosigned is not null) desc, size desc limit 1`,
    [writer, seq],
  );
  const row = checkpoint.rows[0];
  if (row === undefined || !Number.isSafeInteger(seq) || seq < 0) {
    throw new AgentGateError(
      "audit_unavailable",
      `Record ${seq} of "${writer}" is not covered by a checkpoint yet; wait for the next one.`,
      { details: { check: "size" } },
    );
  }
  const size = Number(row.size);
  const leaves = await pool.query<{ hash: string; record: string | null }>(
    `select hash, case when seq = $3 then record end as record from ${schema}.audit_records
     where writer = $1 and seq < $2 order by seq`,
    [writer, size, seq],
  );
  const hashes = leaves.rows.map((leaf) => Buffer.from(leaf.hash, "hex"));
  const proof = inclusionProof(
    (start, span) => (span === 1 ? hashes[start] : undefined),
    seq,
    size,
  );
  return {
    format: "agentgate-audit-inclusion/v1",
    index: seq,
    record: leaves.rows[seq]?.record ?? "",
    treeSize: size,
    proof: proof.map((hash) => hash.toString("base64")),
    checkpoint: row.cosigned ?? row.note,
  };
}
