import { existsSync } from "node:fs";
import { join } from "node:path";
import { AgentGateError } from "@agentgate/core";
import { auditLogOptions, type GateConfig, openAuditWriter } from "@agentgate/core/node";
import { type Change, osUser, recordThenApply } from "./audited-change.js";
import { initWorkspace, openAuditedWorkspace, type Workspace } from "./workspace.js";

export type { Change } from "./audited-change.js";

/**
 * One CLI state change on the directory, recorded before it is made, with the OS user as its
 * actor (SECURITY.md K83). `change` describes it and may refuse (before anything is written);
 * `apply` makes it only once its event is in the audit log, which holds even while a gate writes
 * the log (the command then writes a chain of its own).
 */
export async function changeWorkspace<T>(
  directory: string,
  change: (space: Workspace) => Change | Promise<Change>,
  apply: (space: Workspace) => Promise<T>,
  result?: (value: T) => Readonly<Record<string, unknown>>,
): Promise<T> {
  const opened = await openAuditedWorkspace(directory);
  try {
    const described = await change(opened.workspace);
    return await recordThenApply(
      opened.audit,
      osUser(),
      described,
      () => apply(opened.workspace),
      result,
    );
  } finally {
    await opened.close();
  }
}

/** `agentgate init`, recorded as a `config_change` in the new directory's audit log first. */
export async function initAudited(directory: string, config: GateConfig): Promise<Workspace> {
  if (existsSync(join(directory, "config.json"))) {
    throw new AgentGateError(
      "invalid_configuration",
      `${directory} already holds a trust domain (config.json exists).`,
    );
  }
  const audit = await openAuditWriter(join(directory, "audit"), auditLogOptions(config));
  try {
    return await recordThenApply(
      audit,
      osUser(),
      { type: "config_change", details: { change: "created", ...config } },
      () => initWorkspace(directory, config),
    );
  } finally {
    await audit.close();
  }
}
