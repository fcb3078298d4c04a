import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARCHIVER, BILLING, gateRun, LEGACY, OPS, SUPPORT, tamper } from "../test/gate-run.js";
import { cli } from "../test/workspace.js";
import { startDashboard } from "./dashboard/dashboard-server.js";
import type { Finding } from "./insights/index.js";
import { openWorkspace } from "./workspace.js";

let dir: string;
beforeAll(async () => {
  dir = await gateRun();
});

describe("agentgate audit findings", () => {
  it("verifies the log, then lists every kind of finding with its suggested change", async () => {
    const owners = join(dirname(dir), "owners.json");
    writeFileSync(
      owners,
      JSON.stringify(["alice@acme.example", "bob@acme.example", "erin@acme.example"]),
    );
    const result = await cli(
      dir,
      "audit",
      "findings",
      "--json",
      "--owners",
      owners,
      "--dormant-days",
      "1",
    );
    expect(result.code).toBe(0);
    const findings = JSON.parse(result.out) as Finding[];
    const kinds = findings.map((finding) => [finding.kind, finding.agent]);
    expect(kinds).toContainEqual(["unused_scope", SUPPORT]);
    expect(kinds).toContainEqual(["unused_permission", OPS]);
    expect(kinds).toContainEqual(["dormant_agent", BILLING]);
    expect(kinds).toContainEqual(["unknown_owner", ARCHIVER]);
    expect(kinds).toContainEqual(["approvals_always_granted", BILLING]);
    expect(findings.every((finding) => finding.suggestion.length > 0)).toBe(true);
    // Revoked: nothing left to narrow.
    expect(findings.filter((finding) => finding.agent === LEGACY)).toEqual([]);
    const text = await cli(dir, "audit", "findings", "--owners", owners);
    expect(text.out).toContain(
      "crm:export is granted but no allowed call in the window needed it.",
    );
    expect(text.out).toContain("It needed none of its scopes: remove them");
  });

  it("O121: refuses a log that does not verify (exit 1), unless --allow-broken", async () => {
    const { cpSync } = await import("node:fs");
    const copy = join(dirname(dir), "tampered", ".agentgate");
    cpSync(dir, copy, { recursive: true });
    tamper(copy);
    const refused = await cli(copy, "audit", "findings", "--json");
    expect(refused.code).toBe(1);
    expect(refused.out).toBe("");
    expect(refused.err).toContain("BROKEN AUDIT LOG");
    const shown = await cli(copy, "audit", "findings", "--json", "--allow-broken");
    expect(shown.code).toBe(1);
    expect(JSON.parse(shown.out)).toBeInstanceOf(Array);
  });
});

describe("agentgate dashboard", () => {
  it("O120: listens on a loopback address only", async () => {
    const workspace = await openWorkspace(dir);
    await expect(startDashboard({ workspace, host: "0.0.0.0", port: 0 })).rejects.toMatchObject({
      code: "invalid_configuration",
    });
    const result = await cli(dir, "dashboard", "--host", "0.0.0.0", "--port", "0");
    expect(result.code).toBe(3);
    expect(result.err).toContain("loopback address only");
  });

  it("serves on 127.0.0.1 with a one-time login URL that opens a session", async () => {
    const dashboard = await startDashboard({ workspace: await openWorkspace(dir), port: 0 });
    try {
      expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(dashboard.policiesAsked).toBe(true);
      const login = await fetch(dashboard.loginUrl(), { redirect: "manual" });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const summary = await fetch(`${dashboard.url}/api/summary`, { headers: { cookie } });
      expect(summary.status).toBe(200);
      expect(((await summary.json()) as { agents: number }).agents).toBe(5);
      const page = await fetch(`${dashboard.url}/`, { headers: { cookie } });
      expect(await page.text()).toContain('<div id="app">');
    } finally {
      await dashboard.close();
    }
  });
});

afterAll(async () => {
  const { rmSync } = await import("node:fs");
  rmSync(dirname(dir), { recursive: true, force: true });
});
