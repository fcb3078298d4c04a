// `pnpm bench` for the audit log: append cost per durability mode beside the floor (the same
// JSON + SHA-256 + one synchronous write, nothing else), then throughput: one writer in
// `process` mode, 64 concurrent callers in `group` mode.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileAuditLog } from "../dist/node/index.js";
import { auditFloor, compare, machine, table } from "./harness.mjs";

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
const logs = {
  process: await FileAuditLog.open({ directory: join(dir(), "audit"), durability: "process" }),
  fsync: await FileAuditLog.open({ directory: join(dir(), "audit"), durability: "fsync" }),
};

const latency = await compare(
  [
    { name: "floor: JSON + SHA-256 + write", run: floor, batch: 20 },
    { name: "FileAuditLog process", run: () => logs.process.write(event), batch: 20 },
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
const processLog = await FileAuditLog.open({
  directory: join(dir(), "audit"),
  durability: "process",
});
const groupLog = await FileAuditLog.open({ directory: join(dir(), "audit"), durability: "group" });
const floorRate = await throughput(async () => floor(), 1, 200_000);
const processRate = await throughput((record) => processLog.write(record), 1, 200_000);
const groupRate = await throughput((record) => groupLog.write(record), 64, 200_000);
for (const log of [logs.process, logs.fsync, processLog, groupLog]) await log.close();

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
  `| group mode, 64 concurrent callers (goal ≥ 50,000) | ${Math.round(groupRate).toLocaleString("en")} | ${(groupRate / floorRate).toFixed(2)}× |`,
);
