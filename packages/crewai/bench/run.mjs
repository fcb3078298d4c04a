// `pnpm bench` for @agentgate/crewai: a crew tool call through the gate (as the crew runs it)
// against the same tool's body called directly, in one process and one run. Trivial policy,
// audit discarded: the figures isolate the adapter and the gate's own work.
import { currentAgent } from "@agentgate/core";
import * as z from "zod";
import { allowAllGate, compare, machine, table } from "../../core/bench/harness.mjs";
import { crewTool, descriptorOf } from "../dist/index.js";

const AGENT = "spiffe://acme.example/agent/researcher";
const AUDIENCE = "https://tools.acme.example";
const { gate, credential } = await allowAllGate({
  agent: AGENT,
  audience: AUDIENCE,
  maxScopes: ["web:search"],
});
const search = crewTool({
  name: "web_search",
  description: "Search",
  argsSchema: z.object({ query: z.string() }),
  action: "read",
  run: ({ query }) => `found ${query}`,
});
const descriptor = descriptorOf(search);
const args = { query: "agent identity" };

const results = await compare([
  {
    name: "crew tool, unprotected (validate + run)",
    run: async () => search.run(search.argsSchema.parse(args), {}),
    batch: 20,
  },
  {
    name: "crew tool through the gate",
    run: () =>
      gate.invoke({ tool: descriptor, arguments: args, credential }, (valid) =>
        search.run(valid, { agent: currentAgent() }),
      ),
    batch: 5,
  },
]);
console.log(`\n## CrewAI-style crews\n\n${await machine()}\n`);
console.log(table(results, "crew tool, unprotected (validate + run)"));
console.log(`\nAdded per tool call, p50: ${(results[1].p50 - results[0].p50).toFixed(1)} µs`);
