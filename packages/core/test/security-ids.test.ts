import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const ID = /\b[A-Q]\d{1,3}\b/g;

/** Source and docs of the workspace: packages' and examples' src and test, and scripts. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ["node_modules", "dist", ".turbo", ".stryker-tmp", "reports"].includes(entry.name)
        ? []
        : files(path);
    }
    return /\.(ts|mts|mjs|js|md|cedar)$/.test(entry.name) ? [path] : [];
  });
}

/** The ids SECURITY.md defines: each catalogue row's `**X12**` (A1–Q131), and the `(K88)` aliases of L88–L93. */
function catalogue(): Set<string> {
  const text = readFileSync(join(ROOT, "SECURITY.md"), "utf8");
  const ids = new Set<string>();
  for (const match of text.matchAll(
    /^\| <a id="[a-q]\d+"><\/a>\*\*([A-Q]\d+)\*\*(?: \((K\d+)\))? \|/gm,
  )) {
    ids.add(match[1] as string);
    if (match[2] !== undefined) ids.add(match[2]);
  }
  return ids;
}

describe("case ids", () => {
  it("every case id a test name or a code comment cites is defined in SECURITY.md", () => {
    const defined = catalogue();
    expect(defined.size).toBeGreaterThanOrEqual(131);
    const sources = [
      ...["packages", "examples", "scripts"].flatMap((dir) => files(join(ROOT, dir))),
      join(ROOT, "README.md"),
    ];
    const unresolved: string[] = [];
    for (const path of sources) {
      const text = readFileSync(path, "utf8");
      const cited: string[] = [];
      // Test names: the ids before the first colon, as in it("H57/I69: …").
      for (const match of text.matchAll(/\bit\(\s*["'`]([^"'`]*?):/g)) {
        cited.push(...((match[1] as string).match(ID) ?? []));
      }
      for (const line of text.split("\n")) {
        // Comments: every id after "SECURITY.md" on its line, as in (SECURITY.md E40–E42)…
        const at = line.indexOf("SECURITY.md ");
        if (at >= 0) cited.push(...(line.slice(at).match(ID) ?? []));
        // …and ids alone in parentheses on a comment line, as in (G52–G54, I64).
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) {
          for (const group of line.matchAll(/\(([^()]*)\)/g)) {
            const inside = group[1] as string;
            if (/^[A-Q]\d{1,3}(?:\s*(?:,|–|-|\/)\s*[A-Q]\d{1,3})*$/.test(inside)) {
              cited.push(...(inside.match(ID) ?? []));
            }
          }
        }
      }
      for (const id of cited) {
        if (!defined.has(id)) unresolved.push(`${relative(ROOT, path)}: ${id}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it("every case in SECURITY.md names at least one test file, and each named test file exists and cites the case", () => {
    const text = readFileSync(join(ROOT, "SECURITY.md"), "utf8");
    const problems: string[] = [];
    let rows = 0;
    for (const match of text.matchAll(
      /^\| <a id="[a-l]\d+"><\/a>\*\*([A-L]\d+)\*\*(?: \((K\d+)\))? \|.*\| ([^|]*) \|$/gm,
    )) {
      rows++;
      const ids = [match[1] as string, ...(match[2] === undefined ? [] : [match[2]])];
      const tests = [...(match[3] as string).matchAll(/`([^`]+\.test\.ts)`/g)].map(
        (m) => m[1] as string,
      );
      if (tests.length === 0) problems.push(`${ids[0]}: names no test`);
      for (const test of tests) {
        let source: string;
        try {
          source = readFileSync(join(ROOT, test), "utf8");
        } catch {
          problems.push(`${ids[0]}: ${test} does not exist`);
          continue;
        }
        if (!ids.some((id) => new RegExp(`\\b${id}\\b`).test(source))) {
          problems.push(`${ids[0]}: ${test} does not cite it`);
        }
      }
    }
    expect(rows).toBeGreaterThanOrEqual(93);
    expect(problems).toEqual([]);
  });
});
