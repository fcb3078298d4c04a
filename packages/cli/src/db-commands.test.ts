import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresStores } from "@agentgate/postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { pollUntil } from "../test/poll.js";
import { cli } from "../test/workspace.js";

const dir = mkdtempSync(join(tmpdir(), "agentgate-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** DATABASE_URL, else the machine's server; undefined when none answers. */
async function database(): Promise<string | undefined> {
  for (const url of [process.env.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/postgres"]) {
    if (!url) continue;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return url;
    } catch {
      // Try the next one.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return undefined;
}
const url = await database();
if (url === undefined)
  console.log(
    "agentgate db: no PostgreSQL answers here, so only the usage tests run (the stores are tested against a provisioned server in @agentgate/postgres)",
  );

describe("agentgate db", () => {
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

  it.skipIf(url === undefined)(
    "migrate, then a pending approval is listed and approved from the CLI, and verify checks every chain",
    async () => {
      const database = url as string;
      const schema = `agcli_${randomBytes(5).toString("hex")}`;
      const flags = ["--database", database, "--schema", schema];
      expect((await cli(dir, "db", "migrate", ...flags)).out).toMatch(/from version 0 to 1/);
      expect((await cli(dir, "db", "migrate", ...flags)).out).toMatch(/nothing to do/);
      const stores = await openPostgresStores({ url: database, schema });
      try {
        const answer = stores.approvals.requestApproval(
          {
            invocationId: "inv-cli",
            reason: "policy",
            agent: "spiffe://acme.example/agent/support",
            principal: "user:carol",
            chain: ["user:carol"],
            tool: "issue_refund",
            action: "write",
            resource: { type: "tool", id: "issue_refund" },
            arguments: {},
            decision: {
              allowed: true,
              policies: [],
              reason: "r",
              safeReason: "r",
              obligations: [],
            },
          },
          { signal: AbortSignal.timeout(60_000) },
        );
        const listed = await pollUntil(
          () => cli(dir, "db", "approvals", ...flags),
          (result) => result.out.includes("issue_refund"),
        );
        const id = listed.out.split(/\s+/)[0] as string;
        const approved = await cli(dir, "db", "approve", id, "--approver", "bob", ...flags);
        expect(approved).toMatchObject({ code: 0 });
        await expect(answer).resolves.toMatchObject({ approved: true, approver: "bob" });
        expect((await cli(dir, "db", "deny", id, "--approver", "eve", ...flags)).code).toBe(1);
        await stores.audit.write({
          v: 1,
          id: "e1",
          type: "decision",
          time: new Date().toISOString(),
        });
      } finally {
        await stores.close();
      }
      const verified = await cli(dir, "db", "verify", ...flags);
      expect(verified.code).toBe(0);
      expect(verified.out).toMatch(/^ok {2}.*1 records/m);
      const admin = new pg.Client({ connectionString: database });
      await admin.connect();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  );
});
