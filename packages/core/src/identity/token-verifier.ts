import { base64url, compactVerify, errors as joseErrors } from "jose";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError, type AgentGateErrorCode } from "../errors.js";
import { parseStrictJson, StrictJsonError } from "../internal/strict-json.js";
import { AgentId } from "./agent-id.js";
import { SCOPE_PATTERN } from "./agent-record.js";
import {
  type ActorClaim,
  AGENT_TOKEN_TYPE,
  type AgentAttributes,
  actorsOf,
  type Principal,
  type VerifiedAgent,
} from "./agent-token.js";
import type { KeySet } from "./key-set.js";
import type { ReplayCache } from "./replay-cache.js";
import type { RevocationList } from "./revocation-list.js";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./signing-key.js";

/** Defaults of {@link TokenVerifierOptions}. */
export const VERIFIER_DEFAULTS = {
  clockSkewSeconds: 30,
  maxLifetimeSeconds: 3600,
  maxTokenBytes: 8192,
  maxDelegationDepth: 4,
  cacheSize: 100_000,
} as const;

/** Options of a {@link TokenVerifier}. Everything is strict unless loosened here. */
export interface TokenVerifierOptions {
  /** The expected `iss`. */
  readonly issuer: string;
  /** The trust domain every agent in a token must belong to. */
  readonly trustDomain: string;
  /** Where public keys come from: an `Authority` or a `JwksKeySet`. */
  readonly keys: KeySet;
  /** Checked for every agent in the chain, the token id and the key id on every verification. */
  readonly revocations?: RevocationList;
  /** Time source for expiry checks. Default: the system clock. */
  readonly clock?: Clock;
  /** Algorithms accepted; default both `EdDSA` and `ES256`. Each key is further pinned to its own. */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds (default 30). */
  readonly clockSkewSeconds?: number;
  /** Longest accepted `exp - iat`, in seconds (default 3600). */
  readonly maxLifetimeSeconds?: number;
  /** Tokens longer than this are refused before any decoding (default 8192). */
  readonly maxTokenBytes?: number;
  /** Deepest accepted `act` nesting (default 4). */
  readonly maxDelegationDepth?: number;
  /** When set, each `jti` verifies once only (SECURITY.md A14). */
  readonly replay?: ReplayCache;
  /**
   * Size of the verified-token cache, least recently used evicted first (default 100,000, a
   * fleet's active agents at under 1 KiB each beside the tokens their callers hold; 0 turns it
   * off). Recency is kept the CLOCK way (second chance): a hit only marks its entry, and an entry
   * marked since it was last looked at survives eviction once more, so a hit never reorders the
   * cache. Entries die at `exp`; revocations and retired keys are re-checked on every hit, so the
   * cache never outlives them.
   */
  readonly cacheSize?: number;
}

/** Per-call options of {@link TokenVerifier.verify}. */
export interface VerifyOptions {
  /** This service's audience: the token's `aud` must be exactly this, alone. */
  readonly audience: string;
}

interface CacheEntry {
  readonly verified: VerifiedAgent;
  /** The audience it was verified for: a hit needs the same one. */
  readonly audience: string;
  /** ms since the epoch after which the entry is dead (exp + skew). */
  readonly deadline: number;
  /** Hit since eviction last passed over it (CLOCK's reference bit). */
  used: boolean;
}

const ALLOWED_HEADER = new Set(["alg", "typ", "kid"]);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const JTI = /^[\x21-\x7e]{1,128}$/;
const USER_PRINCIPAL = /^[\x21-\x7e]{1,256}$/;
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies agent tokens. Checks, in order: size, compact form, a header of exactly
 * `alg`/`typ`/`kid` (so `jku`, `x5u`, `jwk`, `x5c` and `crit` are refused, never fetched), no
 * duplicate JSON members, the algorithm pinned to the key named by `kid`, the signature (jose's
 * `compactVerify`), `iss`, a single `aud`, `exp`/`nbf`/`iat` with skew, the lifetime cap, `jti`, `sub`, `scope`,
 * the delegation chain (depth, cycles, trust domain), then revocation of every agent in the
 * chain, of the token id and of the key, and replay when enabled.
 *
 * Every failure rejects with an `AgentGateError`: `token_invalid`, `token_expired`,
 * `token_revoked`, `token_replayed` or `agent_revoked`. Nothing else escapes.
 *
 * @example
 * ```ts
 * const verifier = authority.verifier();
 * const agent = await verifier.verify(token, { audience: "https://crm.acme.example" });
 * agent.agent.toString(); // "spiffe://acme.example/agent/support"
 * ```
 */
export class TokenVerifier {
  readonly #options: Required<Omit<TokenVerifierOptions, "revocations" | "replay">> &
    Pick<TokenVerifierOptions, "revocations" | "replay">;
  /** Verified tokens by token, oldest first (the CLOCK's hand starts at the oldest). */
  readonly #cache = new Map<string, CacheEntry>();
  /** Cold verifications under way, by audience and token: concurrent callers share one. */
  readonly #verifying = new Map<string, Promise<VerifiedAgent>>();

  constructor(options: TokenVerifierOptions) {
    const algorithms = options.algorithms ?? SIGNING_ALGORITHMS;
    if (algorithms.length === 0 || algorithms.some((alg) => !SIGNING_ALGORITHMS.includes(alg))) {
      throw new AgentGateError(
        "invalid_configuration",
        `algorithms must be among ${SIGNING_ALGORITHMS.join(", ")}.`,
      );
    }
    const maxLifetimeSeconds = options.maxLifetimeSeconds ?? VERIFIER_DEFAULTS.maxLifetimeSeconds;
    const clockSkewSeconds = options.clockSkewSeconds ?? VERIFIER_DEFAULTS.clockSkewSeconds;
    if (!(clockSkewSeconds >= 0 && clockSkewSeconds <= 300)) {
      throw new AgentGateError("invalid_configuration", "clockSkewSeconds must be 0-300.");
    }
    if (!(maxLifetimeSeconds > 0 && maxLifetimeSeconds <= 86_400)) {
      throw new AgentGateError("invalid_configuration", "maxLifetimeSeconds must be 1-86400.");
    }
    this.#options = {
      ...options,
      clock: options.clock ?? systemClock,
      algorithms,
      clockSkewSeconds,
      maxLifetimeSeconds,
      maxTokenBytes: options.maxTokenBytes ?? VERIFIER_DEFAULTS.maxTokenBytes,
      maxDelegationDepth: options.maxDelegationDepth ?? VERIFIER_DEFAULTS.maxDelegationDepth,
      cacheSize: options.cacheSize ?? VERIFIER_DEFAULTS.cacheSize,
    };
  }

  /**
   * Verifies `token` for `options.audience` and returns the proven identity, or rejects with an
   * `AgentGateError` (see the class description). Never returns a partially checked identity.
   */
  async verify(token: string, options: VerifyOptions): Promise<VerifiedAgent> {
    const now = this.#options.clock.now();
    const hit = this.#cache.get(token);
    let verified: VerifiedAgent;
    if (hit !== undefined && hit.audience === options.audience && now < hit.deadline) {
      verified = hit.verified;
      hit.used = true;
    } else {
      if (hit !== undefined && now >= hit.deadline) this.#cache.delete(token);
      verified = await this.#verifyShared(token, options.audience, now);
    }
    this.#checkLive(verified);
    if (this.#options.replay !== undefined) {
      const until = verified.expiresAt + this.#options.clockSkewSeconds;
      if (!(await this.#options.replay.remember(verified.tokenId, until))) {
        throw new AgentGateError("token_replayed", `Token ${verified.tokenId} was already used.`);
      }
    }
    return verified;
  }

  /** Drops every cached verification (for example after the key set changed). */
  clearCache(): void {
    this.#cache.clear();
  }

  /**
   * One cold verification per token and audience at a time: a burst of calls with a token not
   * yet cached (a thousand calls in flight as an agent starts) checks its signature once. Each
   * caller still gets its own liveness and replay checks after it.
   */
  #verifyShared(token: string, audience: string, now: number): Promise<VerifiedAgent> {
    const key = `${audience}\n${token}`;
    const pending = this.#verifying.get(key);
    if (pending !== undefined) return pending;
    const started = this.#verifyCold(token, audience, now).then(
      (verified) => {
        this.#verifying.delete(key);
        this.#remember(audience, token, verified);
        return verified;
      },
      (error: unknown) => {
        this.#verifying.delete(key);
        throw error;
      },
    );
    this.#verifying.set(key, started);
    return started;
  }

  /** Revocation and key liveness: re-checked on every call, cache hits included (D34, D35). */
  #checkLive(verified: VerifiedAgent): void {
    const revocations = this.#options.revocations;
    if (this.#options.keys.getVerificationKey(verified.keyId) === undefined) {
      throw invalid(`the signing key ${verified.keyId} is retired or unknown`);
    }
    if (revocations === undefined) return;
    const unavailable = revocations.unavailable?.();
    if (unavailable !== undefined) throw unavailable;
    if (revocations.isRevoked("token", verified.tokenId)) {
      throw new AgentGateError("token_revoked", `Token ${verified.tokenId} is revoked.`);
    }
    if (revocations.isRevoked("key", verified.keyId)) {
      throw invalid(`the signing key ${verified.keyId} is revoked`);
    }
    for (const agent of verified.agents) {
      const id = agent.toString();
      if (revocations.isRevoked("agent", id)) {
        throw new AgentGateError("agent_revoked", `Agent ${id} in the token's chain is revoked.`, {
          details: { agent: id },
        });
      }
    }
  }

  #remember(audience: string, token: string, verified: VerifiedAgent): void {
    const size = this.#options.cacheSize;
    if (size <= 0) return;
    const cache = this.#cache;
    cache.delete(token);
    if (cache.size >= size) this.#evictOne();
    const deadline = (verified.expiresAt + this.#options.clockSkewSeconds) * 1000;
    cache.set(token, { verified, audience, deadline, used: false });
  }

  /**
   * CLOCK eviction: from the oldest end, an entry hit since it was last passed over loses its mark
   * and moves to the young end; the first unmarked one goes. Each entry is passed over at most
   * once per call, so this ends, and amortised over the hits that set the marks it is O(1).
   */
  #evictOne(): void {
    const cache = this.#cache;
    let budget = cache.size;
    for (const [token, entry] of cache) {
      cache.delete(token);
      if (!entry.used || budget-- <= 0) return;
      entry.used = false;
      cache.set(token, entry);
    }
  }

  async #verifyCold(token: string, audience: string, now: number): Promise<VerifiedAgent> {
    const options = this.#options;
    if (typeof token !== "string" || token.length === 0) throw invalid("no token");
    // jose has no size limit; decoding cost must not grow with attacker input (A15).
    if (token.length > options.maxTokenBytes) {
      throw invalid(`token longer than ${options.maxTokenBytes} bytes`);
    }
    const parts = token.split(".");
    if (parts.length !== 3) throw invalid(`compact form needs 3 segments, got ${parts.length}`);
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (
      !BASE64URL.test(headerPart) ||
      !BASE64URL.test(payloadPart) ||
      !BASE64URL.test(signaturePart)
    ) {
      throw invalid("a segment is not base64url");
    }
    const header = decodeSegment(headerPart, "header", 2);
    for (const name of Object.keys(header)) {
      // Only alg, typ and kid, as SPIFFE JWT-SVID: jku/x5u/jwk/x5c are never trusted or
      // fetched, and crit names no extension we implement (A6, A7).
      if (!ALLOWED_HEADER.has(name))
        throw invalid(`header parameter "${printable(name)}" is not allowed`);
    }
    const alg = header.alg;
    if (typeof alg !== "string" || !options.algorithms.includes(alg as SigningAlgorithm)) {
      throw invalid(`algorithm "${printable(String(alg))}" is not allowed`);
    }
    if (header.typ !== AGENT_TOKEN_TYPE) throw invalid(`typ must be "${AGENT_TOKEN_TYPE}"`);
    const kid = header.kid;
    if (typeof kid !== "string" || kid.length === 0 || kid.length > 128)
      throw invalid("no usable kid");
    const key = options.keys.getVerificationKey(kid);
    // No fallback to "try every key": an unknown kid is simply an invalid token (A5).
    if (key === undefined) throw invalid(`unknown key id "${printable(kid)}"`);
    // The algorithm is pinned by the key, never taken from the header alone (A2).
    if (key.alg !== alg) throw invalid(`key ${kid} signs ${key.alg}, not ${printable(alg)}`);

    const claims = decodeSegment(payloadPart, "claims", options.maxDelegationDepth + 3);
    try {
      // jose checks the signature over the exact bytes; the claims are then validated on the
      // same strictly parsed object that the rest of AgentGate reads, so what is checked is
      // exactly what is used (I65).
      await compactVerify(token, key.key, { algorithms: [key.alg] });
    } catch (error) {
      throw fromJoseError(error);
    }
    return this.#claimsToAgent(claims, kid, audience, now);
  }

  #claimsToAgent(
    claims: Record<string, unknown>,
    kid: string,
    audience: string,
    now: number,
  ): VerifiedAgent {
    const options = this.#options;
    const skew = options.clockSkewSeconds;
    const { iss, sub, aud, iat, exp, nbf, jti, scope, act, agent, cnf } = claims;
    // A token also meant for other audiences is refused: a tool server must not accept a token
    // that a second server can replay (J76).
    if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) {
      throw invalid("aud must name this audience alone");
    }
    if (iss !== options.issuer) throw invalid("iss is not the expected issuer");
    if (!isNumericDate(iat) || !isNumericDate(exp) || !isNumericDate(nbf)) {
      throw invalid("iat, nbf and exp must be present NumericDates");
    }
    const seconds = now / 1000;
    // RFC 7519 §4.1.4/§4.1.5, with the configured skew either way.
    if (exp + skew <= seconds) throw new AgentGateError("token_expired", "The token has expired.");
    if (nbf - skew > seconds) throw invalid("nbf is in the future");
    if (iat - skew > seconds) throw invalid("iat is in the future");
    if (exp - iat > options.maxLifetimeSeconds) {
      throw invalid(`lifetime ${exp - iat}s exceeds ${options.maxLifetimeSeconds}s`);
    }
    if (nbf > exp) throw invalid("nbf is after exp");
    if (typeof jti !== "string" || !JTI.test(jti)) throw invalid("jti is missing or malformed");
    if (typeof sub !== "string") throw invalid("sub is missing");
    if (typeof scope !== "string") throw invalid("scope must be a string");
    const scopes = scope === "" ? [] : scope.split(" ");
    if (scopes.some((entry) => !SCOPE_PATTERN.test(entry))) throw invalid("scope is malformed");

    const actors = this.#actorsOf(act);
    const principal = withGroups(this.#principalOf(sub, actors.length > 0), claims.groups);
    const chain = [principal.id, ...actors];
    if (new Set(chain).size !== chain.length) {
      throw new AgentGateError("delegation_invalid", "The token's delegation chain has a cycle.");
    }
    const agents = chain.filter((id) => id !== principal.id || principal.kind === "agent");
    const agentIds = agents.map((id) => AgentId.parse(id));
    const acting = agentIds[agentIds.length - 1];
    if (acting === undefined) throw invalid("no acting agent");
    return Object.freeze({
      agent: acting,
      principal,
      chain: Object.freeze(chain),
      agents: Object.freeze(agentIds),
      delegated: actors.length > 0,
      scopes: Object.freeze(scopes),
      tokenId: jti,
      keyId: kid,
      issuer: iss as string,
      audience,
      issuedAt: iat,
      expiresAt: exp,
      attributes: attributesOf(agent),
      ...confirmationOf(cnf),
    });
  }

  #actorsOf(act: unknown): string[] {
    if (act === undefined) return [];
    let depth = 0;
    for (let current: unknown = act; current !== undefined; current = (current as ActorClaim).act) {
      depth++;
      if (depth > this.#options.maxDelegationDepth) {
        throw new AgentGateError(
          "delegation_invalid",
          `Delegation deeper than ${this.#options.maxDelegationDepth}.`,
        );
      }
      if (typeof current !== "object" || current === null || Array.isArray(current)) {
        throw invalid("act must be an object");
      }
      const members = Object.keys(current);
      if (members.some((name) => name !== "sub" && name !== "act")) {
        throw invalid("act may hold only sub and act");
      }
      const actor = (current as ActorClaim).sub;
      if (!this.#isOwnAgent(actor)) throw invalid("an actor is not an agent of this trust domain");
    }
    return actorsOf(act as ActorClaim);
  }

  #principalOf(sub: string, delegated: boolean): Principal {
    if (this.#isOwnAgent(sub)) return Object.freeze({ id: sub, kind: "agent" });
    // Without delegation the subject must be the agent itself (A13).
    if (!delegated) throw invalid("sub is not an agent of this trust domain");
    if (sub.startsWith("spiffe:") || !USER_PRINCIPAL.test(sub)) throw invalid("sub is malformed");
    return Object.freeze({ id: sub, kind: "user" });
  }

  #isOwnAgent(value: unknown): boolean {
    if (typeof value !== "string") return false;
    const id = AgentId.tryParse(value);
    return id !== undefined && id.trustDomain === this.#options.trustDomain;
  }
}

/** A user principal's `groups` claim (issue 17): at most 64 printable names, or a refusal. */
function withGroups(principal: Principal, groups: unknown): Principal {
  if (groups === undefined) return principal;
  if (
    principal.kind !== "user" ||
    !Array.isArray(groups) ||
    groups.length > 64 ||
    groups.some((group) => typeof group !== "string" || !/^[\x20-\x7e]{1,256}$/.test(group))
  ) {
    throw invalid("groups is malformed or not on a user principal");
  }
  return Object.freeze({ ...principal, groups: Object.freeze([...groups]) });
}

function decodeSegment(segment: string, what: string, maxDepth: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(decoder.decode(base64url.decode(segment)), { maxDepth });
  } catch (error) {
    const reason = error instanceof StrictJsonError ? error.message : "not UTF-8 JSON";
    throw invalid(`${what}: ${reason}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function attributesOf(value: unknown): AgentAttributes {
  if (typeof value !== "object" || value === null) throw invalid("agent attributes missing");
  const { owner, supervision, team, purpose } = value as Record<string, unknown>;
  if (typeof owner !== "string") throw invalid("agent owner missing");
  if (supervision !== "autonomous" && supervision !== "supervised" && supervision !== "suspended") {
    throw invalid("agent supervision malformed");
  }
  return Object.freeze({
    owner,
    supervision,
    ...(typeof team === "string" ? { team } : {}),
    ...(typeof purpose === "string" ? { purpose } : {}),
  });
}

/** `cnf` (RFC 7800) with exactly a `jkt` (RFC 9449 §6.1), or nothing; anything else is refused. */
function confirmationOf(cnf: unknown): { confirmation?: { jkt: string } } {
  if (cnf === undefined) return {};
  const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
  if (
    typeof cnf !== "object" ||
    cnf === null ||
    Object.keys(cnf).length !== 1 ||
    typeof jkt !== "string" ||
    !/^[A-Za-z0-9_-]{43}$/.test(jkt)
  ) {
    throw invalid("cnf must hold a jkt thumbprint alone");
  }
  return { confirmation: Object.freeze({ jkt }) };
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/**
 * What failed, in AgentGate's words, for each jose error code a verification can raise. The jose
 * code stays in `details.jose` for administrators; messages never expose a library's internals.
 */
const JOSE_FAILURES: Readonly<Record<string, { check: string; reason: string }>> = {
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

function fromJoseError(error: unknown): AgentGateError {
  const code: AgentGateErrorCode = "token_invalid";
  if (error instanceof joseErrors.JOSEError) {
    const failure = JOSE_FAILURES[error.code] ?? {
      check: "signature",
      reason: "verification failed",
    };
    return new AgentGateError(code, `Invalid token: ${failure.reason}.`, {
      cause: error,
      details: { check: failure.check, jose: error.code },
    });
  }
  // Non-JOSE errors (a TypeError from Web Crypto) deny too, never pass (M9).
  return new AgentGateError(code, "Invalid token: verification failed.", { cause: error });
}

function invalid(reason: string): AgentGateError {
  return new AgentGateError("token_invalid", `Invalid token: ${reason}.`);
}

function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}
