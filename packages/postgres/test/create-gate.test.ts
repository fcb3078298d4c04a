import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  allow,
  defineAgent,
  FunctionPolicyClient,
  isAgentGateError,
  MemoryAuditSink,
  type ToolDescriptor,
} from "@agentgate/core";
import { sampleAuditEvent } from "@agentgate/core/contracts";
import { createGate } from "@agentgate/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStores, SCHEMA_VERSION } from "../src/index.js";
import { pollUntil } from "./poll.js";
import { freshSchema, terminateBackends } from "./schema.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://tools.acme.example";
const lookup: ToolDescriptor = {
  name: "crm_lookup",
  action: "read",
  schema: { "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) } },
};

let db: Awaited<ReturnType<typeof freshSchema>>;
let directory: string;

beforeAll(async () => {
  db = await freshSchema();
  directory = mkdtempSync(join(tmpdir(), "agentgate-pg-gate-"));
  process.env.AGENTGATE_CHECKPOINT_KEY = Buffer.alloc(32, 9).toString("base64url");
});
afterAll(async () => {
  await db.drop();
  rmSync(directory, { recursive: true, force: true });
});

const options = () => ({
  directory,
  trustDomain: "acme.example",
  audience: AUDIENCE,
  database: db.url,
  databaseSchema: db.schema,
  policy: new FunctionPolicyClient(() => allow("ok")),
  watchPolicies: false,
});

describe("createGate({ database })", () => {
  it("one line: the registry, revocations and audit trail are the database's; a revocation on another host denies, an outage denies with its code, and it recovers", async () => {
    const gate = await createGate(options());
    const admin = await openPostgresStores({ url: db.url, schema: db.schema });
    try {
      await admin.registry.put(defineAgent({ id: SUPPORT, owner: "alice", maxScopes: [] }));
      await pollUntil(
        () => gate.authority?.registry.get(SUPPORT),
        (record) => record !== undefined,
      );
      const issued = await gate.authority?.issueToken(SUPPORT, { audience: AUDIENCE });
      // A call the gate cannot even record is refused by a rejection (audit_unavailable).
      const call = () =>
        gate
          .check({ tool: lookup, arguments: {}, credential: issued?.token })
          .catch((error: unknown) => ({
            allowed: false,
            code: isAgentGateError(error) ? error.code : "thrown",
          }));
      expect((await call()).allowed).toBe(true);

      await terminateBackends(db.admin, db.schema);
      const down = await pollUntil(call, (result) => !result.allowed, { everyMs: 1 }).catch(
        () => undefined,
      );
      if (down !== undefined)
        expect(["revocation_unavailable", "registry_unavailable", "audit_unavailable"]).toContain(
          down.code,
        );
      await pollUntil(call, (result) => result.allowed);

      await admin.revocations.revoke("agent", SUPPORT, "compromised");
      const denied = await pollUntil(call, (result) => !result.allowed);
      expect(denied.code).toBe("agent_revoked");
      const chains = await admin.verifyAudit();
      expect(chains.every((chain) => chain.ok)).toBe(true);
      expect(chains.reduce((sum, chain) => sum + chain.records, 0)).toBeGreaterThan(2);
    } finally {
      await gate.close();
      await admin.close();
    }
  });

  it("closing the gate ends the database's connections, also with an audit sink of the caller's", async () => {
    const connections = async () =>
      (
        await db.admin.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where application_name like 'agentgate%/' || $1",
          [db.schema],
        )
      ).rows[0]?.n ?? 0;
    const audit = new MemoryAuditSink();
    const gate = await createGate({ ...options(), audit });
    expect(await connections()).toBeGreaterThan(0);
    await gate.close();
    await pollUntil(connections, (count) => count === 0);
    await expect(audit.write(sampleAuditEvent(0))).rejects.toMatchObject({
      code: "audit_unavailable",
    });
  });

  it("a database that does not answer fails createGate with a clear error naming it", async () => {
    const error = await createGate({
      ...options(),
      database: "postgres://agentgate:secret@127.0.0.1:1/none",
    }).catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("invalid_configuration");
    expect((error as Error).message).toMatch(
      /cannot reach the database postgres:\/\/agentgate:\*\*\*@127\.0\.0\.1:1\/none/,
    );
    expect((error as Error).message).not.toMatch(/secret/);
  });

  it("a schema of an unknown version is refused at start-up", async () => {
    await db.admin.query(
      `insert into ${db.schema}.schema_version (version, name) values ($1, 'from the future')`,
      [SCHEMA_VERSION + 1],
    );
    try {
      const error = await createGate(options()).catch((caught: unknown) => caught);
      expect(isAgentGateError(error) && error.details?.check).toBe("schema_version");
      const missing = await createGate({
        ...options(),
        databaseSchema: "agtest_never_migrated",
      }).catch((caught: unknown) => caught);
      expect(isAgentGateError(missing) && missing.message).toMatch(/agentgate db migrate/);
    } finally {
      await db.admin.query(`delete from ${db.schema}.schema_version where version = $1`, [
        SCHEMA_VERSION + 1,
      ]);
    }
  });

  it("a database that is not a postgres:// URL is a configuration error", async () => {
    const error = await createGate({ ...options(), database: "mysql://x" }).catch(
      (caught: unknown) => caught,
    );
    expect(isAgentGateError(error) && error.code).toBe("invalid_configuration");
  });
});
