import { AgentGateError, isAgentGateError } from "../errors.js";
import type { AccessRequest } from "./access-request.js";
import type { Decision, Obligation } from "./decision.js";
import type { EvaluateOptions, PolicyClient } from "./policy-client.js";

/**
 * Several policy backends that must all allow: for example the team's embedded Cedar policies
 * and the organisation's central AuthZEN PDP. The call is allowed only when every backend allows;
 * the obligations of all of them apply. A backend that fails makes the whole evaluation fail
 * with `policy_unavailable` (so the gate denies): an error is never "no opinion" that the other
 * backends could outvote (SECURITY.md J73).
 *
 * @example
 * ```ts
 * const policy = new AllOfPolicyClient([cedar, await AuthZenPolicyClient.discover("https://pdp.acme.example")]);
 * ```
 */
export class AllOfPolicyClient implements PolicyClient {
  readonly #clients: readonly PolicyClient[];

  constructor(clients: readonly PolicyClient[]) {
    if (clients.length === 0) {
      throw new AgentGateError(
        "invalid_configuration",
        "AllOfPolicyClient needs at least one client.",
      );
    }
    this.#clients = [...clients];
  }

  async evaluate(request: AccessRequest, options?: EvaluateOptions): Promise<Decision> {
    // All at once: the slowest backend sets the latency, not the sum of them.
    const settled = await Promise.allSettled(
      this.#clients.map((client) => client.evaluate(request, options)),
    );
    const decisions: Decision[] = [];
    for (const [index, result] of settled.entries()) {
      if (result.status === "rejected") {
        throw new AgentGateError(
          "policy_unavailable",
          `Policy backend ${index} failed: ${isAgentGateError(result.reason) ? result.reason.message : String(result.reason)}`,
          { cause: result.reason },
        );
      }
      decisions.push(result.value);
    }
    const denials = decisions.filter((decision) => decision.allowed !== true);
    if (denials.length > 0) {
      return {
        allowed: false,
        policies: denials.flatMap((decision) => decision.policies),
        reason: denials.map((decision) => decision.reason).join("; "),
        safeReason: denials[0]?.safeReason ?? "This action is not permitted.",
        obligations: [],
      };
    }
    const obligations = new Set<Obligation>(decisions.flatMap((decision) => decision.obligations));
    return {
      allowed: true,
      policies: decisions.flatMap((decision) => decision.policies),
      reason: decisions.map((decision) => decision.reason).join("; "),
      safeReason: decisions[0]?.safeReason ?? "Permitted.",
      obligations: [...obligations],
    };
  }

  /** Changes whenever any backend's `version()` changes (a backend without one counts as 0). */
  version(): number {
    let combined = 0;
    for (const client of this.#clients) combined = (combined * 31 + (client.version?.() ?? 0)) | 0;
    return combined;
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.close?.()));
  }
}
