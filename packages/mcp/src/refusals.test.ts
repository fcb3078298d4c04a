import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { connect, SUPPORT, setup } from "../test/setup.js";
import { withAgentToken } from "./client.js";
import { createMcpProxy } from "./proxy.js";

const text = (result: unknown) =>
  ((result as { content: Array<{ text: string }> }).content[0]?.text ?? "") as string;

describe("guardMcpServer: refusals before the tool are audited denials (K85)", () => {
  it("K85: a call without a token is a recorded token_invalid denial", async () => {
    const { server, calls, audit } = await setup();
    const bare = await connect(server);
    const result = await bare.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(calls).toEqual([]);
    expect(audit.events).toEqual([
      expect.objectContaining({
        type: "decision",
        tool: expect.objectContaining({ name: "lookup", server: "crm" }),
        decision: expect.objectContaining({ allowed: false, code: "token_invalid" }),
      }),
    ]);
  });

  it("K85: a tool name the server does not know is a recorded denial naming the caller", async () => {
    const { server, calls, audit, credentials } = await setup();
    const client = withAgentToken(await connect(server), credentials(SUPPORT));
    const result = await client.callTool({ name: "drop_tables", arguments: { all: true } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("access_denied");
    expect(calls).toEqual([]);
    expect(audit.events.filter((event) => event.type === "decision")).toEqual([
      expect.objectContaining({
        agent: SUPPORT,
        tool: { name: "drop_tables", server: "crm" },
        arguments: { all: true },
        decision: expect.objectContaining({ allowed: false, code: "access_denied" }),
      }),
    ]);
  });
});

/** A real MCP server with one tool, connected through the in-memory transport. */
async function upstream(): Promise<Client> {
  const server = new McpServer({ name: "crm", version: "1.0.0" });
  server.registerTool("lookup", { inputSchema: { customerId: z.string() } }, async () => ({
    content: [{ type: "text", text: "ok" }],
  }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "proxy", version: "1.0.0" });
  await client.connect(clientSide);
  return client;
}

describe("createMcpProxy: refusals before the upstream are audited denials (K85)", () => {
  it("K85: an unknown tool name and a call without a token are recorded through the gate", async () => {
    const { gate, audit, credentials } = await setup();
    const proxy = createMcpProxy({ gate, serverId: "crm", upstream: await upstream() });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await proxy.connect(serverSide);
    const bare = new Client({ name: "agent", version: "1.0.0" });
    await bare.connect(clientSide);
    const client = withAgentToken(bare, credentials(SUPPORT));
    const unknown = await client.callTool({ name: "drop_tables", arguments: {} });
    expect(text(unknown)).toBe("Unknown tool: drop_tables");
    const noToken = await bare.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(text(noToken)).toContain("token_invalid");
    const decisions = audit.events.filter((event) => event.type === "decision");
    expect(decisions.map((event) => [event.agent, event.tool?.name, event.decision?.code])).toEqual(
      [
        [SUPPORT, "drop_tables", "access_denied"],
        [undefined, "lookup", "token_invalid"],
      ],
    );
  });
});
