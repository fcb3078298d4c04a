import { type AgentGateErrorCode, isAgentGateError } from "@agentgate/core";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An error answer of the server: an HTTP status, a stable `error` code (OAuth-style, lower snake
 * case) and a description safe to show to any caller. Route handlers throw it; the one error
 * handler writes it.
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    /** The HTTP status. */
    readonly status: ContentfulStatusCode,
    /** The stable wire code, e.g. `invalid_request`. */
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

/** HTTP status and wire code of every AgentGateError code that is not a plain 400. */
const BY_CODE: Partial<Record<AgentGateErrorCode, [ContentfulStatusCode, string]>> = {
  invalid_configuration: [500, "server_error"],
  policy_invalid: [500, "server_error"],
  key_store_invalid: [500, "server_error"],
  policy_unavailable: [503, "policy_unavailable"],
  registry_unavailable: [503, "registry_unavailable"],
  revocation_unavailable: [503, "revocation_unavailable"],
  audit_unavailable: [503, "audit_unavailable"],
  key_unavailable: [503, "key_unavailable"],
  access_denied: [403, "access_denied"],
  token_invalid: [400, "invalid_grant"],
  token_expired: [400, "invalid_grant"],
  token_revoked: [400, "invalid_grant"],
  token_replayed: [400, "invalid_grant"],
  delegation_invalid: [400, "invalid_scope"],
  scope_invalid: [400, "invalid_scope"],
};

/**
 * Any thrown value as an {@link HttpError}: an AgentGateError by its code (its safe message as
 * the description, never the detailed one), anything else a 500 that says nothing of itself.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (!isAgentGateError(error)) return new HttpError(500, "server_error", "internal error");
  const [status, code] = BY_CODE[error.code] ?? [400, error.code];
  return new HttpError(status, code, error.safeMessage);
}
