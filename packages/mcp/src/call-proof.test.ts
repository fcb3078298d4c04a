import {
  allow,
  CredentialProvider,
  createCallProof,
  FunctionPolicyClient,
  generateDpopKey,
} from "@agentgate/core";
import { createTestGate, TestClock } from "@agentgate/core/testing";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { connect, crmServer, SUPPORT } from "../test/setup.js";
import { withAgentToken } from "./client.js";
import { createMcpProxy } from "./proxy.js";
import { PROOF_META_KEY, TOKEN_META_KEY } from "./token-meta.js";

const AUDIENCE = "mcp://crm";

/** A guarded in-memory MCP server; `requireProofOfPossession` on its gate when asked. */
async function server(options: { requireProofOfPossession?: boolean; clock?: TestClock } = {}) {
  const context = await createTestGate({
    audience: AUDIENCE,
    policy: new FunctionPolicyClient(() => allow("all")),
    agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    ...(options.requireProofOfPossession === undefined
      ? {}
      : { requireProofOfPossession: options.requireProofOfPossession }),
  });
  const calls: string[] = [];
  const mcp = crmServer(
    {
      gate: context.gate,
      serverId: "crm",
      ...(options.clock === undefined ? {} : { callProofs: { clock: options.clock } }),
    },
    calls,
  );
  const client = await connect(mcp);
  const key = await generateDpopKey();
  const credential = CredentialProvider.forAgent(context.authority, SUPPORT, {
    audience: AUDIENCE,
    confirmation: { jkt: key.jkt },
  });
  return { ...context, calls, client, key, credential };
}

/**
 * `client` as `withAgentToken` wraps it, keeping in `sent` the params of every `callTool` (its
 * token and proof in `_meta`), for a test to replay.
 */
function recording(client: Client) {
  const sent: Array<Record<string, unknown>> = [];
  const recorder = {
    callTool: async (params: Record<string, unknown>) => {
      sent.push(params);
      return client.callTool(params as never);
    },
    listTools: client.listTools.bind(client),
  };
  return { sent, recorder: recorder as never as Client };
}

function deniedText(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content;
  return content?.[0]?.text ?? "";
}

describe("call proofs over in-memory MCP (stdio's shape)", () => {
  it("M109: with the key, every call and the tool list carry a proof and pass; the stolen token without the key, or with a thief's key, is refused", async () => {
    const { client, key, credential, calls, audit } = await server();
    const agent = withAgentToken(client, credential, { key });
    expect((await agent.listTools()).tools.map((tool) => tool.name)).toEqual(["lookup"]);
    const result = await agent.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);

    const stolen = await credential.token();
    const bare = await withAgentToken(client, stolen).callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
    });
    expect(bare.isError).toBe(true);
    expect(deniedText(bare)).toMatch(/token_invalid/);
    const thief = await withAgentToken(client, stolen, { key: await generateDpopKey() }).callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
    });
    expect(thief.isError).toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
    const denials = audit.events.filter((event) => event.decision?.allowed === false);
    expect(denials.length).toBeGreaterThanOrEqual(2);
    expect(denials.every((event) => event.decision?.code === "token_invalid")).toBe(true);
  });

  it("M109: a proof for other arguments or another tool, moved to this call, is refused before the tool runs", async () => {
    const { client, key, credential, calls } = await server();
    const token = await credential.token();
    const proof = await createCallProof(key, {
      method: "tools/call",
      tool: "lookup",
      arguments: { customerId: "acme" },
      accessToken: token,
    });
    const moved = await client.callTool({
      name: "lookup",
      arguments: { customerId: "globex" },
      _meta: { [TOKEN_META_KEY]: token, [PROOF_META_KEY]: proof },
    });
    expect(moved.isError).toBe(true);
    expect(deniedText(moved)).toMatch(/token_invalid/);
    expect(calls).toEqual([]);
  });

  it("M109: a bad call proof is refused even with a token bound to no key, as an audited denial", async () => {
    const { client, key, authority, calls, audit } = await server();
    const unbound = await CredentialProvider.forAgent(authority, SUPPORT, {
      audience: AUDIENCE,
    }).token();
    const proof = await createCallProof(key, {
      method: "tools/call",
      tool: "lookup",
      arguments: { customerId: "acme" },
      accessToken: unbound,
    });
    const moved = await client.callTool({
      name: "lookup",
      arguments: { customerId: "globex" },
      _meta: { [TOKEN_META_KEY]: unbound, [PROOF_META_KEY]: proof },
    });
    expect(moved.isError).toBe(true);
    expect(deniedText(moved)).toMatch(/token_invalid/);
    expect(calls).toEqual([]);
    const denial = audit.events.find((event) => event.decision?.allowed === false);
    expect(denial?.decision?.code).toBe("token_invalid");
    // The same proof on the call it was made for passes: the refusal is the proof's.
    const right = await client.callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
      _meta: { [TOKEN_META_KEY]: unbound, [PROOF_META_KEY]: proof },
    });
    expect(right.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("M110: a call proof captured with its token is accepted once; the replay is refused", async () => {
    const { client, key, credential, calls } = await server();
    const { sent, recorder } = recording(client);
    const agent = withAgentToken(recorder, credential, { key });
    await agent.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(calls).toEqual(["lookup:acme"]);
    const replayed = await client.callTool(sent[0] as never);
    expect(replayed.isError).toBe(true);
    expect(deniedText(replayed)).toMatch(/token_invalid/);
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("M111: a proof's iat within the window (60 s) either way passes; beyond it, refused", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const { client, key, credential, calls } = await server({ clock });
    const token = await credential.token();
    const callAt = async (offsetMs: number, customerId: string) => {
      const proof = await createCallProof(key, {
        method: "tools/call",
        tool: "lookup",
        arguments: { customerId },
        accessToken: token,
        clock: { now: () => clock.now() + offsetMs },
      });
      return client.callTool({
        name: "lookup",
        arguments: { customerId },
        _meta: { [TOKEN_META_KEY]: token, [PROOF_META_KEY]: proof },
      });
    };
    expect((await callAt(59_000, "a")).isError).not.toBe(true);
    expect((await callAt(-59_000, "b")).isError).not.toBe(true);
    expect((await callAt(61_000, "c")).isError).toBe(true);
    expect((await callAt(-61_000, "d")).isError).toBe(true);
    expect(calls).toEqual(["lookup:a", "lookup:b"]);
  });

  it("M107: a gate with requireProofOfPossession refuses a bearer token over MCP _meta and accepts the call proof", async () => {
    const { client, key, credential, authority, calls } = await server({
      requireProofOfPossession: true,
    });
    const bearer = (await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token;
    const refused = await withAgentToken(client, bearer).callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
    });
    expect(refused.isError).toBe(true);
    expect(deniedText(refused)).toMatch(/token_invalid.*proof of possession/);
    expect((await withAgentToken(client, bearer).listTools()).tools).toEqual([]);
    const proven = await withAgentToken(client, credential, { key }).callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
    });
    expect(proven.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("M109/M110: the MCP proxy checks call proofs as guardMcpServer does: the key's call passes, the stolen token and the replay are refused", async () => {
    const context = await createTestGate({
      audience: AUDIENCE,
      policy: new FunctionPolicyClient(() => allow("all")),
      agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
      requireProofOfPossession: true,
    });
    const calls: string[] = [];
    const upstreamServer = new McpServer({ name: "crm", version: "1.0.0" });
    upstreamServer.registerTool(
      "lookup",
      { inputSchema: { customerId: z.string() } },
      async ({ customerId }) => {
        calls.push(`lookup:${customerId}`);
        return { content: [{ type: "text", text: `customer ${customerId}` }] };
      },
    );
    const upstream = await connect(upstreamServer, "proxy");
    const proxy = createMcpProxy({
      gate: context.gate,
      serverId: "crm",
      upstream,
      tools: { lookup: { action: "read" } },
    });
    const client = await connect(proxy);
    const key = await generateDpopKey();
    const credential = CredentialProvider.forAgent(context.authority, SUPPORT, {
      audience: AUDIENCE,
      confirmation: { jkt: key.jkt },
    });
    const { sent, recorder } = recording(client);
    const agent = withAgentToken(recorder, credential, { key });
    expect((await agent.listTools()).tools.map((tool) => tool.name)).toEqual(["lookup"]);
    const ok = await agent.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(ok.isError).not.toBe(true);
    const stolen = await withAgentToken(client, await credential.token()).callTool({
      name: "lookup",
      arguments: { customerId: "acme" },
    });
    expect(stolen.isError).toBe(true);
    const replayed = await client.callTool(sent[0] as never);
    expect(replayed.isError).toBe(true);
    expect(deniedText(replayed)).toMatch(/token_invalid/);
    expect(calls).toEqual(["lookup:acme"]);
    await client.close();
    await upstream.close();
  });
});
