import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import type { Output } from "./output.js";
import { CliUsageError } from "./program.js";

/** Where the starters are: `templates/` of this package, built from the repository's examples. */
const TEMPLATES = resolve(dirname(fileURLToPath(import.meta.url)), "..", "templates");

/** What a project of its own ignores; not shipped as a file, since npm drops `.gitignore` from tarballs. */
const GITIGNORE = "node_modules/\ndist/\n.agentgate/\n";

/** The starters `agentgate new` can write, sorted by name. */
export function listStarters(templates: string = TEMPLATES): string[] {
  if (!existsSync(templates)) return [];
  return readdirSync(templates)
    .filter((name) => existsSync(join(templates, name, "package.json")))
    .sort();
}

/** What {@link writeStarter} wrote. */
export interface WrittenStarter {
  /** The starter's name (`quickstart`, `mcp`, ...). */
  readonly starter: string;
  /** The absolute path of the new project. */
  readonly directory: string;
  /** The `name` written into its package.json. */
  readonly packageName: string;
}

/**
 * Writes the starter `starter` into `directory` (created if missing), ready for `npm install`:
 * its package.json is renamed after the folder and asks for the published `@agentgate/*` packages.
 * Refuses, with a {@link CliUsageError} (exit code 2), an unknown starter and a directory that
 * exists and is not empty, so nothing of the user's is ever overwritten.
 *
 * @example
 * writeStarter("quickstart", "my-agents"); // then: cd my-agents && npm install && npm start
 */
export function writeStarter(
  starter: string,
  directory: string,
  templates: string = TEMPLATES,
): WrittenStarter {
  const starters = listStarters(templates);
  if (!starters.includes(starter)) {
    throw new CliUsageError(
      starters.length === 0
        ? `no starters are installed with this agentgate (${templates} is missing)`
        : `unknown starter "${starter}"; choose one of: ${starters.join(", ")}`,
    );
  }
  const target = resolve(directory);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) {
      throw new CliUsageError(`${directory} exists and is not a directory`);
    }
    if (readdirSync(target).length > 0) {
      throw new CliUsageError(
        `${directory} is not empty; give a new or an empty directory (nothing was written)`,
      );
    }
  }
  cpSync(join(templates, starter), target, { recursive: true });
  const packageName = npmName(basename(target));
  const manifestFile = join(target, "package.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  writeFileSync(
    manifestFile,
    `${JSON.stringify({ ...manifest, name: packageName, version: "0.1.0" }, null, 2)}\n`,
  );
  writeFileSync(join(target, ".gitignore"), GITIGNORE);
  return { starter, directory: target, packageName };
}

/** A valid npm package name made of a folder name. */
function npmName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+/, "")
    .slice(0, 214);
  return name === "" ? "agentgate-starter" : name;
}

/** Adds `agentgate new <starter> [dir]` to `program`. */
export function registerNewStarter(program: Command, output: Output): void {
  program
    .command("new <starter> [dir]")
    .description(
      `write a starter project into a new folder, ready for npm install (starters: ${listStarters().join(", ")})`,
    )
    .action((starter: string, dir: string | undefined) => {
      const written = writeStarter(starter, dir ?? starter);
      const shown = relative(process.cwd(), written.directory) || ".";
      output.out(`Wrote the ${starter} starter into ${shown}. Next:`);
      output.out(`  cd ${shown}`);
      output.out("  npm install");
      output.out("  npm run build && npm start");
    });
}
