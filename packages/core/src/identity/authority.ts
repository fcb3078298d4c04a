import { decodeJwt, type JSONWebKeySet, type JWK, SignJWT } from "jose";
import { AUDIT_SCHEMA_VERSION, type AuditEventType } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { type Clock, epochSeconds, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { randomId } from "../internal/random-id.js";
import { AgentId } from "./agent-id.js";
import { type AgentRecord, isAgentExpired } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";
import {
  AGENT_TOKEN_TYPE,
  type AgentAttributes,
  actClaimOf,
  IssuedToken,
  type TokenConfirmation,
  type VerifiedAgent,
} from "./agent-token.js";
import type { ExternalIssuer, ExternalUser } from "./external-issuer.js";
import type { KeySet } from "./key-set.js";
import { type KeyStore, MemoryKeyStore } from "./key-store.js";
import {
  MemoryRevocationList,
  type Revocation,
  type RevocationKind,
  type RevocationList,
} from "./revocation-list.js";
import { type SigningAlgorithm, SigningKey, type VerificationKey } from "./signing-key.js";
import { TokenVerifier, type TokenVerifierOptions } from "./token-verifier.js";

/** The longest token lifetime any configuration may allow: one hour. */
export const MAX_TOKEN_TTL_SECONDS = 3600;

/** Options of {@link Authority.create}. */
export interface AuthorityOptions {
  /** The trust domain this authority issues for, e.g. `acme.example`. */
  readonly trustDomain: string;
  /** The `iss` of its tokens. Default `spiffe://<trustDomain>`. */
  readonly issuer?: string;
  /** Where agents are registered. */
  readonly registry: AgentRegistry;
  /** Where keys rest. Default: in memory (keys die with the process). */
  readonly keyStore?: KeyStore;
  /** Revocations checked at issue and verification. Default: in memory. */
  readonly revocations?: RevocationList;
  /** Time source for issuing and revoking. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Algorithm of newly generated keys. Default `EdDSA` (Ed25519). Clouds' workload identity
   * federation needs `RS256` (AWS, GCP, Entra ID) or `ES256` (AWS, GCP).
   */
  readonly algorithm?: SigningAlgorithm;
  /** Token lifetime when none is asked for, in seconds. Default 300. */
  readonly defaultTtlSeconds?: number;
  /** Longest token lifetime, in seconds. Default and ceiling: 3600. */
  readonly maxTtlSeconds?: number;
  /**
   * How long a rotated-out key keeps verifying, in seconds. Default: `maxTtlSeconds`, so that
   * every token in flight at rotation stays valid until it expires.
   */
  readonly rotationOverlapSeconds?: number;
  /** Deepest delegation chain (`act` nesting). Default 4. */
  readonly maxDelegationDepth?: number;
  /** Source of token ids. Default: 128 random bits. */
  readonly createId?: () => string;
  /**
   * Where identity life-cycle events go: `key_rotation` on {@link Authority.rotateKey} and
   * {@link Authority.retireKey}, `revocation` on {@link Authority.revoke}. The change is made
   * first; a failing sink then rejects the call, so an unaudited change is never silent.
   */
  readonly audit?: AuditSink;
}

/** Options of {@link Authority.rotateKey}. */
export interface RotateKeyOptions {
  /** The new key's algorithm. Default: the authority's `algorithm`. */
  readonly algorithm?: SigningAlgorithm;
}

/** Options of {@link Authority.issueToken}. */
export interface IssueTokenOptions {
  /** The one audience the token is for (the tool server or service), e.g. its URL. */
  readonly audience: string;
  /** Scopes; each must be in the agent's `maxScopes`. Default: all of `maxScopes`. */
  readonly scope?: readonly string[];
  /** Lifetime in seconds. Default 300; at most `maxTtlSeconds`. */
  readonly ttlSeconds?: number;
  /**
   * The user the agent acts for (RFC 8693 §4.1): the token's `sub` becomes this principal and
   * `act.sub` the agent. Example: `user:alice@acme.example`.
   */
  readonly principal?: string;
  /**
   * The agents that may exchange this token to act for its principal (RFC 8693 §4.4 `may_act`):
   * {@link Authority.exchange} grants a delegated token to these actors only.
   */
  readonly mayAct?: readonly (string | AgentId)[];
  /**
   * Binds the token to a key the agent holds (RFC 9449 §6 `cnf.jkt`, the RFC 7638 thumbprint of
   * its DPoP key): whoever copies the token cannot use it without a proof signed by that key.
   * Or to the agent's X.509-SVID (RFC 8705 §3 `cnf.x5t#S256`, `certificateThumbprint(cert)`):
   * usable only over mTLS with that very certificate.
   */
  readonly confirmation?: TokenConfirmation;
}

/** Options of {@link Authority.issueJwtSvid}. */
export interface IssueJwtSvidOptions {
  /** The one audience (SPIFFE JWT-SVID §3.2 requires one, and recommends no more). */
  readonly audience: string;
  /** Lifetime in seconds. Default 300; at most `maxTtlSeconds`. */
  readonly ttlSeconds?: number;
}

/** Options of {@link Authority.exchange}. */
export interface ExchangeOptions {
  /** The audience of the delegated token. */
  readonly audience: string;
  /** Scopes: only narrowing (a subset of the subject token's and of the actor's `maxScopes`). */
  readonly scope?: readonly string[];
  /** Lifetime in seconds; the token never outlives the subject token. */
  readonly ttlSeconds?: number;
  /**
   * Audiences besides this authority's issuer that a subject token may be addressed to. Default
   * none: a token for a tool server cannot be exchanged by whoever holds it (SECURITY.md L89).
   */
  readonly subjectAudiences?: readonly string[];
  /**
   * Decides, when the subject token carries no `may_act`, whether the actor may act for its
   * principal (a policy decision on the exchange). Default: refuse.
   */
  readonly mayAct?: (request: MayActRequest) => boolean | Promise<boolean>;
  /**
   * Enterprise IdPs whose users' tokens are accepted as `subjectToken` (matched by `iss`): the
   * issued token's `sub` is the user (`user:<email>`), `act.sub` the actor, `groups` the user's
   * groups, and it never outlives the user's token. The audience check is the IdP's own
   * (its configured `audience`).
   */
  readonly externalIssuers?: readonly ExternalIssuer[];
  /** Decides whether the actor may act for an enterprise user. Default: allowed. */
  readonly mayActForUser?: (request: {
    readonly user: ExternalUser;
    readonly actor: VerifiedAgent;
  }) => boolean | Promise<boolean>;
}

/** What {@link ExchangeOptions.mayAct} decides on. */
export interface MayActRequest {
  /** The subject token, verified. */
  readonly subject: VerifiedAgent;
  /** The actor token, verified. */
  readonly actor: VerifiedAgent;
}

/** Options of {@link Authority.delegate}. */
export interface DelegateOptions {
  /** The agent that will act under the delegated token. */
  readonly to: string | AgentId;
  /** The audience of the delegated token. */
  readonly audience: string;
  /** Scopes: a subset of the parent token's and of the delegate's `maxScopes`. Default: their intersection. */
  readonly scope?: readonly string[];
  /** Lifetime in seconds; the token never outlives its parent. */
  readonly ttlSeconds?: number;
}

/** Information about one key of an authority. */
export interface KeyInfo {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601; set once the key has been rotated out. */
  readonly retiresAt?: string | undefined;
  /** `active` signs; `retiring` only verifies until `retiresAt`. */
  readonly status: "active" | "retiring";
}

/**
 * The issuer of one trust domain: holds its signing keys, issues short-lived agent tokens,
 * delegates them with attenuation, rotates keys with an overlap window and publishes a JWKS.
 *
 * @example
 * ```ts
 * const authority = await Authority.create({ trustDomain: "acme.example", registry });
 * const issued = await authority.issueToken(agentId, { audience: "https://crm.acme.example" });
 * const verified = await authority.verifier().verify(issued.token, { audience: "https://crm.acme.example" });
 * ```
 */
export class Authority implements KeySet {
  /** The trust domain whose agents it issues for, e.g. `acme.example`. */
  readonly trustDomain: string;
  /** The `iss` of its tokens. */
  readonly issuer: string;
  /** Where agents must be registered (and not suspended or expired) to get a token. */
  readonly registry: AgentRegistry;
  /** Its revocations; its verifiers check them on every call. */
  readonly revocations: RevocationList;
  /** Its time source. */
  readonly clock: Clock;
  /** How many actors a delegation chain may hold. */
  readonly maxDelegationDepth: number;
  /** The longest lifetime a token may be issued for. */
  readonly maxTtlSeconds: number;
  readonly #keyStore: KeyStore;
  readonly #algorithm: SigningAlgorithm;
  readonly #defaultTtl: number;
  readonly #overlap: number;
  readonly #createId: () => string;
  readonly #audit: AuditSink | undefined;
  #keys: SigningKey[] = [];
  #byKid = new Map<string, SigningKey>();
  #internalVerifier: TokenVerifier | undefined;

  private constructor(options: AuthorityOptions) {
    AgentId.of(options.trustDomain, "probe"); // validates the trust domain
    this.trustDomain = options.trustDomain;
    this.issuer = options.issuer ?? `spiffe://${options.trustDomain}`;
    this.registry = options.registry;
    this.revocations = options.revocations ?? new MemoryRevocationList({ clock: options.clock });
    this.clock = options.clock ?? systemClock;
    this.#keyStore = options.keyStore ?? new MemoryKeyStore();
    this.#algorithm = options.algorithm ?? "EdDSA";
    this.maxTtlSeconds = options.maxTtlSeconds ?? MAX_TOKEN_TTL_SECONDS;
    this.#defaultTtl = options.defaultTtlSeconds ?? Math.min(300, this.maxTtlSeconds);
    this.#overlap = options.rotationOverlapSeconds ?? this.maxTtlSeconds;
    this.maxDelegationDepth = options.maxDelegationDepth ?? 4;
    this.#createId = options.createId ?? randomId;
    this.#audit = options.audit;
    if (!(this.maxTtlSeconds >= 1 && this.maxTtlSeconds <= MAX_TOKEN_TTL_SECONDS)) {
      throw config(`maxTtlSeconds must be 1-${MAX_TOKEN_TTL_SECONDS}`);
    }
    if (!(this.#defaultTtl >= 1 && this.#defaultTtl <= this.maxTtlSeconds)) {
      throw config("defaultTtlSeconds must be between 1 and maxTtlSeconds");
    }
    if (!(this.#overlap >= 0)) throw config("rotationOverlapSeconds must be >= 0");
    if (!(this.maxDelegationDepth >= 1 && this.maxDelegationDepth <= 16)) {
      throw config("maxDelegationDepth must be 1-16");
    }
  }

  /**
   * Creates an authority and loads its keys. When the key store is empty a first key is
   * generated and saved. Rejects with `key_store_invalid` when the store is unreadable or holds a
   * corrupt key (H59), so a broken store fails at start-up.
   */
  static async create(options: AuthorityOptions): Promise<Authority> {
    const authority = new Authority(options);
    await authority.#load();
    if (authority.#activeKey() === undefined) await authority.rotateKey();
    return authority;
  }

  // --- keys -------------------------------------------------------------------------------

  /**
   * Makes a new key the signing key at once. The previous signing key keeps verifying for the
   * overlap window, then leaves the JWKS; keys whose window has ended are deleted from the store.
   * With `algorithm`, the new key (and so every later token) uses it: the way to move a trust
   * domain from EdDSA to RS256 without a gap.
   */
  async rotateKey(options: RotateKeyOptions = {}): Promise<KeyInfo> {
    const now = this.clock.now();
    const stored = await SigningKey.generate(options.algorithm ?? this.#algorithm, now);
    await this.#keyStore.save(stored);
    for (const key of this.#keys) {
      if (key.retiresAt === undefined) {
        const { privateJwk, publicJwk } = await this.#storedParts(key.kid);
        await this.#keyStore.save({
          kid: key.kid,
          alg: key.alg,
          privateJwk,
          publicJwk,
          createdAt: key.createdAt,
          retiresAt: now + this.#overlap * 1000,
        });
      }
    }
    await this.#load();
    await this.#prune(now);
    const info = this.keys().find((key) => key.kid === stored.kid);
    if (info === undefined)
      throw new AgentGateError("key_unavailable", "The new key did not load.");
    await this.#record("key_rotation", { kid: info.kid, alg: info.alg, change: "rotated" });
    return info;
  }

  /**
   * Retires a key now: it stops verifying at once (SECURITY.md D35) and is recorded as a
   * revoked key so that other processes sharing the revocation list stop trusting it too. When
   * the retired key was signing, a new key is generated first.
   */
  async retireKey(kid: string): Promise<void> {
    const key = this.#keys.find((candidate) => candidate.kid === kid);
    if (key === undefined) throw new AgentGateError("key_unavailable", `No key ${kid}.`);
    if (key.retiresAt === undefined) await this.rotateKey();
    await this.revocations.revoke("key", kid, "retired");
    await this.#keyStore.remove(kid);
    await this.#load();
    this.#internalVerifier?.clearCache();
    await this.#record("key_rotation", { kid, change: "retired" });
  }

  /**
   * Revokes an agent, a token (`jti`) or a key (`kid`) in the revocation list and records a
   * `revocation` audit event. Prefer it to `revocations.revoke`, which leaves no audit trace.
   */
  async revoke(kind: RevocationKind, id: string, reason?: string): Promise<Revocation> {
    const revocation = await this.revocations.revoke(kind, id, reason);
    await this.#record(
      "revocation",
      { kind, id, ...(reason === undefined ? {} : { reason }) },
      kind === "agent" ? id : undefined,
    );
    return revocation;
  }

  async #record(
    type: AuditEventType,
    details: Record<string, unknown>,
    agent?: string,
  ): Promise<void> {
    if (this.#audit === undefined) return;
    await this.#audit.write({
      v: AUDIT_SCHEMA_VERSION,
      id: randomId(),
      type,
      time: new Date(this.clock.now()).toISOString(),
      ...(agent === undefined ? {} : { agent }),
      details,
    });
  }

  /** The algorithm of the key that signs now. */
  signingAlgorithm(): SigningAlgorithm {
    const key = this.#activeKey();
    if (key === undefined) throw new AgentGateError("key_unavailable", "No active signing key.");
    return key.alg;
  }

  /** The keys that currently sign or verify, newest first. */
  keys(): readonly KeyInfo[] {
    const now = this.clock.now();
    return this.#liveKeys(now).map((key) => ({
      kid: key.kid,
      alg: key.alg,
      createdAt: new Date(key.createdAt).toISOString(),
      retiresAt: key.retiresAt === undefined ? undefined : new Date(key.retiresAt).toISOString(),
      status: key.retiresAt === undefined ? "active" : "retiring",
    }));
  }

  /** The public JWKS: every key that still verifies (RFC 7517 §5). No private member ever. */
  jwks(): JSONWebKeySet {
    return { keys: this.#liveKeys(this.clock.now()).map((key) => ({ ...key.publicJwk }) as JWK) };
  }

  /** {@link KeySet}: a live, unrevoked key by id. */
  getVerificationKey(kid: string): VerificationKey | undefined {
    const key = this.#byKid.get(kid);
    if (key === undefined || !key.isLive(this.clock.now())) return undefined;
    if (this.revocations.isRevoked("key", kid)) return undefined;
    return key;
  }

  /**
   * A {@link TokenVerifier} for this authority's tokens, sharing its keys, revocations and clock.
   */
  verifier(options: Partial<TokenVerifierOptions> = {}): TokenVerifier {
    return new TokenVerifier({
      issuer: this.issuer,
      trustDomain: this.trustDomain,
      keys: this,
      revocations: this.revocations,
      clock: this.clock,
      maxLifetimeSeconds: this.maxTtlSeconds,
      maxDelegationDepth: this.maxDelegationDepth,
      ...options,
    });
  }

  // --- tokens -----------------------------------------------------------------------------

  /**
   * Issues a SPIFFE JWT-SVID for a registered agent, for services that validate JWT-SVIDs
   * (SPIRE, go-spiffe, py-spiffe): header `alg`/`kid`/`typ: JWT` only, `sub` the agent's SPIFFE
   * id, one `aud`, `exp`, `iat` and `iss`. The active key must be ES256 or RS256 (JWT-SVID §2.1
   * has no EdDSA): otherwise `invalid_configuration`, rotate with `algorithm: "ES256"`. The
   * same refusals as {@link Authority.issueToken} for the agent. Not an agent token: AgentGate's
   * own verifier refuses it (`typ`), so it cannot stand in for one.
   */
  async issueJwtSvid(agent: string | AgentId, options: IssueJwtSvidOptions): Promise<IssuedToken> {
    const record = await this.#usableAgent(agent.toString());
    if (typeof options.audience !== "string" || !/^[\x21-\x7e]{1,512}$/.test(options.audience)) {
      throw config("audience must be 1-512 printable ASCII characters without spaces");
    }
    const ttlSeconds = this.#ttl(options.ttlSeconds);
    const key = this.#activeKey();
    if (key === undefined) throw new AgentGateError("key_unavailable", "No active signing key.");
    if (key.alg !== "ES256" && key.alg !== "RS256") {
      throw config(
        `a JWT-SVID needs an ES256 or RS256 key (SPIFFE JWT-SVID §2.1), not ${key.alg}: rotate with algorithm ES256`,
      );
    }
    const now = epochSeconds(this.clock);
    let exp = now + ttlSeconds;
    if (record.expiresAt !== undefined) {
      exp = Math.min(exp, Math.floor(Date.parse(record.expiresAt) / 1000));
    }
    const tokenId = this.#createId();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
      .setIssuer(this.issuer)
      .setSubject(record.id)
      .setAudience(options.audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(tokenId)
      .sign(key.privateKey());
    return new IssuedToken(token, tokenId, record.id, record.id, options.audience, [], now, exp, [
      record.id,
    ]);
  }

  /**
   * Issues a short-lived token for a registered agent. Refuses (rejecting with an
   * `AgentGateError`) an unknown (`agent_unknown`), revoked (`agent_revoked`), suspended
   * (`agent_suspended`) or expired (`agent_expired`) agent, a scope outside its `maxScopes`
   * (`scope_invalid`) and a lifetime above the maximum (`invalid_configuration`). The token never
   * outlives the agent's registration.
   */
  async issueToken(agent: string | AgentId, options: IssueTokenOptions): Promise<IssuedToken> {
    const record = await this.#usableAgent(agent.toString());
    const scopes = options.scope ?? record.maxScopes;
    const outside = scopes.filter((scope) => !record.maxScopes.includes(scope));
    if (outside.length > 0) {
      throw new AgentGateError(
        "scope_invalid",
        `Agent ${record.id} may not hold scope ${outside.join(", ")}.`,
      );
    }
    const actors: string[] = [];
    let principal = record.id;
    if (options.principal !== undefined) {
      checkUserPrincipal(options.principal);
      principal = options.principal;
      actors.push(record.id);
    }
    const mayAct = options.mayAct?.map((id) => AgentId.parse(id.toString()).toString());
    return this.#sign(record, {
      principal,
      actors,
      audience: options.audience,
      scopes,
      ttlSeconds: this.#ttl(options.ttlSeconds),
      notAfter: undefined,
      ...(mayAct === undefined ? {} : { mayAct }),
      ...(options.confirmation === undefined ? {} : { confirmation: options.confirmation }),
    });
  }

  /**
   * Delegates a verified token to another agent (RFC 8693 token exchange, in process). The new
   * token keeps the parent's principal (`sub`), adds the delegate as the current actor (`act`),
   * and only narrows: its scope is a subset of the parent's and of the delegate's `maxScopes`,
   * its `exp` never passes the parent's, the chain stays within `maxDelegationDepth` and holds
   * no agent twice. Violations reject with `delegation_invalid` (B19–B21, B23).
   *
   * @param parent the parent token, or its verified identity
   */
  async delegate(parent: string | VerifiedAgent, options: DelegateOptions): Promise<IssuedToken> {
    const verified = typeof parent === "string" ? await this.#verifyOwnToken(parent) : parent;
    const record = await this.#usableAgent(options.to.toString());
    if (verified.chain.includes(record.id)) {
      throw new AgentGateError(
        "delegation_invalid",
        `Agent ${record.id} is already in the delegation chain (cycle).`,
      );
    }
    const depth = verified.chain.length; // actors after delegation = chain length
    if (depth > this.maxDelegationDepth) {
      throw new AgentGateError(
        "delegation_invalid",
        `Delegation would be ${depth} deep; the maximum is ${this.maxDelegationDepth}.`,
      );
    }
    const allowed = verified.scopes.filter((scope) => record.maxScopes.includes(scope));
    const scopes = options.scope ?? allowed;
    const wider = scopes.filter((scope) => !allowed.includes(scope));
    if (wider.length > 0) {
      throw new AgentGateError(
        "delegation_invalid",
        `Delegated scope ${wider.join(", ")} is not held by the delegator or not allowed for ${record.id}.`,
        { details: { check: "scope" } },
      );
    }
    // A parent acting for itself (chain [A]) becomes the principal; the delegate acts for it.
    const actors = verified.chain.slice(1);
    return this.#sign(record, {
      principal: verified.principal.id,
      actors: [...actors, record.id],
      audience: options.audience,
      scopes,
      ttlSeconds: this.#ttl(options.ttlSeconds),
      notAfter: verified.expiresAt,
    });
  }

  /**
   * RFC 8693 token exchange: the actor proves itself with `actorToken` (its own token, addressed
   * to this issuer) and receives a delegated token for `subjectToken`'s principal. Refused
   * (`delegation_invalid`) when the subject token is addressed to an audience other than this
   * exchange (its issuer) or `subjectAudiences`, and when the actor may not act for the principal:
   * the subject token's `may_act` (§4.4) must name it, or, without `may_act`, `mayAct` must
   * allow it. Scopes only narrow, as in {@link Authority.delegate} (SECURITY.md L89).
   */
  async exchange(
    subjectToken: string,
    actorToken: string,
    options: ExchangeOptions,
  ): Promise<IssuedToken> {
    this.#internalVerifier ??= this.verifier({ cacheSize: 0 });
    const actor = await this.#internalVerifier.verify(actorToken, { audience: this.issuer });
    const external = options.externalIssuers?.find(
      (idp) => idp.issuer === unverifiedClaims(subjectToken).iss,
    );
    if (external !== undefined) return this.#exchangeUser(external, subjectToken, actor, options);
    const addressed = [this.issuer, ...(options.subjectAudiences ?? [])];
    const audience = unverifiedClaims(subjectToken).aud;
    if (typeof audience !== "string" || !addressed.includes(audience)) {
      const message =
        "The subject token is not addressed to this exchange (its aud is neither the issuer nor an allowed audience).";
      throw new AgentGateError("delegation_invalid", message, {
        safeMessage: message,
        details: { check: "aud" },
      });
    }
    const subject = await this.#internalVerifier.verify(subjectToken, { audience });
    const mayAct = unverifiedClaims(subjectToken).may_act;
    const actorId = actor.agent.toString();
    let allowed: boolean;
    if (mayAct !== undefined) {
      allowed = mayActNames(mayAct, this.issuer).includes(actorId);
    } else {
      allowed = options.mayAct === undefined ? false : await options.mayAct({ subject, actor });
    }
    if (!allowed) {
      const message = `Agent ${actorId} may not act for ${subject.principal.id}${mayAct === undefined ? " (no may_act, and no policy allows it)" : " (not in may_act)"}.`;
      throw new AgentGateError("delegation_invalid", message, {
        safeMessage: message,
        details: { check: "may_act" },
      });
    }
    return this.delegate(subject, {
      to: actorId,
      audience: options.audience,
      ...(options.scope === undefined ? {} : { scope: options.scope }),
      ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
    });
  }

  // --- internals --------------------------------------------------------------------------

  async #exchangeUser(
    idp: ExternalIssuer,
    subjectToken: string,
    actor: VerifiedAgent,
    options: ExchangeOptions,
  ): Promise<IssuedToken> {
    const user = await idp.verify(subjectToken);
    const record = await this.#usableAgent(actor.agent.toString());
    const allowed =
      options.mayActForUser === undefined ? true : await options.mayActForUser({ user, actor });
    if (!allowed) {
      const message = `Agent ${record.id} may not act for ${user.id}.`;
      throw new AgentGateError("delegation_invalid", message, {
        safeMessage: message,
        details: { check: "may_act" },
      });
    }
    const held = actor.scopes.filter((scope) => record.maxScopes.includes(scope));
    const scopes = options.scope ?? held;
    const wider = scopes.filter((scope) => !held.includes(scope));
    if (wider.length > 0) {
      throw new AgentGateError(
        "delegation_invalid",
        `Scope ${wider.join(", ")} is not held by ${record.id}.`,
        { details: { check: "scope" } },
      );
    }
    return this.#sign(record, {
      principal: user.id,
      actors: [record.id],
      audience: options.audience,
      scopes,
      ttlSeconds: this.#ttl(options.ttlSeconds),
      notAfter: user.expiresAt,
      user: { groups: user.groups, idp: user.issuer },
    });
  }

  async #sign(
    record: AgentRecord,
    input: {
      principal: string;
      actors: string[];
      audience: string;
      scopes: readonly string[];
      ttlSeconds: number;
      notAfter: number | undefined;
      mayAct?: readonly string[];
      user?: { readonly groups: readonly string[]; readonly idp: string };
      confirmation?: TokenConfirmation;
    },
  ): Promise<IssuedToken> {
    const cnf =
      input.confirmation === undefined ? undefined : confirmationClaim(input.confirmation);
    if (typeof input.audience !== "string" || !/^[\x21-\x7e]{1,512}$/.test(input.audience)) {
      throw config("audience must be 1-512 printable ASCII characters without spaces");
    }
    const key = this.#activeKey();
    if (key === undefined) throw new AgentGateError("key_unavailable", "No active signing key.");
    const now = epochSeconds(this.clock);
    let exp = now + input.ttlSeconds;
    if (input.notAfter !== undefined) exp = Math.min(exp, input.notAfter);
    if (record.expiresAt !== undefined)
      exp = Math.min(exp, Math.floor(Date.parse(record.expiresAt) / 1000));
    if (exp <= now) throw new AgentGateError("delegation_invalid", "The parent token has expired.");
    const tokenId = this.#createId();
    const attributes: AgentAttributes = {
      owner: record.owner,
      supervision: record.supervision,
      ...(record.team === undefined ? {} : { team: record.team }),
    };
    const act = actClaimOf(input.actors);
    const scope = [...new Set(input.scopes)];
    const token = await new SignJWT({
      scope: scope.join(" "),
      agent: attributes,
      ...(act === undefined ? {} : { act }),
      ...(input.mayAct === undefined ? {} : { may_act: mayActClaim(input.mayAct, this.issuer) }),
      ...(input.user === undefined ? {} : { groups: [...input.user.groups], idp: input.user.idp }),
      ...(cnf === undefined ? {} : { cnf }),
    })
      .setProtectedHeader({ alg: key.alg, typ: AGENT_TOKEN_TYPE, kid: key.kid })
      .setIssuer(this.issuer)
      .setSubject(input.principal)
      .setAudience(input.audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .setJti(tokenId)
      .sign(key.privateKey());
    const chain = [input.principal, ...input.actors];
    return new IssuedToken(
      token,
      tokenId,
      record.id,
      input.principal,
      input.audience,
      scope,
      now,
      exp,
      chain,
    );
  }

  async #usableAgent(id: string): Promise<AgentRecord> {
    const agentId = AgentId.parse(id);
    if (agentId.trustDomain !== this.trustDomain) {
      throw new AgentGateError(
        "agent_unknown",
        `Agent ${id} is not in trust domain ${this.trustDomain}.`,
      );
    }
    const record = await this.registry.get(agentId.toString());
    if (record === undefined)
      throw new AgentGateError("agent_unknown", `Agent ${id} is not registered.`);
    if (this.revocations.isRevoked("agent", record.id)) {
      throw new AgentGateError("agent_revoked", `Agent ${id} is revoked.`);
    }
    if (record.supervision === "suspended") {
      throw new AgentGateError("agent_suspended", `Agent ${id} is suspended.`);
    }
    if (isAgentExpired(record, this.clock)) {
      throw new AgentGateError("agent_expired", `Agent ${id}'s registration has expired.`);
    }
    return record;
  }

  async #verifyOwnToken(token: string): Promise<VerifiedAgent> {
    let audience: unknown;
    try {
      audience = decodeJwt(token).aud;
    } catch {
      throw new AgentGateError("token_invalid", "Invalid token: not a JWT.");
    }
    if (typeof audience !== "string")
      throw new AgentGateError("token_invalid", "Invalid token: aud.");
    // The audience is read unverified only to select it; the signature and every other claim
    // are then fully verified against it.
    this.#internalVerifier ??= this.verifier({ cacheSize: 0 });
    return this.#internalVerifier.verify(token, { audience });
  }

  #ttl(requested: number | undefined): number {
    const ttl = requested ?? this.#defaultTtl;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.maxTtlSeconds) {
      throw config(`ttlSeconds must be a whole number from 1 to ${this.maxTtlSeconds}`);
    }
    return ttl;
  }

  #activeKey(): SigningKey | undefined {
    const now = this.clock.now();
    return this.#keys.filter((key) => key.retiresAt === undefined && key.isLive(now)).at(-1);
  }

  #liveKeys(now: number): SigningKey[] {
    return this.#keys
      .filter((key) => key.isLive(now) && !this.revocations.isRevoked("key", key.kid))
      .reverse();
  }

  async #load(): Promise<void> {
    const stored = await this.#keyStore.load();
    this.#keys = await Promise.all(stored.map((key) => SigningKey.fromStored(key)));
    this.#byKid = new Map(this.#keys.map((key) => [key.kid, key]));
  }

  async #storedParts(kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
    const stored = (await this.#keyStore.load()).find((key) => key.kid === kid);
    if (stored === undefined) throw new AgentGateError("key_store_invalid", `Key ${kid} vanished.`);
    return stored;
  }

  async #prune(now: number): Promise<void> {
    const dead = this.#keys.filter((key) => !key.isLive(now));
    for (const key of dead) await this.#keyStore.remove(key.kid);
    if (dead.length > 0) await this.#load();
  }
}

/** RFC 8693 §4.4: one actor is `{ iss, sub }`; several are AgentGate's `{ iss, sub: [..] }`. */
function mayActClaim(actors: readonly string[], issuer: string): Record<string, unknown> {
  if (actors.length === 0) throw config("mayAct must name at least one agent");
  return { iss: issuer, sub: actors.length === 1 ? actors[0] : [...actors] };
}

/** The agents a `may_act` claim names (from this issuer); malformed claims name none. */
function mayActNames(claim: unknown, issuer: string): string[] {
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) return [];
  const { iss, sub } = claim as { iss?: unknown; sub?: unknown };
  if (iss !== undefined && iss !== issuer) return [];
  if (typeof sub === "string") return [sub];
  if (Array.isArray(sub)) return sub.filter((entry): entry is string => typeof entry === "string");
  return [];
}

/** The claims of a compact JWT, unverified: only to select what is then fully verified. */
function unverifiedClaims(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    throw new AgentGateError("token_invalid", "Invalid token: not a JWT.");
  }
}

function checkUserPrincipal(principal: string): void {
  if (!/^[\x21-\x7e]{1,256}$/.test(principal) || principal.startsWith("spiffe:")) {
    throw config("principal must be 1-256 printable ASCII characters, not a spiffe: URI");
  }
}

function config(message: string): AgentGateError {
  return new AgentGateError("invalid_configuration", `${message}.`);
}

/** The `cnf` claim of a binding: exactly one SHA-256 thumbprint, base64url (43 characters). */
function confirmationClaim(confirmation: TokenConfirmation): Record<string, string> {
  const entries = Object.entries(confirmation).filter(([, value]) => value !== undefined);
  const [name, value] = entries[0] ?? [];
  if (
    entries.length !== 1 ||
    (name !== "jkt" && name !== "x5t#S256") ||
    typeof value !== "string" ||
    !/^[A-Za-z0-9_-]{43}$/.test(value)
  ) {
    throw config(
      "confirmation must be one base64url SHA-256 thumbprint: jkt (a JWK) or x5t#S256 (a certificate)",
    );
  }
  return { [name]: value };
}
