import { hash as digest } from "node:crypto";
import {
  appendFileSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CedarPolicyClient, DEFAULT_SCHEMA_PATH } from "@agentgate/cedar";
import { type AuditRecord, isAgentGateError } from "@agentgate/core";
import { readAuditLog } from "@agentgate/core/node";
import { describe, expect, it } from "vitest";
import { demoLog, QUICKSTART_POLICIES } from "../../test/demo-log.js";
import { tempDir } from "../../test/temp-dir.js";
import { cli, OPS, SUPPORT } from "../../test/workspace.js";
import { readVerifiedLog } from "../evidence/verified-log.js";
import type { ReplayedCall } from "./replay.js";
import { replayCalls } from "./replay.js";
import { suggestPolicies } from "./suggest.js";

interface ReplayJson {
  replayed: number;
  changed: number;
  allowToDeny: number;
  denyToAllow: number;
  skipped: number;
  changes: ReplayedCall[];
  calls?: ReplayedCall[];
}

async function records(log: string): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const record of readAuditLog(log)) all.push(record);
  return all;
}

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

describe("agentgate policy suggest", () => {
  it("writes permits that, replayed, allow exactly the agent's observed allowed calls and nothing else in the log", async () => {
    const demo = await demoLog();
    const decisions = (await records(demo.log)).filter((record) => record.type === "decision");
    for (const agent of [SUPPORT, OPS]) {
      const out = tempDir("agentgate-suggest-");
      const suggested = await cli(
        demo.dir,
        "policy",
        "suggest",
        "--from",
        demo.log,
        "--agent",
        agent,
        "--out",
        out,
        "--json",
      );
      expect(suggested.code, suggested.err).toBe(0);
      const file = join(out, `suggested-${agent.split("/").at(-1)}.cedar`);
      const text = readFileSync(file, "utf8");
      expect(text).toMatch(/^\/\/ Suggested by `agentgate policy suggest` for review/);
      expect(text).toContain(`verified audit log\n// ${demo.log}`);
      expect(text).toContain('context.time.timeZone == "Europe/Berlin"');
      // They validate against the project's schema (the quick start's, copied beside them).
      expect(existsSync(join(out, "schema.cedarschema"))).toBe(true);
      expect((await cli(demo.dir, "policy", "validate")).code).toBe(0);
      CedarPolicyClient.fromDirectory(out);

      const replay = await cli(
        demo.dir,
        "policy",
        "replay",
        "--policies",
        out,
        "--from",
        demo.log,
        "--json",
        "--all",
      );
      const result = JSON.parse(replay.out) as ReplayJson;
      const allowedNow = (result.calls ?? [])
        .filter((call) => call.replayed === "allow")
        .map((call) => call.seq);
      const observed = decisions
        .filter((record) => record.agent === agent && record.decision?.allowed === true)
        .map((record) => record.seq);
      expect(observed.length).toBeGreaterThan(1);
      expect(allowedNow.sort()).toEqual(observed.sort());
      // Every other agent's allowed call is what the suggestion alone would deny.
      expect(result.denyToAllow).toBe(0);
    }
    // The approval the observed writes went through stays required.
    const out = tempDir("agentgate-suggest-");
    await cli(demo.dir, "policy", "suggest", "--from", demo.log, "--agent", OPS, "--out", out);
    const ops = readFileSync(join(out, "suggested-ops.cedar"), "utf8");
    expect(ops).toMatch(
      /@obligation\("require-approval"\)\npermit \(\n {2}principal == Agent::"spiffe:\/\/acme\.example\/agent\/ops",\n {2}action == Action::"write",\n {2}resource == Tool::"crm_update"/,
    );
    expect(ops).toContain('context.resources.customer == "acme"');
    expect(ops).not.toContain("globex");
    await demo.close();
  });

  it("uses only allowed calls: support's permits name acme at 10:00 and 11:00, never globex or 20:00", async () => {
    const demo = await demoLog();
    const printed = await cli(
      demo.dir,
      "policy",
      "suggest",
      "--from",
      demo.log,
      "--agent",
      SUPPORT,
    );
    expect(printed.code).toBe(0);
    expect(printed.out).toContain('resource == Tool::"crm_lookup"');
    expect(printed.out).toContain(
      '(context.resources has customer && context.resources.customer == "acme" && [10, 11].contains(context.time.hour))',
    );
    expect(printed.out).not.toMatch(/globex|crm_update|script/);
    await demo.close();
  });

  it("N113: refuses a log that does not verify (audit_unverified, exit 1) and writes nothing", async () => {
    const demo = await demoLog();
    tamper(demo.log);
    const out = join(tempDir("agentgate-suggest-"), "out");
    const refused = await cli(
      demo.dir,
      "policy",
      "suggest",
      "--from",
      demo.log,
      "--agent",
      SUPPORT,
      "--out",
      out,
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/does not verify at record \d+: record \d+ was edited/);
    expect(existsSync(out)).toBe(false);
    const replay = await cli(
      demo.dir,
      "policy",
      "replay",
      "--policies",
      QUICKSTART_POLICIES,
      "--from",
      demo.log,
    );
    expect(replay.code).toBe(1);
    expect(replay.out).toBe("");
    await expect(readVerifiedLog(demo.log)).rejects.toSatisfy(
      (error: unknown) => isAgentGateError(error) && error.code === "audit_unverified",
    );
    await demo.close();
  });

  it("N114: records newer than the last signed checkpoint are not used, even when their chain links", async () => {
    const demo = await demoLog();
    // Anyone who can write the directory can append records whose hashes and links check: only
    // the signed checkpoint tells them apart.
    const segment = join(
      demo.log,
      readdirSync(demo.log)
        .filter((name) => name.endsWith(".jsonl"))
        .sort()
        .at(-1) ?? "",
    );
    const lines = readFileSync(segment, "utf8").split("\n").filter(Boolean);
    const last = JSON.parse(lines.at(-1) ?? "{}") as AuditRecord;
    const allowed = (await records(demo.log)).find(
      (record) => record.agent === SUPPORT && record.decision?.allowed === true,
    ) as AuditRecord;
    const { seq: _seq, prev: _prev, hash: _hash, ...event } = allowed;
    const forged = {
      seq: last.seq + 1,
      prev: last.hash,
      ...event,
      id: "forged",
      resource: { type: "tool", id: "crm_lookup", properties: { customer: "initech" } },
    };
    const body = JSON.stringify(forged);
    appendFileSync(
      segment,
      `${body.slice(0, -1)},"hash":"${digest("sha256", `\u0000${body}`, "hex")}"}\n`,
    );
    expect((await cli(demo.dir, "audit", "verify")).code).toBe(0);
    const printed = await cli(
      demo.dir,
      "policy",
      "suggest",
      "--from",
      demo.log,
      "--agent",
      SUPPORT,
    );
    expect(printed.code).toBe(0);
    expect(printed.out).not.toContain("initech");
    expect(printed.err).toContain(
      "1 record(s) newer than the last signed checkpoint were not used",
    );
    await demo.close();
  });

  it("N115: values from the log cannot break out of a Cedar string or a comment", async () => {
    const time = "2026-01-05T09:00:00.000Z";
    const hostile = 'acme" || true || "';
    const base = {
      v: 1 as const,
      type: "decision" as const,
      time,
      agent: SUPPORT,
      action: "read",
      tool: { name: "crm_lookup" },
      decision: { allowed: true, policies: ["p"], reason: "ok" },
      prev: "0".repeat(64),
      hash: "0".repeat(64),
    };
    const logged: AuditRecord[] = [
      {
        ...base,
        id: "a",
        seq: 0,
        resource: { type: "tool", id: "crm_lookup", properties: { customer: hostile } },
      },
      {
        ...base,
        id: "b",
        seq: 1,
        resource: {
          type: "tool",
          id: "crm_lookup",
          properties: { customer: "x\n};permit(principal,action,resource);//\u202e" },
        },
      },
    ];
    const suggestion = suggestPolicies(logged, {
      agent: SUPPORT,
      schema: readFileSync(DEFAULT_SCHEMA_PATH, "utf8"),
      schemaSource: "schema\n permit(principal,action,resource);",
      source: "/logs\npermit(principal, action, resource);",
      timeZone: "UTC",
    });
    expect(suggestion.policies).toBe(1);
    const client = new CedarPolicyClient({ policies: { "s.cedar": suggestion.text } });
    expect(client.policies).toHaveLength(1);
    const replay = await replayCalls(
      [
        ...logged,
        {
          ...logged[0],
          id: "c",
          seq: 2,
          decision: { allowed: false, policies: [], reason: "no", code: "access_denied" },
          resource: { type: "tool", id: "crm_lookup", properties: { customer: "globex" } },
        } as AuditRecord,
      ],
      client,
      { timeZone: "UTC", environment: "development" },
    );
    expect(replay.calls.map((call) => call.replayed)).toEqual(["allow", "allow", "deny"]);
  });
});

describe("agentgate policy replay", () => {
  it("the policies in force replay every decision unchanged (exit 0)", async () => {
    const demo = await demoLog();
    const same = await cli(
      demo.dir,
      "policy",
      "replay",
      "--policies",
      join(demo.dir, "policies"),
      "--from",
      demo.log,
      "--json",
    );
    expect(same.code, same.out).toBe(0);
    const result = JSON.parse(same.out) as ReplayJson;
    expect(result.changed).toBe(0);
    // Allowed, denied, approved, refused and delegated calls all replay; the outer ask_support too.
    expect(result.replayed).toBe(12);
    await demo.close();
  });

  it("finds every changed decision, both ways, on a crafted candidate set (exit 1)", async () => {
    const demo = await demoLog();
    const candidate = tempDir("agentgate-candidate-");
    cpSync(QUICKSTART_POLICIES, candidate, { recursive: true });
    // Refunds up to 1,000; support after hours; ops may no longer read.
    const operations = readFileSync(join(candidate, "operations.cedar"), "utf8");
    writeFileSync(
      join(candidate, "operations.cedar"),
      operations
        .replace("context.arguments.amount < 500", "context.arguments.amount < 1000")
        .replace(
          'action == Action::"read",\n  resource\n)\nwhen { principal.scopes.contains("crm:read") };',
          'action == Action::"delete",\n  resource\n)\nwhen { principal.scopes.contains("crm:read") };',
        ),
    );
    const support = readFileSync(join(candidate, "support-agent.cedar"), "utf8");
    writeFileSync(
      join(candidate, "support-agent.cedar"),
      support.replace("context.time.hour < 17", "context.time.hour < 21"),
    );

    const replay = await cli(
      demo.dir,
      "policy",
      "replay",
      "--policies",
      candidate,
      "--from",
      demo.log,
      "--json",
    );
    expect(replay.code).toBe(1);
    const result = JSON.parse(replay.out) as ReplayJson;
    const changes = result.changes.map(
      (call) => `${call.agent.split("/").at(-1)} ${call.tool} ${call.resource} ${call.change}`,
    );
    expect(changes.sort()).toEqual(
      [
        "ops crm_lookup tool:crm_lookup (customer=acme) allow→deny",
        "ops ask_support tool:ask_support allow→deny",
        "ops issue_refund tool:issue_refund (customer=acme) deny→allow",
        "support crm_lookup tool:crm_lookup (customer=acme) deny→allow",
      ].sort(),
    );
    expect(result).toMatchObject({ changed: 4, allowToDeny: 2, denyToAllow: 2 });
    const text = await cli(
      demo.dir,
      "policy",
      "replay",
      "--policies",
      candidate,
      "--from",
      demo.log,
    );
    expect(text.out).toMatch(
      /replayed 12 call\(s\): 4 would change \(2 allow→deny, 2 deny→allow\)/,
    );
    await demo.close();
  });
});
