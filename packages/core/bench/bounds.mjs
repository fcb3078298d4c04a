// `pnpm bench` for @agentgate/core: the wall-clock bounds the security cases promise, measured
// here rather than asserted in tests (a loaded machine would fail a test, not the code).
//   D36: a revocation written by another process is seen by a FileRevocationList (goal < 1 s).
//   I68: the redactor scans input built to make a backtracking pattern quadratic (goal < 3 s).
//   G54: the gate refuses megabytes of arguments or 10,000 levels of nesting (goal: fast, no crash).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { allow, createRedactor } from "../dist/index.js";
import { FileRevocationList } from "../dist/node/index.js";
import { createTestGate, FunctionPolicyClient } from "../dist/testing/index.js";
import { machine } from "./harness.mjs";

const AGENT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://tools.acme.example";
const NODE = fileURLToPath(new URL("../dist/node/index.js", import.meta.url));
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const quantiles = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), max: sorted.at(-1) };
};
const rows = [];

// D36: the time from the other process's write (its clock, printed right after) to this list
// answering "revoked".
const dir = mkdtempSync(join(tmpdir(), "agentgate-bench-bounds-"));
try {
  const times = [];
  for (let round = 0; round < 10; round++) {
    const path = join(dir, `revocations-${round}.jsonl`);
    const list = new FileRevocationList(path, { refreshMs: 250 });
    list.isRevoked("agent", AGENT);
    const writer = promisify(execFile)(process.execPath, [
      "--input-type=module",
      "-e",
      `import { FileRevocationList } from ${JSON.stringify(NODE)}; await new FileRevocationList(${JSON.stringify(path)}).revoke("agent", ${JSON.stringify(AGENT)}, "bench"); console.log(Date.now());`,
    ]);
    while (!list.isRevoked("agent", AGENT)) await new Promise((resolve) => setTimeout(resolve, 1));
    const seen = Date.now();
    times.push(seen - Number((await writer).stdout));
  }
  rows.push({
    name: "D36 revocation across processes (refreshMs 250), from the write",
    ...quantiles(times),
    goal: 1000,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// I68: one scan of the adversarial input the test uses.
{
  const evil = `${"1 ".repeat(100_000)}x ${"eyJ".repeat(100_000)}.${"eyJa".repeat(50_000)} ${"9".repeat(100_000)}`;
  const redact = createRedactor({ maxStringLength: 2_000_000 });
  const times = [];
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    redact({ memo: evil });
    times.push(ms(start));
  }
  rows.push({ name: "I68 redaction of adversarial 1 MB input", ...quantiles(times), goal: 3000 });
}

// G54: the gate's refusal of oversized or deeply nested arguments.
{
  const { gate, credentials } = await createTestGate({
    audience: AUDIENCE,
    agents: [{ id: AGENT, owner: "bench" }],
    policy: new FunctionPolicyClient(() => allow("all")),
  });
  const credential = credentials(AGENT);
  let deep = "x";
  for (let level = 0; level < 10_000; level++) deep = { deep };
  const shapes = {
    "10,000 levels": deep,
    "3 MiB string": { text: "x".repeat(3 * 1024 * 1024) },
    "200,000 items": { items: Array.from({ length: 200_000 }, (_, index) => index) },
  };
  for (const [label, args] of Object.entries(shapes)) {
    const times = [];
    for (let round = 0; round < 10; round++) {
      const start = process.hrtime.bigint();
      await gate
        .invoke({ tool: { name: "echo" }, arguments: args, credential }, async () => "ran")
        .then(
          () => {
            throw new Error(`G54: ${label} was not refused`);
          },
          (error) => {
            if (error?.code !== "invalid_arguments") throw error;
          },
        );
      times.push(ms(start));
    }
    rows.push({ name: `G54 refusal of ${label}`, ...quantiles(times), goal: 1000 });
  }
}

console.log(`\n## Security bounds (measured, not asserted in tests)\n\n${await machine()}\n`);
console.log("| case | p50 ms | max ms | goal ms |\n| --- | ---: | ---: | ---: |");
for (const row of rows) {
  console.log(`| ${row.name} | ${row.p50.toFixed(1)} | ${row.max.toFixed(1)} | < ${row.goal} |`);
}
