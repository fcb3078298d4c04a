import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCHEMA_PATH } from "@agentgate/cedar";
import {
  AgentGateError,
  type AgentRegistry,
  type AuditSink,
  Authority,
  type RevocationList,
} from "@agentgate/core";
import {
  type AuditWriter,
  auditLogOptions,
  FileKeyStore,
  FileRevocationList,
  type GateConfig,
  JsonFileAgentRegistry,
  openAuditWriter,
} from "@agentgate/core/node";
import { openPostgresStores, type PostgresStores } from "@agentgate/postgres";

/** An AgentGate directory opened for the CLI: its config and its file-backed parts. */
export interface Workspace {
  readonly directory: string;
  readonly config: GateConfig;
  /** The directory's `agents.json`, or the database's `agents` table with `database`. */
  readonly registry: AgentRegistry;
  /** The directory's `revocations.jsonl`, or the database's with `database`. */
  readonly revocations: RevocationList;
  readonly authority: Authority;
  readonly policies: string;
  readonly audit: string;
  /** With `database` (`--database`, or `database` in config.json): the PostgreSQL stores. */
  readonly stores?: PostgresStores;
}

const EXAMPLE_POLICY = `// Your policies. Every tool call is denied unless a policy here permits it.
// Example: an agent may read through any tool of its own team's toolkit.
// @id("support-reads")
// permit (principal == Agent::"spiffe://TRUST_DOMAIN/agent/support", action == Action::"read", resource);
`;

/** Creates a trust domain in `directory` (keys, registry, config, policies); refuses to overwrite one. */
export async function initWorkspace(directory: string, config: GateConfig): Promise<Workspace> {
  if (existsSync(join(directory, "config.json"))) {
    throw new AgentGateError(
      "invalid_configuration",
      `${directory} already holds a trust domain (config.json exists).`,
    );
  }
  mkdirSync(join(directory, "policies"), { recursive: true, mode: 0o700 });
  writeFileSync(join(directory, "config.json"), `${JSON.stringify(config, null, 2)}\n`, {
    mode: 0o600,
  });
  copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "policies", "schema.cedarschema"));
  writeFileSync(
    join(directory, "policies", "policies.cedar"),
    EXAMPLE_POLICY.replace("TRUST_DOMAIN", config.trustDomain),
  );
  return openWorkspace(directory);
}

/** Opens an existing directory; `invalid_configuration` with what to do when there is none. */
export async function openWorkspace(
  directory: string,
  options: {
    readonly audit?: AuditSink;
    /**
     * The issuer when config.json names none (`serve --public-url https://…`). An issuer in
     * config.json that differs is an error: tokens issued there would not match the discovery.
     */
    readonly issuer?: string;
    /**
     * A PostgreSQL URL whose registry, revocations and audit trail to use, or `true` for
     * config.json's `database` (when it names one). Default: the directory's files.
     */
    readonly database?: string | true;
  } = {},
): Promise<Workspace> {
  let config: GateConfig;
  try {
    config = JSON.parse(readFileSync(join(directory, "config.json"), "utf8")) as GateConfig;
  } catch {
    throw new AgentGateError(
      "invalid_configuration",
      `No AgentGate directory at ${directory}: run \`agentgate init --trust-domain <domain> --audience <url>\` first, or pass --dir.`,
    );
  }
  if (
    options.issuer !== undefined &&
    config.issuer !== undefined &&
    config.issuer !== options.issuer
  ) {
    throw new AgentGateError(
      "invalid_configuration",
      `The public URL ${options.issuer} is not the configured issuer ${config.issuer}: serve at the issuer, or change "issuer" in config.json.`,
    );
  }
  const issuer = config.issuer ?? options.issuer;
  const database = options.database === true ? config.database : options.database;
  const stores =
    database === undefined
      ? undefined
      : await openPostgresStores({
          url: database,
          ...(config.databaseSchema === undefined ? {} : { schema: config.databaseSchema }),
          audit: databaseAuditOptions(config),
        });
  const registry: AgentRegistry =
    stores?.registry ?? new JsonFileAgentRegistry(join(directory, "agents.json"));
  const revocations: RevocationList =
    stores?.revocations ?? new FileRevocationList(join(directory, "revocations.jsonl"));
  let authority: Authority;
  try {
    authority = await Authority.create({
      trustDomain: config.trustDomain,
      registry,
      revocations,
      keyStore: new FileKeyStore(join(directory, "keys")),
      ...(issuer === undefined ? {} : { issuer }),
      ...(config.algorithm === undefined ? {} : { algorithm: config.algorithm }),
      ...(options.audit === undefined ? {} : { audit: options.audit }),
    });
  } catch (error) {
    await stores?.close();
    throw error;
  }
  return {
    directory,
    config,
    registry,
    revocations,
    authority,
    policies: join(directory, "policies"),
    audit: join(directory, "audit"),
    ...(stores === undefined ? {} : { stores }),
  };
}

/** The audit chain options of config.json's `audit` section, for the database's chain. */
function databaseAuditOptions(
  config: GateConfig,
): Parameters<typeof openPostgresStores>[0]["audit"] {
  const options = auditLogOptions(config);
  return {
    ...(options.witness === undefined ? {} : { witness: options.witness }),
    ...(options.witnessKey === undefined ? {} : { witnessKey: options.witnessKey }),
    ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
    ...(options.checkpointIntervalMs === undefined
      ? {}
      : { checkpointIntervalMs: options.checkpointIntervalMs }),
  };
}

/**
 * Opens the directory with a writer of its audit log, for a command or server that changes state
 * (SECURITY.md K83): the log's own chain when no gate holds it, else this process's own chain
 * under `audit/writers/` (see `openAuditWriter`). Rejects with `audit_unavailable` when no chain
 * can be opened: the caller then makes no change.
 */
export async function openAuditedWorkspace(
  directory: string,
): Promise<{ workspace: Workspace; audit: AuditWriter; close(): Promise<void> }> {
  // No trust domain here: let openWorkspace say what to do, before any audit directory is made.
  const workspace = await openWorkspace(directory);
  // A witness configured in config.json (`audit.witness`) anchors every chain the CLI and the
  // server write, each under its own log id (SECURITY.md K79, K81).
  const audit = await openAuditWriter(workspace.audit, auditLogOptions(workspace.config));
  return { workspace, audit, close: () => audit.close() };
}
