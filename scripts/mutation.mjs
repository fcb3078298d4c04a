#!/usr/bin/env node
// `pnpm mutation`: mutation testing of the security-critical code with Stryker (see MUTATION.md).
// Not part of CI: a full run takes tens of minutes on a 2-core machine. Each group of files is one
// Stryker run with its own incremental file, so a re-run tests only the mutants whose code or
// tests changed. String-literal mutants are excluded (messages are prose, not defences).
//
//   pnpm mutation                         every group of core and cedar
//   pnpm mutation token-verifier gate     only these groups
//   pnpm mutation --report                no run: the table of the reports already written
//   pnpm mutation --force redaction       every mutant again, not only the changed ones
//
// Its last line is the score: `mutation: N% of M mutants killed (K survived, T timed out)`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = ["core", "cedar"];

/** Every group of every package, as `{ pkg, name }`. */
async function allGroups() {
  const groups = [];
  for (const pkg of PACKAGES) {
    const config = pathToFileURL(join(ROOT, "packages", pkg, "stryker.config.mjs")).href;
    const { GROUPS } = await import(config);
    for (const name of Object.keys(GROUPS)) groups.push({ pkg, name });
  }
  return groups;
}

/** The key of a mutant: where it is and what it does (the same in two runs over the same source). */
const keyOf = ({ location: { start, end }, mutatorName, replacement }) =>
  `${start.line}:${start.column}-${end.line}:${end.column} ${mutatorName} ${replacement}`;

/**
 * Killed, survived, timed out and no-coverage counts per file from a Stryker JSON report. With
 * the report of a `--fast` run over the same source, a mutant either run killed counts as killed.
 */
function countsOf(report, packageDir, fastReport) {
  const files = {};
  for (const [file, { source, mutants }] of Object.entries(report.files ?? {})) {
    const fastFile = fastReport?.files?.[file];
    const killedFast = new Set(
      fastFile === undefined || fastFile.source !== source
        ? []
        : fastFile.mutants
            .filter(({ status }) => status === "Killed" || status === "Timeout")
            .map(keyOf),
    );
    const counts = { killed: 0, survived: 0, timeout: 0, noCoverage: 0, other: 0 };
    for (const mutant of mutants) {
      const { status } = mutant;
      const rescued =
        (status === "Survived" || status === "NoCoverage") && killedFast.has(keyOf(mutant));
      if (status === "Killed" || rescued) counts.killed++;
      else if (status === "Survived") counts.survived++;
      else if (status === "Timeout") counts.timeout++;
      else if (status === "NoCoverage") counts.noCoverage++;
      else counts.other++;
    }
    files[relative(ROOT, resolve(packageDir, file))] = counts;
  }
  return files;
}

/**
 * The counts of a group from its reports on disk, or undefined without a full run (a `--fast`
 * run alone only gives a lower bound: it runs a few of the tests).
 */
function groupCounts(pkg, name) {
  const dir = join(ROOT, "packages", pkg, "reports", "mutation");
  const read = (file) =>
    existsSync(join(dir, file)) ? JSON.parse(readFileSync(join(dir, file), "utf8")) : undefined;
  const full = read(`${name}.json`);
  const quick = read(`${name}.fast.json`);
  if (full === undefined) return undefined;
  return countsOf(full, join(ROOT, "packages", pkg), quick);
}

const reportOnly = process.argv.includes("--report");
// `--force` tests every mutant again. Stryker's incremental mode reuses the result of a static
// mutant (one in a module-level constant, which every test covers) even after tests were added.
const force = process.argv.includes("--force");
// `--fast` runs only the `*.mutation.test.ts` files (STRYKER_FAST, see stryker.config.mjs).
const fast = process.argv.includes("--fast");
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const groups = (await allGroups()).filter(
  (group) => wanted.length === 0 || wanted.includes(group.name),
);
if (groups.length === 0) {
  console.error(`mutation: no group named ${wanted.join(", ")}`);
  process.exit(2);
}

if (reportOnly) {
  const totals = {};
  for (const { pkg, name } of groups) {
    const counts = groupCounts(pkg, name);
    if (counts === undefined) console.log(`mutation ${pkg}/${name}: no full run yet`);
    else Object.assign(totals, counts);
  }
  printScores(totals, 0);
  process.exit(0);
}

// Stryker's sandbox runs the packages' built dist/ for the tests that spawn processes: build
// core and cedar (and what they depend on) first, nothing else.
const build = spawnSync(
  "npx",
  [
    "-y",
    "pnpm@12.21.0",
    "exec",
    "turbo",
    "run",
    "build",
    ...PACKAGES.map((pkg) => `--filter=@agentgate/${pkg}...`),
    "--output-logs=errors-only",
  ],
  { cwd: ROOT, stdio: "inherit" },
);
if (build.status !== 0) {
  console.error("mutation: the build failed");
  process.exit(1);
}

const totals = {};
let failedRuns = 0;
for (const { pkg, name } of groups) {
  const packageDir = join(ROOT, "packages", pkg);
  console.log(`::: mutation ${pkg}/${name}`);
  const run = spawnSync(
    join(ROOT, "node_modules", ".bin", "stryker"),
    ["run", "stryker.config.mjs", ...(force ? ["--force"] : [])],
    {
      cwd: packageDir,
      stdio: "inherit",
      env: { ...process.env, STRYKER_GROUP: name, ...(fast ? { STRYKER_FAST: "1" } : {}) },
    },
  );
  const reportFile = join(packageDir, "reports", "mutation", `${name}${fast ? ".fast" : ""}.json`);
  if (run.status !== 0 || !existsSync(reportFile)) {
    console.log(`mutation ${pkg}/${name}: Stryker failed (exit ${run.status})`);
    failedRuns++;
    continue;
  }
  const counts = groupCounts(pkg, name);
  if (counts === undefined)
    console.log(
      `mutation ${pkg}/${name}: no full run yet, left out (a --fast run is a lower bound)`,
    );
  else Object.assign(totals, counts);
}

printScores(totals, failedRuns);
process.exit(failedRuns > 0 ? 1 : 0);

/** The per-file table, then the score as the last line. */
function printScores(totals, failedRuns) {
  const score = (c) => {
    const detected = c.killed + c.timeout;
    const valid = detected + c.survived + c.noCoverage;
    return valid === 0 ? 100 : (100 * detected) / valid;
  };
  const sum = { killed: 0, survived: 0, timeout: 0, noCoverage: 0, other: 0 };
  console.log("\n| file | killed | timed out | survived | no coverage | score |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [file, counts] of Object.entries(totals).sort()) {
    for (const key of Object.keys(sum)) sum[key] += counts[key];
    console.log(
      `| ${file} | ${counts.killed} | ${counts.timeout} | ${counts.survived} | ${counts.noCoverage} | ${score(counts).toFixed(1)}% |`,
    );
  }
  const total = sum.killed + sum.timeout + sum.survived + sum.noCoverage;
  if (failedRuns > 0) console.log(`mutation: ${failedRuns} group run(s) failed`);
  console.log(
    `mutation: ${score(sum).toFixed(1)}% of ${total} mutants killed (${sum.survived} survived, ${sum.noCoverage} without coverage, ${sum.timeout} timed out)`,
  );
}
