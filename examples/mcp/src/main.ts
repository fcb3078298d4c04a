// AgentGate with MCP: a CRM MCP server guarded by AgentGate, and an agent that calls it over
// Streamable HTTP on 127.0.0.1 with a short-lived token bound to that server. No API key, no
// network beyond loopback. Checks its outcomes and exits non-zero on any surprise.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Authority,
  allow,
  CredentialProvider,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  MemoryAgentRegistry,
  MemoryAuditSink,
} from "@agentgate/core";
import {
  agentGateFetch,
  authenticateRequest,
  guardMcpServer,
  protectedResourceMetadata,
} from "@agentgate/mcp";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import * as z from "zod";

const quiet = process.argv.includes("--quiet");
const SUPPORT = "spiffe://acme.example/agent/support";
const INTERN = "spiffe://acme.example/agent/intern";

// Identity: two agents in the acme.example trust domain.
const registry = new MemoryAgentRegistry([
  defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
  defineAgent({ id: INTERN, owner: "bob@acme.example", maxScopes: ["crm:read"] }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });

// The server: one HTTP endpoint, every request authenticated, every tool call gated.
const http = createServer(async (request: IncomingMessage & { auth?: AuthInfo }, response) => {
  if (request.url === "/.well-known/oauth-protected-resource") {
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify(
        protectedResourceMetadata({ resource, authorizationServers: [authority.issuer] }),
      ),
    );
    return;
  }
  const auth = await authenticateRequest(request, response, {
    verifier: authority.verifier(),
    audience: resource,
    resourceMetadataUrl: `${base}/.well-known/oauth-protected-resource`,
  });
  if (auth === undefined) return;
  request.auth = auth;
  const server = new McpServer({ name: "crm", version: "1.0.0" });
  guardMcpServer(server, { gate, serverId: "crm" });
  server.registerTool(
    "lookup",
    {
      description: "Look up a customer",
      inputSchema: { customerId: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ customerId }) => ({
      content: [{ type: "text", text: `${customerId}: 3 open tickets` }],
    }),
  );
  server.registerTool(
    "purge",
    {
      description: "Delete a customer",
      inputSchema: { customerId: z.string() },
      annotations: { destructiveHint: true },
    },
    async () => ({ content: [{ type: "text", text: "purged" }] }),
  );
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  await transport.handleRequest(request, response);
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
const resource = `${base}/mcp`;

// Policy: support may read from the crm server; nothing else is permitted.
const policy = new FunctionPolicyClient((request) =>
  request.subject.id === SUPPORT &&
  request.action.name === "read" &&
  request.action.properties.server === "crm"
    ? allow("support reads crm", { policies: ["support-reads-crm"] })
    : deny("not permitted", { policies: ["default-deny"] }),
);
const audit = new MemoryAuditSink();
const gate = new Gate({
  audience: resource,
  verifier: authority.verifier(),
  registry,
  policy,
  audit,
});

async function agentClient(agent: string): Promise<Client> {
  // A token for exactly this server, refreshed before it expires, sent to no other host.
  const credential = CredentialProvider.forAgent(authority, agent, { audience: resource });
  const client = new Client({ name: agent.split("/").at(-1) ?? "agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(resource), {
      fetch: agentGateFetch({ credential, resource }),
    }),
  );
  return client;
}

const rows: Array<{ step: string; got: string; want: string }> = [];
const text = (result: object) =>
  (
    ((result as { content?: unknown }).content as Array<{ text?: string }> | undefined)?.[0]
      ?.text ?? ""
  ).slice(0, 70);

const support = await agentClient(SUPPORT);
rows.push({
  step: "support lists tools",
  got: (await support.listTools()).tools.map((tool) => tool.name).join(",") || "none",
  want: "lookup",
});
const read = await support.callTool({ name: "lookup", arguments: { customerId: "acme" } });
rows.push({
  step: "support: lookup acme",
  got: read.isError ? `denied: ${text(read)}` : text(read),
  want: "acme: 3 open tickets",
});
const purge = await support.callTool({ name: "purge", arguments: { customerId: "acme" } });
rows.push({ step: "support: purge acme", got: purge.isError ? "denied" : "ran", want: "denied" });
const intern = await agentClient(INTERN);
const internRead = await intern.callTool({ name: "lookup", arguments: { customerId: "acme" } });
rows.push({
  step: "intern: lookup acme",
  got: internRead.isError ? "denied" : "ran",
  want: "denied",
});
const anonymous = await fetch(resource, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: "{}",
});
rows.push({ step: "no token at all", got: `HTTP ${anonymous.status}`, want: "HTTP 401" });
const leak = await agentGateFetch({ credential: "x", resource })(
  "https://elsewhere.example/mcp",
).then(
  () => "sent",
  () => "refused",
);
rows.push({ step: "token to another host", got: leak, want: "refused" });
rows.push({ step: "audit events written", got: String(audit.events.length > 0), want: "true" });

await support.close();
await intern.close();
http.close();
if (!quiet) {
  console.log("\nAgentGate + MCP over Streamable HTTP (127.0.0.1)\n");
  for (const row of rows)
    console.log(`${row.got === row.want ? " " : "!"} ${row.step.padEnd(24)} ${row.got}`);
  console.log("");
}
const failed = rows.filter((row) => row.got !== row.want);
if (failed.length > 0) {
  console.error(
    `${failed.length} step(s) did not behave as expected: ${failed.map((row) => row.step).join("; ")}`,
  );
  process.exit(1);
}
console.log(`mcp example: ${rows.length} passed, 0 failed`);
