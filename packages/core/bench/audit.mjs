// `pnpm bench` for the audit log: append cost per durability mode beside the floor (the same
// JSON + SHA-256 + one synchronous write, nothing else), with and without a witness (a real one,
// in its own process over HTTP on 127.0.0.1, cosigning every 1,000 records and every second),
// then throughput: one writer in `process` mode, 64 concurrent callers in `group` mode.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointKey, FileAuditLog, HttpWitnessClient } from "../dist/node/index.js";
import { auditFloor, compare, machine, record, table } from "./harness.mjs";

const event = {
  v: 1,
  id: "0123456789abcdef0123456789abcdef",
  type: "decision",
  time: "2026-01-05T09:00:00.000Z",
  invocationId: "fedcba9876543210fedcba9876543210",
  agent: "spiffe://acme.example/agent/support",
  principal: "user:carol@acme.example",
  chain: ["user:carol@acme.example", "spiffe://acme.example/agent/support"],
  owner: "alice@acme.example",
  tokenId: "00112233445566778899aabbccddeeff",
  tool: { name: "crm_lookup" },
  action: "read",
  resource: { type: "tool", id: "crm_lookup", properties: { customer: "acme" } },
  arguments: { customerId: "acme", fields: ["name", "plan"] },
  decision: {
    allowed: true,
    policies: ["support-reads-acme-in-business-hours"],
    reason: "permitted",
  },
};
const dir = () => mkdtempSync(join(tmpdir(), "agentgate-bench-audit-"));
const writeFloor = await auditFloor(join(dir(), "floor.jsonl"));

const floor = () => writeFloor(event);
const checkpointKeyPath = join(dir(), "checkpoint-key.json");
const writerKey = CheckpointKey.load({ path: checkpointKeyPath }).toString();
const server = spawn(
  process.execPath,
  [
    fileURLToPath(new URL("../test/fixtures/witness-server.mjs", import.meta.url)),
    join(dir(), "witness"),
    writerKey,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const witness = await new Promise((resolve) =>
  server.stdout.once("data", (chunk) => resolve(JSON.parse(chunk.toString()))),
);
const open = (durability, extra = {}) =>
  FileAuditLog.open({ directory: join(dir(), "audit"), durability, checkpointKeyPath, ...extra });
const anchored = {
  witness: new HttpWitnessClient(witness.url),
  witnessKey: witness.key,
};
const logs = {
  process: await open("process"),
  witness: await open("process", anchored),
  fsync: await open("fsync"),
};

const latency = await compare(
  [
    { name: "floor: JSON + SHA-256 + write", run: floor, batch: 20 },
    { name: "FileAuditLog process", run: () => logs.process.write(event), batch: 20 },
    {
      name: "FileAuditLog process + witness",
      run: () => logs.witness.write(event),
      batch: 20,
    },
    { name: "FileAuditLog fsync", run: () => logs.fsync.write(event) },
  ],
  { rounds: 1000, warmup: 100 },
);

/** Events per second of `write` called by `callers` concurrent loops, each awaiting its write. */
async function throughput(write, callers, total) {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next++ < total) await write(event);
    }),
  );
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}
const processLog = await open("process");
const witnessLog = await open("process", anchored);
const groupLog = await open("group", anchored);
const groupPlainLog = await open("group");
const floorRate = await throughput(async () => floor(), 1, 200_000);
const processRate = await throughput((record) => processLog.write(record), 1, 200_000);
const witnessRate = await throughput((record) => witnessLog.write(record), 1, 200_000);
// Group mode with and without the witness, alternating, so both see the same machine.
// A batch holds at most one record per caller, so with 64 callers the rate is 64 records per
// fdatasync; with 1,000 (a busy gate) it is bound by the CPU instead.
const groupRates = { plain: [], witness: [], plain1000: [], witness1000: [] };
for (let round = 0; round < 4; round++) {
  groupRates.plain.push(await throughput((record) => groupPlainLog.write(record), 64, 50_000));
  groupRates.witness.push(await throughput((record) => groupLog.write(record), 64, 50_000));
  groupRates.plain1000.push(
    await throughput((record) => groupPlainLog.write(record), 1000, 100_000),
  );
  groupRates.witness1000.push(await throughput((record) => groupLog.write(record), 1000, 100_000));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const groupRate = median(groupRates.witness);
const groupPlainRate = median(groupRates.plain);
const group1000Rate = median(groupRates.witness1000);
const groupPlain1000Rate = median(groupRates.plain1000);
const anchors = [logs.witness, witnessLog, groupLog].map((log) => log.anchor);
for (const log of [
  logs.process,
  logs.witness,
  logs.fsync,
  processLog,
  witnessLog,
  groupLog,
  groupPlainLog,
])
  await log.close();
server.kill();

console.log(`\n## Audit log\n\n${await machine()}\n`);
console.log(table(latency, "floor: JSON + SHA-256 + write"));
console.log(`\n| throughput | events/s | vs floor |\n| --- | ---: | ---: |`);
console.log(
  `| floor (JSON + SHA-256 + write, awaited), one writer | ${Math.round(floorRate).toLocaleString("en")} | 1.00× |`,
);
console.log(
  `| process mode, one writer (goal ≥ 150,000) | ${Math.round(processRate).toLocaleString("en")} | ${(processRate / floorRate).toFixed(2)}× |`,
);
console.log(
  `| process mode + witness, one writer | ${Math.round(witnessRate).toLocaleString("en")} | ${(witnessRate / floorRate).toFixed(2)}× |`,
);
console.log(
  `| group mode, 64 concurrent callers (median of 4 rounds) | ${Math.round(groupPlainRate).toLocaleString("en")} | ${(groupPlainRate / floorRate).toFixed(2)}× |`,
);
console.log(
  `| group mode + witness, 64 concurrent callers (goal ≥ 50,000; median of 4 rounds) | ${Math.round(groupRate).toLocaleString("en")} | ${(groupRate / floorRate).toFixed(2)}× |`,
);
console.log(
  `| group mode, 1,000 concurrent callers (median of 4 rounds) | ${Math.round(groupPlain1000Rate).toLocaleString("en")} | ${(groupPlain1000Rate / floorRate).toFixed(2)}× |`,
);
console.log(
  `| group mode + witness, 1,000 concurrent callers (goal ≥ 50,000; median of 4 rounds) | ${Math.round(group1000Rate).toLocaleString("en")} | ${(group1000Rate / floorRate).toFixed(2)}× |`,
);

const byName = Object.fromEntries(latency.map((result) => [result.name, result]));
const withWitness = byName["FileAuditLog process + witness"];
const without = byName["FileAuditLog process"];
console.log(
  `\nper record with the witness on vs process mode (goal ≤ 1.2×): p50 ${(withWitness.p50 / without.p50).toFixed(2)}×, p99 ${(withWitness.p99 / without.p99).toFixed(2)}×; throughput ${(witnessRate / processRate).toFixed(2)}× of process mode`,
);
console.log(
  `group mode's bound at 64 callers (one record per caller per batch, one fdatasync per batch): 64 / the fsync-mode p50 of ${Math.round(byName["FileAuditLog fsync"].p50)} µs = ${Math.round(64 / (byName["FileAuditLog fsync"].p50 / 1e6)).toLocaleString("en")} events/s on this disk now`,
);
console.log(
  `unanchored records when the runs ended (before close): ${anchors.map((anchor) => anchor.unanchored).join(", ")}`,
);
console.log(
  `group mode with the witness on: ${(groupRate / groupPlainRate).toFixed(2)}× the events/s of group mode without it at 64 callers (rounds: ${groupRates.witness.map(Math.round).join(", ")} vs ${groupRates.plain.map(Math.round).join(", ")}), ${(group1000Rate / groupPlain1000Rate).toFixed(2)}× at 1,000 (rounds: ${groupRates.witness1000.map(Math.round).join(", ")} vs ${groupRates.plain1000.map(Math.round).join(", ")})`,
);
await record("audit", latency, "floor: JSON + SHA-256 + write", {
  floor_events_per_s: Math.round(floorRate),
  process_events_per_s: Math.round(processRate),
  process_witness_events_per_s: Math.round(witnessRate),
  group_events_per_s: Math.round(groupPlainRate),
  group_witness_events_per_s: Math.round(groupRate),
  group_witness_vs_group: Math.round((groupRate / groupPlainRate) * 1000) / 1000,
  group_1000_events_per_s: Math.round(groupPlain1000Rate),
  group_witness_1000_events_per_s: Math.round(group1000Rate),
});
