import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Output } from "../src/output.js";
import { runCli } from "../src/program.js";
import { tempDir } from "./temp-dir.js";

export const SUPPORT = "spiffe://acme.example/agent/support";
export const OPS = "spiffe://acme.example/agent/ops";
export const AUDIENCE = "https://tools.acme.example";

export const SEED_POLICY = `@id("support-reads-acme")
@reason("Only customer acme, in business hours.")
permit (principal == Agent::"${SUPPORT}", action == Action::"read", resource == Tool::"crm_lookup")
when { context.resources has customer && context.resources.customer == "acme" && context.time.weekday <= 5 && context.time.hour >= 9 && context.time.hour < 17 };
`;

/** Runs the CLI in process and captures what it prints. */
export async function cli(
  dir: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    color: false,
  };
  const code = await runCli(["--dir", dir, ...args], output);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A fresh directory with a trust domain, two agents and the seed policy. */
export async function initialised(): Promise<string> {
  const dir = join(tempDir("agentgate-cli-"), ".agentgate");
  await cli(
    dir,
    "init",
    "--trust-domain",
    "acme.example",
    "--audience",
    AUDIENCE,
    "--time-zone",
    "Europe/Berlin",
  );
  await cli(dir, "agent", "add", SUPPORT, "--owner", "alice@acme.example", "--scope", "crm:read");
  await cli(
    dir,
    "agent",
    "add",
    OPS,
    "--owner",
    "bob@acme.example",
    "--scope",
    "crm:read",
    "crm:write",
    "--supervision",
    "supervised",
  );
  writeFileSync(join(dir, "policies", "policies.cedar"), SEED_POLICY);
  return dir;
}
