import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SCHEMA_PATH } from "@agentgate/cedar";
import { AgentGateError, type AuditSink, Authority } from "@agentgate/core";
import {
  type AuditWriter,
  auditLogOptions,
  FileKeyStore,
  FileRevocationList,
  type GateConfig,
  JsonFileAgentRegistry,
  openAuditWriter,
} from "@agentgate/core/node";

/** An AgentGate directory opened for the CLI: its config and its file-backed parts. */
export interface Workspace {
  readonly directory: string;
  readonly config: GateConfig;
  readonly registry: JsonFileAgentRegistry;
  readonly revocations: FileRevocationList;
  readonly authority: Authority;
  readonly policies: string;
  readonly audit: string;
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
  const registry = new JsonFileAgentRegistry(join(directory, "agents.json"));
  const revocations = new FileRevocationList(join(directory, "revocations.jsonl"));
  const authority = await Authority.create({
    trustDomain: config.trustDomain,
    registry,
    revocations,
    keyStore: new FileKeyStore(join(directory, "keys")),
    ...(issuer === undefined ? {} : { issuer }),
    ...(config.algorithm === undefined ? {} : { algorithm: config.algorithm }),
    ...(options.audit === undefined ? {} : { audit: options.audit }),
  });
  return {
    directory,
    config,
    registry,
    revocations,
    authority,
    policies: join(directory, "policies"),
    audit: join(directory, "audit"),
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
