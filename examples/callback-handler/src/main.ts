// AgentGate on an agent you cannot re-wrap: attach `AgentGateCallbackHandler` to its runs.
//   Week 1, observe: nothing is blocked; every tool call is decided and audited, so you learn
//   which calls your policy would deny before it can break anything.
//   Week 2, enforce: the same handler, awaited, throws before a denied tool body runs.
// The model is scripted (no API key, no network). Checks every outcome; exits 1 on a surprise.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Authority,
  allow,
  CredentialProvider,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  MemoryAgentRegistry,
} from "@agentgate/core";
import { FileAuditLog, readAuditLog, verifyAuditLog } from "@agentgate/core/node";
import { AgentGateCallbackHandler } from "@agentgate/langchain";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { buildResearchAgent, sideEffects } from "./existing-agent.js";

const quiet = process.argv.includes("--quiet");
const TOOLS = "https://tools.acme.example";
const RESEARCHER = "spiffe://acme.example/agent/researcher";

// The identity and the gate. The policy is code here (a FunctionPolicyClient); Cedar works the same.
const registry = new MemoryAgentRegistry([
  defineAgent({
    id: RESEARCHER,
    owner: "carol@acme.example",
    purpose: "Market research",
    maxScopes: ["web", "email"],
  }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
const policy = new FunctionPolicyClient((request) => {
  const tool = String(request.action.properties?.tool ?? request.resource.id);
  if (tool === "web_search") return allow("research may search", { policies: ["research-search"] });
  if (tool === "send_email") {
    const to = String((request.context.arguments as { to?: unknown } | undefined)?.to ?? "");
    return to.endsWith("@acme.example")
      ? allow("internal email", { policies: ["internal-email-only"] })
      : deny(`email to ${to} leaves the company`, { policies: ["internal-email-only"] });
  }
  return deny("no rule for this tool");
});
const home = mkdtempSync(join(tmpdir(), "agentgate-callback-handler-"));
const audit = await FileAuditLog.open({ directory: join(home, "audit") });
const gate = new Gate({
  audience: TOOLS,
  verifier: authority.verifier(),
  registry,
  policy,
  audit,
  authority,
});
const credential = CredentialProvider.forAgent(authority, RESEARCHER, {
  audience: TOOLS,
  scope: ["web", "email"],
});
// The handler never sees tool metadata, so the policy mapping of each tool is given here.
const tools = { web_search: { action: "read" }, send_email: { action: "send" } } as const;

const script = () =>
  fakeModel()
    .respondWithTools([{ name: "web_search", args: { query: "agent identity vendors" }, id: "c1" }])
    .respondWithTools([
      {
        name: "send_email",
        args: { to: "press@rival.example", subject: "Our roadmap", body: "…" },
        id: "c2",
      },
    ])
    .respondWithTools([
      {
        name: "send_email",
        args: { to: "dana@acme.example", subject: "Findings", body: "…" },
        id: "c3",
      },
    ])
    .respond(new AIMessage("Report sent."));
const toolReplies = (messages: BaseMessage[]) =>
  messages.filter((message): message is ToolMessage => ToolMessage.isInstance(message));

interface Row {
  step: string;
  got: string;
  want: string;
}
const rows: Row[] = [];

// --- Week 1: observe ----------------------------------------------------------------------------
const observer = new AgentGateCallbackHandler({ gate, credential, tools }); // mode "observe"
await buildResearchAgent(script()).invoke(
  { messages: [{ role: "user", content: "Research and report." }] },
  { callbacks: [observer] },
);
await awaitAllCallbacks(); // observe-mode callbacks run in the background
rows.push({
  step: "observe: every tool body ran",
  got: sideEffects.join("; "),
  want: "web_search agent identity vendors; send_email press@rival.example; send_email dana@acme.example",
});
const wouldDeny: string[] = [];
for await (const event of readAuditLog(join(home, "audit"), { type: "check" })) {
  if (event.decision?.allowed === false)
    wouldDeny.push(`${event.tool?.name}: ${event.decision.reason}`);
}
rows.push({
  step: "observe: the audit log names the call policy would deny",
  got: wouldDeny.join("; "),
  want: "send_email: email to press@rival.example leaves the company",
});

// --- Week 2: enforce ----------------------------------------------------------------------------
sideEffects.length = 0;
const enforcer = new AgentGateCallbackHandler({ gate, credential, tools, mode: "enforce" });
const enforced = await buildResearchAgent(script()).invoke(
  { messages: [{ role: "user", content: "Research and report." }] },
  { callbacks: [enforcer] },
);
const replies = toolReplies(enforced.messages);
rows.push({
  step: "enforce: the external email is blocked before it runs",
  got: sideEffects.join("; "),
  want: "web_search agent identity vendors; send_email dana@acme.example",
});
rows.push({
  step: "enforce: the agent sees an error and goes on",
  got: `${replies.map((reply) => reply.status ?? "success").join(", ")}; ${String(enforced.messages.at(-1)?.content)}`,
  want: "success, error, success; Report sent.",
});

await gate.close();
const verification = await verifyAuditLog(join(home, "audit"));
rows.push({
  step: "the audit log verifies",
  got: verification.ok ? `ok, ${verification.records} records` : `broken: ${verification.reason}`,
  want: "ok, 11 records", // observe: 3 checks + 3 outcomes; enforce: 3 checks + 2 outcomes
});

const failed = rows.filter((row) => row.got !== row.want);
if (!quiet) {
  console.log("\nAgentGate on an existing LangChain agent: observe, then enforce\n");
  for (const row of rows)
    console.log(`${row.got === row.want ? " " : "!"} ${row.step}\n    ${row.got}`);
  console.log(`\nAudit log: ${join(home, "audit")}`);
}
if (quiet) rmSync(home, { recursive: true, force: true });
if (failed.length > 0) {
  for (const row of failed)
    console.error(`unexpected: ${row.step}: got ${row.got}, want ${row.want}`);
  process.exit(1);
}
console.log(`callback-handler: ${rows.length} passed, 0 failed`);
