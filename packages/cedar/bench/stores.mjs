// Generated policy stores for the benchmarks: the seed rule plus `count - 1` policies for other
// agents and tools, the shape a real store grows into (one or a few policies per agent).
import { readFileSync } from "node:fs";

export const SUPPORT = "spiffe://acme.example/agent/support";
const seed = readFileSync(
  new URL("../policies/examples/support-agent.cedar", import.meta.url),
  "utf8",
);

export function store(count) {
  const policies = { "support-agent.cedar": seed };
  for (let index = 1; index < count; index++) {
    const agent = `spiffe://acme.example/agent/a${index % 400}`;
    const action = ["read", "write", "delete", "execute"][index % 4];
    policies[`p${index}.cedar`] =
      `@id("p${index}") permit (principal == Agent::"${agent}", action == Action::"${action}", resource == Tool::"tool_${index % 50}") ` +
      `when { context.resources has customer && context.resources.customer == "c${index % 7}" && context.time.hour >= ${index % 12} };`;
  }
  return policies;
}
