// `pnpm bench` for verification at scale: writes a log of 1,000,000 records (override with the
// first argument), then verifies it in a fresh process and reports records/s and that process's
// peak resident memory (the goal: ≤ 64 MiB above an idle Node process, constant in the size).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileAuditLog, verifyAuditLog } from "../dist/node/index.js";
import { machine } from "./harness.mjs";

const count = Number(process.argv[2] ?? 1_000_000);
if (process.argv[2] === "--child") {
  const [, , , directory, checkpointPath, checkpointKey] = process.argv;
  const started = process.hrtime.bigint();
  const result = await verifyAuditLog(directory, { checkpointPath, checkpointKey });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    JSON.stringify({
      ok: result.ok,
      records: result.records,
      seconds,
      maxRssKiB: process.resourceUsage().maxRSS,
    }),
  );
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), "agentgate-bench-verify-"));
const directory = join(root, "audit");
const checkpointKeyPath = join(root, "checkpoint-key.json");
const log = await FileAuditLog.open({ directory, checkpointKeyPath, checkpointIntervalMs: 0 });
const event = {
  v: 1,
  id: "0123456789abcdef0123456789abcdef",
  type: "decision",
  time: "2026-01-05T09:00:00.000Z",
  invocationId: "fedcba9876543210fedcba9876543210",
  agent: "spiffe://acme.example/agent/support",
  principal: "user:carol@acme.example",
  tool: { name: "crm_lookup" },
  action: "read",
  arguments: { customerId: "acme", fields: ["name", "plan"] },
  decision: { allowed: true, policies: ["support-reads"], reason: "permitted" },
};
for (let index = 0; index < count; index++) await log.write(event);
await log.close();

const self = fileURLToPath(import.meta.url);
const run = (...args) =>
  JSON.parse(spawnSync(process.execPath, [self, "--child", ...args], { encoding: "utf8" }).stdout);
const idle = spawnSync(
  process.execPath,
  ["-e", "process.stdout.write(String(process.resourceUsage().maxRSS))"],
  { encoding: "utf8" },
);
const measured = run(directory, log.checkpointPath, checkpointKeyPath);
rmSync(root, { recursive: true, force: true });

console.log(`\n## Audit log: verification at scale\n\n${await machine()}\n`);
console.log("| case | value |\n| --- | ---: |");
console.log(
  `| records verified | ${measured.records.toLocaleString("en")} (${measured.ok ? "ok" : "BROKEN"}) |`,
);
console.log(`| time | ${measured.seconds.toFixed(2)} s |`);
console.log(
  `| throughput (goal ≥ 100,000 records/s) | ${Math.round(measured.records / measured.seconds).toLocaleString("en")} records/s |`,
);
const peak = measured.maxRssKiB / 1024;
const base = Number(idle.stdout) / 1024;
console.log(`| peak RSS of the verifying process | ${peak.toFixed(1)} MiB |`);
console.log(
  `| of which above an idle Node process (goal ≤ 64 MiB) | ${(peak - base).toFixed(1)} MiB |`,
);
