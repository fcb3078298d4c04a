#!/usr/bin/env node
// Builds the starters that `agentgate new` writes: every folder under the repository's examples/
// becomes templates/<name>/ in this package (shipped in the tarball), without node_modules/ or
// dist/, its @agentgate/* dependencies asked for by the range of the version built here.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(PACKAGE, "..", "..");
const EXAMPLES = join(REPO, "examples");
const TEMPLATES = join(PACKAGE, "templates");

const versions = Object.fromEntries(
  readdirSync(join(REPO, "packages")).flatMap((dir) => {
    const file = join(REPO, "packages", dir, "package.json");
    if (!existsSync(file)) return [];
    const { name, version } = JSON.parse(readFileSync(file, "utf8"));
    return [[name, version]];
  }),
);

rmSync(TEMPLATES, { recursive: true, force: true });
for (const example of readdirSync(EXAMPLES)) {
  const source = join(EXAMPLES, example);
  if (!existsSync(join(source, "package.json"))) continue;
  const target = join(TEMPLATES, example);
  cpSync(source, target, {
    recursive: true,
    filter: (path) => !/[\\/](node_modules|dist|\.turbo|\.agentgate)$/.test(path),
  });
  const file = join(target, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  for (const section of ["dependencies", "devDependencies"]) {
    for (const name of Object.keys(manifest[section] ?? {})) {
      if (versions[name]) manifest[section][name] = `^${versions[name]}`;
      else if (manifest[section][name].startsWith("workspace:")) {
        throw new Error(`${example}: ${name} is ${manifest[section][name]}, not a range`);
      }
    }
  }
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}
console.log(`templates: ${readdirSync(TEMPLATES).sort().join(", ")}`);
