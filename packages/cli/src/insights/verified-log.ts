import type { AuditRecord } from "@agentgate/core";
import {
  type AuditChainVerification,
  auditChains,
  readAuditLog,
  type VerifyAuditChainsOptions,
  verifyAuditChains,
} from "@agentgate/core/node";

/** A record of a verified log, with the chain (writer) it was read from. */
export interface InsightRecord extends AuditRecord {
  /** The writer whose chain holds it: `primary` for the log's own chain. */
  readonly writer: string;
}

/** One chain's integrity, as the dashboard and the evidence pack state it. */
export interface ChainIntegrity {
  /** `primary`, or the writer's id under `writers/`. */
  readonly writer: string;
  readonly ok: boolean;
  /** Records that verify (the chain's trusted prefix). */
  readonly records: number;
  /** The sequence number of the last record that verifies; absent for an empty chain. */
  readonly verifiedThroughSeq?: number;
  /** The first sequence number that does not verify (when broken and known). */
  readonly firstBadSeq?: number;
  /** Why it is broken (`ok: false`). */
  readonly reason?: string;
  /** Which check failed (`record`, `chain`, `cut`, `rewritten`, `witness`, …). */
  readonly check?: string;
  /** A witness's cosignature covers the chain and was checked. */
  readonly anchored: boolean;
  /** What "not anchored" means, when it is not. */
  readonly notice?: string;
  /** The checkpoint the chain was checked against (the cosigned one when there is one). */
  readonly checkpoint?: {
    readonly size: number;
    readonly signedBy: "writer" | "witness";
    /** ISO 8601 time of the witness's cosignature. */
    readonly time?: string;
    /** The witness (its URL, or its key name) when a witness signed. */
    readonly witness?: string;
  };
  /** Records newer than that checkpoint (could still vanish undetected, K81). */
  readonly unanchoredRecords?: number;
}

/** The log as insights read it: every chain verified, and only verified records kept. */
export interface VerifiedLog {
  /** Every chain verifies. */
  readonly ok: boolean;
  /** One entry per chain, the log's own first. */
  readonly chains: readonly ChainIntegrity[];
  /**
   * Records of every chain's verified prefix, in time order (stable within a chain). A broken
   * chain contributes the records before its first bad one only: nothing after it is a fact.
   */
  readonly records: readonly InsightRecord[];
}

/** Options of {@link readVerifiedLog}: those of `verifyAuditChains`, and how to name the witness. */
export interface ReadVerifiedLogOptions extends VerifyAuditChainsOptions {
  /** How to name the witness in {@link ChainIntegrity.checkpoint} (e.g. its URL). */
  readonly witnessName?: string;
}

/**
 * Verifies every chain of the audit log in `directory` (`verifyAuditChains`: hashes, chain,
 * Merkle root against the writer's and the witness's checkpoints) and reads the records each
 * chain's verification vouches for. Never throws for a bad log: a broken chain is reported in
 * `chains` and cut at its first bad record.
 *
 * @example
 * ```ts
 * const log = await readVerifiedLog(".agentgate/audit");
 * if (!log.ok) console.error(log.chains.find((chain) => !chain.ok)?.reason);
 * ```
 */
export async function readVerifiedLog(
  directory: string,
  options: ReadVerifiedLogOptions = {},
): Promise<VerifiedLog> {
  const { witnessName, ...verifyOptions } = options;
  const verifications = await verifyAuditChains(directory, verifyOptions);
  const paths = auditChains(directory);
  const records: InsightRecord[] = [];
  const chains: ChainIntegrity[] = [];
  for (const [index, verification] of verifications.entries()) {
    const trusted = trustedCount(verification);
    const path = verification.chain ?? paths[index];
    if (path !== undefined)
      for await (const record of readAuditLog(path)) {
        if (record.seq >= trusted) break;
        records.push({ ...record, writer: verification.writer });
      }
    chains.push(integrityOf(verification, trusted, witnessName));
  }
  // One trail in time order; Array.prototype.sort is stable, so each chain keeps its order.
  if (chains.length > 1) records.sort((a, b) => a.time.localeCompare(b.time));
  return { ok: chains.every((chain) => chain.ok), chains, records };
}

/** How many leading records of a chain its verification vouches for. */
function trustedCount(verification: AuditChainVerification): number {
  if (verification.ok) return verification.records;
  return Math.min(verification.firstBadSeq ?? verification.records, verification.records);
}

function integrityOf(
  verification: AuditChainVerification,
  trusted: number,
  witnessName: string | undefined,
): ChainIntegrity {
  const checkpoint = verification.checkpoint;
  return {
    writer: verification.writer,
    ok: verification.ok,
    records: trusted,
    ...(trusted > 0 ? { verifiedThroughSeq: trusted - 1 } : {}),
    ...(verification.firstBadSeq === undefined ? {} : { firstBadSeq: verification.firstBadSeq }),
    ...(verification.reason === undefined ? {} : { reason: verification.reason }),
    ...(verification.check === undefined ? {} : { check: verification.check }),
    anchored: verification.anchored,
    ...(verification.notice === undefined ? {} : { notice: verification.notice }),
    ...(checkpoint === undefined
      ? {}
      : {
          checkpoint: {
            size: checkpoint.size,
            signedBy: checkpoint.signedBy,
            ...(checkpoint.time === undefined ? {} : { time: checkpoint.time }),
            ...(checkpoint.signedBy === "witness" && witnessName !== undefined
              ? { witness: witnessName }
              : {}),
          },
        }),
    ...(verification.unanchoredRecords === undefined
      ? {}
      : { unanchoredRecords: verification.unanchoredRecords }),
  };
}
