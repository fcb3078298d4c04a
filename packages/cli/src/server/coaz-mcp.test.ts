import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CedarPolicyClient } from "@agentgate/cedar";
import { type AccessRequest, AuthZenPolicyClient, MemoryAuditSink } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initialised, SUPPORT } from "../../test/workspace.js";
import { openWorkspace } from "../workspace.js";
import { createApp } from "./app.js";

const ALICE = "alice@acme.example";
const BASE = "https://pdp.acme.test";

// A PDP written for the COAZ-MCP profile: the subject is the human, the agent is context.
const SCHEMA = `entity User;
entity Agent;
entity Tool = { server?: String };
type AgentFacts = { id: String, delegated: Bool, chain: Set<String> };
action "read" appliesTo { principal: [User, Agent], resource: [Tool], context: { agent?: AgentFacts } };`;
const POLICY = `@id("alice-through-support")
permit (principal == User::"${ALICE}", action == Action::"read", resource == Tool::"crm_lookup")
when { context has agent && context.agent.id == "${SUPPORT}" && context.agent.delegated && context.agent.chain.contains("${ALICE}") };`;

let policy: CedarPolicyClient;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  const dir = await initialised();
  writeFileSync(join(dir, "policies", "schema.cedarschema"), SCHEMA);
  writeFileSync(join(dir, "policies", "policies.cedar"), POLICY);
  const workspace = await openWorkspace(dir);
  policy = CedarPolicyClient.fromDirectory(workspace.policies);
  app = createApp({ workspace, policy, audit: new MemoryAuditSink(), baseUrl: () => BASE });
});
afterAll(async () => {
  await policy.close();
});

/** The request a gate builds when SUPPORT acts for `principal`. */
function call(principal: string, principalType: "user" | "agent"): AccessRequest {
  const delegated = principal !== SUPPORT;
  return {
    subject: {
      type: "agent",
      id: SUPPORT,
      properties: {
        owner: ALICE,
        supervision: "autonomous",
        labels: {},
        scopes: ["crm:read"],
        principal,
        principalType,
        chain: delegated ? [principal, SUPPORT] : [SUPPORT],
        delegated,
      },
    },
    action: { name: "read", properties: { tool: "crm_lookup" } },
    resource: { type: "tool", id: "crm_lookup" },
    context: {
      time: accessTime(Date.parse("2026-01-05T09:00:00Z"), "UTC"),
      environment: "test",
      resources: {},
    },
  };
}

const client = (mapping: "agent" | "coaz-mcp") =>
  AuthZenPolicyClient.discover(BASE, {
    mapping,
    fetch: async (url, init) => app.request(String(url), init),
  });

describe("the COAZ-MCP mapping against agentgate serve", () => {
  it("a delegated call: the subject is the human principal, the acting agent is context.agent", async () => {
    const coaz = await client("coaz-mcp");
    const decision = await coaz.evaluate(call(ALICE, "user"));
    expect(decision).toMatchObject({ allowed: true, policies: ["alice-through-support"] });
    const [batched] = await coaz.evaluateMany([call(ALICE, "user")]);
    expect(batched?.allowed).toBe(true);
  });

  it("the agent acting for itself is an `agent` subject, not the user: denied here", async () => {
    const coaz = await client("coaz-mcp");
    expect((await coaz.evaluate(call(SUPPORT, "agent"))).allowed).toBe(false);
  });

  it("the default mapping sends the agent as the subject, which this PDP's policy does not permit", async () => {
    const agent = await client("agent");
    expect((await agent.evaluate(call(ALICE, "user"))).allowed).toBe(false);
  });
});
