import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/audit-event.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import { isoTime } from "../internal/iso-time.js";
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

/**
 * The fields every event of a call shares. Built member by member (no spreads of conditional
 * objects): it runs two or three times on every call.
 */
export function baseEvent(
  type: AuditEvent["type"],
  id: string,
  time: number,
  facts: CallFacts,
): AuditEvent {
  const { invocation, agent, request } = facts;
  const event: AuditEvent = {
    v: AUDIT_SCHEMA_VERSION,
    id,
    type,
    time: isoTime(time),
    invocationId: facts.invocationId,
  };
  if (agent !== undefined) {
    event.agent = agent.agent.toString();
    event.principal = agent.principal.id;
    event.chain = agent.chain.slice();
    event.tokenId = agent.tokenId;
    event.scopes = agent.scopes.slice();
  }
  if (facts.owner !== undefined) event.owner = facts.owner;
  event.tool = toolOf(invocation.tool);
  if (request !== undefined) {
    event.action = request.action.name;
    const { type: resourceType, id: resourceId, properties } = request.resource;
    event.resource =
      properties === undefined
        ? { type: resourceType, id: resourceId }
        : { type: resourceType, id: resourceId, properties: { ...properties } };
  }
  if (facts.arguments !== undefined) event.arguments = facts.arguments;
  const metadata = invocation.metadata;
  if (metadata?.traceId !== undefined || metadata?.spanId !== undefined) {
    const trace: NonNullable<AuditEvent["trace"]> = {};
    if (metadata.traceId !== undefined) trace.traceId = metadata.traceId;
    if (metadata.spanId !== undefined) trace.spanId = metadata.spanId;
    event.trace = trace;
  }
  const details: Record<string, unknown> = {};
  if (metadata?.framework !== undefined) details.framework = metadata.framework;
  if (metadata?.toolCallId !== undefined) details.toolCallId = metadata.toolCallId;
  if (metadata?.runId !== undefined) details.runId = metadata.runId;
  if (facts.tokenFingerprint !== undefined) details.tokenFingerprint = facts.tokenFingerprint;
  // An mTLS caller: which certificate proved the identity (serial and SHA-256 fingerprint).
  if (agent?.certificate !== undefined) details.certificate = { ...agent.certificate };
  // A SPIFFE JWT-SVID from a configured bundle, not an AgentGate token, proved the identity.
  if (agent?.jwtSvid !== undefined) {
    details.credential = "jwt-svid";
    details.trustBundle = agent.jwtSvid.trustDomain;
  }
  if (Object.keys(details).length > 0) event.details = details;
  return event;
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
  const event: AuditEvent = {
    v: AUDIT_SCHEMA_VERSION,
    id,
    type: "outcome",
    time: isoTime(time),
    invocationId: facts.invocationId,
  };
  if (facts.agent !== undefined) event.agent = facts.agent.agent.toString();
  event.tool = toolOf(facts.invocation.tool);
  event.outcome = outcome;
  return event;
}

function toolOf(tool: ToolInvocation["tool"]): NonNullable<AuditEvent["tool"]> {
  const name = visibleName(tool.name);
  return tool.server === undefined ? { name } : { name, server: visibleName(tool.server) };
}

const PLAIN_NAME = /^[\x20-\x7e]{0,256}$/;

/**
 * A name as the audit log records it: a refused name (L88) may hold invisible or control
 * characters or be 10,000 characters long, so anything outside printable ASCII is written as a
 * `\uXXXX` escape and the result is cut at 256 characters, which keeps the event valid and the
 * disguise visible to whoever reads the log.
 */
function visibleName(name: unknown): string {
  const text = typeof name === "string" ? name : String(name);
  if (PLAIN_NAME.test(text) && !text.includes("\\")) return text;
  let escaped = "";
  for (let index = 0; index < text.length && escaped.length < 256; index++) {
    const code = text.charCodeAt(index);
    escaped +=
      code >= 0x20 && code <= 0x7e && code !== 0x5c
        ? text[index]
        : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return escaped.slice(0, 256);
}

/** The `decision` block of an event. */
export function decisionBlock(
  decision: Decision | undefined,
  allowed: boolean,
  reason: string,
  code?: string,
): NonNullable<AuditEvent["decision"]> {
  const block: NonNullable<AuditEvent["decision"]> = {
    allowed,
    policies: decision === undefined ? [] : decision.policies.slice(),
    reason: reason.length > 2048 ? reason.slice(0, 2048) : reason,
  };
  if (code !== undefined) block.code = code;
  if (decision !== undefined && decision.obligations.length > 0)
    block.obligations = decision.obligations.slice();
  return block;
}

/** A short, non-reversible fingerprint of a credential for the audit trail (SECURITY.md I69). */
export async function tokenFingerprint(token: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest, 0, 8)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
}
