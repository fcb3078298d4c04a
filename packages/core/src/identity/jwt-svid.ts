import { type CryptoKey, compactVerify, importJWK, type JSONWebKeySet, type JWK } from "jose";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { AgentId } from "./agent-id.js";
import type { AgentRegistry } from "./agent-registry.js";
import { AGENT_TOKEN_TYPE, type VerifiedAgent } from "./agent-token.js";
import type { RevocationList } from "./revocation-list.js";
import { printable, refuse } from "./token-checks.js";
import { decodeSegment, fromJoseError, splitCompact } from "./token-header.js";
import { checkAgentChain, type UsableAgentToken } from "./verify-agent-token.js";

/** The JWT-SVID algorithms AgentGate accepts from a SPIFFE bundle (JWT-SVID §2.1, minus PS*). */
const JWT_SVID_ALGORITHMS = ["ES256", "ES384", "RS256"] as const;
type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number];
const ALLOWED_HEADER = new Set(["alg", "kid", "typ"]);

interface BundleKey {
  readonly alg: JwtSvidAlgorithm;
  readonly key: CryptoKey | Uint8Array;
}

/**
 * The JWT authorities of one SPIFFE trust domain (a SPIRE server's bundle, SPIFFE Trust Domain
 * and Bundle §4): the JWKS keys whose `use` is `jwt-svid`, each with its `kid`. Keys of other
 * uses (`x509-svid`) are left out; a `jwt-svid` key without a `kid`, a private key or a key type
 * no JWT-SVID algorithm signs with makes the bundle invalid (`key_store_invalid`).
 */
export class JwtSvidBundle {
  #keys: ReadonlyMap<string, BundleKey>;
  readonly #source: JwtSvidBundleSource | undefined;
  #refreshing: Promise<void> | undefined;

  private constructor(
    /** The trust domain every SVID of this bundle names, e.g. `acme.example`. */
    readonly trustDomain: string,
    keys: ReadonlyMap<string, BundleKey>,
    source?: JwtSvidBundleSource,
  ) {
    this.#keys = keys;
    this.#source = source;
  }

  /** Imports the `jwt-svid` keys of `bundle` for `trustDomain`. */
  static async fromJwks(trustDomain: string, bundle: JSONWebKeySet): Promise<JwtSvidBundle> {
    return new JwtSvidBundle(trustDomain, await importBundle(trustDomain, bundle));
  }

  /**
   * A bundle that follows its source, for SPIRE's key rotation without a restart: `bundle` is
   * imported now (a fault rejects, as {@link JwtSvidBundle.fromJwks}); before each SVID is
   * checked, `source.changed()` is asked for a newer JWKS and, when it gives one, that JWKS's
   * keys replace these, so a key SPIRE added verifies and a key it dropped no longer does.
   * A newer JWKS that does not import leaves the keys in force, and `source.onError` hears why.
   * `createGate` makes one for each `jwksPath` of `config.json`'s `spiffeBundles`.
   */
  static async following(
    trustDomain: string,
    bundle: JSONWebKeySet,
    source: JwtSvidBundleSource,
  ): Promise<JwtSvidBundle> {
    return new JwtSvidBundle(trustDomain, await importBundle(trustDomain, bundle), source);
  }

  /**
   * @internal Brings the keys up to date with the source, if any (`verifyJwtSvid` calls it);
   * concurrent callers share one look. Never rejects: a failing source keeps the keys in force.
   */
  refresh(): Promise<void> | undefined {
    const source = this.#source;
    if (source === undefined) return undefined;
    this.#refreshing ??= (async () => {
      try {
        const next = await source.changed();
        if (next !== undefined) {
          this.#keys = await importBundle(this.trustDomain, next);
          source.onChange?.([...this.#keys.keys()]);
        }
      } catch (error) {
        source.onError?.(error);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** @internal The key named `kid`, or `undefined`. */
  key(kid: string): BundleKey | undefined {
    return this.#keys.get(kid);
  }
}

/** Where a {@link JwtSvidBundle.following} bundle learns of a newer JWKS (a file, an endpoint). */
export interface JwtSvidBundleSource {
  /**
   * A newer JWKS when the bundle changed since it last gave one, else `undefined`. Asked before
   * every SVID is checked: it should answer from memory until it is worth looking again (a
   * file's mtime checked at most every few seconds).
   */
  changed(): Promise<JSONWebKeySet | undefined>;
  /** Told why a newer bundle could not be used (the keys in force stay). */
  onError?(error: unknown): void;
  /** Told the key ids now in force, each time a newer bundle replaced the keys. */
  onChange?(keyIds: readonly string[]): void;
}

/** The `jwt-svid` keys of `bundle` for `trustDomain` (see {@link JwtSvidBundle}). */
async function importBundle(
  trustDomain: string,
  bundle: JSONWebKeySet,
): Promise<ReadonlyMap<string, BundleKey>> {
  if (AgentId.tryParse(`spiffe://${trustDomain}/agent/x`)?.trustDomain !== trustDomain) {
    throw new AgentGateError("invalid_configuration", `Not a trust domain name: ${trustDomain}.`);
  }
  if (!Array.isArray(bundle?.keys)) throw invalidBundle("keys is not a list");
  const keys = new Map<string, BundleKey>();
  for (const jwk of bundle.keys as JWK[]) {
    if (jwk.use !== "jwt-svid") continue;
    if (typeof jwk.kid !== "string" || jwk.kid.length === 0)
      throw invalidBundle("a jwt-svid key has no kid");
    if ("d" in jwk) throw invalidBundle(`key ${jwk.kid} is a private key`);
    const alg = algorithmOf(jwk);
    if (alg === undefined)
      throw invalidBundle(`key ${jwk.kid} signs no accepted JWT-SVID algorithm`);
    if (keys.has(jwk.kid)) throw invalidBundle(`two keys are named ${jwk.kid}`);
    try {
      keys.set(jwk.kid, { alg, key: await importJWK(jwk, alg) });
    } catch (error) {
      throw invalidBundle(`key ${jwk.kid} does not import`, error);
    }
  }
  return keys;
}

/** Options of {@link verifyJwtSvid}. */
export interface VerifyJwtSvidOptions {
  /** The SPIRE trust domain's JWT authorities. */
  readonly bundle: JwtSvidBundle;
  /** This service's audience: `aud` must be exactly it, alone (SECURITY.md J76). */
  readonly audience: string;
  /** Every agent an SVID names must be registered here, as for a token (L90). */
  readonly registry: AgentRegistry;
  /** Checked for the agent and the SVID (`jwt-svid:<jti or digest>`). */
  readonly revocations?: RevocationList;
  readonly clock?: Clock;
  /** Allowed skew for `exp`, `nbf` and `iat`, in seconds (default 30). */
  readonly clockSkewSeconds?: number;
  /** Longest accepted `exp - iat` when `iat` is present, in seconds (default 3600). */
  readonly maxLifetimeSeconds?: number;
  /** Called with the proven identity before the registry is asked (as `verifyAgentToken`'s). */
  readonly onVerified?: (agent: VerifiedAgent) => void;
}

/**
 * Which configured bundle `token` is a JWT-SVID of, read from its unverified header and `sub`
 * (nothing is trusted until {@link verifyJwtSvid} has checked it against that bundle): the
 * routing the gate and `verifyAgentToken` use, for a bearer check in front of a gate (an MCP
 * server over HTTP) to route a credential exactly as the gate will. `undefined` for an AgentGate
 * token (`typ` `agent+jwt`) or anything that does not decode, left to the token verifier to
 * refuse. A JWT-SVID of a trust domain with no bundle here is refused (`token_invalid`,
 * `details.check` `sub`): no other bundle's keys are ever tried.
 *
 * @example
 * ```ts
 * const bundle = jwtSvidBundleFor(credential, bundles);
 * const { agent } = bundle === undefined
 *   ? { agent: await verifier.verify(credential, { audience }) }
 *   : await verifyJwtSvid(credential, { bundle, registry, audience, revocations: verifier.revocations });
 * ```
 */
export function jwtSvidBundleFor(
  token: string,
  bundles: readonly JwtSvidBundle[],
): JwtSvidBundle | undefined {
  let sub: unknown;
  try {
    const [headerPart, payloadPart] = splitCompact(token, 8192);
    const { typ } = decodeSegment(headerPart, "header", 2);
    if (typ === AGENT_TOKEN_TYPE || !(typ === undefined || typ === "JWT" || typ === "JOSE"))
      return undefined;
    sub = decodeSegment(payloadPart, "claims", 4).sub;
  } catch {
    return undefined;
  }
  const trustDomain = typeof sub === "string" ? AgentId.tryParse(sub)?.trustDomain : undefined;
  if (trustDomain === undefined) throw refuse("sub", "sub is not a canonical agent id");
  const bundle = bundles.find((candidate) => candidate.trustDomain === trustDomain);
  if (bundle === undefined) {
    throw refuse(
      "sub",
      `no SPIFFE bundle is configured for trust domain ${printable(trustDomain)}`,
    );
  }
  return bundle;
}

/**
 * Accepts a SPIFFE JWT-SVID (from SPIRE's Workload API) as an agent credential, from a
 * configured trust bundle: the JWT-SVID profile (header `alg`/`kid`/`typ` only, `typ` absent,
 * `JWT` or `JOSE`), `alg` ES256, ES384 or RS256 pinned to the bundle key `kid` names (a `kid`
 * is required: no "try every key"), the signature, `sub` a canonical agent id of the bundle's
 * trust domain, `aud` this audience alone, `exp` required, `nbf`/`iat` when present, then
 * revocation and the registry through the very function tokens go through (L90). The identity's
 * scopes are the registry's widest for the agent (an SVID proves identity, policy decides the
 * rest); `tokenId` is `jwt-svid:<jti>` (or `jwt-svid:<sha-256 of the SVID>` without `jti`).
 *
 * Refusals are `AgentGateError`s with `details.check` as for agent tokens (`format`, `header`,
 * `alg`, `typ`, `kid`, `signature`, `sub`, `aud`, `exp`, `nbf`, `iat`, `lifetime`, `revoked`).
 *
 * @example
 * ```ts
 * const bundle = await JwtSvidBundle.fromJwks("acme.example", spireBundleJwks);
 * const { agent } = await verifyJwtSvid(svid, { bundle, registry, audience: "https://crm.acme.example" });
 * ```
 */
export async function verifyJwtSvid(
  token: string,
  options: VerifyJwtSvidOptions,
): Promise<UsableAgentToken> {
  const clock = options.clock ?? systemClock;
  const skew = options.clockSkewSeconds ?? 30;
  const [headerPart, payloadPart] = splitCompact(token, 8192);
  const header = decodeSegment(headerPart, "header", 2);
  for (const name of Object.keys(header)) {
    if (!ALLOWED_HEADER.has(name)) {
      throw refuse("header", `header parameter "${printable(name)}" is not allowed in a JWT-SVID`);
    }
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== "string" || !(JWT_SVID_ALGORITHMS as readonly string[]).includes(alg)) {
    throw refuse("alg", `algorithm "${printable(String(alg))}" is not allowed`);
  }
  if (typ !== undefined && typ !== "JWT" && typ !== "JOSE")
    throw refuse("typ", "typ must be JWT or JOSE");
  if (typeof kid !== "string" || kid.length === 0)
    throw refuse("kid", "a JWT-SVID needs a kid here");
  // A bundle that follows its file (SPIRE rotated its keys) is brought up to date first.
  const refreshing = options.bundle.refresh();
  if (refreshing !== undefined) await refreshing;
  const key = options.bundle.key(kid);
  if (key === undefined) throw refuse("kid", `unknown key id "${printable(kid)}"`);
  if (key.alg !== alg) throw refuse("alg", `key ${kid} signs ${key.alg}, not ${printable(alg)}`);
  const claims = decodeSegment(payloadPart, "claims", 4);
  try {
    await compactVerify(token, key.key, { algorithms: [key.alg] });
  } catch (error) {
    throw fromJoseError(error);
  }

  const { sub, aud, exp, nbf, iat, jti } = claims;
  const agentId = typeof sub === "string" ? AgentId.tryParse(sub) : undefined;
  if (agentId === undefined || agentId.toString() !== sub)
    throw refuse("sub", "sub is not a canonical agent id");
  if (agentId.trustDomain !== options.bundle.trustDomain) {
    throw refuse("sub", `sub is not of trust domain ${options.bundle.trustDomain}`);
  }
  const audience = options.audience;
  if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) {
    throw refuse("aud", "aud must name this audience alone");
  }
  const seconds = clock.now() / 1000;
  if (!isNumericDate(exp)) throw refuse("exp", "exp is required (JWT-SVID §3.3)");
  if (exp + skew <= seconds) throw refuse("exp", "The JWT-SVID has expired.", "token_expired");
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf - skew > seconds))
    throw refuse("nbf", "nbf is malformed or in the future");
  if (iat !== undefined) {
    if (!isNumericDate(iat) || iat - skew > seconds)
      throw refuse("iat", "iat is malformed or in the future");
    const max = options.maxLifetimeSeconds ?? 3600;
    if (exp - iat > max) throw refuse("lifetime", `lifetime ${exp - iat}s exceeds ${max}s`);
  }
  const tokenId =
    typeof jti === "string" && /^[\x21-\x7e]{1,128}$/.test(jti)
      ? `jwt-svid:${jti}`
      : `jwt-svid:${await sha256Hex(token)}`;
  const id = agentId.toString();
  const revocations = options.revocations;
  // A list whose source went away denies, as for tokens (revocation_unavailable).
  const unavailable = revocations?.unavailable?.();
  if (unavailable !== undefined) throw unavailable;
  if (revocations?.isRevoked("agent", id) === true) {
    throw refuse("revoked", `Agent ${id} is revoked.`, "agent_revoked", { agent: id });
  }
  if (revocations?.isRevoked("token", tokenId) === true) {
    throw refuse("revoked", `JWT-SVID ${tokenId} is revoked.`, "token_revoked");
  }
  const provisional: VerifiedAgent = Object.freeze({
    agent: agentId,
    principal: Object.freeze({ id, kind: "agent" as const }),
    chain: Object.freeze([id]),
    agents: Object.freeze([agentId]),
    delegated: false,
    scopes: Object.freeze([]),
    tokenId,
    keyId: kid,
    issuer: typeof claims.iss === "string" ? claims.iss : `spiffe://${options.bundle.trustDomain}`,
    audience,
    issuedAt: isNumericDate(iat) ? iat : Math.floor(seconds),
    expiresAt: exp,
    attributes: Object.freeze({ owner: "", supervision: "autonomous" as const }),
    jwtSvid: Object.freeze({ trustDomain: options.bundle.trustDomain }),
  });
  options.onVerified?.(provisional);
  const { record } = await checkAgentChain(provisional, options.registry, clock);
  const agent = Object.freeze({
    ...provisional,
    scopes: Object.freeze([...record.maxScopes]),
    attributes: Object.freeze({
      owner: record.owner,
      supervision: record.supervision,
      ...(record.team === undefined ? {} : { team: record.team }),
      ...(record.purpose === undefined ? {} : { purpose: record.purpose }),
    }),
  });
  return { agent, record, scopes: agent.scopes };
}

function algorithmOf(jwk: JWK): JwtSvidAlgorithm | undefined {
  const natural =
    jwk.kty === "EC" && jwk.crv === "P-256"
      ? "ES256"
      : jwk.kty === "EC" && jwk.crv === "P-384"
        ? "ES384"
        : jwk.kty === "RSA"
          ? "RS256"
          : undefined;
  // A key's own alg, when it has one, must agree with its type.
  if (jwk.alg !== undefined && jwk.alg !== natural) return undefined;
  return natural;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function invalidBundle(reason: string, cause?: unknown): AgentGateError {
  return new AgentGateError("key_store_invalid", `Invalid SPIFFE bundle: ${reason}.`, {
    ...(cause === undefined ? {} : { cause }),
  });
}
