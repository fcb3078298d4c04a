import { base64url, errors as joseErrors } from "jose";
import { AgentGateError } from "../errors.js";
import { parseStrictJson, StrictJsonError } from "../internal/strict-json.js";
import { AGENT_TOKEN_TYPE } from "./agent-token.js";
import type { KeySet } from "./key-set.js";
import type { SigningAlgorithm, VerificationKey } from "./signing-key.js";
import { printable, refuse, type TokenCheck } from "./token-checks.js";

// The header rules of an agent token and its compact form: everything checked before any
// signature is. Pure but for the key set's lookup.

const ALLOWED_HEADER = new Set(["alg", "typ", "kid"]);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The three segments of a compact JWS, or a refusal (`size`, `format`). */
export function splitCompact(token: unknown, maxTokenBytes: number): [string, string, string] {
  if (typeof token !== "string" || token.length === 0) throw refuse("format", "no token");
  // jose has no size limit; decoding cost must not grow with attacker input (A15).
  if (token.length > maxTokenBytes)
    throw refuse("size", `token longer than ${maxTokenBytes} bytes`);
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw refuse("format", `compact form needs 3 segments, got ${parts.length}`);
  }
  for (const part of parts) {
    if (!BASE64URL.test(part)) throw refuse("format", "a segment is not base64url");
  }
  return parts as [string, string, string];
}

/** A segment decoded as strict JSON (no duplicate members, bounded depth), an object. */
export function decodeSegment(
  segment: string,
  what: string,
  maxDepth: number,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(decoder.decode(base64url.decode(segment)), { maxDepth });
  } catch (error) {
    const reason = error instanceof StrictJsonError ? error.message : "not UTF-8 JSON";
    throw refuse("format", `${what}: ${reason}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw refuse("format", `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The header rules: exactly `alg`/`typ`/`kid` (so `jku`, `x5u`, `jwk`, `x5c` and `crit` are
 * refused, never fetched), an allowed `alg`, `typ` `agent+jwt`, a `kid` the key set knows, and the
 * algorithm pinned to that key. Returns the key to check the signature with.
 */
export function checkHeader(
  header: Readonly<Record<string, unknown>>,
  algorithms: readonly SigningAlgorithm[],
  keys: KeySet,
): VerificationKey {
  for (const name of Object.keys(header)) {
    // Only alg, typ and kid, as SPIFFE JWT-SVID: jku/x5u/jwk/x5c are never trusted or
    // fetched, and crit names no extension we implement (A6, A7).
    if (!ALLOWED_HEADER.has(name)) {
      throw refuse("header", `header parameter "${printable(name)}" is not allowed`);
    }
  }
  const alg = header.alg;
  if (typeof alg !== "string" || !algorithms.includes(alg as SigningAlgorithm)) {
    throw refuse("alg", `algorithm "${printable(String(alg))}" is not allowed`);
  }
  if (header.typ !== AGENT_TOKEN_TYPE) throw refuse("typ", `typ must be "${AGENT_TOKEN_TYPE}"`);
  const kid = header.kid;
  if (typeof kid !== "string" || kid.length === 0 || kid.length > 128) {
    throw refuse("kid", "no usable kid");
  }
  const key = keys.getVerificationKey(kid);
  // No fallback to "try every key": an unknown kid is simply an invalid token (A5).
  if (key === undefined) throw refuse("kid", `unknown key id "${printable(kid)}"`);
  // The algorithm is pinned by the key, never taken from the header alone (A2).
  if (key.alg !== alg) throw refuse("alg", `key ${kid} signs ${key.alg}, not ${printable(alg)}`);
  return key;
}

/**
 * What failed, in AgentGate's words, for each jose error code a verification can raise. The jose
 * code stays in `details.jose` for administrators; messages never expose a library's internals.
 */
const JOSE_FAILURES: Readonly<Record<string, { check: TokenCheck; reason: string }>> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: {
    check: "signature",
    reason: "the signature does not match the token's contents",
  },
  ERR_JWS_INVALID: { check: "format", reason: "not a well-formed signed token" },
  ERR_JWT_INVALID: { check: "format", reason: "not a well-formed signed token" },
  ERR_JOSE_ALG_NOT_ALLOWED: {
    check: "alg",
    reason: "signed with an algorithm that is not allowed",
  },
  ERR_JOSE_NOT_SUPPORTED: { check: "alg", reason: "signed with an unsupported algorithm or key" },
};

/** A jose failure (or anything else thrown while checking the signature) as a refusal. */
export function fromJoseError(error: unknown): AgentGateError {
  if (error instanceof joseErrors.JOSEError) {
    const failure = JOSE_FAILURES[error.code] ?? {
      check: "signature",
      reason: "verification failed",
    };
    return new AgentGateError("token_invalid", `Invalid token: ${failure.reason}.`, {
      cause: error,
      details: { check: failure.check, jose: error.code },
    });
  }
  // Non-JOSE errors (a TypeError from Web Crypto, as jose throws for a public CryptoKey given
  // without `algorithms`) deny too, never pass.
  return new AgentGateError("token_invalid", "Invalid token: verification failed.", {
    cause: error,
    details: { check: "signature" },
  });
}
