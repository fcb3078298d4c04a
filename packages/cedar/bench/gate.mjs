// The headline benchmark, in one process and one run: what the Gate costs around a tool call.
// A bare async function; a bare LangChain tool().invoke; the same call through gate.invoke with
// a cached token, the embedded Cedar engine (20 policies) and the file audit log in `process`
// mode; and the same with a decision-cache hit. Beside them, the floors these goals sit on,
// measured in the same run: the gate alone (a decision known in advance, nothing written), the
// Cedar decision alone and the two audit records alone.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Authority,
  allow,
  CachedPolicyClient,
  CredentialProvider,
  defineAgent,
  Gate,
  MemoryAgentRegistry,
} from "@agentgate/core";
import { FileAuditLog } from "@agentgate/core/node";
import { tool } from "@langchain/core/tools";
import * as z from "zod";
import { auditFloor, compare, machine, table } from "../../core/bench/harness.mjs";
import { CedarPolicyClient } from "../dist/index.js";
import { SUPPORT, store } from "./stores.mjs";

const AUDIENCE = "https://tools.acme.example";
// Monday 10:00 in Berlin, so the seed rule permits; the clock stands still for the run.
const NOW = Date.parse("2026-01-05T09:00:00Z");
const clock = { now: () => NOW };
const registry = new MemoryAgentRegistry([
  defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }, clock),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry, clock });
const credential = CredentialProvider.forAgent(authority, SUPPORT, {
  audience: AUDIENCE,
  ttlSeconds: 3600,
});
const cedar = new CedarPolicyClient({ policies: store(20) });
const directory = mkdtempSync(join(tmpdir(), "agentgate-bench-gate-"));
const discard = { write: async () => {}, flush: async () => {}, close: async () => {} };
const gateWith = async (policy, name) =>
  new Gate({
    audience: AUDIENCE,
    verifier: authority.verifier(),
    registry,
    policy,
    audit:
      name === "discard"
        ? discard
        : await FileAuditLog.open({ directory: join(directory, name), durability: "process" }),
    clock,
    timeZone: "Europe/Berlin",
  });
const gate = await gateWith(cedar, "plain");
const cache = new CachedPolicyClient(cedar, {
  ttlMs: 60_000,
  clock,
  revocations: authority.revocations,
});
const cachedGate = await gateWith(cache, "cached");
const logicOnly = await gateWith(cache, "discard");
// The gate alone: a decision known in advance and nothing written.
const permitted = allow("known in advance", { policies: ["fixed"] });
const gateAlone = await gateWith({ evaluate: async () => permitted }, "discard");

const schema = z.object({ customerId: z.string() });
const lookup = async ({ customerId }) => `customer ${customerId}: 3 open tickets`;
const lcTool = tool(lookup, { name: "crm_lookup", description: "Look up a customer", schema });
const descriptor = {
  name: "crm_lookup",
  action: "read",
  resources: { customer: "customerId" },
  schema,
};
const args = { customerId: "acme" };
const guarded = (target) => () =>
  target.invoke({ tool: descriptor, arguments: args, credential }, lookup);
if ((await guarded(gate)()) !== (await lookup(args)))
  throw new Error("the guarded call must be allowed");

// The floors, measured in the same run: the Cedar decision alone on the very request the gate
// builds, and the two audit records alone (the events the gate writes, with the log's JSON +
// SHA-256 + one synchronous append and nothing else).
const seen = { request: undefined, events: [] };
const probe = new Gate({
  audience: AUDIENCE,
  verifier: authority.verifier(),
  registry,
  policy: {
    evaluate: (request) => {
      seen.request = request;
      return cedar.evaluate(request);
    },
  },
  audit: { ...discard, write: async (event) => void seen.events.push(event) },
  clock,
  timeZone: "Europe/Berlin",
});
await guarded(probe)();
const [decisionEvent, outcomeEvent] = seen.events;
const writeFloor = await auditFloor(join(directory, "floor.jsonl"));
const auditAlone = () => {
  writeFloor(decisionEvent);
  writeFloor(outcomeEvent);
};

const results = await compare(
  [
    { name: "bare async function", run: () => lookup(args), batch: 20 },
    { name: "bare LangChain tool().invoke", run: () => lcTool.invoke(args), batch: 5 },
    { name: "gate.invoke: Cedar (20 policies) + file audit log", run: guarded(gate) },
    {
      name: "gate.invoke: decision-cache hit + file audit log",
      run: guarded(cachedGate),
      batch: 5,
    },
    {
      name: "gate.invoke: decision-cache hit, audit discarded (the gate's own work)",
      run: guarded(logicOnly),
      batch: 5,
    },
    {
      name: "gate.invoke: decision known in advance, audit discarded (the gate alone)",
      run: guarded(gateAlone),
      batch: 5,
    },
    { name: "floor: the Cedar decision alone", run: () => cedar.evaluate(seen.request) },
    { name: "floor: the two audit records alone", run: auditAlone, batch: 5 },
  ],
  { rounds: 1500, warmup: 150 },
);
await gate.close();
await cachedGate.close();

console.log(`\n## The Gate: guarded tool call vs bare\n\n${await machine()}\n`);
console.log(table(results, "bare async function"));
const [bare, langchain, plain, hit, logic, alone, cedarAlone, auditFloorResult] = results;
const over = (result, quantile = "p50") => result[quantile] - bare[quantile];
const µs = (value) => `${value.toFixed(1)} µs`;
console.log(
  [
    "",
    `Guarded overhead p50 without a cache: ${µs(over(plain))} (goal ≤ 150 µs; p99 ${µs(over(plain, "p99"))}) = the Cedar decision ${µs(cedarAlone.p50)} + two audit records at their floor ${µs(auditFloorResult.p50)} + the rest ${µs(over(plain) - cedarAlone.p50 - auditFloorResult.p50)}.`,
    `Guarded overhead p50 on a decision-cache hit: ${µs(over(hit))} (goal ≤ 20 µs; p99 ${µs(over(hit, "p99"))}) = two audit records at their floor ${µs(auditFloorResult.p50)} + the rest ${µs(over(hit) - auditFloorResult.p50)}; the gate's own work with the audit discarded: ${µs(over(logic))}, of which the decision-cache lookup ${µs(over(logic) - over(alone))} and the gate alone ${µs(over(alone))}.`,
    `A decision-cache hit through the gate, audited, costs ${(over(hit) / langchain.p50).toFixed(2)}× a bare LangChain tool().invoke.`,
  ].join("\n"),
);
