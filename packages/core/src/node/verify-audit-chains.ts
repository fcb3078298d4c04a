import { auditChains } from "./open-audit-writer.js";
import { auditOrigin } from "./tlog-checkpoint.js";
import {
  type AuditVerification,
  readLogId,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "./verify-audit-log.js";

/** One chain's verification, with the writer it belongs to (`primary` for the log's own). */
export interface AuditChainVerification extends AuditVerification {
  /** The writer's id: `primary` for the directory's own chain, else its name under `writers/`. */
  readonly writer: string;
  /** The chain's directory. */
  readonly chain: string;
}

/** Options of {@link verifyAuditChains}: those of {@link verifyAuditLog}, for every chain. */
export interface VerifyAuditChainsOptions extends Omit<VerifyAuditLogOptions, "otherLogs"> {
  /** Only for the log's own chain: its checkpoint file (writers' chains keep the default). */
  readonly checkpointPath?: string;
}

/**
 * Verifies every chain of the audit log in `directory` (SECURITY.md K77–K79, K83): the log's own
 * and each writer's under `writers/`, each with {@link verifyAuditLog} against its own
 * checkpoints and, with `witnessKey`, the witness's latest cosigned checkpoint of its own log id.
 * A log the witness holds that is none of these chains, nor recovered by one of them, was
 * deleted: with `witness`, every chain's verification fails then, naming it.
 *
 * @example
 * ```ts
 * const chains = await verifyAuditChains(".agentgate/audit", { witness, witnessKey });
 * const broken = chains.find((chain) => !chain.ok);
 * ```
 */
export async function verifyAuditChains(
  directory: string,
  options: VerifyAuditChainsOptions = {},
): Promise<AuditChainVerification[]> {
  const chains = auditChains(directory);
  const origins = chains
    .map((chain) => readLogId(chain))
    .filter((id): id is string => id !== undefined)
    .map((id) => auditOrigin(id));
  const { checkpointPath, ...shared } = options;
  // Two passes only when a writer recovered a chain: the logs it replaced count as here too.
  const run = (otherLogs: readonly string[]) =>
    Promise.all(
      chains.map(async (chain, index) => ({
        writer: index === 0 ? "primary" : chain.slice(chain.lastIndexOf("/") + 1),
        chain,
        ...(await verifyAuditLog(chain, {
          ...shared,
          ...(index === 0 && checkpointPath !== undefined ? { checkpointPath } : {}),
          otherLogs,
        })),
      })),
    );
  const first = await run(origins);
  const recovered = first.flatMap((result) => result.recovered ?? []);
  if (recovered.length === 0 || options.witness === undefined) return first;
  return run([...origins, ...recovered]);
}
