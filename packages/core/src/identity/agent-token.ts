import type { AgentId } from "./agent-id.js";
import type { Supervision } from "./agent-record.js";

/** The JWT `typ` header of every agent token (RFC 8725 §3.11 explicit typing). */
export const AGENT_TOKEN_TYPE = "agent+jwt";

/** The RFC 8693 §4.1 actor claim: the current actor, with earlier actors nested inside. */
export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim;
}

/** Attributes of the acting agent carried in a token (informational: the registry is authoritative). */
export interface AgentAttributes {
  readonly owner: string;
  readonly supervision: Supervision;
  readonly team?: string;
  readonly purpose?: string;
}

/** The claims of an agent token. */
export interface AgentTokenClaims {
  readonly iss: string;
  /** The principal: the agent itself, or the user or agent it acts for. */
  readonly sub: string;
  readonly aud: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly jti: string;
  /** Space-separated scopes. */
  readonly scope: string;
  /** Attributes of the acting agent. */
  readonly agent: AgentAttributes;
  /** Present when the token is delegated: the acting agent, newest outermost. */
  readonly act?: ActorClaim;
}

/** Who a call is on behalf of. */
export interface Principal {
  /** An agent id (`spiffe://…`) or a user identifier such as `user:alice@example.com`. */
  readonly id: string;
  readonly kind: "agent" | "user";
  /**
   * A user's groups at its enterprise IdP (the token's `groups` claim, set by an exchange of
   * the user's IdP token); absent for agents and for users without it.
   */
  readonly groups?: readonly string[];
}

/**
 * The identity proven by a verified agent token: the acting agent, on whose behalf it acts,
 * through which chain, with which scopes, until when. Frozen.
 */
export interface VerifiedAgent {
  /** The agent making the call (the current actor). */
  readonly agent: AgentId;
  /** On whose behalf: the token's `sub`. Equals the agent when nothing is delegated. */
  readonly principal: Principal;
  /**
   * The whole chain, in order: the principal first, then every actor from the earliest to the
   * acting agent. `[agent]` when nothing is delegated.
   */
  readonly chain: readonly string[];
  /** Every agent in the chain (the principal too when it is an agent), earliest first. */
  readonly agents: readonly AgentId[];
  /** True when the token acts for someone other than the acting agent. */
  readonly delegated: boolean;
  readonly scopes: readonly string[];
  /** The token id (`jti`): what revocation, replay and audit refer to. */
  readonly tokenId: string;
  /** The key id that signed the token. */
  readonly keyId: string;
  readonly issuer: string;
  readonly audience: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** Attributes of the acting agent, as the token states them. */
  readonly attributes: AgentAttributes;
  /**
   * Present when an X.509-SVID, not a token, proved the identity: the leaf's serial (hex) and
   * SHA-256 fingerprint (hex), which audit events record. `tokenId` is then `x509:<serial>`.
   */
  readonly certificate?: CertificateEvidence;
  /**
   * Present when a SPIFFE JWT-SVID from a configured trust bundle, not an AgentGate token,
   * proved the identity (`GateOptions.spiffeBundles`): the bundle's trust domain, which audit
   * events record as `details.credential`. `tokenId` is then `jwt-svid:<jti or digest>`.
   */
  readonly jwtSvid?: { readonly trustDomain: string };
  /**
   * What the token is bound to (RFC 7800 `cnf`): a key (`jkt`, RFC 9449 §6), usable only with a
   * proof signed by that key (`verifyDpopProof`, `verifyCallProof`), or a client certificate
   * (`x5t#S256`, RFC 8705 §3), usable only over mTLS with that certificate.
   */
  readonly confirmation?: TokenConfirmation;
}

/**
 * A token's binding (RFC 7800 `cnf`), exactly one of: `jkt`, the RFC 7638 SHA-256 thumbprint of
 * the agent's proof key (DPoP, RFC 9449 §6.1), or `x5t#S256`, the base64url SHA-256 of the
 * agent's X.509-SVID in DER (RFC 8705 §3.1, `certificateThumbprint`).
 */
export type TokenConfirmation =
  | { readonly jkt: string; readonly "x5t#S256"?: undefined }
  | { readonly "x5t#S256": string; readonly jkt?: undefined };

/** Which certificate proved an identity: what the audit log records of it. */
export interface CertificateEvidence {
  /** The leaf's serial number, lower-case hex. */
  readonly serial: string;
  /** SHA-256 over the leaf's DER, lower-case hex. */
  readonly fingerprint: string;
}

/** True when `verified` holds `scope`. */
export function hasScope(verified: VerifiedAgent, scope: string): boolean {
  return verified.scopes.includes(scope);
}

/**
 * A freshly issued agent token. The raw JWT is reachable through {@link IssuedToken.token} but is
 * kept out of `JSON.stringify`, `console.log` and string conversion, so that it never lands in a
 * log by accident (SECURITY.md I69).
 */
export class IssuedToken {
  readonly #token: string;

  constructor(
    token: string,
    /** The token id (`jti`). */
    readonly tokenId: string,
    /** The acting agent. */
    readonly agent: string,
    /** The principal (`sub`). */
    readonly principal: string,
    readonly audience: string,
    readonly scopes: readonly string[],
    /** Seconds since the epoch. */
    readonly issuedAt: number,
    /** Seconds since the epoch. */
    readonly expiresAt: number,
    /** The whole chain, principal first, acting agent last. */
    readonly chain: readonly string[],
  ) {
    this.#token = token;
  }

  /** The compact JWT, to present as a credential. */
  get token(): string {
    return this.#token;
  }

  toJSON(): Omit<IssuedToken, "token" | "toJSON" | "toString"> {
    const { tokenId, agent, principal, audience, scopes, issuedAt, expiresAt, chain } = this;
    return { tokenId, agent, principal, audience, scopes, issuedAt, expiresAt, chain };
  }

  toString(): string {
    return `[IssuedToken ${this.tokenId}]`;
  }
}

/** The actors of an `act` claim, earliest first. */
export function actorsOf(act: ActorClaim | undefined): string[] {
  const actors: string[] = [];
  for (let current = act; current !== undefined; current = current.act) actors.push(current.sub);
  return actors.reverse();
}

/** Builds the `act` claim for actors given earliest first (the last one is the current actor). */
export function actClaimOf(actors: readonly string[]): ActorClaim | undefined {
  let act: ActorClaim | undefined;
  for (const sub of actors) act = act === undefined ? { sub } : { sub, act };
  return act;
}
