import * as z from "zod";

/** Version of the audit event schema. Bumped on any incompatible change. */
export const AUDIT_SCHEMA_VERSION = 1;

/**
 * Event types:
 * - `decision`: a tool call was allowed or denied; written before the tool runs (E39).
 * - `outcome`: the tool ran and succeeded or failed, with its duration.
 * - `check`: a decision asked without running anything (`gate.check`, `tools/list`).
 * - `approval`: a human (or approver) answered a request for approval.
 * - `revocation`, `key_rotation`: identity life-cycle changes.
 * - `tool_changed`: a tool's description or schema changed after it was pinned (MCP rug pull).
 * - `log_recovered`: the audit log found a record torn by a crash when it reopened, and cut it.
 * - `agent_change`: an agent was registered, updated, suspended or resumed (`details.change`).
 * - `policy_loaded`: a policy set was loaded or reloaded (`details.hash`, `details.version`).
 * - `token_exchange`: an RFC 8693 exchange was granted or refused (`decision`).
 * - `config_change`: a trust domain's configuration was created or changed.
 *
 * Every state change (K83) carries `actor`: who made it.
 */
export const auditEventTypeSchema = z.enum([
  "decision",
  "outcome",
  "check",
  "approval",
  "revocation",
  "key_rotation",
  "tool_changed",
  "log_recovered",
  "agent_change",
  "policy_loaded",
  "token_exchange",
  "config_change",
]);
/** The type of an {@link AuditEvent} (see {@link auditEventTypeSchema}). */
export type AuditEventType = z.infer<typeof auditEventTypeSchema>;

const shortText = z.string().max(2048);

/**
 * One audit event, as producers (the Gate, adapters, the CLI) build it. The log adds `seq`,
 * `prev` and `hash` when it writes it (see {@link AuditRecord}). Arguments are redacted
 * before an event is built; raw tokens never appear in an event (token id only).
 */
export const auditEventSchema = z.strictObject({
  v: z.literal(AUDIT_SCHEMA_VERSION),
  /** Unique event id. */
  id: z.string().min(1).max(128),
  type: auditEventTypeSchema,
  /** ISO 8601 instant. */
  time: z.iso.datetime(),
  /** Links the `decision`, `approval` and `outcome` events of one tool call. */
  invocationId: z.string().max(128).optional(),
  /** The acting agent. */
  agent: shortText.optional(),
  /**
   * Who made a state change (SECURITY.md K83): an OS user at the CLI (`user`), an admin
   * bearer token by its id (`admin`), an agent (`agent`), or a service acting on its own
   * (`service`, e.g. a policy reload seen by a watching server).
   */
  actor: z
    .strictObject({ type: z.enum(["user", "admin", "agent", "service"]), id: shortText })
    .optional(),
  /** On whose behalf (token `sub`). */
  principal: shortText.optional(),
  /** Principal first, acting agent last. */
  chain: z.array(shortText).max(32).optional(),
  /** The accountable owner of the acting agent. */
  owner: shortText.optional(),
  /** The token id (`jti`); never the token. */
  tokenId: shortText.optional(),
  /** The scopes the presented token carried. */
  scopes: z.array(shortText).max(256).optional(),
  tool: z.strictObject({ name: shortText, server: shortText.optional() }).optional(),
  action: shortText.optional(),
  resource: z
    .strictObject({
      type: shortText,
      id: shortText,
      properties: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  /** Arguments after redaction. */
  arguments: z.unknown().optional(),
  decision: z
    .strictObject({
      allowed: z.boolean(),
      /** Ids of the deciding policies. */
      policies: z.array(shortText),
      /** The administrator's reason. */
      reason: shortText,
      /** The error code of a denial (`access_denied`, `token_expired`, `policy_unavailable`, …). */
      code: shortText.optional(),
      obligations: z.array(shortText).optional(),
    })
    .optional(),
  outcome: z
    .strictObject({
      status: z.enum(["succeeded", "failed"]),
      durationMs: z.number().nonnegative(),
      errorCode: shortText.optional(),
      error: shortText.optional(),
    })
    .optional(),
  approval: z
    .strictObject({
      approved: z.boolean(),
      approver: shortText.optional(),
      reason: shortText.optional(),
    })
    .optional(),
  /** W3C trace context ids, when the call runs inside a trace. */
  trace: z.strictObject({ traceId: shortText.optional(), spanId: shortText.optional() }).optional(),
  /** Anything else worth keeping (no secrets, no raw tokens). */
  details: z.record(z.string(), z.unknown()).optional(),
});
/** One audit event, as producers build it (see {@link auditEventSchema} for every field). */
export type AuditEvent = z.infer<typeof auditEventSchema>;

/** An event as the log stores it: with its sequence number and hash chain. */
export interface AuditRecord extends AuditEvent {
  /** 0-based position in the log, across rotated files. */
  readonly seq: number;
  /** `hash` of the previous record (64 zeros for the first). */
  readonly prev: string;
  /** SHA-256 (hex) over the canonical serialisation of the record without `hash`. */
  readonly hash: string;
}
