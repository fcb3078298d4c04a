import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { listStarters } from "./new-starter.js";
import type { Output } from "./output.js";
import { EXIT, runCli } from "./program.js";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "examples");
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "agentgate-new-"));
  made.push(dir);
  return dir;
}
async function agentgate(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    color: false,
  };
  const code = await runCli(args, output);
  return { code, out: out.join("\n"), err: err.join("\n") };
}
const json = (file: string) => JSON.parse(readFileSync(file, "utf8"));

describe("agentgate new <starter> [dir]", () => {
  it("ships one starter per example of the repository (templates built from examples/)", () => {
    expect(listStarters()).toEqual(readdirSync(EXAMPLES).sort());
  });

  it("writes the quickstart into a new folder, ready for npm install", async () => {
    const target = join(tempDir(), "my-agents");
    const { code, out } = await agentgate("new", "quickstart", target);
    expect(code).toBe(EXIT.ok);
    expect(out).toContain("npm install");
    const manifest = json(join(target, "package.json"));
    expect(manifest.name).toBe("my-agents");
    expect(manifest.dependencies["@agentgate/cedar"]).toMatch(/^\^\d+\.\d+\.\d+$/);
    for (const [name, range] of Object.entries<string>(manifest.dependencies)) {
      expect(range, name).not.toMatch(/^(workspace|link|file):/);
    }
    // A standalone tsconfig: nothing outside the folder.
    expect(json(join(target, "tsconfig.json")).extends).toBeUndefined();
    expect(readdirSync(target).sort()).toEqual(
      [".gitignore", "README.md", "package.json", "policies", "src", "tsconfig.json"].sort(),
    );
    expect(readdirSync(join(target, "src"))).toContain("main.ts");
  });

  it("writes into an existing empty folder, and defaults the folder to the starter's name", async () => {
    const empty = join(tempDir(), "empty");
    mkdirSync(empty);
    expect((await agentgate("new", "mcp", empty)).code).toBe(EXIT.ok);
    expect(json(join(empty, "package.json")).dependencies["@agentgate/mcp"]).toBeDefined();

    const cwd = process.cwd();
    process.chdir(tempDir());
    try {
      expect((await agentgate("new", "crew")).code).toBe(EXIT.ok);
      expect(json(join(process.cwd(), "crew", "package.json")).name).toBe("crew");
    } finally {
      process.chdir(cwd);
    }
  });

  it("refuses a non-empty target folder with exit code 2, and writes nothing", async () => {
    const target = tempDir();
    writeFileSync(join(target, "notes.txt"), "mine");
    const { code, err } = await agentgate("new", "quickstart", target);
    expect(code).toBe(EXIT.usage);
    expect(err).toContain("is not empty");
    expect(readdirSync(target)).toEqual(["notes.txt"]);
  });

  it("refuses an unknown starter with exit code 2 and names the starters there are", async () => {
    const target = join(tempDir(), "x");
    const { code, err } = await agentgate("new", "rocket", target);
    expect(code).toBe(EXIT.usage);
    expect(err).toContain('unknown starter "rocket"');
    expect(err).toContain("quickstart");
    expect(() => readdirSync(target)).toThrow();
  });

  it("a missing starter argument is a usage error (exit code 2)", async () => {
    expect((await agentgate("new")).code).toBe(EXIT.usage);
  });
});
