import { compactVerify } from "jose";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import type { VerifiedAgent } from "./agent-token.js";
import type { KeySet } from "./key-set.js";
import type { ReplayCache } from "./replay-cache.js";
import type { RevocationList } from "./revocation-list.js";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./signing-key.js";
import { VerifiedTokenCache } from "./token-cache.js";
import { refuse } from "./token-checks.js";
import { type ClaimsRules, claimsToAgent } from "./token-claims.js";
import { checkHeader, decodeSegment, fromJoseError, splitCompact } from "./token-header.js";

export type { TokenCheck } from "./token-checks.js";

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

/**
 * Verifies agent tokens. Checks, in order: size, compact form, a header of exactly
 * `alg`/`typ`/`kid` (so `jku`, `x5u`, `jwk`, `x5c` and `crit` are refused, never fetched), no
 * duplicate JSON members, the algorithm pinned to the key named by `kid`, the signature (jose's
 * `compactVerify`), `iss`, a single `aud`, `exp`/`nbf`/`iat` with skew, the lifetime cap, `jti`, `sub`, `scope`,
 * the delegation chain (depth, cycles, trust domain), then revocation of every agent in the
 * chain, of the token id and of the key, and replay when enabled.
 *
 * Every failure rejects with an `AgentGateError`: `token_invalid`, `token_expired`,
 * `token_revoked`, `token_replayed`, `agent_revoked` or `delegation_invalid`, with the check that
 * failed in `details.check` (a {@link TokenCheck}: `aud`, `exp`, `act`, `revoked`, …). Nothing
 * else escapes. The header rules live in token-header.ts, the claims rules in the pure
 * `claimsToAgent` (token-claims.ts) and the cache in token-cache.ts.
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
  readonly #rules: ClaimsRules;
  readonly #cache: VerifiedTokenCache;
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
    this.#rules = {
      issuer: options.issuer,
      trustDomain: options.trustDomain,
      clockSkewSeconds,
      maxLifetimeSeconds,
      maxDelegationDepth: this.#options.maxDelegationDepth,
    };
    this.#cache = new VerifiedTokenCache(this.#options.cacheSize);
  }

  /**
   * Verifies `token` for `options.audience` and returns the proven identity, or rejects with an
   * `AgentGateError` (see the class description). Never returns a partially checked identity.
   */
  async verify(token: string, options: VerifyOptions): Promise<VerifiedAgent> {
    const now = this.#options.clock.now();
    const verified =
      this.#cache.get(token, options.audience, now) ??
      (await this.#verifyShared(token, options.audience, now));
    this.#checkLive(verified);
    if (this.#options.replay !== undefined) {
      const until = verified.expiresAt + this.#options.clockSkewSeconds;
      if (!(await this.#options.replay.remember(verified.tokenId, until))) {
        throw refuse("replay", `Token ${verified.tokenId} was already used.`, "token_replayed");
      }
    }
    return verified;
  }

  /** The revocation list checked on every verification, when there is one. */
  get revocations(): RevocationList | undefined {
    return this.#options.revocations;
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
        const deadline = (verified.expiresAt + this.#options.clockSkewSeconds) * 1000;
        this.#cache.set(token, audience, verified, deadline);
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
      throw refuse("kid", `the signing key ${verified.keyId} is retired or unknown`);
    }
    if (revocations === undefined) return;
    const unavailable = revocations.unavailable?.();
    if (unavailable !== undefined) throw unavailable;
    if (revocations.isRevoked("token", verified.tokenId)) {
      throw refuse("revoked", `Token ${verified.tokenId} is revoked.`, "token_revoked");
    }
    if (revocations.isRevoked("key", verified.keyId)) {
      throw refuse("revoked", `the signing key ${verified.keyId} is revoked`);
    }
    for (const agent of verified.agents) {
      const id = agent.toString();
      if (revocations.isRevoked("agent", id)) {
        throw refuse("revoked", `Agent ${id} in the token's chain is revoked.`, "agent_revoked", {
          agent: id,
        });
      }
    }
  }

  /** Compact form, header rules, signature, then the claims (in that order, all of them). */
  async #verifyCold(token: string, audience: string, now: number): Promise<VerifiedAgent> {
    const options = this.#options;
    const [headerPart, payloadPart] = splitCompact(token, options.maxTokenBytes);
    const header = decodeSegment(headerPart, "header", 2);
    const key = checkHeader(header, options.algorithms, options.keys);
    const claims = decodeSegment(payloadPart, "claims", options.maxDelegationDepth + 3);
    try {
      // jose checks the signature over the exact bytes; the claims are then validated on the
      // same strictly parsed object that the rest of AgentGate reads, so what is checked is
      // exactly what is used (I65).
      await compactVerify(token, key.key, { algorithms: [key.alg] });
    } catch (error) {
      throw fromJoseError(error);
    }
    return claimsToAgent(claims, this.#rules, { audience, keyId: header.kid as string, now });
  }
}
