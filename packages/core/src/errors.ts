/**
 * The one error family of AgentGate. Callers branch on {@link AgentGateError.code}, never on
 * messages: codes are stable, messages are not.
 *
 * Every error carries two texts: `message`, the detailed reason for administrators and the audit
 * log, and `safeMessage`, a short reason that may be shown to a model or an end user without
 * leaking keys, key ids, policy text or stack traces (SECURITY.md H60).
 */

/** Every code an {@link AgentGateError} can carry. Lower snake case, like OAuth's wire codes. */
export type AgentGateErrorCode =
  | "invalid_configuration"
  | "invalid_agent_id"
  | "invalid_agent_record"
  | "agent_unknown"
  | "agent_exists"
  | "agent_expired"
  | "agent_revoked"
  | "agent_suspended"
  | "scope_invalid"
  | "token_invalid"
  | "token_expired"
  | "token_revoked"
  | "token_replayed"
  | "delegation_invalid"
  | "key_store_invalid"
  | "key_unavailable"
  | "registry_unavailable"
  | "revocation_unavailable"
  | "invalid_arguments"
  | "access_denied"
  | "policy_invalid"
  | "policy_unavailable"
  | "audit_unavailable"
  | "audit_unverified"
  | "approval_denied";

const BRAND = Symbol.for("agentgate.error");

const SAFE_MESSAGES: Record<AgentGateErrorCode, string> = {
  invalid_configuration: "AgentGate is misconfigured.",
  invalid_agent_id: "The agent id is not valid.",
  invalid_agent_record: "The agent record is not valid.",
  agent_unknown: "The agent is not registered.",
  agent_exists: "The agent is already registered.",
  agent_expired: "The agent's registration has expired.",
  agent_revoked: "The agent has been revoked.",
  agent_suspended: "The agent is suspended.",
  scope_invalid: "The requested scope is not allowed for this agent.",
  token_invalid: "The agent credential is not valid.",
  token_expired: "The agent credential has expired.",
  token_revoked: "The agent credential has been revoked.",
  token_replayed: "The agent credential was already used.",
  delegation_invalid: "The delegation is not allowed.",
  key_store_invalid: "The key store could not be read.",
  key_unavailable: "No signing key is available.",
  registry_unavailable: "The agent registry is unavailable.",
  revocation_unavailable: "The revocation list is unavailable.",
  invalid_arguments: "The tool arguments are not valid.",
  access_denied: "This action is not permitted.",
  policy_invalid: "The policy set is not valid.",
  policy_unavailable: "The authorization service is unavailable, so the action was denied.",
  audit_unavailable: "The audit log is unavailable, so the action was denied.",
  audit_unverified: "The audit log does not verify, so nothing was produced from it.",
  approval_denied: "The action was not approved.",
};

/** Options for {@link AgentGateError}. */
export interface AgentGateErrorOptions {
  /** A reason safe to show to a model or end user. Defaults to a fixed text per code. */
  readonly safeMessage?: string;
  /** The underlying error, kept for administrators; never shown to a model. */
  readonly cause?: unknown;
  /** Machine-readable detail for the audit log (no secrets, no raw tokens). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The error every AgentGate function throws or rejects with.
 *
 * @example
 * ```ts
 * try { await verifier.verify(token, { audience }); }
 * catch (error) { if (isAgentGateError(error) && error.code === "token_expired") refresh(); }
 * ```
 */
export class AgentGateError extends Error {
  /** Stable machine-readable code. */
  readonly code: AgentGateErrorCode;
  /** A reason that is safe to show to a model or end user. */
  readonly safeMessage: string;
  /** Machine-readable detail for administrators and the audit log. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: AgentGateErrorCode, message: string, options: AgentGateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AgentGateError";
    this.code = code;
    this.safeMessage = options.safeMessage ?? SAFE_MESSAGES[code];
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The same as {@link isAgentGateError}. */
  static is(value: unknown): value is AgentGateError {
    return isAgentGateError(value);
  }

  /** A JSON form without the stack or the cause, for logs and HTTP bodies. */
  toJSON(): { name: string; code: AgentGateErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * True when `value` is an {@link AgentGateError}, also when it comes from another copy of
 * `@agentgate/core` in the same process (the check uses a registered symbol, not `instanceof`).
 */
export function isAgentGateError(value: unknown): value is AgentGateError {
  return typeof value === "object" && value !== null && BRAND in value;
}

/** The fixed safe text for a code. */
export function safeMessageFor(code: AgentGateErrorCode): string {
  return SAFE_MESSAGES[code];
}
