import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentGateError, defineAgent, isAgentGateError } from "@agentgate/core";
import { describeAuditSinkContract, sampleAuditEvent } from "@agentgate/core/contracts";
import { CheckpointKey, verifyAuditProof, Witness } from "@agentgate/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStores, type PostgresStores } from "../src/index.js";
import { pollUntil } from "./poll.js";
import { freshSchema, terminateBackends } from "./schema.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const checkpointKey = CheckpointKey.load({
  env: { AGENTGATE_CHECKPOINT_KEY: Buffer.alloc(32, 7).toString("base64url") },
});

let db: Awaited<ReturnType<typeof freshSchema>>;
const opened: PostgresStores[] = [];

async function open(writerId?: string): Promise<PostgresStores> {
  const stores = await openPostgresStores({
    url: db.url,
    schema: db.schema,
    audit: { checkpointKey, ...(writerId === undefined ? {} : { writerId }) },
  });
  opened.push(stores);
  return stores;
}

beforeAll(async () => {
  db = await freshSchema();
});
afterAll(async () => {
  for (const stores of opened) await stores.close().catch(() => undefined);
  await db.drop();
});

describeAuditSinkContract("PostgresAuditLog", async () => {
  const stores = await open();
  return { sink: stores.audit, read: () => stores.readAudit() };
});

describe("PostgresAgentRegistry", () => {
  it("a record put on one host is read on another (NOTIFY invalidates the cache)", async () => {
    const a = await open();
    const b = await open();
    await a.registry.put(defineAgent({ id: SUPPORT, owner: "alice", maxScopes: ["crm:read"] }));
    await pollUntil(
      () => b.registry.get(SUPPORT),
      (record) => record?.owner === "alice",
    );
    await b.registry.put(defineAgent({ id: SUPPORT, owner: "alice", supervision: "suspended" }));
    await pollUntil(
      () => a.registry.get(SUPPORT),
      (record) => record?.supervision === "suspended",
    );
    expect(await a.registry.remove(SUPPORT)).toBe(true);
    await pollUntil(
      () => b.registry.list(),
      (list) => list.length === 0,
    );
    expect(await a.registry.remove(SUPPORT)).toBe(false);
  });
});

describe("PostgresRevocationList: revocations pushed by LISTEN/NOTIFY", () => {
  it("a revocation on one host is seen by another without polling, and changes version()", async () => {
    const a = await open();
    const b = await open();
    const before = b.revocations.version();
    await a.revocations.revoke("agent", `${SUPPORT}-revoked`, "compromised");
    expect(a.revocations.isRevoked("agent", `${SUPPORT}-revoked`)).toBe(true);
    await pollUntil(
      () => b.revocations.isRevoked("agent", `${SUPPORT}-revoked`),
      (seen) => seen,
    );
    expect(b.revocations.version()).not.toBe(before);
    expect(b.revocations.isRevoked("token", "other")).toBe(false);
    const list = await b.revocations.list();
    expect(list.find((entry) => entry.id === `${SUPPORT}-revoked`)).toMatchObject({
      reason: "compromised",
    });
    // Revoking twice keeps the first.
    await a.revocations.revoke("agent", `${SUPPORT}-revoked`, "again");
    expect(
      (await a.revocations.list()).filter((entry) => entry.id === `${SUPPORT}-revoked`),
    ).toHaveLength(1);
  });
});

describe("PostgresReplayCache: Q131 each jti once across hosts", () => {
  it("Q131: of many hosts remembering one id at once, exactly one wins; an expired id may come back", async () => {
    const hosts = [await open(), await open(), await open()];
    const expires = Date.now() / 1000 + 60;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, index) => hosts[index % 3]?.replay.remember("jti-1", expires)),
    );
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await hosts[0]?.replay.remember("jti-old", Date.now() / 1000 - 1)).toBe(true);
    expect(await hosts[1]?.replay.remember("jti-old", expires)).toBe(true);
    expect(await hosts[2]?.replay.remember("jti-old", expires)).toBe(false);
  });
});

describe("PostgresApprovalQueue: a pending approval survives its gate", () => {
  const request = {
    invocationId: "inv-1",
    reason: "policy" as const,
    agent: SUPPORT,
    principal: "user:carol",
    chain: ["user:carol", SUPPORT],
    tool: "refund",
    action: "refund",
    resource: { type: "Tool", id: "refund" },
    arguments: { amount: 500 },
    decision: {
      allowed: true,
      policies: [],
      reason: "needs approval",
      safeReason: "needs approval",
      obligations: [],
    },
  };

  it("a request is answered from another host; the first answer wins", async () => {
    const gate = await open();
    const approver = await open();
    const answer = gate.approvals.requestApproval(request, {
      signal: new AbortController().signal,
    });
    const pending = await pollUntil(
      () => approver.approvals.pending(),
      (list) => list.length > 0,
    );
    expect(pending[0]?.request.tool).toBe("refund");
    const id = pending[0]?.id as string;
    expect(await approver.approvals.answer(id, { approved: true, approver: "bob" })).toBe(true);
    expect(await approver.approvals.answer(id, { approved: false, approver: "eve" })).toBe(false);
    await expect(answer).resolves.toMatchObject({ approved: true, approver: "bob" });
  });

  it("a gate that stops waiting leaves the approval pending for the next", async () => {
    const gate = await open();
    const controller = new AbortController();
    const waiting = gate.approvals.requestApproval(
      { ...request, invocationId: "inv-2" },
      { signal: controller.signal },
    );
    const other = await open();
    await pollUntil(
      () => other.approvals.pending(),
      (list) => list.some((item) => item.request.invocationId === "inv-2"),
    );
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: "approval_denied" });
    await gate.close();
    expect(
      (await other.approvals.pending()).some((item) => item.request.invocationId === "inv-2"),
    ).toBe(true);
  });
});

describe("PostgresAuditLog: chains, checkpoints, proofs", () => {
  it("many writers never fork: each has its own chain, and every chain verifies", async () => {
    const writers = [await open("w-a"), await open("w-b"), await open("w-c")];
    await Promise.all(
      writers.flatMap((stores, w) =>
        Array.from({ length: 300 }, (_, index) =>
          stores.audit.write(sampleAuditEvent(w * 1000 + index)),
        ),
      ),
    );
    for (const stores of writers) await stores.audit.close();
    const chains = await writers[0]?.verifyAudit();
    const ours = chains?.filter((chain) => chain.writer.startsWith("w-")) ?? [];
    expect(ours.map((chain) => [chain.writer, chain.ok, chain.records])).toEqual([
      ["w-a", true, 300],
      ["w-b", true, 300],
      ["w-c", true, 300],
    ]);
    expect(ours.every((chain) => chain.checkpoints > 0)).toBe(true);
    const proof = await writers[1]?.proveAudit("w-b", 123);
    expect(
      proof &&
        verifyAuditProof(proof, { checkpointKey: checkpointKey.publicKey.toString("base64url") }),
    ).toMatchObject({ ok: true, seq: 123 });
  });

  it("a second process is refused a chain a live one writes, and a reopened chain continues", async () => {
    const first = await open("w-lock");
    await first.audit.write(sampleAuditEvent(1));
    const refused = await open("w-lock").catch((error: unknown) => error);
    expect(isAgentGateError(refused) && refused.details?.check).toBe("lock");
    await first.audit.close();
    const again = await open("w-lock");
    await again.audit.write(sampleAuditEvent(2));
    expect(again.audit.size).toBe(2);
  });

  it("the witness cosigns each chain's checkpoints; the cosigned note is stored and anchors verify and proofs", async () => {
    const home = mkdtempSync(join(tmpdir(), "agentgate-pg-witness-"));
    try {
      const witness = Witness.open({ directory: home, writerKeys: [checkpointKey.publicKey] });
      const stores = await openPostgresStores({
        url: db.url,
        schema: db.schema,
        audit: {
          checkpointKey,
          writerId: "w-witness",
          witness,
          witnessKey: witness.verifierKey,
          checkpointEvery: 10,
        },
      });
      opened.push(stores);
      for (let index = 0; index < 25; index++) await stores.audit.write(sampleAuditEvent(index));
      await stores.audit.close();
      expect(stores.audit.anchor.cosignedSize).toBe(25);
      const chain = (await stores.verifyAudit({ witnessKey: witness.verifierKey })).find(
        (entry) => entry.writer === "w-witness",
      );
      expect(chain).toMatchObject({ ok: true, records: 25, anchoredSize: 25 });
      const proof = await stores.proveAudit("w-witness", 3);
      expect(verifyAuditProof(proof, { witnessKey: witness.verifierKey })).toMatchObject({
        ok: true,
        anchored: true,
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("an edited record is found by verify", async () => {
    const stores = await open("w-edit");
    for (let index = 0; index < 5; index++) await stores.audit.write(sampleAuditEvent(index));
    await stores.audit.close();
    await db.admin.query(
      `alter table ${db.schema}.audit_records disable trigger audit_records_append_only`,
    );
    await db.admin.query(
      `update ${db.schema}.audit_records set record = replace(record, 'crm_lookup', 'crm_delete') where writer = 'w-edit' and seq = 2`,
    );
    await db.admin.query(
      `alter table ${db.schema}.audit_records enable trigger audit_records_append_only`,
    );
    const chain = (await stores.verifyAudit()).find((entry) => entry.writer === "w-edit");
    expect(chain?.ok).toBe(false);
    expect(chain?.problems.join()).toMatch(/record 2: edited/);
  });
});

describe("Q129: the audit trail is append-only, for a least-privilege gate role too", () => {
  it("Q129: UPDATE, DELETE and TRUNCATE of audit rows fail for the owner (trigger) and the gate role (grants)", async () => {
    const stores = await open("w-priv");
    await stores.audit.write(sampleAuditEvent(1));
    await stores.audit.flush();
    for (const sql of [
      `update ${db.schema}.audit_records set record = 'x'`,
      `delete from ${db.schema}.audit_records`,
      `truncate ${db.schema}.audit_records`,
    ]) {
      await expect(db.admin.query(sql)).rejects.toThrow(/append-only/);
    }
    const role = `${db.schema}_gate`;
    await db.admin.query(`create role ${role} login password 'gate-password'`);
    try {
      await db.admin.query(`grant usage on schema ${db.schema} to ${role}`);
      await db.admin.query(`grant select, insert on all tables in schema ${db.schema} to ${role}`);
      await db.admin.query(`grant update (cosigned) on ${db.schema}.audit_checkpoints to ${role}`);
      await db.admin.query(
        `grant insert, update, delete on ${db.schema}.agents, ${db.schema}.replay, ${db.schema}.approvals to ${role}`,
      );
      await db.admin.query(`grant usage on all sequences in schema ${db.schema} to ${role}`);
      const url = new URL(db.url);
      url.username = role;
      url.password = "gate-password";
      const gate = await openPostgresStores({
        url: url.toString(),
        schema: db.schema,
        audit: { checkpointKey, writerId: "w-role" },
      });
      try {
        await gate.audit.write(sampleAuditEvent(7));
        await gate.audit.flush();
        await gate.revocations.revoke("token", "by-role");
        const asRole = new (await import("pg")).default.Client({
          connectionString: url.toString(),
        });
        await asRole.connect();
        try {
          await db.admin.query(
            `alter table ${db.schema}.audit_records disable trigger audit_records_append_only`,
          );
          for (const sql of [
            `update ${db.schema}.audit_records set record = 'x'`,
            `delete from ${db.schema}.audit_records`,
          ]) {
            await expect(asRole.query(sql)).rejects.toThrow(/permission denied/);
          }
        } finally {
          await db.admin.query(
            `alter table ${db.schema}.audit_records enable trigger audit_records_append_only`,
          );
          await asRole.end();
        }
      } finally {
        await gate.close();
      }
    } finally {
      await db.admin.query(`drop owned by ${role}`);
      await db.admin.query(`drop role ${role}`);
    }
  });
});

describe("Q128: the database goes away while running", () => {
  it("Q128: every call fails closed with its code, and everything recovers when it is back; no acknowledged event is lost", async () => {
    const stores = await open("w-outage");
    await stores.registry.put(defineAgent({ id: SUPPORT, owner: "alice" }));
    const acknowledged: string[] = [];
    let stop = false;
    const load = (async () => {
      for (let index = 0; !stop; index++) {
        const event = { ...sampleAuditEvent(index), id: `outage-${index}` };
        try {
          await stores.audit.write(event);
          acknowledged.push(event.id);
        } catch (error) {
          expect(isAgentGateError(error) && error.code).toBe("audit_unavailable");
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    })();
    await pollUntil(
      () => acknowledged.length,
      (count) => count > 20,
    );
    expect(await terminateBackends(db.admin, db.schema)).toBeGreaterThan(0);
    // Down: the listener is gone, so every read is refused with its own code.
    await pollUntil(
      () => stores.revocations.unavailable()?.code,
      (code) => code === "revocation_unavailable",
      { everyMs: 1 },
    ).catch(() => undefined);
    // Back: reconnects by itself.
    await pollUntil(
      () => stores.revocations.unavailable(),
      (error) => error === undefined,
    );
    await pollUntil(
      () => stores.registry.get(SUPPORT).catch(() => undefined),
      (record) => record?.owner === "alice",
    );
    const before = acknowledged.length;
    await pollUntil(
      () => acknowledged.length,
      (count) => count > before + 20,
    );
    stop = true;
    await load;
    await stores.audit.close();
    const stored = new Set((await stores.readAudit("w-outage")).map((event) => event.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    const chain = (await stores.verifyAudit()).find((entry) => entry.writer === "w-outage");
    expect(chain?.ok).toBe(true);
  });

  it("Q128: while the listener is down the registry and revocations refuse with their codes", async () => {
    const stores = await open();
    await terminateBackends(db.admin, db.schema);
    const codes = new Set<string>();
    for (let i = 0; i < 200 && codes.size < 2; i++) {
      const error = stores.revocations.unavailable();
      if (error) codes.add(error.code);
      const registry = await stores.registry.get(SUPPORT).catch((caught: unknown) => caught);
      if (registry instanceof AgentGateError) codes.add(registry.code);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect([...codes].sort()).toEqual(["registry_unavailable", "revocation_unavailable"]);
    expect(stores.revocations.isRevoked("agent", "anyone")).toBe(true);
    // Leave nothing reconnecting behind for the tests after this one.
    await pollUntil(
      () => stores.revocations.unavailable(),
      (error) => error === undefined,
    );
  });
});

describe("Q126/Q127: hostile values reach SQL only as parameters", () => {
  const quote = `x'); drop table agents; --"\\`;
  const big = "q".repeat(1024 * 1024);

  it("Q126: quotes and 1 MB strings in every field are stored and read back unchanged", async () => {
    const stores = await open("w-inject");
    const id = "spiffe://acme.example/agent/quoted";
    await stores.registry.put(defineAgent({ id, owner: quote, labels: { team: quote } }));
    expect((await stores.registry.get(id))?.owner).toBe(quote);
    // Records are bounded before they reach SQL: a 1 MB owner is a typed refusal.
    const huge = await Promise.resolve()
      .then(() => stores.registry.put(defineAgent({ id, owner: big })))
      .catch((error: unknown) => error);
    expect(isAgentGateError(huge) && huge.code).toBe("invalid_agent_record");
    await stores.revocations.revoke("token", quote, quote + big);
    expect(stores.revocations.isRevoked("token", quote)).toBe(true);
    expect((await stores.revocations.list()).find((entry) => entry.id === quote)?.reason).toBe(
      quote + big,
    );
    const long = await stores.revocations.revoke("token", big).catch((error: unknown) => error);
    expect(isAgentGateError(long) && long.details?.check).toBe("length");
    expect(await stores.replay.remember(quote, Date.now() / 1000 + 60)).toBe(true);
    await stores.audit.write({
      ...sampleAuditEvent(0),
      id: quote,
      arguments: { note: quote + big },
    });
    await stores.audit.flush();
    const events = await stores.readAudit("w-inject");
    expect(events.at(-1)?.id).toBe(quote);
    const tables = await db.admin.query(
      "select count(*)::int as n from information_schema.tables where table_schema = $1",
      [db.schema],
    );
    expect(tables.rows[0].n).toBeGreaterThanOrEqual(8);
  });

  it("Q127: a NUL is a typed refusal or encoded, never a crash", async () => {
    const stores = await open("w-nul");
    const refused = await stores.revocations
      .revoke("token", "a\u0000b")
      .catch((error: unknown) => error);
    expect(isAgentGateError(refused) && refused.details?.check).toBe("nul");
    const record = await Promise.resolve()
      .then(() => stores.registry.put(defineAgent({ id: SUPPORT, owner: "a\u0000b" })))
      .catch((error: unknown) => error);
    expect(isAgentGateError(record)).toBe(true);
    expect(await stores.replay.remember("a\u0000b", Date.now() / 1000 + 60)).toBe(false);
    // JSON escapes NUL: the audit event is stored and read back exactly.
    await stores.audit.write({
      ...sampleAuditEvent(0),
      id: "nul-event",
      arguments: { note: "a\u0000b" },
    });
    await stores.audit.flush();
    const stored = (await stores.readAudit("w-nul")).find((event) => event.id === "nul-event");
    expect(stored?.arguments).toEqual({ note: "a\u0000b" });
    expect(await stores.registry.remove("a\u0000b")).toBe(false);
  });
});
