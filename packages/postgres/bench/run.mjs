// `pnpm bench` for @agentgate/postgres, in one run against one server:
// 1. A decision-cache hit through the gate (token cache hit, registry and revocation checks,
//    CachedPolicyClient hit) with the registry and revocations on PostgreSQL vs in files; the
//    audit sink is the same discarding one for both, so the figure isolates the stores.
// 2. Audit appends per second from 4 processes, each with group commit on its own chain.
// 3. Revocation propagation across processes (LISTEN/NOTIFY): revoke here, seen there.
// Bounded: fixed counts, then it stops. Writes bench/results.json at the repository root.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  Authority,
  allow,
  CachedPolicyClient,
  defineAgent,
  FunctionPolicyClient,
  Gate,
  MemoryKeyStore,
} from "@agentgate/core";
import { FileRevocationList, JsonFileAgentRegistry } from "@agentgate/core/node";
import { compare, machine, record, table } from "../../core/bench/harness.mjs";
import { openPostgresStores } from "../dist/index.js";
import { benchDatabase } from "./database.mjs";

const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://tools.acme.example";
const database = await benchDatabase();
console.log(`${await machine()}; ${database.description}`);
const discard = { write: async () => {}, flush: async () => {}, close: async () => {} };
const tool = {
  name: "crm_lookup",
  action: "read",
  schema: { "~standard": { version: 1, vendor: "bench", validate: (value) => ({ value }) } },
};

async function gateOn(registry, revocations) {
  await registry.put(defineAgent({ id: SUPPORT, owner: "alice", maxScopes: [] }));
  const authority = await Authority.create({
    trustDomain: "acme.example",
    registry,
    revocations,
    keyStore: new MemoryKeyStore(),
  });
  const gate = new Gate({
    audience: AUDIENCE,
    verifier: authority.verifier(),
    registry,
    policy: new CachedPolicyClient(new FunctionPolicyClient(() => allow("ok")), { revocations }),
    audit: discard,
    authority,
  });
  const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 3600 });
  return { gate, token };
}

// 1. Decision-cache hit.
const stores = await openPostgresStores({ url: database.url, schema: database.schema });
const dir = mkdtempSync(join(tmpdir(), "agentgate-bench-pg-"));
const onPg = await gateOn(stores.registry, stores.revocations);
const onFiles = await gateOn(
  new JsonFileAgentRegistry(join(dir, "agents.json")),
  new FileRevocationList(join(dir, "revocations.jsonl")),
);
const check =
  ({ gate, token }) =>
  async () => {
    const result = await gate.check({ tool, arguments: {}, credential: token });
    if (!result.allowed) throw new Error(`denied: ${result.code}`);
  };
const hits = await compare(
  [
    { name: "decision-cache hit, file stores", run: check(onFiles), batch: 20 },
    { name: "decision-cache hit, PostgreSQL stores", run: check(onPg), batch: 20 },
  ],
  { rounds: 1500, warmup: 200 },
);
console.log("\n## Decision-cache hit: PostgreSQL stores vs file stores\n");
console.log(table(hits, "decision-cache hit, file stores"));

// 2. Audit appends from 4 processes.
const PROCESSES = 4;
const PER_PROCESS = 25_000;
const writers = Array.from({ length: PROCESSES }, () =>
  spawn(
    process.execPath,
    [
      new URL("./audit-writer.mjs", import.meta.url).pathname,
      database.url,
      database.schema,
      String(PER_PROCESS),
      "512",
    ],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  ),
);
const linesOf = (child) => {
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const waiter of waiters.splice(0)) waiter();
  });
  return {
    lines,
    next: async (predicate) => {
      for (;;) {
        const found = lines.find(predicate);
        if (found !== undefined) return found;
        await new Promise((resolve) => waiters.push(resolve));
      }
    },
  };
};
const writerLines = writers.map(linesOf);
await Promise.all(writerLines.map((lines) => lines.next((line) => line === "ready")));
const appendStart = performance.now();
for (const writer of writers) writer.stdin.write("go\n");
const reports = await Promise.all(
  writerLines.map(async (lines) => JSON.parse(await lines.next((line) => line.startsWith("{")))),
);
const appendMs = performance.now() - appendStart;
const appendsPerSecond = (PROCESSES * PER_PROCESS) / (appendMs / 1000);
const chains = await stores.verifyAudit();
console.log(
  `\n## Audit appends, ${PROCESSES} processes, group commit\n\n${Math.round(appendsPerSecond).toLocaleString("en-US")} acknowledged appends/s (${PROCESSES} × ${PER_PROCESS.toLocaleString("en-US")} in ${Math.round(appendMs)} ms; slowest process ${Math.round(Math.max(...reports.map((r) => r.ms)))} ms); ${chains.filter((c) => c.ok).length}/${chains.length} chains verify`,
);

// 3. Revocation propagation across processes.
const WATCHERS = 3;
const REVOCATIONS = 60;
const watchers = Array.from({ length: WATCHERS }, () =>
  spawn(
    process.execPath,
    [new URL("./revocation-watcher.mjs", import.meta.url).pathname, database.url, database.schema],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  ),
);
const watcherLines = watchers.map(linesOf);
await Promise.all(watcherLines.map((lines) => lines.next((line) => line === "ready")));
const latencies = [];
for (let index = 0; index < REVOCATIONS; index++) {
  const id = `bench-token-${index}`;
  for (const watcher of watchers) watcher.stdin.write(`${id}\n`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const at = performance.timeOrigin + performance.now();
  await stores.revocations.revoke("token", id);
  const seen = await Promise.all(
    watcherLines.map((lines) => lines.next((line) => line.includes(`"${id}"`))),
  );
  for (const line of seen) latencies.push(JSON.parse(line).t - at);
}
for (const watcher of watchers) watcher.stdin.write("stop\n");
latencies.sort((a, b) => a - b);
const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(
  `\n## Revocation propagation (${REVOCATIONS} revocations × ${WATCHERS} processes)\n\np50 ${pct(0.5).toFixed(2)} ms, p99 ${pct(0.99).toFixed(2)} ms, max ${latencies.at(-1).toFixed(2)} ms`,
);

await record("postgres", hits, "decision-cache hit, file stores", {
  audit_appends_per_second_4_processes: Math.round(appendsPerSecond),
  revocation_propagation_p50_ms: Math.round(pct(0.5) * 100) / 100,
  revocation_propagation_p99_ms: Math.round(pct(0.99) * 100) / 100,
});
await onPg.gate.close();
await onFiles.gate.close();
await stores.close();
await database.drop();
process.exit(0);
