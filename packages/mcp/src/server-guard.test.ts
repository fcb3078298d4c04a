import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { CRM, connect, INTERN, SUPPORT, setup } from "../test/setup.js";
import { withAgentToken } from "./client.js";
import { guardMcpServer } from "./server-guard.js";
import { TOKEN_META_KEY } from "./token-meta.js";

/** The token with one signature character changed, well inside the signature (never a no-op). */
const forge = (token: string) => {
  const at = token.length - 10;
  return `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`;
};
const text = (result: unknown) =>
  ((result as { content: Array<{ text: string }> }).content[0]?.text ?? "") as string;

describe("guardMcpServer over the in-memory transport", () => {
  it("runs a permitted call through the gate, with the agent from the token in _meta", async () => {
    const { server, calls, credentials, audit } = await setup();
    const client = withAgentToken(await connect(server), credentials(SUPPORT));
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(text(result)).toBe("customer acme");
    expect(calls).toEqual(["lookup:acme"]);
    expect(audit.events[0]).toMatchObject({
      agent: SUPPORT,
      tool: { name: "lookup", server: "crm" },
      action: "read",
      decision: { allowed: true },
    });
  });

  it("I64: the tool receives the arguments the policy saw, as the gate's frozen copy", async () => {
    const { server, credentials, audit } = await setup();
    let received: { filter?: { customer?: string } } | undefined;
    server.registerTool(
      "search",
      {
        inputSchema: { filter: z.object({ customer: z.string() }) },
        annotations: { readOnlyHint: true },
      },
      async (args) => {
        received = args;
        return { content: [{ type: "text", text: "ok" }] };
      },
    );
    const client = withAgentToken(await connect(server), credentials(SUPPORT));
    await client.callTool({ name: "search", arguments: { filter: { customer: "acme" } } });
    expect(received).toEqual({ filter: { customer: "acme" } });
    expect(received).toEqual(audit.events[0]?.arguments);
    expect(Object.isFrozen(received?.filter)).toBe(true);
  });

  it("F48: no token, a token for another audience, or a forged token: the tool does not run", async () => {
    const { server, calls, credentials } = await setup();
    const bare = await connect(server);
    const noToken = await bare.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(noToken.isError).toBe(true);
    expect(text(noToken)).toContain("token_invalid");
    const elsewhere = await credentials(SUPPORT, "https://mcp.acme.example/billing").token();
    const wrongAudience = await bare.callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
      _meta: { [TOKEN_META_KEY]: elsewhere },
    });
    expect(text(wrongAudience)).toContain("token_invalid");
    const good = await credentials(SUPPORT).token();
    const forged = await bare.callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
      _meta: { [TOKEN_META_KEY]: forge(good) },
    });
    expect(text(forged)).toContain("token_invalid");
    // A good token in the wrong place: in the arguments, or under another _meta key.
    for (const request of [
      { arguments: { customerId: "acme", token: good, agentToken: good } },
      {
        arguments: { customerId: "acme" },
        _meta: { token: good, authorization: `Bearer ${good}` },
      },
    ]) {
      const misplaced = await bare.callTool({ name: "lookup", ...request });
      expect(text(misplaced)).toContain("token_invalid");
    }
    expect(calls).toEqual([]);
    const right = await bare.callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
      _meta: { [TOKEN_META_KEY]: good },
    });
    expect(right.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("a denial is an error result with the safe reason only; destructive tools default to the delete action", async () => {
    const { server, calls, credentials, audit } = await setup();
    const client = withAgentToken(await connect(server), credentials(SUPPORT));
    const result = await client.callTool({ name: "purge", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(
      "AgentGate denied this call (access_denied): This action is not permitted.",
    );
    expect(calls).toEqual([]);
    expect(audit.events[0]).toMatchObject({
      action: "delete",
      decision: { allowed: false, policies: ["default"] },
    });
  });

  it("tools/list shows each caller only the tools it could be permitted to call; none without a token", async () => {
    const { server, credentials } = await setup();
    const raw = await connect(server);
    expect((await raw.listTools()).tools).toEqual([]);
    const support = withAgentToken(raw, credentials(SUPPORT));
    expect((await support.listTools()).tools.map((tool) => tool.name)).toEqual(["lookup"]);
    const intern = withAgentToken(raw, credentials(INTERN));
    expect((await intern.listTools()).tools).toEqual([]);
  });

  it("I66: two servers exposing a tool of the same name stay distinct; the policy for one never applies to the other", async () => {
    const { gate, credentials } = await setup();
    const other = new McpServer({ name: "other", version: "1.0.0" });
    guardMcpServer(other, { gate, serverId: "other-crm" });
    let ran = 0;
    other.registerTool(
      "lookup",
      { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } },
      async () => {
        ran++;
        return { content: [{ type: "text", text: "x" }] };
      },
    );
    const client = withAgentToken(await connect(other), credentials(SUPPORT));
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(ran).toBe(0);
    expect(CRM).toContain("crm");
  });

  it("L88: a server id or a tool name that is not canonical is refused where it is declared", async () => {
    const { gate } = await setup();
    for (const serverId of ["CRM", "crm\u200b", "", "crm/other"]) {
      expect(() =>
        guardMcpServer(new McpServer({ name: "x", version: "1.0.0" }), { gate, serverId }),
      ).toThrowError(expect.objectContaining({ code: "invalid_configuration" }));
    }
    const server = new McpServer({ name: "crm", version: "1.0.0" });
    guardMcpServer(server, { gate, serverId: "crm" });
    for (const name of ["drop_db\u200b", "Drop_db", "drop_db ", "x".repeat(10_000)]) {
      expect(() =>
        server.registerTool(name, { inputSchema: { id: z.string() } }, async () => ({
          content: [],
        })),
      ).toThrowError(expect.objectContaining({ code: "invalid_configuration" }));
    }
  });
});
