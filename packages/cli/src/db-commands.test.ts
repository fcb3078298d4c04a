import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../test/workspace.js";

const dir = mkdtempSync(join(tmpdir(), "agentgate-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The migrations themselves run against a real server in @agentgate/postgres's tests.
describe("agentgate db migrate", () => {
  it("needs a database, and names one that does not answer without its password", async () => {
    const previous = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const missing = await cli(dir, "db", "migrate");
      expect(missing.code).not.toBe(0);
      expect(missing.err).toMatch(/--database/);
      const down = await cli(
        dir,
        "db",
        "migrate",
        "--database",
        "postgres://admin:secret@127.0.0.1:1/x",
      );
      expect(down.code).not.toBe(0);
      expect(down.err).toMatch(/127\.0\.0\.1:1/);
      expect(down.err).not.toMatch(/secret/);
    } finally {
      if (previous !== undefined) process.env.DATABASE_URL = previous;
    }
  });
});
