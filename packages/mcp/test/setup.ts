import { allow, deny, FunctionPolicyClient } from "@agentgate/core";
import { createTestGate, type TestGateOptions } from "@agentgate/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import * as z from "zod";
import { guardMcpServer } from "../src/server-guard.js";

export const SUPPORT = "spiffe://acme.example/agent/support";
export const INTERN = "spiffe://acme.example/agent/intern";
export const CRM = "https://mcp.acme.example/crm";

/** Policy: support may read on the crm server; nobody may call crm's delete tool; else deny. */
export const policy = new FunctionPolicyClient((request) => {
  const { subject, action } = request;
  if (action.properties.server !== "crm") return deny("unknown server", { policies: ["servers"] });
  if (subject.id === SUPPORT && action.name === "read")
    return allow("support reads crm", { policies: ["support-read"] });
  return deny("not permitted", { policies: ["default"] });
});

export async function setup(
  audience = CRM,
  gateOptions: Pick<TestGateOptions, "spiffeBundles"> = {},
) {
  const { registry, authority, audit, gate, credentials } = await createTestGate({
    ...gateOptions,
    audience,
    policy,
    agents: [
      { id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] },
      { id: INTERN, owner: "bob@acme.example", maxScopes: [] },
    ],
  });
  const calls: string[] = [];
  const server = new McpServer({ name: "crm", version: "1.0.0" });
  guardMcpServer(server, { gate, serverId: "crm" });
  server.registerTool(
    "lookup",
    {
      description: "Look up a customer",
      inputSchema: { customerId: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ customerId }) => {
      calls.push(`lookup:${customerId}`);
      return { content: [{ type: "text", text: `customer ${customerId}` }] };
    },
  );
  const purge = server.registerTool(
    "purge",
    {
      description: "Delete a customer",
      inputSchema: { customerId: z.string() },
      annotations: { destructiveHint: true },
    },
    async ({ customerId }) => {
      calls.push(`purge:${customerId}`);
      return { content: [{ type: "text", text: "purged" }] };
    },
  );
  return { registry, authority, audit, gate, server, calls, purge, credentials };
}

/** A real SDK client connected to `server` over the in-memory transport. */
export async function connect(server: McpServer): Promise<Client> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: "agent", version: "1.0.0" });
  await client.connect(clientTransport);
  return client;
}
