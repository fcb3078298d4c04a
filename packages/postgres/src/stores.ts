import type { AuditEvent } from "@agentgate/core";
import { AgentGateError, type Clock, systemClock } from "@agentgate/core";
import type { AuditInclusionProof } from "@agentgate/core/node";
import type pg from "pg";
import { PostgresApprovalQueue } from "./approvals.js";
import { PostgresAuditLog, type PostgresAuditLogOptions } from "./audit-log.js";
import {
  type PostgresChainVerification,
  proveAuditRow,
  readAuditTable,
  type VerifyPostgresAuditOptions,
  verifyAuditTables,
} from "./audit-verify.js";
import { checkSchema, poolFor, redactUrl } from "./database.js";
import { Listener } from "./listener.js";
import { checkSchemaVersion, connectOrFail } from "./migrations.js";
import { PostgresAgentRegistry } from "./registry.js";
import { PostgresReplayCache } from "./replay-cache.js";
import { PostgresRevocationList } from "./revocations.js";

/** Options of {@link openPostgresStores}. */
export interface PostgresStoresOptions {
  /** The connection string, e.g. `postgres://agentgate_gate@db.internal:5432/agentgate`. */
  readonly url: string;
  /** The schema holding AgentGate's tables (`agentgate db migrate` creates it). Default `agentgate`. */
  readonly schema?: string;
  /** Connections in the shared pool (besides the listener's and the audit writer's). Default 4. */
  readonly poolSize?: number;
  /** The audit chain's options (writer id, checkpoint key and cadence, witness). */
  readonly audit?: PostgresAuditLogOptions;
  /** Time source for revocation and replay times. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * Every AgentGate port on one PostgreSQL database: what `createGate({ database })` uses.
 * {@link PostgresStores.close} ends every connection; the audit log is closed with it.
 */
export interface PostgresStores {
  readonly schema: string;
  readonly registry: PostgresAgentRegistry;
  readonly revocations: PostgresRevocationList;
  readonly audit: PostgresAuditLog;
  readonly replay: PostgresReplayCache;
  readonly approvals: PostgresApprovalQueue;
  /** Verifies every audit chain in the database. */
  verifyAudit(options?: VerifyPostgresAuditOptions): Promise<PostgresChainVerification[]>;
  /** The events of one chain (default: this process's), in order. */
  readAudit(writer?: string): Promise<AuditEvent[]>;
  /** The inclusion proof of one record, for `verifyAuditProof`. */
  proveAudit(writer: string, seq: number): Promise<AuditInclusionProof>;
  /** Flushes and closes the audit log, then ends every connection. */
  close(): Promise<void>;
}

/**
 * Connects to the database, checks its schema version (a gate does not run on a schema it does
 * not know), starts listening for changes, loads the registry and revocations into memory and
 * opens this process's audit chain. Rejects, never at the first call: `invalid_configuration`
 * when the database does not answer or its schema is not this release's (with what to run),
 * `audit_unavailable` when the audit chain cannot be opened.
 *
 * @example
 * ```ts
 * const stores = await openPostgresStores({ url: "postgres://agentgate_gate@db.internal/agentgate" });
 * stores.revocations.isRevoked("agent", "spiffe://acme.example/agent/support");
 * await stores.close();
 * ```
 */
export async function openPostgresStores(options: PostgresStoresOptions): Promise<PostgresStores> {
  const schema = checkSchema(options.schema ?? "agentgate");
  const clock = options.clock ?? systemClock;
  const { pool } = poolFor(options.url, options.poolSize ?? 4, schema);
  const config: pg.ClientConfig = { connectionString: options.url, connectionTimeoutMillis: 5_000 };
  const listener = new Listener(config, schema);
  let audit: PostgresAuditLog | undefined;
  try {
    (await connectOrFail(pool, options.url)).release();
    await checkSchemaVersion(pool, schema);
    const registry = new PostgresAgentRegistry(pool, schema, listener);
    const revocations = new PostgresRevocationList(pool, schema, listener, clock);
    const approvals = new PostgresApprovalQueue(pool, schema, listener);
    await listener.start().catch((error: unknown) => {
      throw new AgentGateError(
        "invalid_configuration",
        `AgentGate cannot listen for changes on ${redactUrl(options.url)}: ${(error as Error).message}.`,
        { cause: error },
      );
    });
    audit = await PostgresAuditLog.open(config, schema, options.audit);
    const opened = audit;
    return {
      schema,
      registry,
      revocations,
      audit: opened,
      replay: new PostgresReplayCache(pool, schema, clock),
      approvals,
      verifyAudit: (verify) => verifyAuditTables(pool, schema, verify),
      readAudit: (writer) => readAuditTable(pool, schema, writer ?? opened.writerId),
      proveAudit: (writer, seq) => proveAuditRow(pool, schema, writer, seq),
      close: async () => {
        await opened.close();
        await listener.close();
        await pool.end();
      },
    };
  } catch (error) {
    await audit?.close().catch(() => undefined);
    await listener.close();
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** Verifies every audit chain of the database at `url` (`agentgate audit verify --database`). */
export async function verifyPostgresAudit(
  url: string,
  options: VerifyPostgresAuditOptions & { readonly schema?: string } = {},
): Promise<PostgresChainVerification[]> {
  const schema = checkSchema(options.schema ?? "agentgate");
  const { pool } = poolFor(url, 1);
  try {
    (await connectOrFail(pool, url)).release();
    await checkSchemaVersion(pool, schema);
    return await verifyAuditTables(pool, schema, options);
  } finally {
    await pool.end();
  }
}

/**
 * The approvals queue alone, for an approver (`agentgate db approvals`, `approve`, `deny`): no
 * audit chain, no listener. `close` ends its connections.
 *
 * @example
 * ```ts
 * const queue = await openApprovalQueue("postgres://agentgate_approver@db.internal/agentgate");
 * for (const item of await queue.pending()) await queue.answer(item.id, { approved: false, approver: "bob" });
 * await queue.close();
 * ```
 */
export async function openApprovalQueue(
  url: string,
  options: { readonly schema?: string } = {},
): Promise<
  Pick<PostgresApprovalQueue, "pending" | "answer"> & { readonly close: () => Promise<void> }
> {
  const schema = checkSchema(options.schema ?? "agentgate");
  const { pool } = poolFor(url, 1, schema);
  try {
    (await connectOrFail(pool, url)).release();
    await checkSchemaVersion(pool, schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const queue = new PostgresApprovalQueue(pool, schema);
  return {
    pending: () => queue.pending(),
    answer: (id, answer) => queue.answer(id, answer),
    close: () => pool.end(),
  };
}
