// What every published tarball must hold beyond what publint and attw check: a README, the
// LICENSE, a CHANGELOG, the repository/homepage/bugs/keywords fields, dependencies by range (never
// an exact pin, never a workspace: protocol), and source maps whose sources are in the tarball.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";

/** Returns the problems found in `tarball` (an empty list when it is fit to publish). */
export function tarballProblems(tarball) {
  const dir = mkdtempSync(join(tmpdir(), "agentgate-tarball-"));
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", dir]);
    const root = join(dir, "package");
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, ""));
    const have = new Set(files);
    const problems = [];
    for (const file of ["README.md", "LICENSE", "CHANGELOG.md"]) {
      if (!have.has(file)) problems.push(`${file} is missing`);
    }
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    if (typeof manifest.repository?.directory !== "string") {
      problems.push("repository.directory is missing");
    }
    for (const field of ["homepage", "bugs", "keywords", "license"]) {
      if (manifest[field] === undefined) problems.push(`${field} is missing`);
    }
    for (const section of ["dependencies", "peerDependencies"]) {
      for (const [dep, range] of Object.entries(manifest[section] ?? {})) {
        if (/^(workspace|link|file):/.test(range)) problems.push(`${section}.${dep} is ${range}`);
        else if (/^\d/.test(range)) problems.push(`${section}.${dep} is pinned to ${range}`);
      }
    }
    for (const map of files.filter((file) => file.endsWith(".map"))) {
      const { sources = [], sourcesContent } = JSON.parse(readFileSync(join(root, map), "utf8"));
      sources.forEach((source, index) => {
        const target = posix.normalize(posix.join(dirname(map), source));
        if (!have.has(target) && typeof sourcesContent?.[index] !== "string") {
          problems.push(`${map} points at ${source}, which is not in the tarball`);
        }
      });
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
