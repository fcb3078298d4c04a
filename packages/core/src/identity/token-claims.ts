import { AgentId } from "./agent-id.js";
import { SCOPE_PATTERN } from "./agent-record.js";
import {
  type ActorClaim,
  type AgentAttributes,
  actorsOf,
  type Principal,
  type TokenConfirmation,
  type VerifiedAgent,
} from "./agent-token.js";
import { refuse } from "./token-checks.js";

// The claims rules of an agent token, as one pure function: the claims of a token whose header
// and signature were checked, the verifier's rules and the moment in, a `VerifiedAgent` or a
// refusal naming its check out. No I/O, no clock, no keys: fixed test vectors pin it
// (token-claims.test.ts).

/** The verifier's rules the claims are held to. */
export interface ClaimsRules {
  /** The expected `iss`. */
  readonly issuer: string;
  /** The trust domain of every agent in the token. */
  readonly trustDomain: string;
  readonly clockSkewSeconds: number;
  readonly maxLifetimeSeconds: number;
  readonly maxDelegationDepth: number;
}

/** What one verification adds to the rules. */
export interface ClaimsContext {
  /** This service's audience: `aud` must be exactly it, alone. */
  readonly audience: string;
  /** The `kid` of the key that signed the token (already checked). */
  readonly keyId: string;
  /** Now, in ms since the epoch. */
  readonly now: number;
}

const JTI = /^[\x21-\x7e]{1,128}$/;
const USER_PRINCIPAL = /^[\x21-\x7e]{1,256}$/;
const GROUP = /^[\x20-\x7e]{1,256}$/;
const JKT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Checks, in order: a single `aud`, `iss`, `iat`/`nbf`/`exp` with skew, the lifetime cap, `jti`,
 * `sub`, `scope`, the delegation chain (depth, shape, trust domain, cycles), `groups`, `agent`
 * and `cnf`; returns the frozen identity or throws an `AgentGateError` with `details.check`.
 */
export function claimsToAgent(
  claims: Readonly<Record<string, unknown>>,
  rules: ClaimsRules,
  context: ClaimsContext,
): VerifiedAgent {
  const skew = rules.clockSkewSeconds;
  const audience = context.audience;
  const { iss, sub, aud, iat, exp, nbf, jti, scope, act, agent, cnf } = claims;
  // A token also meant for other audiences is refused: a tool server must not accept a token
  // that a second server can replay (J76).
  if (!(aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience))) {
    throw refuse("aud", "aud must name this audience alone");
  }
  if (iss !== rules.issuer) throw refuse("iss", "iss is not the expected issuer");
  if (!isNumericDate(iat)) throw refuse("iat", "iat must be a present NumericDate");
  if (!isNumericDate(nbf)) throw refuse("nbf", "nbf must be a present NumericDate");
  if (!isNumericDate(exp)) throw refuse("exp", "exp must be a present NumericDate");
  const seconds = context.now / 1000;
  // RFC 7519 §4.1.4/§4.1.5, with the configured skew either way.
  if (exp + skew <= seconds) throw refuse("exp", "The token has expired.", "token_expired");
  if (nbf - skew > seconds) throw refuse("nbf", "nbf is in the future");
  if (iat - skew > seconds) throw refuse("iat", "iat is in the future");
  if (exp - iat > rules.maxLifetimeSeconds) {
    throw refuse("lifetime", `lifetime ${exp - iat}s exceeds ${rules.maxLifetimeSeconds}s`);
  }
  if (nbf > exp) throw refuse("nbf", "nbf is after exp");
  if (typeof jti !== "string" || !JTI.test(jti)) throw refuse("jti", "jti is missing or malformed");
  if (typeof sub !== "string") throw refuse("sub", "sub is missing");
  if (typeof scope !== "string") throw refuse("scope", "scope must be a string");
  const scopes = scope === "" ? [] : scope.split(" ");
  if (scopes.some((entry) => !SCOPE_PATTERN.test(entry)))
    throw refuse("scope", "scope is malformed");

  const actors = actorsIn(act, rules);
  const principal = withGroups(principalOf(sub, actors.length > 0, rules), claims.groups);
  const chain = [principal.id, ...actors];
  if (new Set(chain).size !== chain.length) {
    throw refuse("act", "The token's delegation chain has a cycle.", "delegation_invalid");
  }
  const agents = principal.kind === "agent" ? chain : actors;
  const agentIds = agents.map((id) => AgentId.parse(id));
  return Object.freeze({
    // Never empty: a user principal needs at least one actor (principalOf).
    agent: agentIds[agentIds.length - 1] as AgentId,
    principal,
    chain: Object.freeze(chain),
    agents: Object.freeze(agentIds),
    delegated: actors.length > 0,
    scopes: Object.freeze(scopes),
    tokenId: jti,
    keyId: context.keyId,
    issuer: rules.issuer,
    audience,
    issuedAt: iat,
    expiresAt: exp,
    attributes: attributesOf(agent),
    ...confirmationOf(cnf),
  });
}

/** The actors of `act`, earliest first: each an agent of the trust domain, nested no deeper than allowed. */
function actorsIn(act: unknown, rules: ClaimsRules): string[] {
  if (act === undefined) return [];
  let depth = 0;
  for (let current: unknown = act; current !== undefined; current = (current as ActorClaim).act) {
    depth++;
    if (depth > rules.maxDelegationDepth) {
      throw refuse(
        "act",
        `Delegation deeper than ${rules.maxDelegationDepth}.`,
        "delegation_invalid",
      );
    }
    // An array gets no further than its members ("0" is neither sub nor act).
    if (typeof current !== "object" || current === null)
      throw refuse("act", "act must be an object");
    for (const name of Object.keys(current)) {
      if (name !== "sub" && name !== "act") throw refuse("act", "act may hold only sub and act");
    }
    if (!isOwnAgent((current as ActorClaim).sub, rules)) {
      throw refuse("act", "an actor is not an agent of this trust domain");
    }
  }
  return actorsOf(act as ActorClaim);
}

function principalOf(sub: string, delegated: boolean, rules: ClaimsRules): Principal {
  if (isOwnAgent(sub, rules)) return Object.freeze({ id: sub, kind: "agent" });
  // Without delegation the subject must be the agent itself (A13).
  if (!delegated) throw refuse("sub", "sub is not an agent of this trust domain");
  if (sub.startsWith("spiffe:") || !USER_PRINCIPAL.test(sub))
    throw refuse("sub", "sub is malformed");
  return Object.freeze({ id: sub, kind: "user" });
}

function isOwnAgent(value: unknown, rules: ClaimsRules): boolean {
  if (typeof value !== "string") return false;
  return AgentId.tryParse(value)?.trustDomain === rules.trustDomain;
}

/** A user principal's `groups` claim (issue 17): at most 64 printable names, or a refusal. */
function withGroups(principal: Principal, groups: unknown): Principal {
  if (groups === undefined) return principal;
  if (
    principal.kind !== "user" ||
    !Array.isArray(groups) ||
    groups.length > 64 ||
    groups.some((group) => typeof group !== "string" || !GROUP.test(group))
  ) {
    throw refuse("groups", "groups is malformed or not on a user principal");
  }
  return Object.freeze({ ...principal, groups: Object.freeze([...groups]) });
}

function attributesOf(value: unknown): AgentAttributes {
  if (typeof value !== "object" || value === null)
    throw refuse("agent", "agent attributes missing");
  const { owner, supervision, team, purpose } = value as Record<string, unknown>;
  if (typeof owner !== "string") throw refuse("agent", "agent owner missing");
  if (supervision !== "autonomous" && supervision !== "supervised" && supervision !== "suspended") {
    throw refuse("agent", "agent supervision malformed");
  }
  return Object.freeze({
    owner,
    supervision,
    ...(typeof team === "string" ? { team } : {}),
    ...(typeof purpose === "string" ? { purpose } : {}),
  });
}

/**
 * `cnf` (RFC 7800) with exactly a `jkt` (RFC 9449 §6.1) or exactly an `x5t#S256` (RFC 8705 §3.1),
 * or nothing; anything else is refused.
 */
function confirmationOf(cnf: unknown): { confirmation?: TokenConfirmation } {
  if (cnf === undefined) return {};
  const keys = typeof cnf === "object" && cnf !== null ? Object.keys(cnf) : [];
  const name = keys[0];
  const value = name === undefined ? undefined : (cnf as Record<string, unknown>)[name];
  if (
    keys.length !== 1 ||
    (name !== "jkt" && name !== "x5t#S256") ||
    typeof value !== "string" ||
    !JKT.test(value)
  ) {
    throw refuse("cnf", "cnf must hold one thumbprint alone: jkt or x5t#S256");
  }
  return {
    confirmation: Object.freeze(name === "jkt" ? { jkt: value } : { "x5t#S256": value }),
  };
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
