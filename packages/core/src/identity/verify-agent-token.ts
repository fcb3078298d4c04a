import type { Clock } from "../clock.js";
import { AgentGateError, isAgentGateError } from "../errors.js";
import { type AgentRecord, isAgentExpired } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";
import type { VerifiedAgent } from "./agent-token.js";
import { type JwtSvidBundle, jwtSvidBundleFor, verifyJwtSvid } from "./jwt-svid.js";
import type { RevocationList } from "./revocation-list.js";
import type { TokenVerifier } from "./token-verifier.js";

/** What {@link verifyAgentToken} checks against. */
export interface VerifyAgentTokenOptions {
  /** Verifies signature, claims and revocations (token, key, every agent in the chain). */
  readonly verifier: Pick<TokenVerifier, "verify">;
  /** Where every agent of the chain must be registered, not suspended and not expired. */
  readonly registry: AgentRegistry;
  /** The audience the token must be for. */
  readonly audience: string;
  /** The time registrations expire against. Default `Date.now`. */
  readonly clock?: Clock;
  /**
   * Called with the proven identity once the token verifies, before the registry is asked: a
   * caller that audits refusals learns who was refused even when the registry refuses.
   */
  readonly onVerified?: (agent: VerifiedAgent) => void;
  /**
   * SPIFFE trust bundles (SPIRE's JWT authorities) whose JWT-SVIDs are accepted as well as
   * AgentGate tokens: a credential with `typ` `JWT`, `JOSE` or none is verified by
   * `verifyJwtSvid` against the bundle of its `sub`'s trust domain, then goes through the same
   * registry checks (SECURITY.md P132). Default: none, and such a credential is refused.
   */
  readonly spiffeBundles?: readonly JwtSvidBundle[];
  /** Checked for a JWT-SVID's agent and id; pass the verifier's own (`verifier.revocations`). */
  readonly revocations?: RevocationList;
}

/** A token that a gate would accept: who it proves, and the acting agent's registration. */
export interface UsableAgentToken {
  /** The identity the token proves. */
  readonly agent: VerifiedAgent;
  /** The registry record of the acting (last) agent of the chain. */
  readonly record: AgentRecord;
  /**
   * The token's scopes that every agent in the chain may still hold (`maxScopes`): the scopes
   * policy sees. A scope taken from the registry after issue no longer counts, and a delegate
   * never exercises a scope its delegator could not (B19).
   */
  readonly scopes: readonly string[];
}

/**
 * The one answer to "is this token good": the gate calls it on every tool call, and so do the
 * CLI's `token verify` and any API helper, so none can say "valid" for a token every gate
 * refuses (SECURITY.md L90). It verifies the token (signature, claims, revocation of the
 * token, its key and every agent of its chain), then checks every agent of the chain in the
 * registry: unregistered (`agent_unknown`), suspended (`agent_suspended`) or expired
 * (`agent_expired`) agents are refused (B22, D37). A failing registry is `registry_unavailable`.
 * With `spiffeBundles`, a SPIFFE JWT-SVID of one of their trust domains is accepted too, through
 * `verifyJwtSvid` and the same registry checks.
 *
 * @example
 * ```ts
 * const { agent, record } = await verifyAgentToken(token, {
 *   verifier: authority.verifier(), registry, audience: "https://tools.acme.example" });
 * ```
 */
export async function verifyAgentToken(
  token: string,
  options: VerifyAgentTokenOptions,
): Promise<UsableAgentToken> {
  const bundles = options.spiffeBundles;
  const bundle =
    bundles === undefined || bundles.length === 0 ? undefined : jwtSvidBundleFor(token, bundles);
  if (bundle !== undefined) {
    return verifyJwtSvid(token, {
      bundle,
      registry: options.registry,
      audience: options.audience,
      ...(options.revocations === undefined ? {} : { revocations: options.revocations }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.onVerified === undefined ? {} : { onVerified: options.onVerified }),
    });
  }
  const agent = await options.verifier.verify(token, { audience: options.audience });
  options.onVerified?.(agent);
  return checkAgentChain(agent, options.registry, options.clock);
}

/**
 * The registry half of {@link verifyAgentToken}, shared by every way an agent proves who it is
 * (a token, an X.509-SVID): every agent of `agent`'s chain must be registered, not suspended and
 * not expired (B22, D37); the scopes are narrowed to what every agent of the chain may hold.
 * One path, so a certificate can never pass where a token would not (L90).
 */
export async function checkAgentChain(
  agent: VerifiedAgent,
  registry: AgentRegistry,
  clock: Clock = { now: Date.now },
): Promise<UsableAgentToken> {
  let acting: AgentRecord | undefined;
  const records: AgentRecord[] = [];
  for (const id of agent.agents) {
    let record: AgentRecord | undefined;
    try {
      record = await registry.get(id.toString());
    } catch (error) {
      throw isAgentGateError(error)
        ? error
        : new AgentGateError("registry_unavailable", "The agent registry failed.", {
            cause: error,
          });
    }
    if (record === undefined)
      throw new AgentGateError("agent_unknown", `Agent ${id} is not registered.`);
    if (record.supervision === "suspended") {
      throw new AgentGateError("agent_suspended", `Agent ${id} in the chain is suspended.`);
    }
    if (isAgentExpired(record, clock)) {
      throw new AgentGateError("agent_expired", `Agent ${id}'s registration has expired.`);
    }
    acting = record;
    records.push(record);
  }
  if (acting === undefined) throw new AgentGateError("agent_unknown", "The token names no agent.");
  const record = acting;
  return {
    agent,
    record,
    // Issuing already narrows a delegation (B19); a token that claims more (a bug, a leaked key)
    // is narrowed here again, against every agent in the chain.
    scopes: agent.scopes.filter((scope) =>
      records.every((entry) => entry.maxScopes.includes(scope)),
    ),
  };
}
