import { randomUUID } from "node:crypto";
import type { PolicyLoad } from "@agentgate/cedar";
import {
  AgentGateError,
  type AgentRecord,
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditSink,
  type IssuedToken,
  isAgentGateError,
  type Revocation,
  type RevocationKind,
  suspendAgent,
} from "@agentgate/core";
import { type ChangeActor, recordThenApply } from "./audited-change.js";
import type { Workspace } from "./workspace.js";

/** What the server's audited operations need: the directory, where events go, and who asks. */
export interface AuditedContext {
  readonly workspace: Workspace;
  readonly audit: AuditSink;
  readonly actor: ChangeActor;
}

/** `POST /admin/revoke`: the `revocation` event first, then the revocation (K83). */
export function auditedRevoke(
  context: AuditedContext,
  kind: RevocationKind,
  id: string,
  reason: string | undefined,
): Promise<Revocation> {
  return recordThenApply(
    context.audit,
    context.actor,
    {
      type: "revocation",
      ...(kind === "agent" ? { agent: id } : {}),
      details: { kind, id, ...(reason === undefined ? {} : { reason }) },
    },
    () => context.workspace.authority.revoke(kind, id, reason),
  );
}

/**
 * `POST /admin/suspend`: an `agent_change` event first, then the registry (K83). Suspends with
 * core's `suspendAgent`, so the state before is kept for `agent resume`; resolves with the
 * suspended record.
 */
export async function auditedSuspend(
  context: AuditedContext,
  record: AgentRecord,
): Promise<AgentRecord> {
  const suspended = suspendAgent(record);
  await recordThenApply(
    context.audit,
    context.actor,
    {
      type: "agent_change",
      agent: record.id,
      details: { change: "suspended", from: record.supervision, to: suspended.supervision },
    },
    () => context.workspace.registry.put(suspended),
  );
  return suspended;
}

/**
 * Records each load and reload of the server's policies as a `policy_loaded` event with the
 * set's hash (K83). `first()` resolves once the first load is in the log (the server does not
 * start otherwise); later failures are reported on stderr, and the sink stays failed.
 */
export function policyLoads(audit: AuditSink): {
  record: (load: PolicyLoad) => void;
  first: () => Promise<void>;
} {
  let first: Promise<void> | undefined;
  return {
    record: (load) => {
      const written = audit.write({
        v: AUDIT_SCHEMA_VERSION,
        id: randomUUID(),
        type: "policy_loaded",
        time: new Date().toISOString(),
        actor: { type: "service", id: "agentgate serve" },
        details: { ...load, files: [...load.files] },
      });
      if (first === undefined) first = written;
      else
        written.catch((error: unknown) =>
          console.error(
            `agentgate: the policy_loaded event could not be written: ${String(error)}`,
          ),
        );
    },
    first: () => first ?? Promise.resolve(),
  };
}

/** What a token exchange learnt as it went: the verified actor, then the issued token. */
export interface ExchangeFacts {
  actor?: string;
  audience?: string;
  issued?: IssuedToken;
}

/**
 * Runs an RFC 8693 token exchange and records it as a `token_exchange` event, granted or refused
 * (K83, L89). A granted token is returned only after its event is written: when the write fails
 * the exchange rejects (`audit_unavailable`) and the token never leaves. A refusal is recorded
 * and rethrown; a refusal whose event cannot be written is still a refusal.
 */
export async function auditedExchange<T>(
  audit: AuditSink,
  exchange: (facts: ExchangeFacts) => Promise<T>,
): Promise<T> {
  const facts: ExchangeFacts = {};
  let answer: T;
  try {
    answer = await exchange(facts);
  } catch (error) {
    await audit
      .write(
        exchangeEvent(facts, {
          allowed: false,
          policies: [],
          reason: (error instanceof Error ? error.message : String(error)).slice(0, 1024),
          code: isAgentGateError(error)
            ? error.code
            : ((error as { error?: string }).error ?? "server_error"),
        }),
      )
      .catch(() => undefined);
    throw error;
  }
  try {
    await audit.write(
      exchangeEvent(facts, { allowed: true, policies: [], reason: "delegated (RFC 8693)" }),
    );
  } catch (error) {
    throw new AgentGateError(
      "audit_unavailable",
      "The exchange was not granted: its event could not be written to the audit log.",
      { cause: error },
    );
  }
  return answer;
}

function exchangeEvent(facts: ExchangeFacts, decision: ExchangeDecision): AuditEvent {
  const issued = facts.issued;
  return {
    v: AUDIT_SCHEMA_VERSION,
    id: randomUUID(),
    type: "token_exchange",
    time: new Date().toISOString(),
    ...(facts.actor === undefined
      ? {}
      : { actor: { type: "agent", id: facts.actor }, agent: facts.actor }),
    ...(issued === undefined
      ? {}
      : {
          principal: issued.principal,
          chain: [...issued.chain],
          tokenId: issued.tokenId,
          scopes: [...issued.scopes],
        }),
    decision,
    details: {
      ...(facts.audience === undefined ? {} : { audience: facts.audience }),
      ...(issued === undefined ? {} : { expiresAt: issued.expiresAt }),
    },
  };
}

type ExchangeDecision = NonNullable<AuditEvent["decision"]>;
