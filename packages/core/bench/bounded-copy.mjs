// `pnpm bench` for the argument copy (SECURITY.md L87): what it costs to refuse each hostile
// argument (time and peak memory beyond the argument's own size, each in a fresh process so one
// case's garbage cannot hide another's), and a normal copy before and after the bounds moved
// ahead of the walk.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { boundedCopy } from "../dist/internal/bounded-copy.js";
import { boundedCopyBefore } from "./bounded-copy-before.mjs";
import { compare, machine, table } from "./harness.mjs";

const BOUNDS = { maxDepth: 32, maxNodes: 10_000, maxChars: 1_048_576 };

const HOSTILE = {
  "sparse array, length 2^32−1": () => {
    const items = [];
    items.length = 2 ** 32 - 1;
    return { items };
  },
  "sparse array, 5,000,000 slots": () => {
    const items = [];
    items[4_999_999] = 1;
    return { items };
  },
  "dense array, 2,000,000 items (JSON.parse)": () =>
    JSON.parse(`{"items":[${"1,".repeat(1_999_999)}1]}`),
  "object, 1,000,000 members": () => {
    const wide = {};
    for (let index = 0; index < 1_000_000; index++) wide[`k${index}`] = index;
    return wide;
  },
  "string, 64 MiB": () => ({ text: "x".repeat(64 * 2 ** 20) }),
  "nesting, 1,000,000 levels": () => {
    let deep = 1;
    for (let level = 0; level < 1_000_000; level++) deep = [deep];
    return deep;
  },
};

if (process.argv[2] === "--case") {
  const build = HOSTILE[process.argv[3]];
  const built = process.hrtime.bigint();
  const argument = build();
  const buildMs = Number(process.hrtime.bigint() - built) / 1e6;
  globalThis.gc?.();
  const rssBefore = process.resourceUsage().maxRSS;
  const heapBefore = process.memoryUsage().heapUsed;
  const runs = 20;
  const times = [];
  let result;
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    result = boundedCopy(argument, BOUNDS);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const peakKiB = process.resourceUsage().maxRSS - rssBefore;
  const heapAfter = process.memoryUsage().heapUsed;
  times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      buildMs,
      refused: !result.ok,
      reason: result.ok ? "" : result.reason,
      maxMs: times[times.length - 1],
      p50Ms: times[Math.floor(runs / 2)],
      peakMiB: peakKiB / 1024,
      heapMiB: Math.max(0, heapAfter - heapBefore) / 2 ** 20,
    }),
  );
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const rows = [];
for (const name of Object.keys(HOSTILE)) {
  const child = spawnSync(process.execPath, ["--expose-gc", self, "--case", name], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`${name}: ${child.stderr}`);
  const figures = JSON.parse(child.stdout.trim());
  rows.push(
    `| ${name} | ${figures.refused ? "refused" : "ACCEPTED"}: ${figures.reason} | ${figures.p50Ms.toFixed(3)} | ${figures.maxMs.toFixed(3)} | ${figures.peakMiB.toFixed(1)} | ${figures.buildMs.toFixed(0)} |`,
  );
}

const small = {
  customerId: "acme",
  fields: ["name", "email", "plan"],
  filter: { since: "2026-01-01", limit: 50, tags: ["a", "b"] },
};
const medium = {
  items: Array.from({ length: 500 }, (_, index) => ({
    id: index,
    name: `item-${index}`,
    ok: true,
  })),
};
const results = await compare([
  {
    name: "small argument (12 values), before",
    run: () => boundedCopyBefore(small, BOUNDS),
    batch: 50,
  },
  { name: "small argument (12 values), after", run: () => boundedCopy(small, BOUNDS), batch: 50 },
  {
    name: "500-item argument (2,001 values), before",
    run: () => boundedCopyBefore(medium, BOUNDS),
  },
  { name: "500-item argument (2,001 values), after", run: () => boundedCopy(medium, BOUNDS) },
]);

console.log(`\n## Arguments: bounded copy (L87)\n\n${await machine()}\n`);
console.log(
  "Each hostile argument is built first, then refused 20 times in a fresh process; peak is the",
);
console.log(
  "growth of the process's maximum resident set while refusing (the argument's own size excluded).\n",
);
console.log(
  "| hostile argument | answer | p50 ms | max ms | peak MiB beyond the argument | building it, ms |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (const row of rows) console.log(row);
console.log("");
console.log(table(results, "small argument (12 values), before"));
const ratio = (after, before) => (results[after].p50 / results[before].p50).toFixed(2);
const ratio99 = (after, before) => (results[after].p99 / results[before].p99).toFixed(2);
console.log(
  `\nnormal copy after / before: small p50 ${ratio(1, 0)}×, p99 ${ratio99(1, 0)}×; 500 items p50 ${ratio(3, 2)}×, p99 ${ratio99(3, 2)}×`,
);
