import { appendFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join, resolve } from "node:path";
import { PLANTED_PREFIX, scanPath } from "./scan.js";

// Runs in every test worker (vitest `setupFiles`): before a temporary path of the suite is
// removed, what it holds is scanned and any finding recorded, so the suite-wide scan at the end
// (global-setup.ts) also covers what tests clean up after themselves (SECURITY.md I69).
const suite = process.env.AGENTGATE_SUITE_DIR;
const require = createRequire(import.meta.url);
const fs = require("node:fs") as typeof import("node:fs");
const marker = Symbol.for("agentgate.suite-scan");

if (suite !== undefined && !(marker in fs)) {
  const root = join(suite, "tmp");
  const findingsFile = join(suite, `findings-${process.pid}.jsonl`);
  const scanBefore = (path: unknown): void => {
    if (typeof path !== "string" && !(path instanceof URL)) return;
    const absolute = resolve(path instanceof URL ? path.pathname : path);
    if (!absolute.startsWith(root) || absolute.includes(PLANTED_PREFIX)) return;
    for (const finding of scanPath(absolute))
      appendFileSync(findingsFile, `${JSON.stringify(finding)}\n`);
  };
  const { rmSync, rm, rmdirSync, unlinkSync } = fs;
  const promises = fs.promises;
  const promisedRm = promises.rm;
  fs.rmSync = ((path: string, options?: object) => {
    scanBefore(path);
    return rmSync(path, options);
  }) as typeof fs.rmSync;
  fs.rm = ((path: string, ...rest: unknown[]) => {
    scanBefore(path);
    return (rm as (...args: unknown[]) => void)(path, ...rest);
  }) as typeof fs.rm;
  fs.rmdirSync = ((path: string, options?: object) => {
    scanBefore(path);
    return rmdirSync(path, options as never);
  }) as typeof fs.rmdirSync;
  fs.unlinkSync = ((path: string) => {
    scanBefore(path);
    return unlinkSync(path);
  }) as typeof fs.unlinkSync;
  promises.rm = ((path: string, options?: object) => {
    scanBefore(path);
    return promisedRm(path, options);
  }) as typeof promises.rm;
  Object.defineProperty(fs, marker, { value: true });
  // Named imports of node:fs (`import { rmSync } from "node:fs"`) see the wrapped functions.
  syncBuiltinESMExports();
}
