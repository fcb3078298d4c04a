import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CedarPolicyClient } from "@agentgate/cedar";
import { JsonFileAgentRegistry } from "@agentgate/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARCHIVER, BILLING, gateRun, LEGACY, OPS, SUPPORT, tamper } from "../../test/gate-run.js";
import { tempDir } from "../../test/temp-dir.js";
import {
  activityFacets,
  activitySeries,
  agentInventory,
  filterActivity,
  groupDenials,
  leastPrivilegeFindings,
  readVerifiedLog,
  type VerifiedLog,
} from "./index.js";

let dir: string;
let log: VerifiedLog;
beforeAll(async () => {
  dir = await gateRun();
  log = await readVerifiedLog(join(dir, "audit"));
});
afterAll(() => rmSync(dirname(dir), { recursive: true, force: true }));

describe("readVerifiedLog", () => {
  it("verifies every chain and keeps every record of a good log", () => {
    expect(log.ok).toBe(true);
    expect(log.chains[0]?.writer).toBe("primary");
    expect(log.records.length).toBeGreaterThan(10);
    expect(log.chains[0]?.anchored).toBe(false);
    expect(log.chains[0]?.checkpoint?.signedBy).toBe("writer");
  });

  it("O121: cuts a tampered chain at its first bad record", async () => {
    const copy = join(tempDir("agentgate-insights-tampered-"), ".agentgate");
    cpSync(dir, copy, { recursive: true });
    tamper(copy);
    const broken = await readVerifiedLog(join(copy, "audit"));
    const firstDenial = log.records.find((record) => record.decision?.allowed === false);
    expect(broken.ok).toBe(false);
    expect(broken.chains[0]).toMatchObject({ ok: false, firstBadSeq: firstDenial?.seq });
    expect(broken.records.map((record) => record.seq)).toEqual(
      log.records
        .filter((record) => record.seq < (firstDenial?.seq ?? 0))
        .map((record) => record.seq),
    );
    rmSync(dirname(copy), { recursive: true, force: true });
  });
});

describe("agentInventory", () => {
  it("lists every registered agent with its activity", async () => {
    const agents = await new JsonFileAgentRegistry(join(dir, "agents.json")).list();
    const rows = agentInventory(log.records, agents, { revoked: (id) => id === LEGACY });
    const support = rows.find((row) => row.agent === SUPPORT);
    expect(support).toMatchObject({
      owner: "alice@acme.example",
      team: "customer-support",
      calls: 7,
      denials: 4,
      delegations: 1,
    });
    expect(rows.find((row) => row.agent === OPS)).toMatchObject({
      supervision: "supervised",
      calls: 3,
      denials: 1,
      delegations: 1,
    });
    expect(rows.find((row) => row.agent === ARCHIVER)).toMatchObject({ calls: 0, revoked: false });
    expect(rows.find((row) => row.agent === LEGACY)).toMatchObject({ calls: 0, revoked: true });
  });
});

describe("activity", () => {
  it("filters by agent, tool, outcome and principal", () => {
    const denied = filterActivity(log.records, { agent: SUPPORT, outcome: "denied" });
    expect(denied.map((record) => record.decision?.code)).toEqual([
      "access_denied",
      "access_denied",
      "access_denied",
      "access_denied",
    ]);
    const delegated = filterActivity(log.records, { principal: OPS, agent: SUPPORT });
    expect(delegated.map((record) => record.chain)).toContainEqual([OPS, SUPPORT]);
    expect(filterActivity(log.records, { tool: "issue_refund", outcome: "allowed" })).toHaveLength(
      3,
    );
    expect(activityFacets(log.records).tools).toEqual([
      "ask_support",
      "crm_lookup",
      "crm_update",
      "issue_refund",
    ]);
  });

  it("counts calls and denials per agent per hour, quiet hours included", () => {
    const series = activitySeries(log.records);
    expect(series.bucketSeconds).toBe(3600);
    expect(series.buckets).toHaveLength(25);
    const support = series.agents.find((entry) => entry.agent === SUPPORT);
    expect(support?.calls.reduce((a, b) => a + b)).toBe(7);
    expect(support?.denials[9]).toBe(1);
  });
});

describe("groupDenials", () => {
  it("groups by reason and by policy", () => {
    const summary = groupDenials(log.records);
    expect(summary.total).toBe(6);
    const byPolicy = Object.fromEntries(summary.byPolicy.map((group) => [group.key, group.count]));
    expect(byPolicy).toEqual({
      "support-reads-acme-only": 2,
      "support-is-read-only": 1,
      "support-in-business-hours": 1,
      "refunds-under-500": 1,
      "ops-writes-crm-with-approval": 1,
    });
  });
});

describe("leastPrivilegeFindings", () => {
  it("finds unused scopes and permissions, dormant agents, unknown owners, rubber-stamp approvals", async () => {
    const agents = await new JsonFileAgentRegistry(join(dir, "agents.json")).list();
    const policy = CedarPolicyClient.fromDirectory(join(dir, "policies"));
    const findings = await leastPrivilegeFindings(log.records, agents, {
      policy,
      settings: { timeZone: "Europe/Berlin", environment: "development" },
      now: Date.parse("2026-01-20T00:00:00Z"),
      dormantDays: 10,
      knownOwners: new Set(["alice@acme.example", "bob@acme.example", "erin@acme.example"]),
      revoked: (id) => id === LEGACY,
    });
    await policy.close();
    const summary = findings.map((finding) => [
      finding.kind,
      finding.agent,
      finding.scope ?? finding.tool ?? "",
    ]);
    expect(summary).toContainEqual(["unused_scope", SUPPORT, "crm:export"]);
    expect(summary).toContainEqual(["unused_permission", OPS, "crm_lookup"]);
    expect(summary).toContainEqual(["unknown_owner", ARCHIVER, ""]);
    expect(summary).toContainEqual(["approvals_always_granted", BILLING, ""]);
    expect(summary).toContainEqual(["dormant_agent", SUPPORT, ""]);
    expect(findings.filter((finding) => finding.agent === LEGACY)).toEqual([]);
    // One change for all unused scopes: the ones that stay.
    expect(findings.find((finding) => finding.scope === "crm:export")?.suggestion).toContain(
      "It needed none of its scopes",
    );
  });
});
