import { allow, FunctionPolicyClient } from "@agentgate/core";
import { createTestGate } from "@agentgate/core/testing";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { cleanupAfterEach, connect, everythingUpstream, text } from "../test/setup.js";
import { withAgentToken } from "./client.js";
import { inputSchemaOf } from "./input-schema.js";
import { createMcpProxy } from "./proxy.js";
import { guardMcpServer } from "./server-guard.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://mcp.acme.example/everything";
const closers = cleanupAfterEach();

/** A client of `server` over the in-memory transport, closed after the test. */
async function linked(server: { connect: Server["connect"] }): Promise<Client> {
  const client = await connect(server);
  closers.push(() => client.close());
  return client;
}

async function gate() {
  return createTestGate({
    audience: AUDIENCE,
    policy: new FunctionPolicyClient(() => allow("everything allowed", { policies: ["all"] })),
    agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
  });
}

describe("the MCP proxy checks arguments and outcomes as the upstream sees them", () => {
  it("L92: arguments that break the upstream tool's inputSchema are denied (invalid_arguments) before policy and audited", async () => {
    const upstream = await everythingUpstream(closers);
    let decided = 0;
    const {
      gate: proxyGate,
      audit,
      credentials,
    } = await createTestGate({
      audience: AUDIENCE,
      policy: new FunctionPolicyClient(() => {
        decided++;
        return allow("everything allowed", { policies: ["all"] });
      }),
      agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    });
    const proxy = createMcpProxy({ gate: proxyGate, serverId: "everything", upstream });
    const client = withAgentToken(await linked(proxy), credentials(SUPPORT));
    await client.listTools();
    decided = 0;

    const refused = await client.callTool({ name: "echo", arguments: { message: 42 } });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/^AgentGate denied this call \(invalid_arguments\).*message/);
    expect(decided).toBe(0);
    expect(audit.events.at(-1)).toMatchObject({
      type: "decision",
      tool: { name: "echo", server: "everything" },
      decision: { allowed: false, code: "invalid_arguments" },
    });
    const missing = await client.callTool({ name: "echo", arguments: {} });
    expect(text(missing)).toContain("invalid_arguments");
    expect(decided).toBe(0);

    // Arguments the schema accepts still reach policy and the upstream.
    expect(text(await client.callTool({ name: "echo", arguments: { message: "hi" } }))).toBe(
      "Echo: hi",
    );
    expect(decided).toBe(1);
  });

  it("L92: an upstream result with isError: true is recorded as a failed outcome, and the caller gets the upstream's result", async () => {
    const { gate: proxyGate, audit, credentials } = await gate();
    const server = new McpServer({ name: "flaky", version: "1.0.0" });
    server.registerTool(
      "charge",
      { description: "Charge a card", inputSchema: { amount: z.number() } },
      async ({ amount }) => ({
        isError: true,
        content: [{ type: "text", text: `card declined for ${amount}` }],
      }),
    );
    const upstream = await linked(server);
    const proxy = createMcpProxy({ gate: proxyGate, serverId: "payments", upstream });
    const client = withAgentToken(await linked(proxy), credentials(SUPPORT));

    const result = await client.callTool({ name: "charge", arguments: { amount: 5 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe("card declined for 5");
    const outcome = audit.events.filter((event) => event.type === "outcome").at(-1);
    expect(outcome?.outcome?.status).toBe("failed");
    expect(outcome?.outcome?.error).toContain("card declined for 5");
  });

  it("L92: a guarded server's tool that answers isError: true is recorded as a failed outcome too", async () => {
    const { gate: guardGate, audit, credentials } = await gate();
    const server = new McpServer({ name: "payments", version: "1.0.0" });
    guardMcpServer(server, { gate: guardGate, serverId: "payments" });
    server.registerTool(
      "refund",
      { description: "Refund", inputSchema: { amount: z.number() } },
      async ({ amount }) => ({
        isError: true,
        content: [{ type: "text", text: `refund of ${amount} refused by the bank` }],
      }),
    );
    server.registerTool("ping", { description: "Ping" }, async () => ({
      content: [{ type: "text", text: "pong" }],
    }));
    const client = withAgentToken(await linked(server), credentials(SUPPORT));
    const refused = await client.callTool({ name: "refund", arguments: { amount: 3 } });
    expect(refused).toMatchObject({ isError: true });
    expect(text(refused)).toBe("refund of 3 refused by the bank");
    const outcomes = () => audit.events.filter((event) => event.type === "outcome");
    expect(outcomes().at(-1)?.outcome?.status).toBe("failed");
    expect(text(await client.callTool({ name: "ping", arguments: {} }))).toBe("pong");
    expect(outcomes().at(-1)?.outcome?.status).toBe("succeeded");
  });

  it("inputSchemaOf follows $schema (draft-07 here) and names the argument at fault", () => {
    const schema = inputSchemaOf({
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { "a/b": { type: "integer" } },
      required: ["a/b"],
    });
    expect(schema["~standard"].validate({ "a/b": 3 })).toEqual({ value: { "a/b": 3 } });
    expect(schema["~standard"].validate({ "a/b": "3" })).toMatchObject({
      issues: [{ path: ["a/b"] }],
    });
    expect(schema["~standard"].validate({})).toMatchObject({
      issues: [{ message: expect.stringContaining("a/b") }],
    });
  });
});
