import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { AUDIT_SCHEMA_VERSION } from "../audit/audit-event.js";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError, isAgentGateError } from "../errors.js";
import { randomId } from "../internal/random-id.js";
import { cosignedPath, defaultCheckpointPath, readOptional } from "./audit-checkpoints.js";
import { AuditLock } from "./audit-lock.js";
import { FileAuditLog, type FileAuditLogOptions } from "./file-audit-log.js";

/** Options of {@link recoverAuditLog}: those the log is opened with, plus who recovers it. */
export interface RecoverAuditLogOptions extends Omit<FileAuditLogOptions, "fileSystem"> {
  /** Who runs the recovery. Default: the OS user. */
  readonly operator?: string;
  /** Why, in the operator's words. */
  readonly reason?: string;
  readonly clock?: Clock;
}

/** What {@link recoverAuditLog} did. */
export interface AuditRecoveryReport {
  /** False when the log opened cleanly: nothing was changed. */
  readonly recovered: boolean;
  /** The log that was cut or rewritten, and the new one that continues. */
  readonly previousOrigin?: string;
  readonly origin?: string;
  /** Where the old segments, log id and checkpoints were moved. */
  readonly archived?: string;
  /** What opening found (see `details` of the `audit_unavailable` error). */
  readonly found?: Readonly<Record<string, unknown>>;
}

/**
 * The explicit recovery of a log that no longer matches its last checkpoint (SECURITY.md
 * K80). The old segments, `log.json` and checkpoints are moved, untouched, into
 * `<directory>/cut-<time>/` (`cut-<time>-2/` and so on when that name is taken, so an
 * archive is never written into); a new chain (a new log id, a new origin for the witness) starts
 * with a `log_recovered` event that records what was found: the old origin, how many records the
 * log held and how many the checkpoint covered, who recovered it and why. `verifyAuditLog` then
 * reports the old origin as recovered rather than deleted. A log that opens cleanly is left as
 * it is.
 */
export async function recoverAuditLog(
  options: RecoverAuditLogOptions = {},
): Promise<AuditRecoveryReport> {
  const directory = options.directory ?? join(".agentgate", "audit");
  let found: Readonly<Record<string, unknown>>;
  try {
    await (await FileAuditLog.open(options)).close();
    return { recovered: false };
  } catch (error) {
    const check = isAgentGateError(error) ? error.details?.check : undefined;
    if (!isAgentGateError(error) || !["cut", "checkpoint", "record"].includes(String(check)))
      throw error;
    found = { ...(error.details ?? {}), message: error.message };
  }
  const clock = options.clock ?? systemClock;
  const time = new Date(clock.now()).toISOString();
  const checkpointPath =
    options.checkpointPath ?? defaultCheckpointPath(directory, options.checkpointKeyPath);
  const lock = AuditLock.acquire(join(directory, "audit.lock"), {
    ...(options.lockStaleMs === undefined ? {} : { staleMs: options.lockStaleMs }),
  });
  let previousOrigin: string | undefined;
  let archived: string;
  try {
    archived = createArchive(directory, `cut-${time.replace(/[:.]/g, "-")}`);
    const logJson = readOptional(join(directory, "log.json"));
    if (logJson !== undefined)
      previousOrigin = `agentgate.dev/audit/${(JSON.parse(logJson) as { id: string }).id}`;
    for (const name of readdirSync(directory)) {
      if (/^audit-\d{6}\.jsonl$/.test(name) || name === "log.json")
        renameSync(join(directory, name), join(archived, name));
    }
    for (const [path, name] of [
      [checkpointPath, "checkpoint.txt"],
      [cosignedPath(checkpointPath), "checkpoint.txt.cosigned"],
    ] as const) {
      if (readOptional(path) === undefined) continue;
      copyFileSync(path, join(archived, name));
      rmSync(path, { force: true });
    }
  } finally {
    lock.release();
  }
  const log = await FileAuditLog.open(options);
  try {
    await log.write({
      v: AUDIT_SCHEMA_VERSION,
      id: randomId(),
      type: "log_recovered",
      time,
      details: {
        kind: "cut",
        previousOrigin,
        found,
        archived,
        operator: options.operator ?? userInfo().username,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      },
    });
  } catch (error) {
    await log.close().catch(() => {});
    throw new AgentGateError("audit_unavailable", "The recovery could not be recorded.", {
      cause: error,
    });
  }
  await log.close();
  return {
    recovered: true,
    ...(previousOrigin === undefined ? {} : { previousOrigin }),
    origin: log.origin,
    archived,
    found,
  };
}

/**
 * A new archive directory `<directory>/<name>`, or `<name>-2`, `<name>-3`, … when the name is
 * taken: each is created exclusively, so a recovery never moves its files into an earlier
 * recovery's archive (two recoveries within one millisecond, or on a fixed clock).
 */
function createArchive(directory: string, name: string): string {
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const path = join(directory, attempt === 1 ? name : `${name}-${attempt}`);
    try {
      mkdirSync(path, { mode: 0o700 });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  throw new AgentGateError(
    "audit_unavailable",
    `No free archive name for ${name} in ${directory}.`,
  );
}
