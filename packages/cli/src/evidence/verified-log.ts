import { AgentGateError, type AuditRecord } from "@agentgate/core";
import {
  type AuditChainVerification,
  auditChains,
  readAuditLog,
  verifyAuditChains,
  type WitnessClient,
} from "@agentgate/core/node";

/** Where a verified log comes from and what it must be checked against. */
export interface VerifiedLogOptions {
  /** The witness to ask for each chain's latest cosigned checkpoint. */
  readonly witness?: WitnessClient;
  /** The witness's verifier key: with it, every chain must be cosigned (or `allowUnanchored`). */
  readonly witnessKey?: string;
  /** With `witnessKey`: accept chains no witness has cosigned, as not anchored. */
  readonly allowUnanchored?: boolean;
  /** A pinned checkpoint public key (file or base64url) instead of the writer's own. */
  readonly checkpointKey?: string;
  /** The writer's checkpoint file of the log's own chain. */
  readonly checkpointPath?: string;
  /** ISO 8601 start of the period (inclusive). */
  readonly from?: string;
  /** ISO 8601 end of the period (exclusive). */
  readonly to?: string;
}

/** A log that verified, and the records a signed checkpoint covers. */
export interface VerifiedLog {
  /** Every chain's verification: the log's own (`primary`) first, then each writer's. */
  readonly chains: readonly AuditChainVerification[];
  /**
   * The records of every chain that a verified checkpoint covers, in the period, in time order.
   * Records newer than their chain's checkpoint are left out: nothing but a hash chain, which
   * anyone who can write the directory can extend, vouches for them.
   */
  readonly records: readonly AuditRecord[];
  /** Records in the period left out because no checkpoint covers them yet. */
  readonly uncovered: number;
}

/**
 * Verifies every chain of the audit log in `directory` and reads the records their checkpoints
 * cover. Throws `audit_unverified` (naming the chain, the first bad record and why) when any chain
 * does not verify: nothing is read from a log that does not.
 */
export async function readVerifiedLog(
  directory: string,
  options: VerifiedLogOptions = {},
): Promise<VerifiedLog> {
  const chains = await verifyAuditChains(directory, {
    ...(options.witness === undefined ? {} : { witness: options.witness }),
    ...(options.witnessKey === undefined ? {} : { witnessKey: options.witnessKey }),
    ...(options.allowUnanchored === true ? { allowUnanchored: true } : {}),
    ...(options.checkpointKey === undefined ? {} : { checkpointKey: options.checkpointKey }),
    ...(options.checkpointPath === undefined ? {} : { checkpointPath: options.checkpointPath }),
  });
  const broken = chains.find((chain) => !chain.ok);
  if (broken !== undefined)
    throw new AgentGateError(
      "audit_unverified",
      `The audit log ${directory}${broken.writer === "primary" ? "" : ` (writer ${broken.writer})`} does not verify${broken.firstBadSeq === undefined ? "" : ` at record ${broken.firstBadSeq}`}: ${broken.reason ?? "unknown"}. Nothing was produced from it (details: agentgate audit verify --log ${directory}).`,
      {
        details: {
          writer: broken.writer,
          check: broken.check,
          ...(broken.firstBadSeq === undefined ? {} : { firstBadSeq: broken.firstBadSeq }),
        },
      },
    );
  const paths = auditChains(directory);
  const records: AuditRecord[] = [];
  let uncovered = 0;
  for (const [index, chain] of paths.entries()) {
    const covered = chains[index]?.checkpoint?.size ?? 0;
    for await (const record of readAuditLog(chain, {
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    })) {
      if (record.seq < covered) records.push(record);
      else uncovered++;
    }
  }
  if (paths.length > 1) records.sort((a, b) => a.time.localeCompare(b.time));
  return { chains, records, uncovered };
}
