import * as fs from "node:fs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUDIENCE, makeIdentity, SUPPORT } from "../fixtures/identity.js";
import { PLANTED_PREFIX, scanPath, scanText } from "../suite-scan/scan.js";

describe("the suite-wide secret scan (I69)", () => {
  it("I69: the scan finds a raw token, a PEM private key and a private JWK, and reports only the kind", async () => {
    const { authority, stored } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const dir = mkdtempSync(join(tmpdir(), PLANTED_PREFIX));
    try {
      writeFileSync(join(dir, "audit.jsonl"), `{"note":"Bearer ${token}"}\n`);
      writeFileSync(join(dir, "error.txt"), "-----BEGIN PRIVATE KEY-----\nMC4CAQ...\n");
      writeFileSync(join(dir, "dump.json"), JSON.stringify(stored.privateJwk));
      mkdirSync(join(dir, "keys"));
      writeFileSync(join(dir, "keys", "k1.json"), JSON.stringify(stored.privateJwk));
      writeFileSync(join(dir, "store-record.json"), JSON.stringify(stored));
      writeFileSync(join(dir, "clean.jsonl"), `{"tokenId":"jti-1","fingerprint":"ab12"}\n`);
      const findings = scanPath(dir).sort((a, b) => a.path.localeCompare(b.path));
      expect(findings).toEqual([
        { path: join(dir, "audit.jsonl"), kind: "jwt" },
        { path: join(dir, "dump.json"), kind: "private jwk" },
        { path: join(dir, "error.txt"), kind: "pem private key" },
      ]);
      expect(JSON.stringify(findings)).not.toContain(token);
      // A token is never at home, not even in a key store.
      expect(scanText(join(dir, "keys", "x.json"), token)).toEqual([
        { path: join(dir, "keys", "x.json"), kind: "jwt" },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("I69: every temporary file of the suite lives where the end-of-suite scan looks, and removals are scanned first", () => {
    const suite = process.env.AGENTGATE_SUITE_DIR;
    expect(suite).toBeDefined();
    expect(tmpdir().startsWith(join(suite as string, "tmp"))).toBe(true);
    const cjs = createRequire(import.meta.url)("node:fs") as typeof fs;
    expect(Symbol.for("agentgate.suite-scan") in cjs).toBe(true);
    // Named ESM imports see the wrapped removal, so what a test deletes is scanned first.
    expect(rmSync).toBe(cjs.rmSync);
    expect(fs.rmSync).toBe(cjs.rmSync);
  });
});
