import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CredentialProvider } from "@agentgate/core";
import { createGate, defaultCheckpointPath } from "@agentgate/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A directory whose log holds an allowed and a denied call of support, and ops revoked. */
async function withActivity(): Promise<string> {
  const dir = await initialised();
  folders.push(dirname(dir));
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
  expect((await cli(dir, "agent", "revoke", OPS, "--reason", "left the team")).code).toBe(0);
  return dir;
}

/** Edits the first decision record in place: the kind of change verify must catch. */
function tamper(log: string): void {
  const segment = join(
    log,
    readdirSync(log)
      .filter((name) => name.endsWith(".jsonl"))
      .sort()[0] ?? "",
  );
  const text = readFileSync(segment, "utf8");
  writeFileSync(segment, text.replace('"allowed":false', '"allowed":true'));
}

describe("agentgate audit report", () => {
  it("shows revoked agents", async () => {
    const dir = await withActivity();
    const report = await cli(dir, "audit", "report", "--json", "--idle-days", "10000");
    expect(report.code).toBe(0);
    const rows = JSON.parse(report.out) as Array<{
      agent: string;
      revoked: boolean;
      denials: number;
    }>;
    expect(rows.find((row) => row.agent === OPS)).toMatchObject({ revoked: true });
    expect(rows.find((row) => row.agent === SUPPORT)).toMatchObject({ revoked: false, denials: 1 });
    const table = (await cli(dir, "audit", "report")).out.split("\n");
    expect(table[0]).toMatch(/^agent\s+owner\s+supervision\s+revoked\s+calls/);
    expect(table.find((line) => line.startsWith(OPS))).toMatch(/supervised\s+true/);
  });

  it("verifies the log first: over a log that does not verify it prints a BROKEN banner, no figures, and exits 1", async () => {
    const dir = await withActivity();
    tamper(join(dir, "audit"));
    expect((await cli(dir, "audit", "verify")).code).toBe(1);
    for (const format of [[], ["--json"], ["--csv"]]) {
      const report = await cli(dir, "audit", "report", ...format);
      expect(report.code).toBe(1);
      expect(report.out).toBe("");
      expect(report.err).toMatch(/BROKEN AUDIT LOG: .* does not verify/);
    }
    const anyway = await cli(dir, "audit", "report", "--allow-broken");
    expect(anyway.code).toBe(1);
    expect(anyway.err).toMatch(/BROKEN AUDIT LOG.*cannot be trusted/s);
    expect(anyway.out).toMatch(/^agent\s+owner/);
  });

  it("--log reads a log elsewhere (verify needs no AgentGate directory); --checkpoint and --checkpoint-key pin the writer's checkpoint and key", async () => {
    const dir = await withActivity();
    const elsewhere = mkdtempSync(join(tmpdir(), "agentgate-audit-copy-"));
    folders.push(elsewhere);
    const copy = join(elsewhere, "evidence");
    cpSync(join(dir, "audit"), copy, { recursive: true });
    // The writer's checkpoint lives outside the log directory (SECURITY.md K77, K78): an auditor
    // is handed it and the writer's public key (`agentgate audit key`) with the copy.
    const checkpoint = join(elsewhere, "checkpoint.txt");
    cpSync(defaultCheckpointPath(join(dir, "audit")), checkpoint);
    const pinned = (await cli(dir, "audit", "key")).out.trim();
    const noDirectory = join(elsewhere, "no-such-dir");

    const verified = await cli(
      noDirectory,
      "audit",
      "verify",
      "--log",
      copy,
      "--checkpoint",
      checkpoint,
      "--checkpoint-key",
      pinned,
    );
    expect(verified.code, verified.out + verified.err).toBe(0);
    expect(verified.out).toMatch(
      /^ok: \d+ records verify against the checkpoint of \d+ signed by the writer/,
    );
    // Without the writer's checkpoint the copy cannot be told from a cut log (K77).
    expect((await cli(noDirectory, "audit", "verify", "--log", copy)).code).toBe(1);
    const denied = JSON.parse(
      (await cli(noDirectory, "audit", "query", "--log", copy, "--denied", "--json")).out,
    ) as unknown[];
    expect(denied).toHaveLength(1);

    const report = await cli(
      dir,
      "audit",
      "report",
      "--log",
      copy,
      "--checkpoint",
      checkpoint,
      "--checkpoint-key",
      pinned,
      "--json",
    );
    expect(report.code).toBe(0);
    tamper(copy);
    expect(
      (
        await cli(
          dir,
          "audit",
          "report",
          "--log",
          copy,
          "--checkpoint",
          checkpoint,
          "--checkpoint-key",
          pinned,
        )
      ).code,
    ).toBe(1);
    // The directory's own log is untouched and still verifies.
    expect((await cli(dir, "audit", "report")).code).toBe(0);
  });
});
