// Throughput alone, for profiling (`node --cpu-prof bench/throughput.mjs`): 1,000 calls in flight
// through one gate (compiled Cedar, 20 policies, the file audit log in `process` mode), in waves.
// The same figure as the last line of gate.mjs, without the latency rounds around it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Authority,
  CredentialProvider,
  defineAgent,
  Gate,
  MemoryAgentRegistry,
} from "@agentgate/core";
import { FileAuditLog } from "@agentgate/core/node";
import * as z from "zod";
import { machine } from "../../core/bench/harness.mjs";
import { CedarPolicyClient } from "../dist/index.js";
import { SUPPORT, store } from "./stores.mjs";

const AUDIENCE = "https://tools.acme.example";
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
const durability = process.env.AUDIT_DURABILITY ?? "process";
const directory = mkdtempSync(join(tmpdir(), "agentgate-bench-throughput-"));
const gate = new Gate({
  audience: AUDIENCE,
  verifier: authority.verifier(),
  registry,
  policy: new CedarPolicyClient({ policies: store(20) }),
  audit: await FileAuditLog.open({ directory, durability }),
  clock,
  timeZone: "Europe/Berlin",
});
const schema = z.object({ customerId: z.string() });
const lookup = async ({ customerId }) => `customer ${customerId}: 3 open tickets`;
const descriptor = {
  name: "crm_lookup",
  action: "read",
  resources: { customer: "customerId" },
  schema,
};
const args = { customerId: "acme" };
const call = () => gate.invoke({ tool: descriptor, arguments: args, credential }, lookup);
const inFlight = Number(process.env.IN_FLIGHT ?? 1000);
const waves = Number(process.env.WAVES ?? 10);
const wave = () => Promise.all(Array.from({ length: inFlight }, call));
await wave();
const cpuStart = process.cpuUsage();
const start = performance.now();
for (let index = 0; index < waves; index++) await wave();
const perSecond = (waves * inFlight) / ((performance.now() - start) / 1000);
const cpu = process.cpuUsage(cpuStart);
// Calls per second of this process's own CPU time (user + system): what one uncontended core
// would sustain, less sensitive to a loaded machine than the wall-clock figure.
const perCpuSecond = (waves * inFlight) / ((cpu.user + cpu.system) / 1e6);
await gate.close();
rmSync(directory, { recursive: true, force: true });
console.log(await machine());
console.log(
  `${inFlight.toLocaleString("en")} calls in flight through one gate (compiled Cedar, file audit log, ${durability}): ${Math.round(perSecond).toLocaleString("en")} calls/s (goal ≥ 10,000); ${Math.round(perCpuSecond).toLocaleString("en")} calls per CPU-second.`,
);
