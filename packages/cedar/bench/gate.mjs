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
import { auditFloor, compare, machine, record, table } from "../../core/bench/harness.mjs";
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
const cedarWasm = new CedarPolicyClient({ policies: store(20), evaluator: "cedar-wasm" });
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
const wasmGate = await gateWith(cedarWasm, "wasm");
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
for (const target of [gate, wasmGate])
  if ((await guarded(target)()) !== (await lookup(args)))
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
    {
      name: "gate.invoke uncached: cedar-wasm (20 policies) + file audit log",
      run: guarded(wasmGate),
    },
    {
      name: "gate.invoke uncached: compiled Cedar (20 policies) + file audit log",
      run: guarded(gate),
      batch: 5,
    },
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
    {
      name: "floor: the compiled Cedar decision alone",
      run: () => cedar.evaluate(seen.request),
      batch: 20,
    },
    { name: "floor: the cedar-wasm decision alone", run: () => cedarWasm.evaluate(seen.request) },
    { name: "floor: the two audit records alone", run: auditAlone, batch: 5 },
  ],
  { rounds: 1500, warmup: 150 },
);

// Throughput: 1,000 calls in flight through one gate (compiled Cedar, file audit log), in waves.
const throughputGate = await gateWith(cedar, "throughput");
const wave = () => Promise.all(Array.from({ length: 1000 }, guarded(throughputGate)));
await wave();
const waves = 10;
const throughputStart = performance.now();
for (let index = 0; index < waves; index++) await wave();
const callsPerSecond = (waves * 1000) / ((performance.now() - throughputStart) / 1000);
await throughputGate.close();
await gate.close();
await wasmGate.close();
await cachedGate.close();

console.log(`\n## The Gate: guarded tool call vs bare\n\n${await machine()}\n`);
console.log(table(results, "bare LangChain tool().invoke"));
const [
  bare,
  langchain,
  wasmPlain,
  plain,
  hit,
  logic,
  alone,
  cedarAlone,
  wasmAlone,
  auditFloorResult,
] = results;
const over = (result, quantile = "p50") => result[quantile] - bare[quantile];
const µs = (value) => `${value.toFixed(1)} µs`;
const x = (a, b, quantile = "p50") => `${(a[quantile] / b[quantile]).toFixed(2)}×`;
console.log(
  [
    "",
    `Uncached guarded, audited call (compiled) vs a bare LangChain tool().invoke: ${x(plain, langchain)} p50, ${x(plain, langchain, "p99")} p99 (goal ≤ 0.5×); with cedar-wasm: ${x(wasmPlain, langchain)} p50.`,
    `Compiled decision vs cedar-wasm decision on the gate's own request: ${x(cedarAlone, wasmAlone)} p50, ${x(cedarAlone, wasmAlone, "p99")} p99 (goal ≤ 0.1×).`,
    `Guarded overhead p50 without a cache (compiled): ${µs(over(plain))} (p99 ${µs(over(plain, "p99"))}) = the decision ${µs(cedarAlone.p50)} + two audit records at their floor ${µs(auditFloorResult.p50)} + the rest ${µs(over(plain) - cedarAlone.p50 - auditFloorResult.p50)}.`,
    `Guarded overhead p50 on a decision-cache hit: ${µs(over(hit))} (p99 ${µs(over(hit, "p99"))}); the gate's own work with the audit discarded: ${µs(over(logic))}, of which the gate alone ${µs(over(alone))}.`,
    `1,000 calls in flight through one gate (compiled Cedar, file audit log): ${Math.round(callsPerSecond).toLocaleString("en")} calls/s (goal ≥ 10,000).`,
  ].join("\n"),
);
await record("gate", results, "bare LangChain tool().invoke", {
  calls_per_second_1000_in_flight: Math.round(callsPerSecond),
});
