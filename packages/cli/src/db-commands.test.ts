import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApprovalRequest, AuditEvent } from "@agentgate/core";
import { openPostgresStores } from "@agentgate/postgres";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabase } from "../test/database.js";
import { pollUntil } from "../test/poll.js";
import { cli } from "../test/workspace.js";
import { osUser } from "./audited-change.js";

const dir = mkdtempSync(join(tmpdir(), "agentgate-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const url = await testDatabase();
const roles: string[] = [];

/** A request for approval as a gate queues it. */
function request(invocationId: string, tool: string): ApprovalRequest {
  return {
    invocationId,
    reason: "policy",
    agent: "spiffe://acme.example/agent/support",
    principal: "user:carol",
    chain: ["user:carol"],
    tool,
    action: "write",
    resource: { type: "tool", id: tool },
    arguments: {},
    decision: { allowed: true, policies: [], reason: "r", safeReason: "r", obligations: [] },
  };
}

/** The records of every chain whose writer starts with `cli-`, in order. */
async function cliRecords(
  admin: pg.Client,
  schema: string,
): Promise<(AuditEvent & { writer: string })[]> {
  const rows = await admin.query<{ writer: string; record: string }>(
    `select writer, record from ${schema}.audit_records where writer like 'cli-%' order by writer, seq`,
  );
  return rows.rows.map((row) => ({
    ...(JSON.parse(row.record) as AuditEvent),
    writer: row.writer,
  }));
}

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

  it("migrate, then a pending approval is listed and approved from the CLI, its approval event first in a chain of its own, and verify checks every chain", async () => {
    const schema = `agcli_${randomBytes(5).toString("hex")}`;
    const flags = ["--database", url, "--schema", schema];
    expect((await cli(dir, "db", "migrate", ...flags)).out).toMatch(/from version 0 to 1/);
    expect((await cli(dir, "db", "migrate", ...flags)).out).toMatch(/nothing to do/);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const stores = await openPostgresStores({ url, schema });
    try {
      const answer = stores.approvals.requestApproval(request("inv-cli", "issue_refund"), {
        signal: AbortSignal.timeout(60_000),
      });
      const listed = await pollUntil(
        () => cli(dir, "db", "approvals", ...flags),
        (result) => result.out.includes("issue_refund"),
      );
      const id = listed.out.split(/\s+/)[0] as string;
      // The approver's least-privilege role, as packages/postgres/README.md grants it.
      const role = `${schema}_approver`;
      await admin.query(`create role ${role} login password 'approver-password'`);
      roles.push(role);
      for (const grant of [
        `grant usage on schema ${schema} to ${role}`,
        `grant select on ${schema}.schema_version, ${schema}.approvals to ${role}`,
        `grant update (status, answer, answered_at) on ${schema}.approvals to ${role}`,
        `grant select, insert on ${schema}.audit_chains, ${schema}.audit_records, ${schema}.audit_checkpoints to ${role}`,
      ])
        await admin.query(grant);
      const asApprover = new URL(url);
      asApprover.username = role;
      asApprover.password = "approver-password";
      const approved = await cli(
        dir,
        "db",
        "approve",
        id,
        "--approver",
        "bob",
        "--reason",
        "refund under the limit",
        "--database",
        asApprover.toString(),
        "--schema",
        schema,
      );
      expect(approved).toMatchObject({ code: 0 });
      await expect(answer).resolves.toMatchObject({ approved: true, approver: "bob" });
      // Answered already: refused, and nothing is recorded for an answer never given.
      expect((await cli(dir, "db", "deny", id, "--approver", "eve", ...flags)).code).toBe(1);
      const records = await cliRecords(admin, schema);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        type: "approval",
        actor: osUser(),
        agent: "spiffe://acme.example/agent/support",
        principal: "user:carol",
        tool: { name: "issue_refund" },
        approval: { approved: true, approver: "bob", reason: "refund under the limit" },
        details: { approvalId: id, callInvocationId: "inv-cli", approvalReason: "policy" },
      });
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
    // The gate's chain and the CLI's own, each of one record, signed and verified.
    expect(verified.out.match(/^ok {2}.*: 1 records, 1 checkpoints/gm)).toHaveLength(2);
    expect(verified.out).toMatch(/^ok +cli-[^:]+: 1 records, 1 checkpoints$/m);
    await admin.query(`drop schema ${schema} cascade`);
    for (const role of roles.splice(0)) await admin.query(`drop role ${role}`);
    await admin.end();
  });

  it("K83: an answer whose approval event cannot be written is not given: the approval stays pending, the gate keeps waiting", async () => {
    const schema = `agcli_${randomBytes(5).toString("hex")}`;
    const flags = ["--database", url, "--schema", schema];
    expect((await cli(dir, "db", "migrate", ...flags)).code).toBe(0);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const stores = await openPostgresStores({ url, schema });
    const waiting = new AbortController();
    try {
      let settled = false;
      const answer = stores.approvals
        .requestApproval(request("inv-k83", "delete_account"), { signal: waiting.signal })
        .finally(() => {
          settled = true;
        });
      answer.catch(() => undefined);
      const listed = await pollUntil(
        () => cli(dir, "db", "approvals", ...flags),
        (result) => result.out.includes("delete_account"),
      );
      const id = listed.out.split(/\s+/)[0] as string;
      // The audit trail refuses every record (a full disk, a revoked grant: any failed insert).
      await admin.query(
        `create function ${schema}.refuse_audit() returns trigger language plpgsql as $$
         begin raise exception 'audit storage unavailable'; end $$`,
      );
      await admin.query(
        `create trigger refuse_audit before insert on ${schema}.audit_records
         for each row execute function ${schema}.refuse_audit()`,
      );
      for (const verb of ["approve", "deny"]) {
        const refused = await cli(dir, "db", verb, id, "--approver", "bob", ...flags);
        const row = await admin.query<{ status: string; answer: unknown }>(
          `select status, answer from ${schema}.approvals where id = $1`,
          [id],
        );
        expect(row.rows[0]).toEqual({ status: "pending", answer: null });
        expect(refused.code).toBe(1);
        expect(refused.err).toMatch(/Not changed: the approval event could not be written/);
      }
      expect((await cli(dir, "db", "approvals", ...flags)).out).toContain(id);
      expect(settled).toBe(false);
      expect(await cliRecords(admin, schema)).toEqual([]);

      // The trail is back: the same answer is recorded, then given.
      await admin.query(`drop trigger refuse_audit on ${schema}.audit_records`);
      expect(
        (await cli(dir, "db", "deny", id, "--approver", "bob", "--reason", "no", ...flags)).code,
      ).toBe(0);
      await expect(answer).resolves.toMatchObject({ approved: false, approver: "bob" });
      expect(await cliRecords(admin, schema)).toMatchObject([
        { type: "approval", approval: { approved: false }, details: { approvalId: id } },
      ]);
    } finally {
      waiting.abort();
      await stores.close();
    }
    expect((await cli(dir, "db", "verify", ...flags)).code).toBe(0);
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  });
});
