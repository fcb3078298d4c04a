import type { AccessRequest, AgentRecord, AuditRecord } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";

/** What policy decided for a recorded call: `allow`, `deny`, or `undefined` when it never decided. */
export type RecordedDecision = "allow" | "deny";

/**
 * The policy's answer recorded in a `decision` or `check` event. An allowed call, and one that
 * policy allowed but a human then refused (`approval_denied`), were allowed by policy; an
 * `access_denied` was denied by it. Every other denial (a bad token, an unknown agent, invalid
 * arguments, a policy that did not answer) happened before policy decided: `undefined`.
 */
export function recordedDecision(record: AuditRecord): RecordedDecision | undefined {
  if (record.type !== "decision" && record.type !== "check") return undefined;
  const decision = record.decision;
  if (decision === undefined || record.agent === undefined || record.action === undefined)
    return undefined;
  if (record.resource === undefined || record.tool === undefined) return undefined;
  if (decision.allowed || decision.code === "approval_denied") return "allow";
  return decision.code === "access_denied" ? "deny" : undefined;
}

/** How a recorded call becomes a request again. */
export interface RequestSettings {
  /** The IANA time zone the gate computed local time in (config.json `timeZone`). */
  readonly timeZone: string;
  /** The gate's environment (config.json `environment`, default `development`). */
  readonly environment: string;
  /** The agent's registry record, for what the log does not hold (supervision, team, labels). */
  readonly registered?: AgentRecord;
}

/**
 * The {@link AccessRequest} a gate built for a recorded call, as far as the log tells it: agent,
 * principal, chain, owner and scopes from the event; supervision, team and labels from the
 * registry (as they are now); the tool, action and resource as recorded; the local time in the
 * gate's time zone; the recorded (redacted) arguments. `undefined` for a record policy never saw.
 */
export function requestFromRecord(
  record: AuditRecord,
  settings: RequestSettings,
): AccessRequest | undefined {
  if (recordedDecision(record) === undefined) return undefined;
  const agent = record.agent as string;
  const tool = record.tool as NonNullable<AuditRecord["tool"]>;
  const resource = record.resource as NonNullable<AuditRecord["resource"]>;
  const chain = record.chain ?? [agent];
  const principal = record.principal ?? agent;
  const registered = settings.registered;
  const scopes =
    registered === undefined
      ? [...(record.scopes ?? [])]
      : (record.scopes ?? []).filter((scope) => registered.maxScopes.includes(scope));
  const resources: Record<string, string> = {};
  if (resource.type === "tool")
    for (const [type, value] of Object.entries(resource.properties ?? {}))
      if (typeof value === "string") resources[type] = value;
  const args =
    typeof record.arguments === "object" &&
    record.arguments !== null &&
    !Array.isArray(record.arguments)
      ? (record.arguments as Record<string, unknown>)
      : undefined;
  return {
    subject: {
      type: "agent",
      id: agent,
      properties: {
        owner: record.owner ?? registered?.owner ?? "",
        supervision: registered?.supervision ?? "autonomous",
        ...(registered?.team === undefined ? {} : { team: registered.team }),
        labels: { ...(registered?.labels ?? {}) },
        scopes,
        principal,
        principalType: principal === agent || principal.startsWith("spiffe://") ? "agent" : "user",
        chain: [...chain],
        delegated: chain.length > 1,
      },
    },
    action: {
      name: record.action as string,
      properties:
        tool.server === undefined ? { tool: tool.name } : { tool: tool.name, server: tool.server },
    },
    resource:
      resource.properties === undefined
        ? { type: resource.type, id: resource.id }
        : { type: resource.type, id: resource.id, properties: { ...resource.properties } },
    context: {
      time: accessTime(Date.parse(record.time), settings.timeZone),
      environment: settings.environment,
      resources,
      ...(args === undefined ? {} : { arguments: args }),
    },
  };
}
