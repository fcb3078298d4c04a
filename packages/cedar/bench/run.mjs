// `pnpm bench` for @agentgate/cedar: one decision with 20 and with 10,000 policies, through the
// compiled evaluator and through cedar-wasm (sliced), beside a hand-written JS predicate of the
// same rule (the floor), and an AuthZEN round trip on loopback, all in one process and one run;
// and the time to load 10,000 policies.
import { createServer } from "node:http";
import { AuthZenPolicyClient, allow, deny, FunctionPolicyClient } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";
import * as wasm from "@cedar-policy/cedar-wasm/nodejs";
import { compare, machine, record, table } from "../../core/bench/harness.mjs";
import { CedarPolicyClient } from "../dist/index.js";
import { SUPPORT, store } from "./stores.mjs";

const request = {
  subject: {
    type: "agent",
    id: SUPPORT,
    properties: {
      owner: "alice@acme.example",
      supervision: "autonomous",
      labels: {},
      scopes: ["crm:read"],
      principal: SUPPORT,
      principalType: "agent",
      chain: [SUPPORT],
      delegated: false,
    },
  },
  action: { name: "read", properties: { tool: "crm_lookup" } },
  resource: { type: "tool", id: "crm_lookup", properties: { customer: "acme" } },
  context: {
    time: accessTime(Date.parse("2026-01-05T09:00:00Z"), "Europe/Berlin"),
    environment: "bench",
    resources: { customer: "acme" },
    arguments: { customerId: "acme" },
  },
};
const predicate = (r) =>
  r.subject.id === SUPPORT &&
  r.action.name === "read" &&
  r.resource.id === "crm_lookup" &&
  r.context.resources.customer === "acme" &&
  r.context.time.timeZone === "Europe/Berlin" &&
  r.context.time.weekday <= 5 &&
  r.context.time.hour >= 9 &&
  r.context.time.hour < 17;
const floor = new FunctionPolicyClient((r) => (predicate(r) ? allow("ok") : deny("no")));

// The engine's own floor: one call into cedar-wasm with a single unconditional permit, pre-parsed,
// no entities and an empty context. Whatever AgentGate sends, no decision costs less.
if (
  wasm.preparsePolicySet("bench-floor", {
    staticPolicies: { p: "permit(principal, action, resource);" },
  }).type !== "success"
)
  throw new Error("the floor policy must parse");
const engineFloor = () =>
  wasm.statefulIsAuthorized({
    principal: { type: "Agent", id: SUPPORT },
    action: { type: "Action", id: "read" },
    resource: { type: "Tool", id: "crm_lookup" },
    context: {},
    entities: [],
    preparsedPolicySetId: "bench-floor",
  });

// Wall time, and the process's CPU time beside it (on a shared machine the wall time is mostly
// waiting for a core); then a reload of the same set (warm), and the set as one 10,000-policy file.
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const loadCpuStart = cpuMs();
const loadStart = performance.now();
const compiled10k = new CedarPolicyClient({ policies: store(10_000) });
const loadMs = performance.now() - loadStart;
const loadCpuMs = cpuMs() - loadCpuStart;
const reloadCpuStart = cpuMs();
const reloadStart = performance.now();
compiled10k.reload(() => ({ policies: store(10_000) }));
const reloadMs = performance.now() - reloadStart;
const reloadCpuMs = cpuMs() - reloadCpuStart;
const oneFile = { "all.cedar": Object.values(store(10_000)).join("\n") };
const oneFileStart = performance.now();
new CedarPolicyClient({ policies: oneFile });
const oneFileMs = performance.now() - oneFileStart;
const clients = {
  "compiled, 20": new CedarPolicyClient({ policies: store(20) }),
  "compiled, 10,000": compiled10k,
  "cedar-wasm, 20 sliced": new CedarPolicyClient({ policies: store(20), evaluator: "cedar-wasm" }),
  "cedar-wasm, 1,000 sliced": new CedarPolicyClient({
    policies: store(1000),
    evaluator: "cedar-wasm",
  }),
};
for (const client of Object.values(clients)) {
  if (!(await client.evaluate(request)).allowed)
    throw new Error("the seed rule must permit the bench request");
}

const server = createServer((incoming, response) => {
  let body = "";
  incoming.on("data", (chunk) => (body += chunk));
  incoming.on("end", () => response.end(JSON.stringify({ decision: predicate(JSON.parse(body)) })));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const authzen = new AuthZenPolicyClient({ baseUrl: `http://127.0.0.1:${server.address().port}` });

const results = await compare(
  [
    {
      name: "JS predicate of the seed rule (floor)",
      run: () => floor.evaluate(request),
      batch: 50,
    },
    { name: "Cedar engine alone: one permit-all policy, no entities", run: engineFloor, batch: 5 },
    ...Object.entries(clients).map(([name, client]) => ({
      name: `Cedar, ${name}`,
      run: () => client.evaluate(request),
      batch: name.startsWith("compiled") ? 50 : 5,
    })),
    {
      name: "AuthZEN round trip on loopback (JS predicate PDP)",
      run: () => authzen.evaluate(request),
    },
  ],
  { rounds: 600, warmup: 60 },
);
server.close();

console.log(`\n## Policy\n\n${await machine()}, @cedar-policy/cedar-wasm 4.13.0\n`);
console.log(table(results, "Cedar, cedar-wasm, 20 sliced"));
const p50 = (name) => results.find((result) => result.name === name).p50;
const p99 = (name) => results.find((result) => result.name === name).p99;
const ratio = (a, b) =>
  `${(p50(a) / p50(b)).toFixed(2)}× p50, ${(p99(a) / p99(b)).toFixed(2)}× p99`;
console.log(
  [
    "",
    `compiled decision vs cedar-wasm decision, same request, 20 policies: ${ratio("Cedar, compiled, 20", "Cedar, cedar-wasm, 20 sliced")} (goal ≤ 0.1×)`,
    `compiled, 10,000 policies vs 20: ${ratio("Cedar, compiled, 10,000", "Cedar, compiled, 20")} (goal ≤ 1.2×)`,
    `cedar-wasm, 1,000 sliced vs 20 sliced: ${ratio("Cedar, cedar-wasm, 1,000 sliced", "Cedar, cedar-wasm, 20 sliced")}`,
    `loading 10,000 policies (parse, validate, compile): ${(loadMs / 1000).toFixed(2)} s wall, ${(loadCpuMs / 1000).toFixed(2)} s CPU (goal ≤ 5 s)`,
    `reloading them: ${(reloadMs / 1000).toFixed(2)} s wall, ${(reloadCpuMs / 1000).toFixed(2)} s CPU; the 10,000 in one file: ${(oneFileMs / 1000).toFixed(2)} s wall`,
  ].join("\n"),
);
await record("cedar-policy", results, "Cedar, cedar-wasm, 20 sliced", {
  load_10000_policies_s: loadMs / 1000,
  load_10000_policies_cpu_s: loadCpuMs / 1000,
  reload_10000_policies_s: reloadMs / 1000,
  reload_10000_policies_cpu_s: reloadCpuMs / 1000,
  load_10000_policies_one_file_s: oneFileMs / 1000,
});
