import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ApprovalRequest,
  CallbackApprovalProvider,
  CredentialProvider,
} from "@agentgate/core";
import { createGate } from "@agentgate/core/node";
import { tempDir } from "./temp-dir.js";
import { AUDIENCE, cli, OPS, SUPPORT } from "./workspace.js";

export { OPS, SUPPORT } from "./workspace.js";
export const BILLING = "spiffe://acme.example/agent/billing";
export const ARCHIVER = "spiffe://acme.example/agent/archiver";
export const LEGACY = "spiffe://acme.example/agent/legacy";
/** A tool argument an attacker controls: rendered, it must stay text (SECURITY.md, dashboard XSS). */
export const XSS_ARGUMENT = `<script>window.__agentgateXss=1</script><img src=x onerror="window.__agentgateXss=2">`;

/** Monday 5 January 2026, 10:00 in Berlin. */
const MONDAY_10 = Date.parse("2026-01-05T09:00:00Z");
const HOUR = 3_600_000;

/** The demo's policies (examples/quickstart/policies), and one for the billing agent. */
const DEMO_POLICIES = fileURLToPath(
  new URL("../../../examples/quickstart/policies", import.meta.url),
);
const BILLING_POLICY = `@id("billing-refunds-with-approval")
@obligation("require-approval")
permit (
  principal == Agent::"${BILLING}",
  action == Action::"write",
  resource == Tool::"issue_refund"
)
when { principal.scopes.contains("billing:refund") };
`;

/**
 * A directory whose audit log a real gate wrote running the quick start's flows: the support
 * agent's allowed and denied reads (customer, write, business hours), the supervised ops agent's
 * approved and refused writes, ops delegating a read to support (chain ops → support), a billing
 * agent whose every refund was approved, an archiver with an outside owner that never called,
 * a legacy agent revoked at the end, and a call whose argument carries a `<script>`.
 */
export async function gateRun(): Promise<string> {
  const dir = join(tempDir("agentgate-dashboard-"), ".agentgate");
  await cli(
    dir,
    ...["init", "--trust-domain", "acme.example", "--audience", AUDIENCE],
    ...["--time-zone", "Europe/Berlin"],
  );
  const add = (id: string, ...args: string[]) => cli(dir, "agent", "add", id, ...args);
  await add(
    SUPPORT,
    "--owner",
    "alice@acme.example",
    "--team",
    "customer-support",
    "--purpose",
    "Answers customer questions",
    "--scope",
    "crm:read",
    "crm:export",
  );
  await add(
    OPS,
    "--owner",
    "bob@acme.example",
    "--team",
    "operations",
    "--supervision",
    "supervised",
    "--scope",
    "crm:read",
    "crm:write",
  );
  await add(
    BILLING,
    "--owner",
    "erin@acme.example",
    "--team",
    "finance",
    "--supervision",
    "supervised",
    "--scope",
    "billing:refund",
  );
  await add(
    ARCHIVER,
    "--owner",
    "carol@contractor.example",
    "--purpose",
    "Archives old tickets",
    "--scope",
    "crm:read",
  );
  await add(
    LEGACY,
    "--owner",
    "bob@acme.example",
    "--purpose",
    "Replaced by ops",
    "--scope",
    "crm:read",
  );
  for (const file of readdirSync(DEMO_POLICIES))
    if (file.endsWith(".cedar"))
      copyFileSync(join(DEMO_POLICIES, file), join(dir, "policies", file));
  writeFileSync(join(dir, "policies", "policies.cedar"), BILLING_POLICY);

  let now = MONDAY_10;
  const approvals = new CallbackApprovalProvider((request: ApprovalRequest) => {
    const note = String((request.arguments as { note?: unknown }).note ?? "");
    return note === "close all"
      ? { approved: false, approver: "dana@acme.example", reason: "bulk changes need a ticket" }
      : { approved: true, approver: "dana@acme.example" };
  });
  const gate = await createGate({
    directory: dir,
    watchPolicies: false,
    clock: { now: () => now },
    approvals,
  });
  const authority = gate.authority;
  if (authority === undefined) throw new Error("the gate has no authority");
  const as = (agent: string, scope?: string[]) =>
    CredentialProvider.forAgent(authority, agent, {
      audience: AUDIENCE,
      ...(scope ? { scope } : {}),
    });
  const lookup = {
    name: "crm_lookup",
    action: "read",
    resources: { customer: "customerId" },
  } as const;
  const update = {
    name: "crm_update",
    action: "write",
    resources: { customer: "customerId" },
  } as const;
  const refund = { name: "issue_refund", action: "write" } as const;
  const call = (
    tool: typeof lookup | typeof update | typeof refund,
    args: Record<string, unknown>,
    credential: CredentialProvider | string,
  ) => gate.invoke({ tool, arguments: args, credential }, async () => "done").catch(() => "denied");

  const support = as(SUPPORT);
  const ops = as(OPS);
  const billing = as(BILLING);
  await call(lookup, { customerId: "acme" }, support);
  await call(update, { customerId: "acme", note: "hi" }, support);
  await call(lookup, { customerId: "globex" }, support);
  await call(lookup, { customerId: XSS_ARGUMENT }, support);
  now += HOUR;
  await call(update, { customerId: "acme", note: "vip" }, ops);
  await call(update, { customerId: "acme", note: "close all" }, ops);
  await call(refund, { amount: 120 }, billing);
  now += HOUR;
  // ops hands a read to support under a delegated, attenuated token: the chain ops → support.
  await gate
    .invoke(
      {
        tool: { name: "ask_support", action: "read" },
        arguments: { customerId: "acme" },
        credential: ops,
      },
      async () => {
        const delegated = await gate.delegate({
          to: SUPPORT,
          audience: AUDIENCE,
          scope: ["crm:read"],
        });
        return call(lookup, { customerId: "acme" }, delegated.token);
      },
    )
    .catch(() => "denied");
  await call(refund, { amount: 80 }, billing);
  now = MONDAY_10 + 9 * HOUR; // 19:00 in Berlin: outside business hours
  await call(lookup, { customerId: "acme" }, support);
  now = MONDAY_10 + 24 * HOUR; // Tuesday
  await call(lookup, { customerId: "acme" }, support);
  await call(refund, { amount: 40 }, billing);
  await call(refund, { amount: 900 }, billing);
  await gate.close();
  await cli(dir, "agent", "revoke", LEGACY, "--reason", "replaced by ops");
  return dir;
}

/** Flips the first denial of the log's own chain to an allow: the edit verify must catch. */
export function tamper(dir: string): void {
  const log = join(dir, "audit");
  const segment = readdirSync(log)
    .filter((name) => name.endsWith(".jsonl"))
    .sort()[0];
  if (segment === undefined) throw new Error("no segment");
  const path = join(log, segment);
  writeFileSync(path, readFileSync(path, "utf8").replace('"allowed":false', '"allowed":true'));
}
