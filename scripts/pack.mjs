#!/usr/bin/env node
// Packs every publishable package under packages/ with pnpm, which rewrites `workspace:^` to the
// real ranges, exactly as `pnpm publish` would. Builds nothing: run the build first.
//   node scripts/pack.mjs [destination]   (default: .packs/ in the repository)
// Prints one line per tarball: "<package name> <absolute path of the .tgz>".
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM = ["-y", "pnpm@12.21.0"];

/** The publishable packages: `{ name, dir }` for each non-private packages/* folder. */
export function publishablePackages() {
  return readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(ROOT, "packages", entry.name))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name, version: manifest.version, dir }));
}

/** Packs every publishable package into `destination` and returns `{ name, tarball }` for each. */
export function packAll(destination) {
  rmSync(destination, { recursive: true, force: true });
  mkdirSync(destination, { recursive: true });
  return publishablePackages().map(({ name, version, dir }) => {
    execFileSync("npx", [...PNPM, "pack", "--pack-destination", destination], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const file = `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
    return { name, tarball: join(destination, file) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const destination = resolve(process.argv[2] ?? join(ROOT, ".packs"));
  for (const { name, tarball } of packAll(destination)) console.log(`${name} ${tarball}`);
}
