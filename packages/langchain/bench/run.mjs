// `pnpm bench` for @agentgate/langchain: what the adapter adds around a LangChain tool and an
// agent, in one process and one run. The gate here uses an always-allow policy function and an
// in-memory audit sink, so the figures isolate the adapter and the gate's own work (identity
// from a cached token, argument copy and validation, request mapping, two audit events); the
// policy engine and the durable log are measured by the core and cedar benchmarks.
import {
  Authority,
  allow,
  CredentialProvider,
  defineAgent,
  FunctionPolicyClient,
  Gate,
  MemoryAgentRegistry,
} from "@agentgate/core";
import { MemoryAuditSink } from "@agentgate/core/testing";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import * as z from "zod";
import { compare, machine, table } from "../../core/bench/harness.mjs";
import { protectTool } from "../dist/index.js";
import { agentGateMiddleware } from "../dist/middleware-entry.js";

const AUDIENCE = "https://tools.acme.example";
const AGENT = "spiffe://acme.example/agent/support";
const registry = new MemoryAgentRegistry([
  defineAgent({ id: AGENT, owner: "alice", maxScopes: ["crm:read"] }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
class DiscardingSink extends MemoryAuditSink {
  async write() {} // keep memory flat over many rounds
}
const gate = new Gate({
  audience: AUDIENCE,
  verifier: authority.verifier(),
  registry,
  policy: new FunctionPolicyClient(() => allow("ok")),
  audit: new DiscardingSink(),
});
const credential = CredentialProvider.forAgent(authority, AGENT, {
  audience: AUDIENCE,
  ttlSeconds: 3600,
});

const lookup = tool(async ({ customerId }) => `customer ${customerId}`, {
  name: "crm_lookup",
  description: "Look up a customer",
  schema: z.object({ customerId: z.string() }),
  metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } },
});
const protectedLookup = protectTool(lookup, { gate, credential });
const input = { customerId: "acme" };

function agentWith(middleware) {
  let model = fakeModel();
  const agent = () => {
    model = fakeModel()
      .respondWithTools([{ name: "crm_lookup", args: input, id: "c1" }])
      .respond(new AIMessage("done"));
    return createAgent({ model, tools: [lookup], middleware });
  };
  return () => agent().invoke({ messages: [{ role: "user", content: "go" }] });
}

const toolResults = await compare([
  { name: "bare tool.invoke", run: () => lookup.invoke(input), batch: 10 },
  { name: "protectTool tool.invoke", run: () => protectedLookup.invoke(input), batch: 10 },
]);
const agentResults = await compare(
  [
    { name: "createAgent, no middleware (2 model turns, 1 tool call)", run: agentWith([]) },
    {
      name: "createAgent + agentGateMiddleware",
      run: agentWith([agentGateMiddleware({ gate, credential })]),
    },
  ],
  { rounds: 300, warmup: 30 },
);

console.log(
  `\n## LangChain adapter\n\n${await machine()}, @langchain/core 1.4.0, langchain 1.5.14\n`,
);
console.log(table(toolResults, "bare tool.invoke"));
console.log("");
console.log(table(agentResults, "createAgent, no middleware (2 model turns, 1 tool call)"));
const added = (results) => (results[1].p50 - results[0].p50).toFixed(1);
console.log(
  `\nAdded per tool call, p50: protectTool ${added(toolResults)} µs; middleware ${added(agentResults)} µs (agent run, agent-building included in both rows)`,
);
