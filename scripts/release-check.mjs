#!/usr/bin/env node
// `pnpm release:check`: packs every publishable package as it would be published (pnpm pack) and
// checks each tarball's contents (scripts/tarball-contents.mjs), then lints it with `publint --strict` and `attw --profile esm-only` (Are the Types Wrong?).
// Exits non-zero when any package has a finding. Run the build first.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packAll } from "./pack.mjs";
import { tarballProblems } from "./tarball-contents.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const destination = mkdtempSync(join(tmpdir(), "agentgate-release-check-"));
let failures = 0;
try {
  for (const { name, tarball } of packAll(destination)) {
    const problems = tarballProblems(tarball);
    if (problems.length > 0) failures += 1;
    console.log(`${problems.length === 0 ? "ok  " : "FAIL"} contents ${name}`);
    for (const problem of problems) console.log(`     ${problem}`);
    for (const [tool, args] of [
      ["publint", ["run", "--strict", tarball]],
      ["attw", ["--profile", "esm-only", "--format", "ascii", "--no-color", tarball]],
    ]) {
      const run = spawnSync(bin(tool), args, { encoding: "utf8" });
      const text = `${run.stdout}${run.stderr}`.trim();
      const ok = run.status === 0;
      if (!ok) failures += 1;
      console.log(`${ok ? "ok  " : "FAIL"} ${tool} ${name} (${basename(tarball)})`);
      if (!ok || process.argv.includes("--verbose")) console.log(text.replace(/^/gm, "     "));
    }
  }
} finally {
  rmSync(destination, { recursive: true, force: true });
}
console.log(
  failures === 0 ? "release:check: clean" : `release:check: ${failures} finding(s), see above`,
);
process.exit(failures === 0 ? 0 : 1);
