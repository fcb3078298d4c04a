import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAgentRecord } from "@agentgate/core";
import { JsonFileAgentRegistry } from "@agentgate/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

// In process (runCli is the bin's whole body): no spawned process, nothing a busy machine slows
// past a bound.
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
async function workspace(): Promise<string> {
  const dir = await initialised();
  folders.push(dirname(dir));
  return dir;
}
function emptyFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), "agentgate-cli-exit-"));
  folders.push(folder);
  return join(folder, ".agentgate");
}

describe("agentgate exit codes: 0 done, 1 check failed, 2 bad input naming the flag, 3 configuration", () => {
  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(
      readFileSync(new URL("../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const printed = await cli(emptyFolder(), "--version");
    expect(printed).toMatchObject({ code: 0, out: version });
  });

  it("init refuses an unknown time zone, an audience that is not a URL and a bad trust domain, and creates nothing", async () => {
    const dir = emptyFolder();
    const init = (...flags: string[]) =>
      cli(dir, "init", "--trust-domain", "acme.example", "--audience", AUDIENCE, ...flags);
    const zone = await init("--time-zone", "Mars/Base");
    expect(zone.code).toBe(2);
    expect(zone.err).toMatch(/--time-zone.*Mars\/Base.*IANA time zone/s);
    const audience = await cli(
      dir,
      "init",
      "--trust-domain",
      "acme.example",
      "--audience",
      "notaurl",
    );
    expect(audience.code).toBe(2);
    expect(audience.err).toMatch(/--audience.*notaurl.*not a URL/s);
    const domain = await cli(dir, "init", "--trust-domain", "Acme Corp", "--audience", AUDIENCE);
    expect(domain.code).toBe(2);
    expect(domain.err).toMatch(/--trust-domain/);
    expect(existsSync(dir)).toBe(false);
    expect((await init("--time-zone", "Europe/Berlin")).code).toBe(0);
  });

  it("agent ids: another trust domain, a bad id and an unknown agent are bad input (2); revoking an unknown agent revokes nothing", async () => {
    const dir = await workspace();
    const other = await cli(dir, "agent", "add", "spiffe://other.example/agent/x", "--owner", "o");
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/trust domain other\.example.*acme\.example/);
    expect((await cli(dir, "agent", "add", "spiffe://ACME/agent/x", "--owner", "o")).code).toBe(2);
    expect((await cli(dir, "agent", "add", SUPPORT, "--owner", "o")).code).toBe(2);
    const expires = await cli(
      dir,
      "agent",
      "add",
      "spiffe://acme.example/agent/new",
      "--owner",
      "o",
      "--expires",
      "tomorrow",
    );
    expect(expires.code).toBe(2);
    expect(expires.err).toMatch(/--expires/);
    const past = await cli(
      dir,
      "agent",
      "add",
      "spiffe://acme.example/agent/new",
      "--owner",
      "o",
      "--expires",
      "2000-01-01",
    );
    expect(past.code).toBe(2);
    expect(past.err).toMatch(/--expires 2000-01-01T00:00:00.000Z: already past/);

    const nobody = "spiffe://acme.example/agent/nobody";
    const revoke = await cli(dir, "agent", "revoke", nobody);
    expect(revoke.code).toBe(2);
    expect(revoke.err).toMatch(/No agent .*nobody is registered/);
    const revocations = join(dir, "revocations.jsonl");
    expect(existsSync(revocations) ? readFileSync(revocations, "utf8") : "").not.toContain(nobody);
    for (const command of ["suspend", "resume", "show"]) {
      expect((await cli(dir, "agent", command, nobody)).code).toBe(2);
    }
  });

  it("dates and numbers are checked when given: --from yesterday, --to, --at, --ttl, --idle-days, -n", async () => {
    const dir = await workspace();
    const cases: Array<[string[], RegExp]> = [
      [["audit", "query", "--from", "yesterday"], /--from/],
      [["audit", "export", "--to", "2026-13-45"], /--to/],
      [["audit", "report", "--from", "last week"], /--from/],
      [["audit", "report", "--idle-days", "many"], /--idle-days/],
      [["audit", "tail", "-n", "0"], /--lines/],
      [["token", "issue", SUPPORT, "--ttl", "soon"], /--ttl/],
      [["token", "issue", SUPPORT, "--audience", "tools"], /--audience/],
      [["policy", "check", "--agent", SUPPORT, "--tool", "t", "--at", "tomorrow"], /--at/],
    ];
    for (const [args, flag] of cases) {
      const result = await cli(dir, ...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.err).toMatch(flag);
    }
    // What the README shows is accepted: a date, or an instant with its offset.
    expect((await cli(dir, "audit", "query", "--from", "2026-01-01")).code).toBe(0);
    expect((await cli(dir, "audit", "query", "--to", "2026-01-05T09:00:00+01:00")).code).toBe(0);
  });

  it("policy check --agent support is 'not an agent id' (2), not a DENY; so is a case file's agent", async () => {
    const dir = await workspace();
    const check = await cli(dir, "policy", "check", "--agent", "support", "--tool", "crm_lookup");
    expect(check.code).toBe(2);
    expect(check.out).toBe("");
    expect(check.err).toMatch(/--agent support: not an agent id/);
    const cases = join(dir, "cases.json");
    writeFileSync(
      cases,
      JSON.stringify([{ name: "short id", agent: "support", tool: "t", expect: "deny" }]),
    );
    const tested = await cli(dir, "policy", "test", cases);
    expect(tested.code).toBe(2);
    expect(tested.err).toMatch(/case 0 \(short id\): agent support: not an agent id/);
  });

  it("no directory is configuration (3); a --log that is not there is bad input (2), never 'ok: 0 records'", async () => {
    const missing = emptyFolder();
    expect((await cli(missing, "agent", "list")).code).toBe(3);
    for (const command of ["verify", "query", "tail", "export", "report"]) {
      const result = await cli(missing, "audit", command);
      expect({ command, code: result.code, out: result.out }).toEqual({
        command,
        code: 3,
        out: "",
      });
      if (command === "report") continue; // a report needs the directory's registry
      const log = await cli(missing, "audit", command, "--log", join(missing, "audit"));
      expect({ command, code: log.code }).toEqual({ command, code: 2 });
      expect(log.err).toMatch(/--log .*: no audit log there/);
    }
    const dir = await workspace();
    const report = await cli(dir, "audit", "report", "--log", join(missing, "audit"));
    expect(report.code).toBe(2);
  });
});

describe("agent suspend and resume", () => {
  it("resume restores the state before suspension: a supervised agent stays supervised", async () => {
    const dir = await workspace();
    const supervision = async (id: string) =>
      (JSON.parse((await cli(dir, "agent", "show", id, "--json")).out) as { supervision: string })
        .supervision;
    expect(await supervision(OPS)).toBe("supervised");
    expect((await cli(dir, "agent", "suspend", OPS)).out).toBe(
      `${OPS} is suspended (was supervised).`,
    );
    expect(await supervision(OPS)).toBe("suspended");
    expect((await cli(dir, "agent", "resume", OPS)).out).toBe(`${OPS} is supervised.`);
    expect(await supervision(OPS)).toBe("supervised");
    // An autonomous agent comes back autonomous.
    await cli(dir, "agent", "suspend", SUPPORT);
    await cli(dir, "agent", "resume", SUPPORT);
    expect(await supervision(SUPPORT)).toBe("autonomous");
    // Resuming an agent that is not suspended changes nothing and says so.
    const notSuspended = await cli(dir, "agent", "resume", OPS);
    expect(notSuspended.code).toBe(2);
    expect(notSuspended.err).toMatch(/not suspended \(it is supervised\)/);
  });

  it("an agent suspended before the state was recorded resumes supervised, unless --supervision says otherwise", async () => {
    const dir = await workspace();
    const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
    const record = await registry.get(SUPPORT);
    if (record === undefined) throw new Error("support is registered");
    // As written by an older agentgate: suspended, no suspendedFrom.
    await registry.put(parseAgentRecord({ ...record, supervision: "suspended" }));
    const resumed = await cli(dir, "agent", "resume", SUPPORT);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/is supervised \(its state before suspension was not recorded/);
    await cli(dir, "agent", "suspend", SUPPORT);
    expect((await cli(dir, "agent", "resume", SUPPORT, "--supervision", "autonomous")).out).toBe(
      `${SUPPORT} is autonomous.`,
    );
  });
});
