import { EmbeddedJWK, type JWK, jwtVerify } from "jose";
import type { AgentGateError } from "../errors.js";
import type { ReplayCache } from "./replay-cache.js";

// What a DPoP proof (dpop.ts) and a call proof (call-proof.ts) share: a small JWT signed by the
// public key in its own `jwk` header, and a `jti` accepted once within the window.

const ALGORITHMS = ["ES256", "EdDSA"] as const;
const MAX_PROOF_BYTES = 4096;

/** How a proof's refusals are made: the kind's own `refuse(check, reason, cause)`. */
type Refuse = (check: string, reason: string, cause?: unknown) => AgentGateError;

/**
 * Verifies a proof's signature with its embedded public `jwk` (ES256 or EdDSA, `typ` exactly
 * `type`) and returns its payload and key. Refusals carry `check` (`dpop` or `proof`).
 * @internal
 */
export async function verifyProofJwt(
  proof: string | undefined,
  type: string,
  check: string,
  refuse: Refuse,
): Promise<{ payload: Record<string, unknown>; jwk: JWK }> {
  if (typeof proof !== "string" || proof.length === 0) throw refuse(check, "no proof");
  if (proof.length > MAX_PROOF_BYTES) throw refuse(check, "the proof is too large");
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: type, algorithms: [...ALGORITHMS] });
  } catch (error) {
    throw refuse(check, "the proof does not verify", error);
  }
  const jwk = verified.protectedHeader.jwk;
  if (jwk === undefined || "d" in jwk) throw refuse(check, "the proof's jwk is not a public key");
  return { payload: verified.payload, jwk };
}

/**
 * The proof's `jti`, remembered under `prefix` until a second past `iat + window`: a proof is
 * accepted once. A replay cache forgets an id at its expiry instant, and a proof is still within
 * the window at exactly `iat + window`, so the id outlives the window. Last of a proof's checks,
 * so a proof refused for another reason does not burn its `jti`.
 * @internal
 */
export async function rememberProofJti(
  payload: Record<string, unknown>,
  replay: ReplayCache,
  prefix: string,
  window: number,
  refuse: Refuse,
): Promise<void> {
  if (typeof payload.jti !== "string" || payload.jti.length === 0 || payload.jti.length > 128) {
    throw refuse("jti", "the proof has no usable jti");
  }
  // Awaited: a shared replay cache (PostgreSQL) answers asynchronously.
  const until = (payload.iat as number) + window + 1;
  if (!(await replay.remember(`${prefix}:${payload.jti}`, until))) {
    throw refuse("jti", "the proof was already used");
  }
}
