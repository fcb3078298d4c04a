import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CredentialProvider } from "@agentgate/core";
import { createGate } from "@agentgate/core/node";
import { describe, expect, it } from "vitest";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

describe("the agentgate CLI", () => {
  it("as a real process: init, agent add, token issue, token verify, agent revoke, verify fails with exit 1", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "agentgate-cli-bin-")), ".agentgate");
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, "--dir", dir, ...args], { encoding: "utf8" });
    expect(run("init", "--trust-domain", "acme.example", "--audience", AUDIENCE).status).toBe(0);
    expect(
      run("agent", "add", SUPPORT, "--owner", "alice@acme.example", "--scope", "crm:read").status,
    ).toBe(0);
    const token = execFileSync(process.execPath, [BIN, "--dir", dir, "token", "issue", SUPPORT], {
      encoding: "utf8",
    }).trim();
    expect(token).toMatch(/^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    const ok = run("token", "verify", token, "--json");
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      valid: true,
      agent: SUPPORT,
      scopes: ["crm:read"],
    });
    expect(run("agent", "revoke", SUPPORT, "--reason", "test").status).toBe(0);
    const revoked = run("token", "verify", token, "--json");
    expect(revoked.status).toBe(1);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ valid: false, code: "agent_revoked" });
    // The revocation and the directory's first key are in the audit log.
    const trail = run("audit", "query", "--json");
    const types = (JSON.parse(trail.stdout) as Array<{ type: string; agent?: string }>).map(
      (event) => `${event.type}${event.agent ? ` ${event.agent}` : ""}`,
    );
    expect(types).toContain(`revocation ${SUPPORT}`);
    expect(run("audit", "verify").status).toBe(0);
    expect(run("agent", "add", "spiffe://ACME/agent/x", "--owner", "o").status).toBe(1);
    expect(run("agent", "frobnicate").status).toBe(2);
    expect(
      spawnSync(process.execPath, [BIN, "--dir", join(dir, "missing"), "agent", "list"], {
        encoding: "utf8",
      }).status,
    ).toBe(3);
    for (const command of [
      ["--help"],
      ["agent", "--help"],
      ["token", "issue", "--help"],
      ["audit", "report", "--help"],
    ]) {
      expect(run(...command).status).toBe(0);
    }
  }, 180_000);

  it("H57/I69: no command but `token issue` prints a token, and none prints key material", async () => {
    const dir = await initialised();
    const { out: token } = await cli(dir, "token", "issue", SUPPORT);
    const outputs = [
      await cli(dir, "agent", "list", "--json"),
      await cli(dir, "agent", "show", SUPPORT),
      await cli(dir, "keys", "list", "--json"),
      await cli(dir, "token", "verify", token, "--json"),
      await cli(dir, "token", "inspect", token),
    ];
    for (const { out, err } of outputs) {
      expect(`${out}${err}`).not.toContain(token.split(".")[2]);
      expect(`${out}${err}`).not.toMatch(/"d"\s*:/);
    }
  });

  it("policy validate, check and test", async () => {
    const dir = await initialised();
    expect((await cli(dir, "policy", "validate")).out).toBe("1 policies valid.");
    const readAt = (customer: string) =>
      cli(
        dir,
        "policy",
        "check",
        "--agent",
        SUPPORT,
        "--tool",
        "crm_lookup",
        "--action",
        "read",
        "--resource",
        `customer=${customer}`,
        "--at",
        "2026-01-05T09:00:00Z",
      );
    const allowed = await readAt("acme");
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/^ALLOW: permitted by support-reads-acme/);
    const denied = await readAt("globex");
    expect(denied.code).toBe(1);
    const badArgs = await cli(
      dir,
      "policy",
      "check",
      "--agent",
      SUPPORT,
      "--tool",
      "t",
      "--args",
      "{oops",
    );
    expect(badArgs.code).toBe(2);
    expect(badArgs.err).toMatch(/--args is not JSON/);
    const badAt = await cli(
      dir,
      "policy",
      "check",
      "--agent",
      SUPPORT,
      "--tool",
      "t",
      "--at",
      "tomorrow",
    );
    expect(badAt.code).toBe(2);
    const badCases = join(dir, "bad-cases.json");
    writeFileSync(
      badCases,
      JSON.stringify([{ name: "x", agent: SUPPORT, tool: "t", expect: "maybe" }]),
    );
    const badFile = await cli(dir, "policy", "test", badCases);
    expect(badFile.code).toBe(2);
    expect(badFile.err).toMatch(/0\.expect/);
    const cases = join(dir, "cases.json");
    writeFileSync(
      cases,
      JSON.stringify([
        {
          name: "acme in hours",
          agent: SUPPORT,
          tool: "crm_lookup",
          action: "read",
          resources: { customer: "acme" },
          at: "2026-01-05T09:00:00Z",
          expect: "allow",
        },
        {
          name: "acme at night",
          agent: SUPPORT,
          tool: "crm_lookup",
          action: "read",
          resources: { customer: "acme" },
          at: "2026-01-05T22:00:00Z",
          expect: "deny",
        },
        {
          name: "wrong expectation",
          agent: SUPPORT,
          tool: "crm_lookup",
          action: "write",
          resources: { customer: "acme" },
          at: "2026-01-05T09:00:00Z",
          expect: "allow",
        },
      ]),
    );
    const tested = await cli(dir, "policy", "test", cases);
    expect(tested.code).toBe(1);
    expect(tested.out).toMatch(/policy tests: 2 passed, 1 failed/);
    writeFileSync(
      join(dir, "policies", "broken.cedar"),
      "permit (principal, action, resource) when { context.nope };",
    );
    const invalid = await cli(dir, "policy", "validate");
    expect(invalid.code).toBe(3);
    expect(invalid.err).toMatch(/broken\.cedar:1/);
  });

  it("audit verify, query, export and report over a real gate's log", async () => {
    const dir = await initialised();
    const gate = await createGate({
      directory: dir,
      watchPolicies: false,
      clock: { now: () => Date.parse("2026-01-05T09:00:00Z") },
    });
    const authority = gate.authority;
    if (authority === undefined) throw new Error("no authority");
    const support = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
    const tool = {
      name: "crm_lookup",
      action: "read",
      resources: { customer: "customerId" },
    } as const;
    await gate.invoke(
      { tool, arguments: { customerId: "acme" }, credential: support },
      async () => "ok",
    );
    await gate
      .invoke({ tool, arguments: { customerId: "globex" }, credential: support }, async () => "ok")
      .catch(() => undefined);
    await gate.close();

    expect((await cli(dir, "audit", "verify")).out).toMatch(/^ok: 3 records verify/);
    const denied = JSON.parse((await cli(dir, "audit", "query", "--denied", "--json")).out);
    expect(denied).toHaveLength(1);
    expect((await cli(dir, "audit", "export", "--format", "csv")).out.split("\n")[0]).toBe(
      "seq,time,type,agent,tool,allowed,code,chain",
    );
    const report = JSON.parse(
      (await cli(dir, "audit", "report", "--json", "--idle-days", "10000")).out,
    ) as Array<{
      agent: string;
      calls: number;
      denials: number;
      scopesNeverPresented: string[];
      findings: string[];
    }>;
    expect(report.find((row) => row.agent === SUPPORT)).toMatchObject({
      calls: 2,
      denials: 1,
      scopesNeverPresented: [],
    });
    const ops = report.find((row) => row.agent === OPS);
    expect(ops).toMatchObject({ calls: 0, scopesNeverPresented: ["crm:read", "crm:write"] });
    expect(ops?.findings[0]).toMatch(/least privilege/);
    expect((await cli(dir, "audit", "report", "--csv")).out.split("\n")[0]).toBe(
      "agent,owner,supervision,calls,denials,tools,scopesNeverPresented,findings",
    );
  });
});
