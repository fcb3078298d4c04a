import { readdirSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import type { AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { AgentGateError, isAgentGateError } from "../errors.js";
import { randomId } from "../internal/random-id.js";
import { FileAuditLog, type FileAuditLogOptions } from "./file-audit-log.js";

/** Options of {@link openAuditWriter}. */
export interface AuditWriterOptions extends Omit<FileAuditLogOptions, "directory"> {
  /**
   * This writer's id, unique among the processes writing the directory: letters, digits, `.`,
   * `_` and `-`, at most 64. Default: `<os user>-<host>`, with a random suffix when a process
   * under the same id already writes.
   */
  readonly writerId?: string;
  /**
   * Write a chain of this writer's own even when no process holds the log's own chain. For
   * long-running writers (a server), so that a gate started later can still open the log.
   * Default `false`: a short command writes the log's own chain when it is free.
   */
  readonly ownChain?: boolean;
}

/** An {@link AuditSink} that says which chain it writes. */
export interface AuditWriter extends AuditSink {
  /** The id of the writer (`primary` for the directory's own chain). */
  readonly writerId: string;
  /** The directory of the chain this writer appends to. */
  readonly chain: string;
}

const WRITER_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Where per-writer chains live inside a log directory. */
export const WRITERS_DIRECTORY = "writers";

/**
 * Opens a sink for one more process writing the audit log in `directory` (SECURITY.md K83):
 * the directory's own chain when no live process holds it, else a chain of this writer's own
 * under `<directory>/writers/<writerId>/`. Each chain is a complete hash-chained log with its
 * own lock, so no two processes ever append to one chain; a CLI command or an admin server
 * thus records its change while a gate holds the log, instead of making it unrecorded.
 * {@link auditChains} lists every chain, for verifying and reading them all.
 *
 * Every chain is a {@link FileAuditLog} with all of its guarantees: Merkle leaves, signed
 * checkpoints, refusal to write over a cut (K80) and, with `witness`, submission of each chain's
 * checkpoints under its own log id.
 *
 * Rejects with `audit_unavailable` when neither chain can be opened (a corrupt tail, a cut, a
 * full disk): the caller must then not make the change.
 *
 * @example
 * ```ts
 * const audit = await openAuditWriter(".agentgate/audit", { writerId: "cli-alice" });
 * await audit.write(event);
 * await audit.close();
 * ```
 */
export async function openAuditWriter(
  directory: string,
  options: AuditWriterOptions = {},
): Promise<AuditWriter> {
  const { writerId: wanted, ownChain = false, ...logOptions } = options;
  if (wanted !== undefined && !WRITER_ID.test(wanted)) {
    throw new AgentGateError(
      "invalid_configuration",
      `Writer id "${wanted}" must be 1-64 letters, digits, ".", "_" or "-".`,
    );
  }
  if (!ownChain) {
    try {
      return named(await FileAuditLog.open({ ...logOptions, directory }), "primary", directory);
    } catch (error) {
      if (!isLocked(error)) throw error;
    }
  }
  // A checkpoint path given is the log's own chain's: each writer's chain keeps its checkpoints
  // at its own default place (beside the key, named after the chain), and its own log id, so
  // the witness cosigns every chain separately (SECURITY.md K79, K80).
  const { checkpointPath: _own, ...chainOptions } = logOptions;
  const base = wanted ?? defaultWriterId();
  for (const id of [base, `${base.slice(0, 55)}-${randomId().slice(0, 8)}`]) {
    const chain = join(directory, WRITERS_DIRECTORY, id);
    try {
      return named(await FileAuditLog.open({ ...chainOptions, directory: chain }), id, chain);
    } catch (error) {
      // The same id already writes (a second command by the same user): take a fresh one.
      if (!isLocked(error) || wanted !== undefined) throw error;
    }
  }
  throw new AgentGateError("audit_unavailable", `No audit chain could be opened in ${directory}.`);
}

/**
 * Every chain of the audit log in `directory`: the directory itself first, then each writer's
 * chain under `writers/`, by id.
 */
export function auditChains(directory: string): string[] {
  let writers: string[] = [];
  try {
    writers = readdirSync(join(directory, WRITERS_DIRECTORY), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && WRITER_ID.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return [directory, ...writers.map((id) => join(directory, WRITERS_DIRECTORY, id))];
}

function named(log: FileAuditLog, writerId: string, chain: string): AuditWriter {
  return {
    writerId,
    chain,
    write: (event: AuditEvent) => log.write(event),
    flush: () => log.flush(),
    close: () => log.close(),
  };
}

function isLocked(error: unknown): boolean {
  return isAgentGateError(error) && error.details?.check === "lock";
}

function defaultWriterId(): string {
  let user = "user";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container with an arbitrary uid): keep the placeholder.
  }
  const id = `${user}-${hostname()}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return id.slice(0, 64) || "writer";
}
