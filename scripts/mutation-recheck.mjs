#!/usr/bin/env node
// Re-checks the survivors of a Stryker JSON report against some test files, without a whole
// Stryker run: each surviving (or uncovered) mutant is applied to a scratch copy of the package,
// the given tests run there, and the mutant counts as killed when they fail. A quick way to see
// that new tests kill what survived before `pnpm mutation` is run again (see MUTATION.md).
//
//   node scripts/mutation-recheck.mjs core reports/mutation/gate.json src/gate/x.mutation.test.ts …
//
// Prints each mutant as `killed` or `survived`, then `recheck: K of N survivors killed`.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [pkg, reportPath, ...tests] = process.argv.slice(2);
if (pkg === undefined || reportPath === undefined || tests.length === 0) {
  console.error("usage: mutation-recheck.mjs <package> <report.json> <test file>…");
  process.exit(2);
}
const packageDir = join(ROOT, "packages", pkg);
const report = JSON.parse(readFileSync(resolve(packageDir, reportPath), "utf8"));

// A scratch copy of the package beside a copy of the root's TypeScript settings.
const scratch = mkdtempSync(join(tmpdir(), "agentgate-recheck-"));
const copy = join(scratch, "packages", pkg);
cpSync(join(ROOT, "tsconfig.base.json"), join(scratch, "tsconfig.base.json"));
cpSync(packageDir, copy, {
  recursive: true,
  filter: (source) => !/[/\\](node_modules|reports|\.stryker-tmp|dist|\.turbo)$/.test(source),
});
symlinkSync(join(packageDir, "node_modules"), join(copy, "node_modules"));
symlinkSync(join(ROOT, "node_modules"), join(scratch, "node_modules"));

/** Applies a mutant (1-based lines, 1-based columns as Stryker reports them) to `source`. */
function apply(source, { location, replacement }) {
  const lines = source.split("\n");
  const offset = (at) =>
    lines.slice(0, at.line - 1).reduce((sum, line) => sum + line.length + 1, 0) + at.column - 1;
  return source.slice(0, offset(location.start)) + replacement + source.slice(offset(location.end));
}

// core has a vitest config for mutation runs; cedar's tests run with its ordinary one.
const config = existsSync(join(copy, "vitest.mutation.config.ts"))
  ? "vitest.mutation.config.ts"
  : "vitest.config.ts";
const runTests = () =>
  spawnSync(join(ROOT, "node_modules", ".bin", "vitest"), ["run", "--config", config, ...tests], {
    cwd: copy,
    encoding: "utf8",
    env: { ...process.env, STRYKER_GROUP: "" },
    // A mutant that makes the tests hang counts as killed, as a Stryker timeout does.
    timeout: 300_000,
  });

let killed = 0;
let total = 0;
try {
  // The tests must pass on the unmutated source, or every mutant would count as killed.
  for (const [file, { source }] of Object.entries(report.files))
    writeFileSync(join(copy, file), source);
  const baseline = runTests();
  if (baseline.status !== 0) {
    console.error(`${baseline.stdout}${baseline.stderr}`);
    throw new Error("recheck: the tests fail without a mutant; nothing checked");
  }
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const target = join(copy, file);
    for (const mutant of mutants) {
      if (mutant.status !== "Survived" && mutant.status !== "NoCoverage") continue;
      total++;
      writeFileSync(target, apply(source, mutant));
      const run = runTests();
      const dead = run.status !== 0;
      if (dead) killed++;
      const line = source.split("\n")[mutant.location.start.line - 1]?.trim().slice(0, 90);
      console.log(
        `${dead ? "killed  " : "survived"} ${file}:${mutant.location.start.line}:${mutant.location.start.column} ${mutant.mutatorName} ${JSON.stringify(mutant.replacement).slice(0, 60)}  | ${line}`,
      );
    }
    writeFileSync(target, source);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`recheck: ${killed} of ${total} survivors killed`);
