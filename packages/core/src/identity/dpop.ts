import {
  base64url,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
} from "jose";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { rememberProofJti, verifyProofJwt } from "./proof-jwt.js";
import type { ReplayCache } from "./replay-cache.js";

/** The `typ` of a DPoP proof (RFC 9449 §4.2). */
export const DPOP_PROOF_TYPE = "dpop+jwt";

/** An agent's proof-of-possession key: the private half never leaves the agent process. */
export interface DpopKey {
  /** Web Crypto private key (not extractable). */
  readonly privateKey: CryptoKey;
  /** The public JWK that goes into each proof's header. */
  readonly publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of the public key: the token's `cnf.jkt`. */
  readonly jkt: string;
  readonly alg: "ES256" | "EdDSA";
}

/** Options of {@link verifyDpopProof}. */
export interface VerifyDpopProofOptions {
  /** The request's method (`POST`). */
  readonly method: string;
  /** The request's URL; compared without query and fragment (RFC 9449 §4.3). */
  readonly url: string | URL;
  /** The access token the request carries: the proof's `ath` must be its SHA-256. */
  readonly accessToken: string;
  /** The thumbprint the token is bound to (`cnf.jkt`). */
  readonly jkt: string;
  /** Remembers each proof's `jti` for the window: a proof is accepted once. */
  readonly replay: ReplayCache;
  /** How far `iat` may be from now, either way, in seconds (default 60). */
  readonly windowSeconds?: number;
  readonly clock?: Clock;
}

/** A fresh DPoP key pair (ES256 by default, as most DPoP servers accept). */
export async function generateDpopKey(alg: "ES256" | "EdDSA" = "ES256"): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: false });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const publicJwk: JWK = { kty, crv, x, ...(y === undefined ? {} : { y }) } as JWK;
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk), alg };
}

/** base64url(SHA-256(token)): the `ath` of a proof for `token` (RFC 9449 §4.2). */
export async function accessTokenHash(token: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return base64url.encode(new Uint8Array(digest));
}

/**
 * A DPoP proof (RFC 9449 §4.2) for one request: `htm`, `htu` (without query and fragment), `iat`,
 * a fresh `jti` and, with an access token, its hash `ath`; signed by `key`, whose public JWK
 * rides in the header.
 *
 * @example
 * ```ts
 * headers.set("dpop", await createDpopProof(key, { method: "POST", url, accessToken }));
 * ```
 */
export async function createDpopProof(
  key: DpopKey,
  request: { method: string; url: string | URL; accessToken?: string; clock?: Clock },
): Promise<string> {
  const clock = request.clock ?? systemClock;
  return new SignJWT({
    htm: request.method.toUpperCase(),
    htu: targetUri(request.url),
    ...(request.accessToken === undefined
      ? {}
      : { ath: await accessTokenHash(request.accessToken) }),
  })
    .setProtectedHeader({ typ: DPOP_PROOF_TYPE, alg: key.alg, jwk: key.publicJwk })
    .setIssuedAt(Math.floor(clock.now() / 1000))
    .setJti(base64url.encode(globalThis.crypto.getRandomValues(new Uint8Array(16))))
    .sign(key.privateKey);
}

/**
 * Checks a DPoP proof for a request carrying a bound token (RFC 9449 §4.3): `typ`, an allowed
 * asymmetric `alg`, a public `jwk` header that verifies the signature, `htm` and `htu` equal to
 * the request's, `iat` within the window, a `jti` never seen within it, `ath` equal to the
 * token's hash, and the key's thumbprint equal to the token's `cnf.jkt`. Every failure is
 * `token_invalid` with `details.check` (`dpop`, `htm`, `htu`, `iat`, `ath`, `jkt`, `jti`).
 */
export async function verifyDpopProof(
  proof: string | undefined,
  options: VerifyDpopProofOptions,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const window = options.windowSeconds ?? 60;
  const { payload, jwk } = await verifyProofJwt(proof, DPOP_PROOF_TYPE, "dpop", refuse);
  if (payload.htm !== options.method.toUpperCase()) throw refuse("htm", "htm is not the method");
  if (payload.htu !== targetUri(options.url)) throw refuse("htu", "htu is not this URL");
  const now = clock.now() / 1000;
  if (typeof payload.iat !== "number" || Math.abs(payload.iat - now) > window) {
    throw refuse("iat", `the proof's iat is more than ${window}s from now`);
  }
  if (payload.ath !== (await accessTokenHash(options.accessToken))) {
    throw refuse("ath", "the proof is for another token");
  }
  if ((await calculateJwkThumbprint(jwk)) !== options.jkt) {
    throw refuse("jkt", "the proof is not signed by the key the token is bound to");
  }
  await rememberProofJti(payload, options.replay, "dpop", window, refuse);
}

/** The URL without query and fragment, as `htu` compares (RFC 9449 §4.3, step 9). */
function targetUri(url: string | URL): string {
  const parsed = new URL(url.toString());
  return `${parsed.origin}${parsed.pathname}`;
}

function refuse(check: string, reason: string, cause?: unknown): AgentGateError {
  return new AgentGateError("token_invalid", `Invalid DPoP proof: ${reason}.`, {
    details: { check },
    ...(cause === undefined ? {} : { cause }),
  });
}
