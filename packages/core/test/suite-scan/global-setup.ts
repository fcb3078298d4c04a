import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Finding, scanPath } from "./scan.js";

/**
 * The suite-wide secret scan (SECURITY.md I69). Before any test runs, every temporary file of
 * the suite is sent to one directory (`TMPDIR`), console output is captured there
 * (`onConsoleLog` in vitest.config.ts), and every removal of a temporary path first scans what
 * it removes (`capture.ts`). When the whole suite is done, what is left, every capture and every
 * scan made before a removal must hold no raw token and no key material outside key stores;
 * otherwise the run fails and names the files (never the material).
 */
export function setup(): void {
  const suite = mkdtempSync(join(tmpdir(), "agentgate-suite-"));
  mkdirSync(join(suite, "tmp"));
  mkdirSync(join(suite, "captured"));
  process.env.AGENTGATE_SUITE_DIR = suite;
  process.env.TMPDIR = join(suite, "tmp");
  // The writers' checkpoint key lives outside every log directory (SECURITY.md K78), by default
  // in the user's ~/.config: the suite keeps its own among its temporary files instead, where
  // the scan sees it as the key store it is (its path names a key) and the run removes it.
  process.env.AGENTGATE_CHECKPOINT_KEY_FILE = join(
    suite,
    "tmp",
    "checkpoint-key",
    "audit-checkpoint-key.json",
  );
}

export function teardown(): void {
  const suite = process.env.AGENTGATE_SUITE_DIR;
  if (suite === undefined || !existsSync(suite)) return;
  const findings: Finding[] = [
    ...scanPath(join(suite, "tmp")),
    ...scanPath(join(suite, "captured")),
  ];
  for (const name of readdirSync(suite).filter((entry) => entry.startsWith("findings-"))) {
    for (const line of readFileSync(join(suite, name), "utf8").split("\n")) {
      if (line !== "") findings.push(JSON.parse(line) as Finding);
    }
  }
  rmSync(suite, { recursive: true, force: true });
  if (findings.length > 0) {
    const listed = findings.map((finding) => `  ${finding.kind}: ${finding.path}`).join("\n");
    // A throw here is only logged by vitest: the exit code is what fails the run (and CI).
    process.exitCode = 1;
    throw new Error(`I69: the suite wrote raw token or key material:\n${listed}`);
  }
}
