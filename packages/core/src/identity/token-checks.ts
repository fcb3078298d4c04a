import { AgentGateError, type AgentGateErrorCode } from "../errors.js";

/**
 * Which check of a token verification failed: every refusal of a {@link TokenVerifier} carries
 * one in `error.details.check`, beside its prose, so callers and the audit log can branch on it.
 *
 * - `size`, `format`: the token is too long, not three base64url segments, or not strict JSON.
 * - `header`, `alg`, `typ`, `kid`: the JOSE header (a parameter other than `alg`/`typ`/`kid`, an
 *   algorithm not allowed or not the key's own, the wrong `typ`, an unknown, retired or unusable key id).
 * - `signature`: the signature does not match.
 * - `aud`, `iss`, `iat`, `nbf`, `exp`, `lifetime`, `jti`, `sub`, `scope`, `act`, `groups`,
 *   `agent`, `cnf`: that claim (`lifetime` is `exp - iat` over the cap; `act` covers depth, cycles
 *   and actors of another trust domain).
 * - `revoked`: the token, its key or an agent of its chain is revoked.
 * - `replay`: the token id was already used (replay protection on).
 */
export type TokenCheck =
  | "size"
  | "format"
  | "header"
  | "alg"
  | "typ"
  | "kid"
  | "signature"
  | "aud"
  | "iss"
  | "iat"
  | "nbf"
  | "exp"
  | "lifetime"
  | "jti"
  | "sub"
  | "scope"
  | "act"
  | "groups"
  | "agent"
  | "cnf"
  | "revoked"
  | "replay";

/** A refusal: `token_invalid` unless told, with `details.check` and any further details. */
export function refuse(
  check: TokenCheck,
  reason: string,
  code: AgentGateErrorCode = "token_invalid",
  details: Readonly<Record<string, unknown>> = {},
): AgentGateError {
  const message = code === "token_invalid" ? `Invalid token: ${reason}.` : reason;
  return new AgentGateError(code, message, { details: { check, ...details } });
}

/** Printable ASCII of at most 64 characters, for quoting attacker input in a message. */
export function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}
