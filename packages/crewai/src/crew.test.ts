import { allow, currentAgent, deny, FunctionPolicyClient } from "@agentgate/core";
import { createTestGate } from "@agentgate/core/testing";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { Agent, Task } from "./agent.js";
import { Crew } from "./crew.js";
import { crewTool, toLangChainTool } from "./crew-tool.js";
import { secureCrewAgent } from "./secure-agent.js";

const MANAGER = "spiffe://acme.example/agent/manager";
const RESEARCHER = "spiffe://acme.example/agent/researcher";
const WRITER = "spiffe://acme.example/agent/writer";
const AUDIENCE = "https://tools.acme.example";
const USER = "user:carol@acme.example";
const SCOPE_OF: Record<string, string> = { web_search: "web:search", write_report: "docs:write" };

async function setup(options: { writerSuspended?: boolean } = {}) {
  // Each tool needs its scope in the (verified, attenuated) token; delegating itself is allowed.
  const policy = new FunctionPolicyClient((request) => {
    if (request.action.name === "delegate")
      return allow("delegation", { policies: ["delegation"] });
    const scope = SCOPE_OF[request.action.properties.tool];
    return scope !== undefined && request.subject.properties.scopes.includes(scope)
      ? allow("scoped", { policies: ["scopes"] })
      : deny(`missing ${scope}`, { policies: ["scopes"] });
  });
  const { registry, authority, audit, gate } = await createTestGate({
    audience: AUDIENCE,
    policy,
    agents: [
      { id: MANAGER, owner: "carol@acme.example", maxScopes: ["web:search"] },
      { id: RESEARCHER, owner: "bob@acme.example", maxScopes: ["web:search"] },
      {
        id: WRITER,
        owner: "bob@acme.example",
        supervision: options.writerSuspended ? "suspended" : "autonomous",
        maxScopes: ["docs:write"],
      },
    ],
  });
  const ran: string[] = [];
  const webSearch = crewTool({
    name: "web_search",
    description: "Search the web",
    argsSchema: z.object({ query: z.string() }),
    action: "read",
    run: ({ query }, { agent }) => {
      ran.push(`search:${query}:${agent.agent.name}`);
      return `3 facts about ${query}`;
    },
  });
  const writeReport = crewTool({
    name: "write_report",
    description: "Write the report",
    argsSchema: z.object({ title: z.string() }),
    action: "write",
    run: ({ title }) => {
      ran.push(`write:${title}`);
      return "report written";
    },
  });
  return { registry, authority, audit, gate, ran, webSearch, writeReport };
}

function hierarchicalCrew(context: Awaited<ReturnType<typeof setup>>) {
  const researcher = new Agent({
    role: "Researcher",
    goal: "Find facts",
    identity: RESEARCHER,
    tools: [context.webSearch],
    llm: fakeModel()
      .respondWithTools([{ name: "web_search", args: { query: "agent identity" }, id: "r1" }])
      .respond(new AIMessage("facts: A, B, C")),
  });
  const writer = new Agent({
    role: "Writer",
    goal: "Write reports",
    identity: WRITER,
    tools: [context.writeReport],
    llm: fakeModel()
      .respondWithTools([{ name: "write_report", args: { title: "Agent identity" }, id: "w1" }])
      .respond(new AIMessage("could not write")),
  });
  const manager = new Agent({
    role: "Manager",
    goal: "Get the report done",
    identity: MANAGER,
    llm: fakeModel()
      .respondWithTools([
        {
          name: "delegate_work_to_coworker",
          args: { task: "Research {topic}", context: "for the report", coworker: "Researcher" },
          id: "m1",
        },
      ])
      .respondWithTools([
        {
          name: "delegate_work_to_coworker",
          args: { task: "Write the report", context: "facts: A, B, C", coworker: "writer" },
          id: "m2",
        },
      ])
      .respond(new AIMessage("done: research and report handled")),
  });
  const task = new Task({ description: "Produce a report on {topic}", expectedOutput: "a report" });
  return new Crew({
    agents: [researcher, writer],
    tasks: [task],
    process: "hierarchical",
    manager,
    gate: context.gate,
    audience: AUDIENCE,
  });
}

describe("a hierarchical crew with a manager and two workers", () => {
  it("B25 + B19: delegated calls carry the whole chain; a worker cannot do what its delegator could not", async () => {
    const context = await setup();
    const result = await hierarchicalCrew(context).kickoff(
      { topic: "agent identity" },
      { principal: USER },
    );
    expect(result.output).toBe("done: research and report handled");
    // The researcher ran under a token delegated by the manager, for Carol.
    expect(context.ran).toEqual(["search:agent identity:researcher"]);
    const decisions = context.audit.events.filter((event) => event.type === "decision");
    const search = decisions.find((event) => event.tool?.name === "web_search");
    expect(search).toMatchObject({
      agent: RESEARCHER,
      principal: USER,
      chain: [USER, MANAGER, RESEARCHER],
      decision: { allowed: true },
    });
    // The manager holds no docs:write, so the writer's delegated token has none: denied.
    const write = decisions.find((event) => event.tool?.name === "write_report");
    expect(write).toMatchObject({
      agent: WRITER,
      chain: [USER, MANAGER, WRITER],
      decision: { allowed: false, code: "access_denied" },
    });
    expect(context.ran).not.toContain("write:Agent identity");
  });

  it("a suspended worker is never run: the delegation itself fails and the tool does not run", async () => {
    const context = await setup({ writerSuspended: true });
    const result = await hierarchicalCrew(context).kickoff({ topic: "agent identity" });
    expect(result.output).toBe("done: research and report handled");
    expect(context.ran).toEqual(["search:agent identity:researcher"]);
    const outcomes = context.audit.events.filter(
      (event) => event.type === "outcome" && event.outcome?.status === "failed",
    );
    expect(outcomes[0]?.outcome?.errorCode).toBe("agent_suspended");
    expect(context.audit.events.some((event) => event.agent === WRITER)).toBe(false);
  });
});

describe("crew tools and identity", () => {
  it("F51: each agent's tools run under its own identity; tools see only the verified agent, never a credential", async () => {
    const context = await setup();
    const seen: string[] = [];
    const probe = crewTool({
      name: "web_search",
      description: "Search",
      argsSchema: z.object({ query: z.string() }),
      action: "read",
      run: (_args, toolContext) => {
        seen.push(
          `${currentAgent().agent.name}:${toolContext.agent.agent.name}:${Object.keys(toolContext).join(",")}`,
        );
        return "ok";
      },
    });
    const researcher = new Agent({
      role: "Researcher",
      goal: "g",
      identity: RESEARCHER,
      tools: [probe],
      llm: fakeModel()
        .respondWithTools([{ name: "web_search", args: { query: "q" }, id: "1" }])
        .respond(new AIMessage("done")),
    });
    const manager = new Agent({
      role: "Manager",
      goal: "g",
      identity: MANAGER,
      tools: [probe],
      llm: fakeModel()
        .respondWithTools([{ name: "web_search", args: { query: "q" }, id: "2" }])
        .respond(new AIMessage("done")),
    });
    const crew = new Crew({
      agents: [manager, researcher],
      tasks: [
        new Task({ description: "a", expectedOutput: "x", agent: manager }),
        new Task({ description: "b", expectedOutput: "y", agent: researcher }),
      ],
      gate: context.gate,
      audience: AUDIENCE,
    });
    await crew.kickoff();
    expect(seen).toEqual(["manager:manager:agent", "researcher:researcher:agent"]);
    expect(Object.keys(researcher)).not.toContain("credential");
  });

  it("G52: arguments failing the zod schema are rejected before policy; the agent is told and goes on", async () => {
    const context = await setup();
    const researcher = new Agent({
      role: "Researcher",
      goal: "g",
      identity: RESEARCHER,
      tools: [context.webSearch],
      llm: fakeModel()
        .respondWithTools([{ name: "web_search", args: { query: 42 }, id: "1" }])
        .respond(new AIMessage("gave up")),
    });
    const crew = new Crew({
      agents: [researcher],
      tasks: [new Task({ description: "a", expectedOutput: "x" })],
      gate: context.gate,
      audience: AUDIENCE,
    });
    expect((await crew.kickoff()).output).toBe("gave up");
    expect(context.ran).toEqual([]);
    expect(context.audit.events[0]?.decision).toMatchObject({
      allowed: false,
      code: "invalid_arguments",
    });
  });

  it("K85: a tool name the agent does not have is an audited denial naming the agent", async () => {
    const context = await setup();
    const researcher = new Agent({
      role: "Researcher",
      goal: "g",
      identity: RESEARCHER,
      tools: [context.webSearch],
      llm: fakeModel()
        .respondWithTools([{ name: "shell_exec", args: { command: "rm -rf /" }, id: "1" }])
        .respond(new AIMessage("gave up")),
    });
    const crew = new Crew({
      agents: [researcher],
      tasks: [new Task({ description: "a", expectedOutput: "x" })],
      gate: context.gate,
      audience: AUDIENCE,
    });
    expect((await crew.kickoff()).output).toBe("gave up");
    expect(context.ran).toEqual([]);
    expect(context.audit.events).toEqual([
      expect.objectContaining({
        type: "decision",
        agent: RESEARCHER,
        tool: { name: "shell_exec" },
        decision: expect.objectContaining({ allowed: false, code: "access_denied" }),
      }),
    ]);
  });

  it("secureCrewAgent wraps any CrewAI-shaped agent's tools with the gate under its own credential", async () => {
    const { CredentialProvider } = await import("@agentgate/core");
    const context = await setup();
    const legacy = {
      role: "Legacy",
      tools: [
        {
          name: "web_search",
          description: "s",
          argsSchema: z.object({ query: z.string() }),
          action: "read" as const,
          run: ({ query }: { query: string }) => `found ${query}`,
        },
      ],
    };
    const credential = CredentialProvider.forAgent(context.authority, RESEARCHER, {
      audience: AUDIENCE,
    });
    const secured = secureCrewAgent(legacy, { gate: context.gate, credential });
    expect(await secured.tools[0]?.run?.({ query: "x" } as never)).toBe("found x");
    const writerCredential = CredentialProvider.forAgent(context.authority, WRITER, {
      audience: AUDIENCE,
    });
    const asWriter = secureCrewAgent(legacy, { gate: context.gate, credential: writerCredential });
    expect(await asWriter.tools[0]?.run?.({ query: "x" } as never)).toMatch(/blocked by AgentGate/);
  });

  it("a crew tool is also a LangChain tool with its policy mapping in metadata", () => {
    const context = {
      webSearch: crewTool({
        name: "web_search",
        description: "s",
        argsSchema: z.object({ query: z.string() }),
        action: "read",
        resources: { topic: "query" },
        run: () => "x",
      }),
    };
    const converted = toLangChainTool(context.webSearch);
    expect(converted.name).toBe("web_search");
    expect(converted.metadata).toEqual({
      agentgate: { action: "read", resources: { topic: "query" } },
    });
  });
});

describe("crew tool names", () => {
  it("L88: a crew tool whose name is not canonical is refused where it is declared", () => {
    for (const name of ["web_search\u200b", "Web_Search", "web_search ", "\uff57eb", ""]) {
      expect(() =>
        crewTool({ name, description: "d", argsSchema: z.object({}), run: () => "x" }),
      ).toThrowError(expect.objectContaining({ code: "invalid_configuration" }));
    }
    expect(
      crewTool({ name: "web_search", description: "d", argsSchema: z.object({}), run: () => "x" })
        .name,
    ).toBe("web_search");
  });
});
