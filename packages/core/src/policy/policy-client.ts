import { AgentGateError } from "../errors.js";
import type { AccessRequest } from "./access-request.js";
import type { Decision } from "./decision.js";

/** Per-call options of {@link PolicyClient.evaluate}. */
export interface EvaluateOptions {
  /** Aborted when the caller gives up (for example the gate's decision timeout). */
  readonly signal?: AbortSignal;
}

/**
 * The port every policy engine implements (the PDP). Embedded default: `CedarPolicyClient` from
 * `@agentgate/cedar`; remote: `AuthZenPolicyClient`; for tests: {@link FunctionPolicyClient}.
 *
 * Contract: `evaluate` resolves with a {@link Decision}, or rejects with an `AgentGateError` of
 * code `policy_unavailable` when it cannot decide (engine error, timeout, PDP down, malformed
 * answer). Callers treat any rejection, and anything that is not a well-formed decision, as
 * deny (SECURITY.md C28, J73). Every implementation runs `describePolicyClientContract`.
 */
export interface PolicyClient {
  evaluate(request: AccessRequest, options?: EvaluateOptions): Promise<Decision>;
  /** Decides several requests; same order, same length. Optional. */
  evaluateMany?(requests: readonly AccessRequest[], options?: EvaluateOptions): Promise<Decision[]>;
  /**
   * A number that changes whenever the policies change, so decision caches drop what they hold
   * (SECURITY.md C33). Optional: clients without it are never cached across a change.
   */
  version?(): number;
  /** Releases resources (timers, watchers, sockets). */
  close?(): Promise<void>;
}

/**
 * A {@link PolicyClient} from a function: for tests, prototypes and rules that are simplest as
 * code. The function may be synchronous; a throw becomes `policy_unavailable`.
 *
 * @example
 * ```ts
 * const policy = new FunctionPolicyClient((request) =>
 *   request.action.name === "read" ? allow("reads are fine") : deny("read-only agent"));
 * ```
 */
export class FunctionPolicyClient implements PolicyClient {
  constructor(private readonly decide: (request: AccessRequest) => Decision | Promise<Decision>) {}

  async evaluate(request: AccessRequest): Promise<Decision> {
    try {
      return await this.decide(request);
    } catch (error) {
      throw new AgentGateError("policy_unavailable", "The policy function threw.", {
        cause: error,
      });
    }
  }
}
