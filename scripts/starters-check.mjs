#!/usr/bin/env node
// The starters as a stranger gets them: packs every package (pnpm pack), copies every example to
// a temporary folder outside the repository, points its @agentgate/* dependencies at the
// tarballs, installs it with plain npm from the registry, builds it and runs its self-checks
// (`npm test`, which exits non-zero on any surprise). Two more folders install the tarballs bare:
// all of them at once in an empty folder, and @agentgate/langchain with only @langchain/core beside it;
// and the CLI installed from its tarball writes a starter with `agentgate new`, which is built and run.
// Every temporary folder is removed. Exits non-zero when any step fails.
//   node scripts/starters-check.mjs [example ...]      (default: every folder under examples/)
import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packAll } from "./pack.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const NPM_QUIET = ["--no-audit", "--no-fund", "--loglevel=error"];
const work = mkdtempSync(join(tmpdir(), "agentgate-starters-"));
const results = [];

function sh(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs one named step, records it, and prints its last output line (or its error). */
function step(name, run) {
  const started = Date.now();
  try {
    const out = (run() ?? "").trim();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`ok   ${name} (${seconds} s)${out ? `: ${out.split("\n").at(-1)}` : ""}`);
    results.push(true);
  } catch (error) {
    const detail = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim() || String(error);
    console.log(
      `FAIL ${name}\n${detail.split("\n").slice(-40).join("\n").replace(/^/gm, "     ")}`,
    );
    results.push(false);
  }
}

/** Writes package.json of `dir` so that every @agentgate/* package comes from its tarball. */
function useTarballs(dir, tarballs) {
  const file = join(dir, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  for (const section of ["dependencies", "devDependencies"]) {
    for (const name of Object.keys(manifest[section] ?? {})) {
      if (tarballs[name]) manifest[section][name] = `file:${tarballs[name]}`;
    }
  }
  // Also the @agentgate/* packages that other tarballs depend on (the CLI needs cedar and core).
  manifest.overrides = { ...manifest.overrides };
  for (const [name, tarball] of Object.entries(tarballs))
    manifest.overrides[name] = `file:${tarball}`;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

try {
  console.log("::: building and packing the packages");
  execFileSync(
    "npx",
    [
      "-y",
      "pnpm@12.21.0",
      "exec",
      "turbo",
      "run",
      "build",
      "--filter=./packages/*",
      "--output-logs=errors-only",
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const tarballs = Object.fromEntries(
    packAll(join(work, "packs")).map(({ name, tarball }) => [name, tarball]),
  );

  const wanted = process.argv.slice(2);
  const examples = readdirSync(join(ROOT, "examples")).filter(
    (name) => wanted.length === 0 || wanted.includes(name),
  );
  for (const example of examples) {
    console.log(`::: examples/${example}, copied out`);
    const dir = join(work, example);
    cpSync(join(ROOT, "examples", example), dir, {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|dist|\.turbo)$/.test(source),
    });
    useTarballs(dir, tarballs);
    step(`${example}: npm install`, () => sh("npm", ["install", ...NPM_QUIET], dir));
    // A starter in plain JavaScript (authzen-todo) has nothing to build.
    if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts?.build !== undefined)
      step(`${example}: npm run build`, () => sh("npm", ["run", "build", "--silent"], dir));
    step(`${example}: npm test (its self-checks)`, () => sh("npm", ["test", "--silent"], dir));
  }

  if (wanted.length === 0) {
    console.log("::: every tarball in an empty folder");
    const bare = join(work, "bare");
    mkdirSync(bare);
    writeFileSync(
      join(bare, "package.json"),
      '{ "name": "bare", "private": true, "type": "module" }\n',
    );
    step("npm install of every tarball", () =>
      sh("npm", ["install", ...NPM_QUIET, ...Object.values(tarballs)], bare),
    );
    step("each package's root entry imports", () => {
      const names = Object.keys(tarballs);
      const script = `for (const name of ${JSON.stringify(names)}) { const m = await import(name); if (Object.keys(m).length === 0) throw new Error(name + " exports nothing"); } console.log(${JSON.stringify(`${names.length} packages import`)});`;
      return sh("node", ["--input-type=module", "-e", script], bare);
    });
    step(
      "agentgate --help from the installed bin",
      () => sh(join(bare, "node_modules", ".bin", "agentgate"), ["--help"], bare).split("\n")[0],
    );

    console.log("::: agentgate new, from the installed @agentgate/cli");
    const fromCli = join(work, "from-cli");
    step("agentgate new langchain-agent from-cli", () =>
      sh(
        join(bare, "node_modules", ".bin", "agentgate"),
        ["new", "langchain-agent", fromCli],
        bare,
      ),
    );
    useTarballs(fromCli, tarballs);
    step("from-cli: npm install", () => sh("npm", ["install", ...NPM_QUIET], fromCli));
    step("from-cli: npm run build", () => sh("npm", ["run", "build", "--silent"], fromCli));
    step("from-cli: npm test (its self-checks)", () => sh("npm", ["test", "--silent"], fromCli));

    console.log("::: @agentgate/langchain with only @langchain/core");
    const lean = join(work, "lean");
    mkdirSync(lean);
    writeFileSync(
      join(lean, "package.json"),
      '{ "name": "lean", "private": true, "type": "module" }\n',
    );
    step("npm install @agentgate/core @agentgate/langchain @langchain/core zod", () =>
      sh(
        "npm",
        [
          "install",
          ...NPM_QUIET,
          tarballs["@agentgate/core"],
          tarballs["@agentgate/langchain"],
          "@langchain/core@^1.2.0",
          "zod@^4",
        ],
        lean,
      ),
    );
    step('import { protectTool } from "@agentgate/langchain"', () => {
      const script = `if (await import("langchain").then(() => true, () => false)) throw new Error("langchain is installed: the check would prove nothing");
        const { protectTool } = await import("@agentgate/langchain");
        if (typeof protectTool !== "function") throw new Error("no protectTool");
        console.log("protectTool loads without langchain and @langchain/langgraph");`;
      return sh("node", ["--input-type=module", "-e", script], lean);
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const failed = results.filter((ok) => !ok).length;
console.log(`starters-check: ${results.length - failed} steps passed, ${failed} failed`);
process.exit(failed === 0 && results.length > 0 ? 0 : 1);
