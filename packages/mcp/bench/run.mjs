// `pnpm bench` for @agentgate/mcp: a guarded callTool round trip against an unguarded one over
// the in-memory transport, in one process and one run. The gate uses an always-allow policy
// function and discards audit events, so the figures isolate the adapter and the gate's work.
// Then a call with a per-call proof in _meta (stdio and in-memory, SECURITY.md M109-M111: the
// agent signs, the server verifies and remembers the jti) against the same call with a bearer.

import { CredentialProvider, generateDpopKey } from "@agentgate/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import * as z from "zod";
import { allowAllGate, compare, machine, record, table } from "../../core/bench/harness.mjs";
import { guardMcpServer, withAgentToken } from "../dist/index.js";

const AGENT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://mcp.acme.example/crm";
const { gate, credential, authority } = await allowAllGate({
  agent: AGENT,
  audience: AUDIENCE,
  maxScopes: ["crm:read"],
});

const key = await generateDpopKey();
const boundCredential = CredentialProvider.forAgent(authority, AGENT, {
  audience: AUDIENCE,
  ttlSeconds: 3600,
  confirmation: { jkt: key.jkt },
});

async function serverClient(guarded, proof = false) {
  const server = new McpServer({ name: "crm", version: "1.0.0" });
  if (guarded) guardMcpServer(server, { gate, serverId: "crm", filterToolsList: false });
  server.registerTool(
    "lookup",
    { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } },
    async ({ customerId }) => ({
      content: [{ type: "text", text: customerId }],
    }),
  );
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(clientTransport);
  if (proof) return withAgentToken(client, boundCredential, { key });
  return guarded ? withAgentToken(client, credential) : client;
}
const bare = await serverClient(false);
const guarded = await serverClient(true);
const call = (client) => () =>
  client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
if ((await call(guarded)()).isError) throw new Error("the guarded call must be allowed");

const results = await compare(
  [
    { name: "unguarded callTool (in-memory)", run: call(bare), batch: 5 },
    { name: "guarded callTool (in-memory)", run: call(guarded), batch: 5 },
  ],
  { rounds: 1000, warmup: 100 },
);
console.log(`\n## MCP\n\n${await machine()}, @modelcontextprotocol/sdk 1.32.2\n`);
console.log(table(results, "unguarded callTool (in-memory)"));
console.log(`\nAdded per call, p50: ${(results[1].p50 - results[0].p50).toFixed(1)} µs`);
await record("mcp", results, "unguarded callTool (in-memory)");

const proven = await serverClient(true, true);
if ((await call(proven)()).isError) throw new Error("the call with a proof must be allowed");
const proofs = await compare(
  [
    { name: "guarded callTool, bearer token in _meta", run: call(guarded), batch: 5 },
    { name: "guarded callTool, bound token + call proof in _meta", run: call(proven), batch: 5 },
  ],
  { rounds: 1000, warmup: 100 },
);
console.log(`\n## Call proof vs bearer (in-memory MCP, stdio's shape)\n`);
console.log(table(proofs, "guarded callTool, bearer token in _meta"));
console.log(
  `\nThe proof adds ${(proofs[1].p50 - proofs[0].p50).toFixed(0)} µs p50 per call (sign + verify)`,
);
await record("mcp-call-proof", proofs, "guarded callTool, bearer token in _meta");
