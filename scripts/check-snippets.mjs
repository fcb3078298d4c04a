#!/usr/bin/env node
// Docs that cannot drift: typechecks every ```ts block of README.md, packages/*/README.md and
// examples/*/README.md against the built packages (run `pnpm build` first), with the TypeScript
// compiler API. Run by packages/core/test/readme-snippets.test.ts, or alone:
//
//   node scripts/check-snippets.mjs          # one line per failing diagnostic; exit 1 if any
//   node scripts/check-snippets.mjs --json   # every block and its diagnostics, as JSON
//
// A block is a module of its own. It may declare what it uses but does not show (a `writer`, a
// `gate` built in an earlier block) in a hidden prelude: an HTML comment on the line right before
// the fence, which Markdown renders as nothing:
//
//   <!-- prelude: declare const gate: import("@agentgate/core").Gate; -->
//
// The comment may span lines. `<!-- snippet: skip -->` in the same place leaves a block out (for
// a fragment that is not TypeScript on its own, such as a signature); say why next to it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FENCE = /^(\s*)```(ts|typescript)\s*$/;
const HIDDEN = /<!--\s*(prelude|snippet):([\s\S]*?)-->\s*$/;

/** The READMEs whose blocks are checked, relative to the root. */
export function readmes(root = ROOT) {
  const found = ["README.md"];
  for (const folder of ["packages", "examples"]) {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name, "README.md");
      if (entry.isDirectory() && existsSync(join(root, path))) found.push(path);
    }
  }
  return found;
}

/**
 * The TypeScript blocks of one Markdown text: their code (indentation of a list item removed),
 * the line of their first code line (1-based), and their prelude or skip comment.
 */
export function extractBlocks(markdown) {
  const lines = markdown.split("\n");
  const blocks = [];
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index]);
    if (open === null) continue;
    const indent = open[1].length;
    const body = [];
    let end = index + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) {
      body.push(lines[end].slice(Math.min(indent, lines[end].search(/\S|$/))));
      end++;
    }
    // The hidden comment ends on the line before the fence; it may start lines earlier.
    let prelude = "";
    let skip = false;
    let start = index - 1;
    if (start >= 0 && /-->\s*$/.test(lines[start])) {
      while (start > 0 && !lines[start].includes("<!--")) start--;
      const hidden = HIDDEN.exec(lines.slice(start, index).join("\n"));
      if (hidden?.[1] === "prelude") prelude = hidden[2].trim();
      if (hidden?.[1] === "snippet" && /^\s*skip\b/.test(hidden[2])) skip = true;
    }
    blocks.push({ line: index + 2, code: body.join("\n"), prelude, skip });
    index = end;
  }
  return blocks;
}

/** Compiler options of a user's strict project (not the repository's own house rules). */
const OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts"],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  types: ["node"],
  typeRoots: [join(ROOT, "node_modules", "@types")],
};

/** Where a snippet's imports may come from: any package or example of the workspace. */
function resolutionBases(root) {
  const bases = [];
  for (const folder of ["packages", "examples"]) {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      if (entry.isDirectory()) bases.push(join(root, folder, entry.name, "snippet.mts"));
    }
  }
  return bases;
}

/** Typechecks every block; returns one entry per block with its diagnostics. */
export function checkSnippets(root = ROOT) {
  const files = new Map();
  const entries = [];
  for (const readme of readmes(root)) {
    for (const block of extractBlocks(readFileSync(join(root, readme), "utf8"))) {
      const entry = { readme, line: block.line, skip: block.skip, diagnostics: [] };
      entries.push(entry);
      if (block.skip) continue;
      const preludeLines = block.prelude === "" ? 0 : block.prelude.split("\n").length;
      const name = join(root, ".snippets", readme.replaceAll("/", "__"), `line-${block.line}.mts`);
      const text = `${block.prelude}${preludeLines > 0 ? "\n" : ""}${block.code}\nexport {};\n`;
      files.set(name, { text, entry, preludeLines });
    }
  }

  const host = ts.createCompilerHost(OPTIONS, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
  host.readFile = (name) => files.get(name)?.text ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) =>
    files.has(name)
      ? ts.createSourceFile(name, files.get(name).text, language, true)
      : getSourceFile.call(host, name, language, ...rest);
  const bases = resolutionBases(root);
  const cache = ts.createModuleResolutionCache(root, (name) => name, OPTIONS);
  host.resolveModuleNameLiterals = (literals, containing, redirected, options, source) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(source, literal, options);
      const from = (file) =>
        ts.resolveModuleName(literal.text, file, options, host, cache, redirected, mode);
      if (!files.has(containing)) return from(containing);
      // A snippet imports what a user would have installed: try each workspace package's deps.
      for (const base of bases) {
        const resolved = from(base);
        if (resolved.resolvedModule !== undefined) return resolved;
      }
      return from(containing);
    });

  const program = ts.createProgram([...files.keys()], OPTIONS, host);
  for (const [name, { entry, preludeLines }] of files) {
    const source = program.getSourceFile(name);
    for (const diagnostic of ts.getPreEmitDiagnostics(program, source)) {
      const at =
        diagnostic.file !== undefined && diagnostic.start !== undefined
          ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
          : 0;
      const inPrelude = at < preludeLines;
      entry.diagnostics.push({
        line: inPrelude ? entry.line - 1 : entry.line + at - preludeLines,
        code: diagnostic.code,
        message: `${inPrelude ? "(in the prelude) " : ""}${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`,
      });
    }
  }
  return entries;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = readdirSync(join(ROOT, "packages")).filter(
    (name) => !existsSync(join(ROOT, "packages", name, "dist")),
  );
  if (missing.length > 0) {
    console.error(`check-snippets: build first (no dist/ in packages ${missing.join(", ")})`);
    process.exit(2);
  }
  const entries = checkSnippets();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(entries, null, 2));
  } else {
    for (const entry of entries) {
      for (const d of entry.diagnostics) {
        console.log(
          `${relative(process.cwd(), join(ROOT, entry.readme))}:${d.line}: TS${d.code}: ${d.message}`,
        );
      }
    }
    const failing = entries.filter((entry) => entry.diagnostics.length > 0).length;
    const skipped = entries.filter((entry) => entry.skip).length;
    console.log(
      `check-snippets: ${entries.length - failing - skipped} of ${entries.length} blocks typecheck, ${failing} fail, ${skipped} skipped`,
    );
  }
  process.exit(entries.some((entry) => entry.diagnostics.length > 0) ? 1 : 0);
}
