import { describe, expect, it } from "vitest";
import type { AccessRequest } from "../../policy/access-request.js";
import type { PolicyClient } from "../../policy/policy-client.js";
import { accessTime } from "../../policy/request-mapping.js";

/** The agent the contract rule permits. */
export const CONTRACT_AGENT = "spiffe://acme.example/agent/contract";

/**
 * The rule every client under contract must be configured with: `CONTRACT_AGENT` may `read`
 * the tool `contract_tool`, and nothing else is permitted. In Cedar:
 * `permit (principal == Agent::"spiffe://acme.example/agent/contract", action == Action::"read", resource == Tool::"contract_tool");`
 */
export const CONTRACT_RULE = `permit (principal == Agent::"${CONTRACT_AGENT}", action == Action::"read", resource == Tool::"contract_tool");`;

/** A request for the contract: the permitted one by default, with one thing changed. */
export function contractRequest(
  change: { agent?: string; action?: string; tool?: string } = {},
): AccessRequest {
  const agent = change.agent ?? CONTRACT_AGENT;
  const tool = change.tool ?? "contract_tool";
  return {
    subject: {
      type: "agent",
      id: agent,
      properties: {
        owner: "contract@acme.example",
        supervision: "autonomous",
        labels: {},
        scopes: ["contract:read"],
        principal: agent,
        principalType: "agent",
        chain: [agent],
        delegated: false,
      },
    },
    action: { name: change.action ?? "read", properties: { tool } },
    resource: { type: "tool", id: tool, properties: {} },
    context: {
      time: accessTime(Date.parse("2026-01-05T09:00:00Z"), "UTC"),
      environment: "contract",
      resources: {},
    },
  };
}

/**
 * The contract every `PolicyClient` keeps, as a vitest suite. `make` returns a client configured
 * with {@link CONTRACT_RULE}.
 */
export function describePolicyClientContract(
  name: string,
  make: () => Promise<PolicyClient>,
): void {
  describe(`${name} keeps the PolicyClient contract`, () => {
    it("permits what the rule permits, with a well-formed decision", async () => {
      const decision = await (await make()).evaluate(contractRequest());
      expect(decision.allowed).toBe(true);
      expect(Array.isArray(decision.policies) && Array.isArray(decision.obligations)).toBe(true);
      expect(typeof decision.reason).toBe("string");
      expect(typeof decision.safeReason).toBe("string");
    });

    it("C26: denies everything else (another agent, action or tool)", async () => {
      const client = await make();
      for (const change of [
        { agent: "spiffe://acme.example/agent/other" },
        { action: "write" },
        { tool: "other_tool" },
      ]) {
        expect((await client.evaluate(contractRequest(change))).allowed).toBe(false);
      }
    });

    it("answers 50 concurrent requests consistently", async () => {
      const client = await make();
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          client.evaluate(contractRequest(index % 2 === 0 ? {} : { action: "write" })),
        ),
      );
      expect(decisions.map((decision) => decision.allowed)).toEqual(
        decisions.map((_, index) => index % 2 === 0),
      );
    });

    it("evaluateMany, when offered, answers in order and in full", async () => {
      const client = await make();
      if (client.evaluateMany === undefined) return;
      const decisions = await client.evaluateMany([
        contractRequest(),
        contractRequest({ action: "write" }),
        contractRequest(),
      ]);
      expect(decisions.map((decision) => decision.allowed)).toEqual([true, false, true]);
    });
  });
}
