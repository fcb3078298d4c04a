import { allow, deny, FunctionPolicyClient } from "@agentgate/core";
import { createTestGate, TestClock, type TestGateOptions } from "@agentgate/core/testing";
import { tool } from "@langchain/core/tools";
import * as z from "zod";

export const AUDIENCE = "https://tools.acme.example";
export const SUPPORT = "spiffe://acme.example/agent/support";
export const OPS = "spiffe://acme.example/agent/ops";
export const HELPER = "spiffe://acme.example/agent/helper";

/** The seed rule: support reads customer acme in business hours; ops reads and (with approval) writes. */
export const policy = new FunctionPolicyClient((request) => {
  const { subject, action, context } = request;
  const hours = context.time.weekday <= 5 && context.time.hour >= 9 && context.time.hour < 17;
  const scope = action.name === "read" ? "crm:read" : "crm:write";
  if (!subject.properties.scopes.includes(scope))
    return deny(`missing ${scope}`, { policies: ["scopes"] });
  if (subject.id === SUPPORT && context.resources.customer !== "acme") {
    return deny("support serves acme only", {
      policies: ["support-customer"],
      safeReason: "Only customer acme is allowed.",
    });
  }
  if (subject.id === SUPPORT && !hours)
    return deny("outside business hours", { policies: ["support-hours"] });
  return allow("permitted", { policies: ["crm"] });
});

export async function setup(overrides: Partial<TestGateOptions> = {}) {
  const clock = new TestClock("2026-01-05T09:00:00.000Z"); // Monday 10:00 in Berlin
  const { registry, authority, audit, gate, credentials } = await createTestGate({
    audience: AUDIENCE,
    policy,
    clock,
    timeZone: "Europe/Berlin",
    agents: [
      { id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] },
      {
        id: OPS,
        owner: "bob@acme.example",
        supervision: "supervised",
        maxScopes: ["crm:read", "crm:write"],
      },
      { id: HELPER, owner: "bob@acme.example", maxScopes: ["crm:read", "crm:write"] },
    ],
    ...overrides,
  });
  const calls: string[] = [];
  const lookup = tool(
    async ({ customerId }) => {
      calls.push(`lookup:${customerId}`);
      return `customer ${customerId}: 3 open tickets`;
    },
    {
      name: "crm_lookup",
      description: "Look up a customer in the CRM",
      schema: z.object({ customerId: z.string() }),
      metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } },
    },
  );
  const update = tool(
    async ({ customerId, note }) => {
      calls.push(`update:${customerId}:${note}`);
      return "updated";
    },
    {
      name: "crm_update",
      description: "Add a note to a customer",
      schema: z.object({ customerId: z.string(), note: z.string() }),
      metadata: { agentgate: { action: "write", resources: { customer: "customerId" } } },
    },
  );
  return { clock, registry, authority, audit, gate, lookup, update, calls, credentials };
}
