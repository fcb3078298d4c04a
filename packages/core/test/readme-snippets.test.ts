import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../../scripts/check-snippets.mjs", import.meta.url));

interface Entry {
  readme: string;
  line: number;
  skip: boolean;
  diagnostics: Array<{ line: number; code: number; message: string }>;
}

describe("the READMEs' TypeScript blocks", () => {
  it("every ```ts block of README.md, the packages' and the examples' READMEs typechecks against the built packages", async () => {
    // One process that compiles every block in one TypeScript program (see the script for the
    // `<!-- prelude: … -->` convention). Exit 1 means a diagnostic, which the JSON names.
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, "--json"], {
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      if (error.code === 1 && error.stdout !== undefined) return { stdout: error.stdout };
      throw new Error(`check-snippets failed to run: ${error.stderr ?? String(error)}`);
    });
    const entries = JSON.parse(stdout) as Entry[];
    expect(entries.filter((entry) => entry.readme === "README.md").length).toBeGreaterThan(5);
    const failures = entries.flatMap((entry) =>
      entry.diagnostics.map((d) => `${entry.readme}:${d.line}: TS${d.code}: ${d.message}`),
    );
    expect(failures).toEqual([]);
  }, 180_000);
});
