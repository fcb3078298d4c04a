import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CedarPolicyClient, DEFAULT_SCHEMA_PATH, type PolicyLoad, policySetHash } from "./index.js";

const PERMIT = '@id("p")\npermit (principal, action == Action::"read", resource);\n';

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("no reload within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("CedarPolicyClient.fromDirectory onLoad", () => {
  it("K83: reports the first load and each reload with the set's hash; a failed reload its error", async () => {
    const directory = mkdtempSync(join(tmpdir(), "agentgate-policy-load-"));
    try {
      copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "schema.cedarschema"));
      writeFileSync(join(directory, "a.cedar"), PERMIT);
      const loads: PolicyLoad[] = [];
      const client = CedarPolicyClient.fromDirectory(directory, {
        watch: true,
        onLoad: (load) => loads.push(load),
      });
      try {
        expect(loads).toEqual([
          expect.objectContaining({ version: 1, reload: false, files: ["a.cedar"] }),
        ]);
        expect(loads[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
        writeFileSync(join(directory, "b.cedar"), PERMIT.replace('"p"', '"q"'));
        await until(() => loads.some((load) => load.reload && load.files.length === 2));
        const reloaded = loads.find((load) => load.reload && load.files.length === 2);
        expect(reloaded?.hash).not.toBe(loads[0]?.hash);
        expect(reloaded?.error).toBeUndefined();
        writeFileSync(
          join(directory, "c.cedar"),
          "permit (principal, action, resource) when { x };",
        );
        await until(() => loads.some((load) => load.error !== undefined));
        expect(loads.find((load) => load.error !== undefined)?.version).toBe(client.version());
      } finally {
        await client.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("policySetHash depends on every file name, text and the schema", () => {
    const base = policySetHash({ policies: { "a.cedar": "x" }, schema: "s" });
    expect(policySetHash({ policies: { "a.cedar": "x" }, schema: "s" })).toBe(base);
    expect(policySetHash({ policies: { "b.cedar": "x" }, schema: "s" })).not.toBe(base);
    expect(policySetHash({ policies: { "a.cedar": "y" }, schema: "s" })).not.toBe(base);
    expect(policySetHash({ policies: { "a.cedar": "x" }, schema: "t" })).not.toBe(base);
  });
});
