// Identity without bearer secrets: a CRM MCP server that requires mutual TLS (X.509-SVIDs from
// the authority's CA) and a gate that refuses bearer tokens, and an agent that calls it with a
// DPoP-bound token (RFC 9449) and with a certificate-bound one (RFC 8705). The stolen token,
// the replayed proof and the wrong certificate are each refused. All on 127.0.0.1, certificates
// made at start, nothing written to disk. Checks its outcomes and exits non-zero on any surprise.

import type { IncomingMessage } from "node:http";
import { createServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import type { PeerCertificate } from "node:tls";
import {
  Authority,
  allow,
  CredentialProvider,
  certificateThumbprint,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  generateDpopKey,
  MemoryAgentRegistry,
  MemoryAuditSink,
  MemoryReplayCache,
} from "@agentgate/core";
import { CertificateAuthority } from "@agentgate/core/x509";
import {
  agentGateFetch,
  authenticateRequest,
  guardMcpServer,
  mtlsFetch,
  mtlsServerOptions,
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
const SERVER = "spiffe://acme.example/agent/crm-server";

// Identity: the agents, the token authority and the trust domain's CA (in memory here; on disk
// with `agentgate init` and `agentgate cert issue`).
const registry = new MemoryAgentRegistry([
  defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
  defineAgent({ id: INTERN, owner: "bob@acme.example", maxScopes: ["crm:read"] }),
  defineAgent({ id: SERVER, owner: "ops@acme.example" }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
const ca = await CertificateAuthority.open({ trustDomain: "acme.example" });
const bundle = ca.bundle().toPem();
const serverSvid = await ca.issue(SERVER);

// The server: TLS requires a client certificate of acme.example; every request's token is
// checked with its DPoP proof (each proof once) or against the client certificate it is bound to.
const replay = new MemoryReplayCache();
const https = createServer(
  mtlsServerOptions({ key: serverSvid.privateKeyPem ?? "", cert: serverSvid.chainPem, bundle }),
  async (request: IncomingMessage & { auth?: AuthInfo }, response) => {
    const auth = await authenticateRequest(request, response, {
      verifier: authority.verifier(),
      audience: resource,
      dpop: { replay },
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
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    await transport.handleRequest(request, response);
  },
);
await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
const base = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
const resource = `${base}/mcp`;

// The gate: support may read from crm; and no call without proof of possession.
const audit = new MemoryAuditSink();
const gate = new Gate({
  audience: resource,
  verifier: authority.verifier(),
  registry,
  policy: new FunctionPolicyClient((request) =>
    request.subject.id === SUPPORT && request.action.name === "read"
      ? allow("support reads crm", { policies: ["support-reads-crm"] })
      : deny("not permitted", { policies: ["default-deny"] }),
  ),
  audit,
  requireProofOfPossession: true,
});

// The agent side: its SVID (key in this process only) for TLS, the server known by its SPIFFE id.
const checkServerIdentity = (_host: string, certificate: PeerCertificate) =>
  certificate.subjectaltname === `URI:${SERVER}` ? undefined : new Error(`not ${SERVER}`);
const closers: Array<() => unknown> = [];
function tlsAs(svid: { privateKeyPem?: string; chainPem: string }) {
  const fetch = mtlsFetch({
    key: svid.privateKeyPem ?? "",
    cert: svid.chainPem,
    ca: bundle,
    checkServerIdentity,
  });
  closers.push(() => fetch.close());
  return fetch;
}
async function connect(fetch: ReturnType<typeof agentGateFetch>): Promise<Client> {
  const client = new Client({ name: "support", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch }));
  closers.push(() => client.close());
  return client;
}
const LIST = {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
};
const text = (result: object) =>
  (
    ((result as { content?: unknown }).content as Array<{ text?: string }> | undefined)?.[0]
      ?.text ?? ""
  ).slice(0, 60);
const rows: Array<{ step: string; got: string; want: string }> = [];

const supportSvid = await ca.issue(SUPPORT);
const supportTls = tlsAs(supportSvid);

// 1. DPoP: the token is bound to a key the agent holds; every request carries a fresh proof.
const key = await generateDpopKey();
const dpopCredential = CredentialProvider.forAgent(authority, SUPPORT, {
  audience: resource,
  confirmation: { jkt: key.jkt },
});
const viaDpop = await connect(
  agentGateFetch({ credential: dpopCredential, resource, proof: "dpop", key, fetch: supportTls }),
);
const read = await viaDpop.callTool({ name: "lookup", arguments: { customerId: "acme" } });
rows.push({
  step: "DPoP over mTLS: lookup",
  got: read.isError ? `denied: ${text(read)}` : text(read),
  want: "acme: 3 open tickets",
});
const stolen = await dpopCredential.token();
const asBearer = await agentGateFetch({ credential: stolen, resource, fetch: supportTls })(
  resource,
  LIST,
);
rows.push({ step: "stolen token as bearer", got: `HTTP ${asBearer.status}`, want: "HTTP 401" });
const thief = await agentGateFetch({
  credential: stolen,
  resource,
  proof: "dpop",
  key: await generateDpopKey(),
  fetch: supportTls,
})(resource, LIST);
rows.push({ step: "stolen token, thief's key", got: `HTTP ${thief.status}`, want: "HTTP 401" });
const captured: Headers[] = [];
await agentGateFetch({
  credential: stolen,
  resource,
  proof: "dpop",
  key,
  fetch: (input, init) => {
    captured.push(new Headers(init?.headers));
    return supportTls(input, init);
  },
})(resource, LIST);
const replayed = await supportTls(resource, { ...LIST, headers: captured[0] });
rows.push({ step: "replayed DPoP proof", got: `HTTP ${replayed.status}`, want: "HTTP 401" });

// 2. Certificate-bound: the token names the agent's SVID; only that TLS client may use it.
const certBound = (
  await authority.issueToken(SUPPORT, {
    audience: resource,
    confirmation: { "x5t#S256": await certificateThumbprint(supportSvid.chainPem) },
  })
).token;
const viaCert = await connect(
  agentGateFetch({ credential: certBound, resource, fetch: supportTls }),
);
const certRead = await viaCert.callTool({ name: "lookup", arguments: { customerId: "acme" } });
rows.push({
  step: "cert-bound over mTLS: lookup",
  got: certRead.isError ? `denied: ${text(certRead)}` : text(certRead),
  want: "acme: 3 open tickets",
});
const otherTls = tlsAs(await ca.issue(INTERN));
const otherCert = await agentGateFetch({ credential: certBound, resource, fetch: otherTls })(
  resource,
  LIST,
);
rows.push({ step: "cert-bound, another cert", got: `HTTP ${otherCert.status}`, want: "HTTP 401" });

// 3. What the gate refuses whatever the transport: a bearer token bound to nothing.
const bearer = (await authority.issueToken(SUPPORT, { audience: resource })).token;
const viaBearer = await connect(
  agentGateFetch({ credential: bearer, resource, fetch: supportTls }),
);
const bearerRead = await viaBearer.callTool({ name: "lookup", arguments: { customerId: "acme" } });
rows.push({
  step: "plain bearer over mTLS",
  got: bearerRead.isError ? "denied" : "ran",
  want: "denied",
});

// 4. TLS itself: no client certificate, no connection.
const noCert = await new Promise<string>((resolve) => {
  const outgoing = httpsRequest(resource, { method: "POST", ca: bundle, checkServerIdentity });
  outgoing.on("response", (response) => {
    response.resume();
    resolve(`HTTP ${response.statusCode}`);
  });
  outgoing.on("error", () => resolve("refused"));
  outgoing.end("{}");
});
rows.push({ step: "no client certificate", got: noCert, want: "refused" });
rows.push({
  step: "audit: denials recorded",
  got: String(audit.events.some((event) => event.decision?.allowed === false)),
  want: "true",
});

for (const close of closers.reverse()) await close();
https.closeAllConnections();
https.close();
if (!quiet) {
  console.log("\nAgentGate: identity without bearer secrets (mTLS + DPoP, 127.0.0.1)\n");
  for (const row of rows)
    console.log(`${row.got === row.want ? " " : "!"} ${row.step.padEnd(30)} ${row.got}`);
  console.log("");
}
const failed = rows.filter((row) => row.got !== row.want);
if (failed.length > 0) {
  console.error(
    `${failed.length} step(s) did not behave as expected: ${failed.map((row) => row.step).join("; ")}`,
  );
  process.exit(1);
}
console.log(`mtls-dpop example: ${rows.length} passed, 0 failed`);
