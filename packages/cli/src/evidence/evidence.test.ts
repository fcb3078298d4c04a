import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { demoLog, SCRIPT } from "../../test/demo-log.js";
import { tempDir } from "../../test/temp-dir.js";
import { cli, OPS } from "../../test/workspace.js";
import { FRAMEWORKS, type Framework } from "./controls.js";
import { chromiumPath } from "./pdf.js";

const controlIds = (framework: Framework) => [
  ...new Set(
    Object.values(FRAMEWORKS[framework].sections).flatMap((controls) =>
      controls.map((control) => control.id),
    ),
  ),
];

/** Edits a decision in place: the first denial turned into an allow. */
function tamper(log: string): void {
  const segment = join(
    log,
    readdirSync(log)
      .filter((name) => name.endsWith(".jsonl"))
      .sort()[0] ?? "",
  );
  writeFileSync(
    segment,
    readFileSync(segment, "utf8").replace('"allowed":false', '"allowed":true'),
  );
}

/** The text of a PDF, read back with a maintained extractor (unpdf, PDF.js inside). */
async function pdfText(file: string): Promise<string> {
  const { extractText, getDocumentProxy } = await import("unpdf");
  const document = await getDocumentProxy(new Uint8Array(readFileSync(file)));
  const { text } = await extractText(document, { mergePages: true });
  return text;
}

describe("agentgate audit evidence", () => {
  it("maps every section to the framework's controls, for each framework, and says plainly when the log is not anchored", async () => {
    const demo = await demoLog();
    const expected: Record<Framework, string[]> = {
      soc2: ["CC6.1", "CC6.2", "CC6.3", "CC7.2"],
      iso27001: ["A.5.15", "A.5.16", "A.5.18", "A.8.15"],
      hipaa: ["§164.312(a)(1)", "§164.312(b)", "§164.312(d)"],
    };
    for (const framework of ["soc2", "iso27001", "hipaa"] as const) {
      expect(controlIds(framework).sort()).toEqual([...expected[framework]].sort());
      const out = join(tempDir("agentgate-evidence-"), "pack.html");
      const made = await cli(demo.dir, "audit", "evidence", "--framework", framework, "--out", out);
      expect(made.code, made.err).toBe(0);
      const html = readFileSync(out, "utf8");
      for (const id of expected[framework]) expect(html).toContain(id.replace("§", "§"));
      for (const section of [
        "inventory",
        "access-changes",
        "denials",
        "approvals",
        "revocations",
        "integrity",
      ])
        expect(html).toContain(`<section id="${section}">`);
      expect(html).toContain("NOT ANCHORED: no witness cosigned this log");
      expect(html).toContain("alice@acme.example");
      expect(html).toContain("dana@acme.example");
      expect(html).toContain("left the team");
      expect(html).toContain("bulk changes need a ticket");
    }
    await demo.close();
  });

  it("N112: log content is escaped: a <script> in a tool argument is text, and the page runs no script and fetches nothing", async () => {
    const demo = await demoLog();
    const out = join(tempDir("agentgate-evidence-"), "pack.html");
    expect(
      (await cli(demo.dir, "audit", "evidence", "--framework", "soc2", "--out", out)).code,
    ).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).not.toContain(SCRIPT);
    expect(html).not.toMatch(/<script|javascript:|<link|src=|href=/i);
    expect(html).toContain("&#60;script&#62;alert(document.domain)&#60;/script&#62;");
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`,
    );
  });

  it("N113: refuses (audit_unverified, exit 1) to make a pack from a log that does not verify, and writes no file", async () => {
    const demo = await demoLog();
    tamper(demo.log);
    const folder = tempDir("agentgate-evidence-");
    const refused = await cli(
      demo.dir,
      "audit",
      "evidence",
      "--framework",
      "hipaa",
      "--out",
      join(folder, "pack.html"),
      "--pdf",
      join(folder, "pack.pdf"),
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /The audit log .* does not verify at record \d+: record \d+ was edited\. Nothing was produced/,
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  const chromium = existsSync(chromiumPath());
  if (!chromium)
    console.warn(
      `skipping the PDF test: no Chromium at ${chromiumPath()} (apt-get install chromium)`,
    );
  it.skipIf(!chromium)(
    "prints an anchored pack to PDF; its text holds each control id and the cosigned checkpoint",
    async () => {
      const demo = await demoLog({ anchored: true });
      const folder = tempDir("agentgate-evidence-");
      const made = await cli(
        demo.dir,
        "audit",
        "evidence",
        "--framework",
        "soc2",
        "--out",
        join(folder, "pack.html"),
        "--pdf",
        join(folder, "pack.pdf"),
      );
      expect(made.code, made.err).toBe(0);
      const html = readFileSync(join(folder, "pack.html"), "utf8");
      expect(html).toContain("Anchored: a witness cosigned this checkpoint");
      const text = (await pdfText(join(folder, "pack.pdf"))).replace(/\s+/g, " ");
      for (const id of controlIds("soc2")) expect(text).toContain(id);
      // The cosigned checkpoint: its origin line, and the witness's signature line.
      const note = /<pre class="checkpoint">([^<]*)<\/pre>/.exec(html)?.[1] ?? "";
      const origin = note.split("\n")[0] ?? "";
      expect(origin).toMatch(/^agentgate\.dev\/audit\//);
      expect(text).toContain(origin);
      expect(note.split("\n").filter((line) => line.startsWith("—")).length).toBeGreaterThanOrEqual(
        2,
      );
      expect(text).toContain("Anchored: a witness cosigned this checkpoint");
      expect(text).toContain(OPS);
      await demo.close();
    },
    120_000,
  );
});
