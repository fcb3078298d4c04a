import { base64url, type CryptoKey, calculateJwkThumbprint, SignJWT } from "jose";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { accessTokenHash, type DpopKey } from "./dpop.js";
import { rememberProofJti, verifyProofJwt } from "./proof-jwt.js";
import type { ReplayCache } from "./replay-cache.js";

/**
 * The `typ` of an AgentGate call proof: DPoP's shape (RFC 9449 §4.2, which the MCP proposal
 * SEP-1932 adopts for HTTP) for transports without an HTTP request to bind, such as MCP over
 * stdio or in memory. AgentGate's extension, not part of MCP.
 */
export const CALL_PROOF_TYPE = "agentgate-call+jwt";

/** What one call proof covers (the request it rides in). */
export interface CallProofRequest {
  /** The MCP method: `tools/call`, `tools/list`. Takes DPoP's `htm` place. */
  readonly method: string;
  /** The tool's name as the client calls it (for `tools/call`). Takes DPoP's `htu` place. */
  readonly tool?: string;
  /** The call's arguments, exactly as sent: their canonical JSON's SHA-256 is signed. */
  readonly arguments?: unknown;
  /** The access token beside the proof: its SHA-256 is the proof's `ath`. */
  readonly accessToken: string;
}

/** Options of {@link verifyCallProof}. */
export interface VerifyCallProofOptions extends CallProofRequest {
  /** Remembers each proof's `jti` for the window: a proof is accepted once. */
  readonly replay: ReplayCache;
  /** How far `iat` may be from now, either way, in seconds (default 60). */
  readonly windowSeconds?: number;
  readonly clock?: Clock;
}

const MAX_DEPTH = 64;

/**
 * base64url(SHA-256(canonical JSON of `value`)): object keys sorted, no whitespace, `undefined`
 * members left out, `toJSON` applied, as `JSON.stringify` writes everything else (RFC 8785's
 * form for the values MCP arguments hold): what the sender hashes is what the receiver parses.
 * The `args` of a call proof. Deeper than 64 levels is refused.
 */
export async function argumentsHash(value: unknown): Promise<string> {
  const text = canonicalJson(value ?? {}, 0);
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64url.encode(new Uint8Array(digest));
}

/**
 * A call proof for one MCP request over a transport without HTTP (stdio, in-memory): a JWT of
 * `typ` {@link CALL_PROOF_TYPE} signed by the agent's proof key, whose public JWK rides in the
 * header, with `mcp_method`, `mcp_tool`, `args` (the {@link argumentsHash}), `ath` (the token's
 * hash), `iat` and a fresh `jti`. `withAgentToken(client, credential, { key })` sends one in
 * `_meta["dev.agentgate/proof"]` on every request.
 *
 * @example
 * ```ts
 * const proof = await createCallProof(key, { method: "tools/call", tool: "lookup", arguments: { customerId: "acme" }, accessToken });
 * ```
 */
export async function createCallProof(
  key: DpopKey,
  request: CallProofRequest & { readonly clock?: Clock },
): Promise<string> {
  const clock = request.clock ?? systemClock;
  return new SignJWT({
    mcp_method: request.method,
    ...(request.tool === undefined ? {} : { mcp_tool: request.tool }),
    args: await argumentsHash(request.arguments),
    ath: await accessTokenHash(request.accessToken),
  })
    .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg: key.alg, jwk: key.publicJwk })
    .setIssuedAt(Math.floor(clock.now() / 1000))
    .setJti(base64url.encode(globalThis.crypto.getRandomValues(new Uint8Array(16))))
    .sign(key.privateKey as CryptoKey);
}

/**
 * Checks a call proof against the request it came with: `typ`, an allowed asymmetric `alg`, a
 * public `jwk` header that verifies the signature, `mcp_method`, `mcp_tool` and `args` equal to
 * the request's, `ath` equal to the token's hash, `iat` within the window and a `jti` never seen
 * within it. Resolves with the key's RFC 7638 thumbprint, which the gate compares with the
 * token's `cnf.jkt` once it has verified the token. Every failure is `token_invalid` with
 * `details.check` (`proof`, `method`, `tool`, `args`, `ath`, `iat`, `jti`).
 */
export async function verifyCallProof(
  proof: string | undefined,
  options: VerifyCallProofOptions,
): Promise<string> {
  const clock = options.clock ?? systemClock;
  const window = options.windowSeconds ?? 60;
  const { payload, jwk } = await verifyProofJwt(proof, CALL_PROOF_TYPE, "proof", refuse);
  if (payload.mcp_method !== options.method)
    throw refuse("method", "the proof is for another method");
  if (payload.mcp_tool !== options.tool) throw refuse("tool", "the proof is for another tool");
  let args: string;
  try {
    args = await argumentsHash(options.arguments);
  } catch (error) {
    throw refuse("args", "the arguments cannot be hashed", error);
  }
  if (payload.args !== args) throw refuse("args", "the proof is for other arguments");
  if (payload.ath !== (await accessTokenHash(options.accessToken))) {
    throw refuse("ath", "the proof is for another token");
  }
  const now = clock.now() / 1000;
  if (typeof payload.iat !== "number" || Math.abs(payload.iat - now) > window) {
    throw refuse("iat", `the proof's iat is more than ${window}s from now`);
  }
  await rememberProofJti(payload, options.replay, "call", window, refuse);
  return calculateJwkThumbprint(jwk);
}

function canonicalJson(input: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new RangeError("arguments nested too deeply");
  // As JSON.stringify does, and so as the receiving side sees it: a Date becomes its string.
  const value =
    typeof (input as { toJSON?: unknown } | null)?.toJSON === "function"
      ? (input as { toJSON: () => unknown }).toJSON()
      : input;
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; as array members JSON writes null.
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item, depth + 1)).join(",")}]`;
  }
  const members = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map(
      (key) =>
        `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key], depth + 1)}`,
    );
  return `{${members.join(",")}}`;
}

function refuse(check: string, reason: string, cause?: unknown): AgentGateError {
  return new AgentGateError("token_invalid", `Invalid call proof: ${reason}.`, {
    details: { check },
    ...(cause === undefined ? {} : { cause }),
  });
}
