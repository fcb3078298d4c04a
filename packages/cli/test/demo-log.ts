import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CallbackApprovalProvider, CredentialProvider, type ToolDescriptor } from "@agentgate/core";
import { createGate } from "@agentgate/core/node";
import { startWitnessServer } from "../src/witness-server.js";
import { tempDir } from "./temp-dir.js";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "./workspace.js";

/** The quick start's policies and schema (examples/quickstart/policies). */
export const QUICKSTART_POLICIES = fileURLToPath(
  new URL("../../../examples/quickstart/policies", import.meta.url),
);

/** What a tool argument may carry into the log: markup that must stay text in an evidence pack. */
export const SCRIPT = "<script>alert(document.domain)</script>";

const lookup: ToolDescriptor = {
  name: "crm_lookup",
  action: "read",
  resources: { customer: "customerId" },
};
const update: ToolDescriptor = {
  name: "crm_update",
  action: "write",
  resources: { customer: "customerId" },
};
const refund: ToolDescriptor = {
  name: "issue_refund",
  action: "write",
  resources: { customer: "customerId" },
};

/** Monday 5 January 2026, 10:00 in Berlin. */
const MONDAY_10 = Date.parse("2026-01-05T09:00:00Z");
const HOUR = 3_600_000;

/** A directory like the quick start's, and its log, made by a real gate. */
export interface DemoLog {
  readonly dir: string;
  readonly log: string;
  /** The witness's verifier key, when the log is anchored. */
  readonly witnessKey?: string;
  readonly close: () => Promise<void>;
}

/**
 * The quick start's scenario through a real gate (real keys, Cedar, approvals and file log) into
 * an AgentGate directory: allowed, denied, approved, refused and delegated calls of the support
 * and ops agents at several hours, then ops revoked and support updated with the CLI. With
 * `anchored`, a witness on 127.0.0.1 cosigns the log's checkpoints.
 */
export async function demoLog(options: { anchored?: boolean } = {}): Promise<DemoLog> {
  const dir = await initialised();
  rmSync(join(dir, "policies"), { recursive: true, force: true });
  cpSync(QUICKSTART_POLICIES, join(dir, "policies"), { recursive: true });
  let witness: Awaited<ReturnType<typeof startWitnessServer>> | undefined;
  if (options.anchored === true) {
    const writerKey = (await cli(dir, "audit", "key")).out.trim();
    witness = await startWitnessServer({
      directory: tempDir("agentgate-witness-"),
      writerKeys: [writerKey],
      port: 0,
    });
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as object;
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        ...config,
        audit: { witness: { url: witness.url, key: witness.verifierKey } },
      }),
    );
  }
  let now = MONDAY_10;
  const gate = await createGate({
    directory: dir,
    watchPolicies: false,
    clock: { now: () => now },
    approvals: new CallbackApprovalProvider((request) =>
      (request.arguments as { note?: unknown }).note === "vip"
        ? { approved: true, approver: "dana@acme.example" }
        : { approved: false, approver: "dana@acme.example", reason: "bulk changes need a ticket" },
    ),
  });
  const authority = gate.authority;
  if (authority === undefined) throw new Error("no authority");
  const support = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
  const ops = CredentialProvider.forAgent(authority, OPS, { audience: AUDIENCE });
  const call = (
    tool: ToolDescriptor,
    args: Record<string, unknown>,
    credential: CredentialProvider,
  ) =>
    gate
      .invoke({ tool, arguments: args, credential }, async () => "ok")
      .then(
        () => true,
        () => false,
      );
  await call(lookup, { customerId: "acme" }, support); // allowed, 10:00
  await call(lookup, { customerId: "globex" }, support); // denied: acme only
  await call(lookup, { customerId: SCRIPT }, support); // denied, markup in the log
  await call(update, { customerId: "acme", note: "hi" }, support); // denied: read only
  now += HOUR;
  await call(lookup, { customerId: "acme" }, support); // allowed, 11:00
  await call(lookup, { customerId: "acme" }, ops); // allowed
  await call(update, { customerId: "acme", note: "vip" }, ops); // approved, allowed
  await call(update, { customerId: "globex", note: "bulk" }, ops); // approval refused
  await call(refund, { customerId: "acme", amount: 900 }, ops); // forbidden: 500 or more
  // ops hands a lookup to support under a delegated token (chain ops → support).
  await gate.invoke(
    { tool: { name: "ask_support", action: "read" }, arguments: {}, credential: ops },
    async () => {
      const delegated = await gate.delegate({
        to: SUPPORT,
        audience: AUDIENCE,
        scope: ["crm:read"],
      });
      return gate.invoke(
        { tool: lookup, arguments: { customerId: "acme" }, credential: delegated.token },
        async () => "ok",
      );
    },
  );
  now = MONDAY_10 + 10 * HOUR;
  await call(lookup, { customerId: "acme" }, support); // denied: 20:00, after hours
  await gate.close();
  await cli(dir, "agent", "update", SUPPORT, "--team", "support");
  await cli(dir, "agent", "revoke", OPS, "--reason", "left the team");
  return {
    dir,
    log: join(dir, "audit"),
    ...(witness === undefined ? {} : { witnessKey: witness.verifierKey }),
    close: async () => {
      await witness?.close();
    },
  };
}
