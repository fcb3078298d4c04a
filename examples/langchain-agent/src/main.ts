// AgentGate with a LangChain `createAgent` agent, set up the way a real service is:
//   1. the `agentgate` CLI makes a trust domain and registers the agents (here through `runCli`,
//      the same code as the command line);
//   2. the service calls `createGate({ directory })`: keys, registry, Cedar policies, audit log;
//   3. one line of middleware puts every tool call through the Gate.
// The model is scripted (no API key, no network). Checks every outcome; exits 1 on a surprise.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Output, runCli } from "@agentgate/cli";
import { CredentialProvider } from "@agentgate/core";
import { createGate } from "@agentgate/core/node";
import { agentGateMiddleware } from "@agentgate/langchain/middleware";
import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import * as z from "zod";

const quiet = process.argv.includes("--quiet");
const TOOLS = "https://tools.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const BILLING = "spiffe://acme.example/agent/billing-bot";

// --- 1. The trust domain: what `agentgate init` and `agentgate agent add` do ---------------------
const home = mkdtempSync(join(tmpdir(), "agentgate-langchain-agent-"));
const directory = join(home, ".agentgate");
const printed: string[] = [];
const capture: Output = {
  out: (text) => printed.push(text),
  err: (text) => printed.push(text),
  color: false,
};
async function agentgate(...args: string[]): Promise<number> {
  return runCli(["--dir", directory, ...args], capture);
}
await agentgate(
  "init",
  "--trust-domain",
  "acme.example",
  "--audience",
  TOOLS,
  "--time-zone",
  "Europe/Berlin",
);
await agentgate(
  "agent",
  "add",
  SUPPORT,
  "--owner",
  "alice@acme.example",
  "--team",
  "support",
  "--purpose",
  "Answers customers and issues small refunds",
  "--scope",
  "crm:read",
  "refunds:write",
);
await agentgate(
  "agent",
  "add",
  BILLING,
  "--owner",
  "bob@acme.example",
  "--team",
  "billing",
  "--scope",
  "crm:read",
);
// This starter's policies replace the example policy `init` wrote.
rmSync(join(directory, "policies", "policies.cedar"));
copyFileSync(
  fileURLToPath(new URL("../policies/support.cedar", import.meta.url)),
  join(directory, "policies", "support.cedar"),
);

// --- 2. The gate, from the directory --------------------------------------------------------------
const gate = await createGate({ directory, watchPolicies: false });
const authority = gate.authority;
if (authority === undefined) throw new Error("createGate always has an authority");

// --- 3. Ordinary LangChain tools; the policy mapping travels as metadata ------------------------------
const executed: string[] = [];
const crmLookup = tool(
  async ({ customerId }) => {
    executed.push(`crm_lookup ${customerId}`);
    return `${customerId}: plan Enterprise, 2 open tickets`;
  },
  {
    name: "crm_lookup",
    description: "Look up a customer record",
    schema: z.object({ customerId: z.string() }),
    metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } },
  },
);
const issueRefund = tool(
  async ({ customerId, amount }) => {
    executed.push(`issue_refund ${customerId} ${amount}`);
    return `refunded ${amount} to ${customerId}`;
  },
  {
    name: "issue_refund",
    description: "Refund a customer",
    schema: z.object({ customerId: z.string(), amount: z.number().int().positive() }),
    metadata: { agentgate: { action: "write", resources: { customer: "customerId" } } },
  },
);
const deleteCustomer = tool(
  async ({ customerId }) => {
    executed.push(`delete_customer ${customerId}`);
    return `deleted ${customerId}`;
  },
  {
    name: "delete_customer",
    description: "Delete a customer",
    schema: z.object({ customerId: z.string() }),
    metadata: { agentgate: { action: "delete", resources: { customer: "customerId" } } },
  },
);
const tools = [crmLookup, issueRefund, deleteCustomer];

type Call = { name: string; args: Record<string, unknown> };
const scripted = (calls: Call[]) =>
  calls
    .reduce(
      (model, call, index) => model.respondWithTools([{ ...call, id: `call-${index}` }]),
      fakeModel(),
    )
    .respond(new AIMessage("All done."));
const toolReplies = (messages: BaseMessage[]) =>
  messages.filter((message): message is ToolMessage => ToolMessage.isInstance(message));

interface Row {
  step: string;
  got: string;
  want: string;
}
const rows: Row[] = [];
const record = (step: string, reply: ToolMessage | undefined, want: "allowed" | "denied") =>
  rows.push({
    step,
    got: reply === undefined ? "no reply" : reply.status === "error" ? "denied" : "allowed",
    want,
  });

// --- A. One agent, its own identity: a bound CredentialProvider keeps a fresh token ------------------
const support = createAgent({
  model: scripted([
    { name: "crm_lookup", args: { customerId: "acme" } },
    { name: "issue_refund", args: { customerId: "acme", amount: 120 } },
    { name: "issue_refund", args: { customerId: "acme", amount: 900 } },
    { name: "delete_customer", args: { customerId: "acme" } },
  ]),
  tools,
  middleware: [
    agentGateMiddleware({
      gate,
      credential: CredentialProvider.forAgent(authority, SUPPORT, {
        audience: TOOLS,
        scope: ["crm:read", "refunds:write"],
      }),
    }),
  ],
});
const first = await support.invoke({ messages: [{ role: "user", content: "Help acme." }] });
const [lookup, smallRefund, bigRefund, deletion] = toolReplies(first.messages);
record("support: read customer acme", lookup, "allowed");
record("support: refund 120", smallRefund, "allowed");
record("support: refund 900 (policy: < 500)", bigRefund, "denied");
record("support: delete a customer (no policy permits)", deletion, "denied");
rows.push({
  step: "the run goes on after denials",
  got: String(first.messages.at(-1)?.content) === "All done." ? "finished" : "stopped",
  want: "finished",
});

// --- B. A multi-tenant service: one agent object, the identity comes with each run ------------------
const shared = () =>
  createAgent({
    model: scripted([{ name: "crm_lookup", args: { customerId: "globex" } }]),
    tools,
    middleware: [agentGateMiddleware({ gate })], // reads { context: { agentToken } } per run
  });
for (const [who, want] of [
  [SUPPORT, "allowed"],
  [BILLING, "denied"],
] as const) {
  const { token } = await authority.issueToken(who, { audience: TOOLS, scope: ["crm:read"] });
  const result = await shared().invoke(
    { messages: [{ role: "user", content: "Look up globex." }] },
    { context: { agentToken: token } },
  );
  record(
    `per-run token: ${who.split("/").at(-1)} reads globex`,
    toolReplies(result.messages)[0],
    want,
  );
}
const withoutToken = await shared().invoke({
  messages: [{ role: "user", content: "Look up globex." }],
});
record("per-run: no token at all (fail closed)", toolReplies(withoutToken.messages)[0], "denied");

// --- C. The audit trail, checked with the CLI an auditor would use --------------------------------------
await gate.close();
const verified = await agentgate("audit", "verify");
rows.push({ step: "agentgate audit verify", got: verified === 0 ? "ok" : "broken", want: "ok" });
printed.length = 0;
await agentgate("audit", "report", "--json");
const report = JSON.parse(printed.join("\n")) as Array<{
  agent: string;
  calls: number;
  denials: number;
}>;
const supportRow = report.find((row) => row.agent === SUPPORT);
rows.push({
  step: "agentgate audit report: support's calls and denials",
  got: `${supportRow?.calls ?? 0} calls, ${supportRow?.denials ?? 0} denied`,
  want: "5 calls, 2 denied",
});
rows.push({
  step: "denied tool bodies never ran",
  got: executed.join("; "),
  want: "crm_lookup acme; issue_refund acme 120; crm_lookup globex",
});

const failed = rows.filter((row) => row.got !== row.want);
if (!quiet) {
  const width = Math.max(...rows.map((row) => row.step.length));
  console.log("\nAgentGate + LangChain createAgent (Cedar policies, file audit log)\n");
  for (const row of rows)
    console.log(`${row.got === row.want ? " " : "!"} ${row.step.padEnd(width)}  ${row.got}`);
  console.log(`\nTrust domain and audit log: ${directory}`);
}
if (quiet) rmSync(home, { recursive: true, force: true });
if (failed.length > 0) {
  for (const row of failed)
    console.error(`unexpected: ${row.step}: got ${row.got}, want ${row.want}`);
  process.exit(1);
}
console.log(`langchain-agent: ${rows.length} passed, 0 failed`);
