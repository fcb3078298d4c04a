import { createHash, randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import {
  AgentGateError,
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditEventType,
  type AuditSink,
  isAgentGateError,
} from "@agentgate/core";

/** Who made a change, as the audit event's `actor` records it (SECURITY.md K83). */
export type ChangeActor = NonNullable<AuditEvent["actor"]>;

/** A state change to record: its event type, the agent it concerns, and what changed. */
export interface Change {
  readonly type: AuditEventType;
  readonly agent?: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** The event's own fields for what it records (an approval's `approval`, `tool`, `principal`). */
  readonly fields?: Pick<AuditEvent, "principal" | "tool" | "action" | "approval">;
}

/** The OS user running this process, as `user@host`. */
export function osUser(): ChangeActor {
  let name = process.env.USER ?? "unknown";
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (containers): fall back to the environment.
  }
  return { type: "user", id: `${name}@${hostname()}`.slice(0, 256) };
}

/**
 * An admin bearer token by its id: the first 16 hex digits of its SHA-256, so that the log says
 * which token made a change without holding anything that could be replayed.
 */
export function adminActor(token: string): ChangeActor {
  return {
    type: "admin",
    id: `admin:sha256:${createHash("sha256").update(token).digest("hex").slice(0, 16)}`,
  };
}

/**
 * Records `change`, then makes it (K83): the event is written first, and when it cannot be
 * written `apply` never runs and this rejects with `audit_unavailable`, so no change goes
 * unrecorded. When `apply` fails, an `outcome` event linked by `invocationId` says so (best
 * effort: the change was not made either way) and the error is rethrown. `result` may name facts
 * only known afterwards (a new key's id); they go into a linked `outcome` event.
 */
export async function recordThenApply<T>(
  sink: AuditSink,
  actor: ChangeActor,
  change: Change,
  apply: () => Promise<T>,
  result?: (value: T) => Readonly<Record<string, unknown>>,
): Promise<T> {
  const invocationId = randomId();
  const started = Date.now();
  const event = (type: AuditEventType, extra: Partial<AuditEvent>): AuditEvent => ({
    v: AUDIT_SCHEMA_VERSION,
    id: randomId(),
    type,
    time: new Date().toISOString(),
    invocationId,
    actor,
    ...(change.agent === undefined ? {} : { agent: change.agent }),
    ...extra,
  });
  try {
    await sink.write(event(change.type, { ...change.fields, details: { ...change.details } }));
  } catch (error) {
    throw new AgentGateError(
      "audit_unavailable",
      `Not changed: the ${change.type} event could not be written to the audit log (${describe(error)}).`,
      { cause: error },
    );
  }
  let value: T;
  try {
    value = await apply();
  } catch (error) {
    await sink
      .write(
        event("outcome", {
          outcome: {
            status: "failed",
            durationMs: Date.now() - started,
            ...(isAgentGateError(error) ? { errorCode: error.code } : {}),
            error: describe(error).slice(0, 500),
          },
          details: { change: change.type },
        }),
      )
      .catch(() => undefined);
    throw error;
  }
  if (result !== undefined) {
    await sink.write(
      event("outcome", {
        outcome: { status: "succeeded", durationMs: Date.now() - started },
        details: { change: change.type, ...result(value) },
      }),
    );
  }
  return value;
}

function randomId(): string {
  return randomBytes(16).toString("hex");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
