import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CredentialProvider, generateDpopKey, MemoryReplayCache } from "@agentgate/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { connect, SUPPORT, setup } from "../test/setup.js";
import { agentGateFetch, withAgentToken } from "./client.js";
import { authenticateRequest, protectedResourceMetadata } from "./http-auth.js";
import { guardMcpServer } from "./server-guard.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.close(resolve);
          server.closeAllConnections();
        }),
    ),
  );
});

/** A guarded MCP server on 127.0.0.1 that checks DPoP proofs for bound tokens. */
async function dpopServer() {
  const state: { context?: Awaited<ReturnType<typeof setup>> } = {};
  const replay = new MemoryReplayCache();
  const server = createServer(
    async (request: import("node:http").IncomingMessage & { auth?: AuthInfo }, response) => {
      const context = state.context as Awaited<ReturnType<typeof setup>>;
      const auth = await authenticateRequest(request, response, {
        verifier: context.authority.verifier(),
        audience: `${base}/mcp`,
        dpop: { replay },
      });
      if (auth === undefined) return;
      request.auth = auth;
      const mcp = new McpServer({ name: "crm", version: "1.0.0" });
      guardMcpServer(mcp, { gate: context.gate, serverId: "crm" });
      mcp.registerTool(
        "lookup",
        { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } },
        async ({ customerId }) => {
          context.calls.push(`lookup:${customerId}`);
          return { content: [{ type: "text", text: `customer ${customerId}` }] };
        },
      );
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await mcp.connect(transport);
      await transport.handleRequest(request, response);
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.context = await setup(`${base}/mcp`);
  return { base, context: state.context };
}

const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

describe("DPoP-bound tokens over Streamable HTTP on 127.0.0.1", () => {
  it("M104: agentGateFetch({ proof: 'dpop' }) calls through the gate; the stolen token replayed as a bearer, or with a thief's proof, gets 401", async () => {
    const { base, context } = await dpopServer();
    const key = await generateDpopKey();
    const credential = CredentialProvider.forAgent(context.authority, SUPPORT, {
      audience: `${base}/mcp`,
      confirmation: { jkt: key.jkt },
    });
    const client = new Client({ name: "agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        fetch: agentGateFetch({ credential, resource: `${base}/mcp`, proof: "dpop", key }),
      }),
    );
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(context.calls).toEqual(["lookup:acme"]);
    await client.close();

    // The thief has the token (from a log, a prompt), not the key.
    const stolen = await credential.token();
    const asBearer = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { ...JSON_HEADERS, authorization: `Bearer ${stolen}` },
      body: LIST,
    });
    expect(asBearer.status).toBe(401);
    const asDpopWithoutProof = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { ...JSON_HEADERS, authorization: `DPoP ${stolen}` },
      body: LIST,
    });
    expect(asDpopWithoutProof.status).toBe(401);
    const thiefKey = await generateDpopKey();
    const withThiefProof = await agentGateFetch({
      credential: stolen,
      resource: `${base}/mcp`,
      proof: "dpop",
      key: thiefKey,
    })(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: LIST });
    expect(withThiefProof.status).toBe(401);
    expect(context.calls).toEqual(["lookup:acme"]);
  });

  it("M105: a DPoP proof captured with its token is accepted once; the replay gets 401", async () => {
    const { base, context } = await dpopServer();
    const key = await generateDpopKey();
    const token = (
      await context.authority.issueToken(SUPPORT, {
        audience: `${base}/mcp`,
        confirmation: { jkt: key.jkt },
      })
    ).token;
    const captured: Headers[] = [];
    const send = agentGateFetch({
      credential: token,
      resource: `${base}/mcp`,
      proof: "dpop",
      key,
      fetch: (input, init) => {
        captured.push(new Headers(init?.headers));
        return fetch(input, init);
      },
    });
    const first = await send(`${base}/mcp`, { method: "POST", headers: JSON_HEADERS, body: LIST });
    expect(first.status).toBe(200);
    const replayed = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: captured[0] as Headers,
      body: LIST,
    });
    expect(replayed.status).toBe(401);
  });

  it("M104: the stolen bound token sent in _meta (in-memory, stdio) is refused by the gate: no transport checked a proof", async () => {
    const context = await setup();
    const key = await generateDpopKey();
    const { token } = await context.authority.issueToken(SUPPORT, {
      audience: "https://mcp.acme.example/crm",
      confirmation: { jkt: key.jkt },
    });
    const client = withAgentToken(await connect(context.server), token);
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(context.calls).toEqual([]);
    const denied = context.audit.events.find((event) => event.type === "decision");
    expect(denied).toMatchObject({ decision: { allowed: false, code: "token_invalid" } });
    await client.close();
  });

  it("advertises DPoP in the RFC 9728 metadata", () => {
    expect(
      protectedResourceMetadata({
        resource: "https://mcp.acme.example/mcp",
        authorizationServers: ["https://agentgate.acme.example"],
        dpopRequired: true,
      }),
    ).toMatchObject({
      dpop_signing_alg_values_supported: ["ES256", "EdDSA"],
      dpop_bound_access_tokens_required: true,
    });
  });
});
