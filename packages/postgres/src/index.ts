/**
 * `@agentgate/postgres`: AgentGate's shared state on PostgreSQL. One agent registry, revocations
 * pushed to every gate by `LISTEN/NOTIFY`, one audit trail of per-writer hash chains with signed
 * (and witness-cosigned) checkpoints, a replay cache and an approvals queue shared by every host.
 * `createGate({ database: "postgres://…" })` in `@agentgate/core/node` loads it.
 */
export { type PendingApproval, PostgresApprovalQueue } from "./approvals.js";
export { GENESIS_HASH, PostgresAuditLog, type PostgresAuditLogOptions } from "./audit-log.js";
export type { PostgresChainVerification, VerifyPostgresAuditOptions } from "./audit-verify.js";
export { checkSchema } from "./database.js";
export {
  checkSchemaVersion,
  type MigrateOptions,
  type MigrationReport,
  migrate,
  SCHEMA_VERSION,
} from "./migrations.js";
export { PostgresAgentRegistry } from "./registry.js";
export { PostgresReplayCache } from "./replay-cache.js";
export { PostgresRevocationList } from "./revocations.js";
export {
  openApprovalQueue,
  openPostgresStores,
  type PostgresStores,
  type PostgresStoresOptions,
  verifyPostgresAudit,
} from "./stores.js";
