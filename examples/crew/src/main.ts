// AgentGate with a CrewAI-style crew: a manager delegates research and writing to two workers.
// Each agent has its own identity; every tool call goes through the Gate; each delegation is an
// attenuated token whose chain the audit log records. Scripted models: no API key, no network.
// Checks its outcomes and exits non-zero on any surprise.
import {
  Authority,
  allow,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  MemoryAgentRegistry,
  MemoryAuditSink,
} from "@agentgate/core";
import { Agent, Crew, crewTool, Task } from "@agentgate/crewai";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import * as z from "zod";

const quiet = process.argv.includes("--quiet");
const AUDIENCE = "https://tools.acme.example";
const MANAGER = "spiffe://acme.example/agent/editor-in-chief";
const RESEARCHER = "spiffe://acme.example/agent/researcher";
const WRITER = "spiffe://acme.example/agent/writer";

// Identity: three agents, each with an owner and the widest scopes it may ever hold.
const registry = new MemoryAgentRegistry([
  defineAgent({
    id: MANAGER,
    owner: "carol@acme.example",
    maxScopes: ["web:search", "docs:write"],
  }),
  defineAgent({ id: RESEARCHER, owner: "bob@acme.example", maxScopes: ["web:search"] }),
  defineAgent({ id: WRITER, owner: "bob@acme.example", maxScopes: ["docs:write"] }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });

// Policy: a tool needs its scope in the caller's (attenuated) token; delegating is allowed.
const scopes: Record<string, string> = { web_search: "web:search", publish: "docs:write" };
const policy = new FunctionPolicyClient((request) => {
  if (request.action.name === "delegate")
    return allow("agents may delegate", { policies: ["delegation"] });
  const needed = scopes[request.action.properties.tool];
  return needed !== undefined && request.subject.properties.scopes.includes(needed)
    ? allow(`holds ${needed}`, { policies: ["scopes"] })
    : deny(`lacks ${needed}`, {
        policies: ["scopes"],
        safeReason: "This agent's token does not allow that.",
      });
});
const audit = new MemoryAuditSink();
const gate = new Gate({
  audience: AUDIENCE,
  verifier: authority.verifier(),
  registry,
  policy,
  audit,
  authority,
});

// Tools with zod arguments; the gate validates them before any policy runs.
const webSearch = crewTool({
  name: "web_search",
  description: "Search the web",
  argsSchema: z.object({ query: z.string() }),
  action: "read",
  run: ({ query }) =>
    `Three findings about ${query}: tokens are short-lived, delegation narrows, audits chain.`,
});
const publish = crewTool({
  name: "publish",
  description: "Publish a document",
  argsSchema: z.object({ title: z.string(), body: z.string() }),
  action: "write",
  run: ({ title }) => `Published "${title}".`,
});

// The crew. Models are scripted; any LangChain chat model with tool calling works the same way.
const researcher = new Agent({
  role: "Researcher",
  goal: "Find accurate facts",
  identity: RESEARCHER,
  tools: [webSearch],
  llm: fakeModel()
    .respondWithTools([{ name: "web_search", args: { query: "agent identity" }, id: "r1" }])
    .respond(new AIMessage("Findings: tokens are short-lived, delegation narrows, audits chain.")),
});
const writer = new Agent({
  role: "Writer",
  goal: "Write and publish clear reports",
  identity: WRITER,
  tools: [publish],
  llm: fakeModel()
    .respondWithTools([
      { name: "publish", args: { title: "Agent identity", body: "..." }, id: "w1" },
    ])
    .respond(new AIMessage("Report published.")),
});
const manager = new Agent({
  role: "Editor in chief",
  goal: "Get a researched report published",
  identity: MANAGER,
  llm: fakeModel()
    .respondWithTools([
      {
        name: "delegate_work_to_coworker",
        args: { task: "Research {topic}", context: "for a short report", coworker: "Researcher" },
        id: "m1",
      },
    ])
    .respondWithTools([
      {
        name: "delegate_work_to_coworker",
        args: {
          task: "Write and publish the report",
          context: "use the findings",
          coworker: "Writer",
        },
        id: "m2",
      },
    ])
    .respond(new AIMessage("The report on agent identity is researched and published.")),
});
const crew = new Crew({
  agents: [researcher, writer],
  tasks: [
    new Task({
      description: "Produce a published report on {topic}",
      expectedOutput: "a published report",
    }),
  ],
  process: "hierarchical",
  manager,
  gate,
  audience: AUDIENCE,
});

const result = await crew.kickoff(
  { topic: "agent identity" },
  { principal: "user:dana@acme.example" },
);

const decisions = audit.events.filter((event) => event.type === "decision");
const rows = decisions.map((event) => ({
  agent: (event.agent ?? "").split("/").at(-1) ?? "",
  tool: event.tool?.name ?? "",
  allowed: event.decision?.allowed === true,
  chain: (event.chain ?? []).map((id) => id.split("/").at(-1)).join(" → "),
}));
const expected = [
  { agent: "editor-in-chief", tool: "delegate_work_to_coworker", allowed: true },
  { agent: "researcher", tool: "web_search", allowed: true },
  { agent: "editor-in-chief", tool: "delegate_work_to_coworker", allowed: true },
  { agent: "writer", tool: "publish", allowed: true },
];
if (!quiet) {
  console.log("\nA CrewAI-style crew through AgentGate\n");
  for (const row of rows)
    console.log(
      `  ${row.allowed ? "allowed" : "denied "}  ${row.agent.padEnd(16)} ${row.tool.padEnd(26)} chain ${row.chain}`,
    );
  console.log(`\nCrew output: ${result.output}\n`);
}
const ok =
  rows.length === expected.length &&
  expected.every(
    (want, index) =>
      rows[index]?.agent === want.agent &&
      rows[index]?.tool === want.tool &&
      rows[index]?.allowed === want.allowed,
  ) &&
  rows[1]?.chain === "user:dana@acme.example → editor-in-chief → researcher";
if (!ok) {
  console.error("The crew did not behave as expected.");
  process.exit(1);
}
console.log(`crew example: ${rows.length} passed, 0 failed`);
