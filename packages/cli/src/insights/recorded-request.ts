import { type AccessRequest, AgentId, type AgentRecord } from "@agentgate/core";
import { accessTime, buildAccessRequest } from "@agentgate/core/internal";
import type { InsightRecord } from "./verified-log.js";

/** What {@link recordedRequest} may change about the recorded call. */
export interface RequestVariation {
  /** Another acting agent (its registry record): "would this agent be allowed the same call?" */
  readonly agent?: AgentRecord;
  /** Other scopes on the token (default: the recorded ones, or the agent's granted ones). */
  readonly scopes?: readonly string[];
}

/** Settings of the gate that made the record (config.json). */
export interface RequestSettings {
  /** IANA time zone of the policy context (config.json `timeZone`, default `UTC`). */
  readonly timeZone: string;
  /** The environment of the policy context (config.json `environment`, default `development`). */
  readonly environment: string;
}

/**
 * The access request a gate built for a recorded decision, rebuilt through the gate's own
 * builder: the acting agent's registered attributes, the recorded scopes, chain, tool, action,
 * resource properties, (redacted) arguments and time. Arguments are the log's redacted copy, so
 * a condition on a redacted argument sees the redaction marker. Returns `undefined` for a record
 * that is not a tool-call decision, or names an agent id that does not parse.
 */
export function recordedRequest(
  record: InsightRecord,
  registered: AgentRecord | undefined,
  settings: RequestSettings,
  variation: RequestVariation = {},
): AccessRequest | undefined {
  if (record.type !== "decision" || record.tool === undefined) return undefined;
  const actingId = variation.agent?.id ?? record.agent;
  if (actingId === undefined) return undefined;
  let agent: AgentId;
  try {
    agent = AgentId.parse(actingId);
  } catch {
    return undefined;
  }
  const base = variation.agent ?? registered;
  const scopes = variation.scopes ?? (variation.agent ? base?.maxScopes : record.scopes) ?? [];
  const chain = variation.agent === undefined ? (record.chain ?? [actingId]) : [actingId];
  const principal = variation.agent === undefined ? (record.principal ?? actingId) : actingId;
  const instant = Date.parse(record.time);
  const seconds = Math.floor(instant / 1000);
  const args =
    typeof record.arguments === "object" &&
    record.arguments !== null &&
    !Array.isArray(record.arguments)
      ? (record.arguments as Record<string, unknown>)
      : undefined;
  const resources = Object.fromEntries(
    Object.entries(record.resource?.properties ?? {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === "string",
    ),
  );
  return buildAccessRequest({
    agent: {
      agent,
      principal: { id: principal, kind: principal.startsWith("spiffe://") ? "agent" : "user" },
      chain,
      agents: chain.flatMap((id) => {
        try {
          return [AgentId.parse(id)];
        } catch {
          return [];
        }
      }),
      delegated: chain.length > 1,
      scopes,
      tokenId: record.tokenId ?? "recorded",
      keyId: "recorded",
      issuer: "recorded",
      audience: "recorded",
      issuedAt: seconds,
      expiresAt: seconds + 60,
      attributes: {
        owner: base?.owner ?? record.owner ?? "",
        supervision: base?.supervision ?? "autonomous",
      },
    },
    record: base ?? {
      id: actingId,
      displayName: actingId,
      owner: record.owner ?? "",
      supervision: "autonomous",
      labels: {},
      maxScopes: scopes,
      createdAt: record.time,
    },
    scopes,
    tool: {
      name: record.tool.name,
      action: record.action ?? "execute",
      ...(record.tool.server === undefined ? {} : { server: record.tool.server }),
    },
    arguments: args,
    time: accessTime(instant, settings.timeZone),
    environment: settings.environment,
    resources,
  });
}
