import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/audit-event.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import type { AccessRequest } from "../policy/access-request.js";
import type { Decision } from "../policy/decision.js";
import type { ToolInvocation } from "./tool-invocation.js";

/** What the gate knows about a call at the moment it writes an event. */
export interface CallFacts {
  readonly invocationId: string;
  readonly invocation: ToolInvocation;
  readonly agent?: VerifiedAgent;
  readonly owner?: string;
  readonly request?: AccessRequest;
  /** Redacted arguments. */
  readonly arguments?: unknown;
  /** SHA-256 prefix of a credential that failed before it was verified: never the token. */
  readonly tokenFingerprint?: string;
}

/** The fields every event of a call shares. */
export function baseEvent(
  type: AuditEvent["type"],
  id: string,
  time: number,
  facts: CallFacts,
): AuditEvent {
  const { invocation, agent, request } = facts;
  const metadata = invocation.metadata;
  const details: Record<string, unknown> = {};
  if (metadata?.framework !== undefined) details.framework = metadata.framework;
  if (metadata?.toolCallId !== undefined) details.toolCallId = metadata.toolCallId;
  if (metadata?.runId !== undefined) details.runId = metadata.runId;
  if (facts.tokenFingerprint !== undefined) details.tokenFingerprint = facts.tokenFingerprint;
  return {
    v: AUDIT_SCHEMA_VERSION,
    id,
    type,
    time: new Date(time).toISOString(),
    invocationId: facts.invocationId,
    ...(agent === undefined
      ? {}
      : {
          agent: agent.agent.toString(),
          principal: agent.principal.id,
          chain: [...agent.chain],
          tokenId: agent.tokenId,
          scopes: [...agent.scopes],
        }),
    ...(facts.owner === undefined ? {} : { owner: facts.owner }),
    tool: {
      name: invocation.tool.name,
      ...(invocation.tool.server === undefined ? {} : { server: invocation.tool.server }),
    },
    ...(request === undefined
      ? {}
      : {
          action: request.action.name,
          resource: {
            type: request.resource.type,
            id: request.resource.id,
            ...(request.resource.properties === undefined
              ? {}
              : { properties: { ...request.resource.properties } }),
          },
        }),
    ...(facts.arguments === undefined ? {} : { arguments: facts.arguments }),
    ...(metadata?.traceId === undefined && metadata?.spanId === undefined
      ? {}
      : {
          trace: {
            ...(metadata.traceId === undefined ? {} : { traceId: metadata.traceId }),
            ...(metadata.spanId === undefined ? {} : { spanId: metadata.spanId }),
          },
        }),
    ...(Object.keys(details).length === 0 ? {} : { details }),
  };
}

/**
 * The `outcome` event of a call: short, since the `decision` event with the same
 * `invocationId` already holds who, on whose behalf, what and why. It keeps the agent and the
 * tool so that queries by either find outcomes too.
 */
export function outcomeEvent(
  id: string,
  time: number,
  facts: CallFacts,
  outcome: NonNullable<AuditEvent["outcome"]>,
): AuditEvent {
  const { invocation, agent } = facts;
  return {
    v: AUDIT_SCHEMA_VERSION,
    id,
    type: "outcome",
    time: new Date(time).toISOString(),
    invocationId: facts.invocationId,
    ...(agent === undefined ? {} : { agent: agent.agent.toString() }),
    tool: {
      name: invocation.tool.name,
      ...(invocation.tool.server === undefined ? {} : { server: invocation.tool.server }),
    },
    outcome,
  };
}

/** The `decision` block of an event. */
export function decisionBlock(
  decision: Decision | undefined,
  allowed: boolean,
  reason: string,
  code?: string,
): NonNullable<AuditEvent["decision"]> {
  return {
    allowed,
    policies: [...(decision?.policies ?? [])],
    reason: reason.slice(0, 2048),
    ...(code === undefined ? {} : { code }),
    ...(decision === undefined || decision.obligations.length === 0
      ? {}
      : { obligations: [...decision.obligations] }),
  };
}

/** A short, non-reversible fingerprint of a credential for the audit trail (SECURITY-CASES I69). */
export async function tokenFingerprint(token: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest, 0, 8)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}
