import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { PeerCertificate } from "node:tls";
import { Gate } from "@agentgate/core";
import { MemoryAuditSink } from "@agentgate/core/testing";
import { CertificateAuthority, x509CertificateAuthenticator } from "@agentgate/core/x509";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { policy, SUPPORT, setup } from "../test/setup.js";
import { authenticateRequest } from "./http-auth.js";
import { mtlsServerOptions } from "./mtls.js";
import { mtlsFetch } from "./mtls-fetch.js";
import { guardMcpServer } from "./server-guard.js";

const SERVER_ID = "spiffe://acme.example/agent/crm-server";
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The server is known by its SVID's URI SAN, not a host name: SPIFFE's way for workloads. */
function expectServer(id: string) {
  return (_host: string, certificate: PeerCertificate) =>
    certificate.subjectaltname === `URI:${id}` ? undefined : new Error(`not ${id}`);
}

/** A guarded MCP server over Streamable HTTP on 127.0.0.1 that requires client certificates. */
async function mtlsServer() {
  const ca = await CertificateAuthority.open({ trustDomain: "acme.example" });
  const state: { base: string } = { base: "" };
  const context = await setup("https://pending.invalid/mcp");
  const audit = new MemoryAuditSink();
  const gate = new Gate({
    audience: "https://127.0.0.1/mcp",
    verifier: context.authority.verifier(),
    registry: context.registry,
    policy,
    audit,
    certificates: x509CertificateAuthenticator({
      bundle: ca.bundle(),
      registry: context.registry,
      revocations: context.authority.revocations,
      serials: ca,
    }),
  });
  const serverSvid = await ca.issue(SERVER_ID);
  const calls: string[] = [];
  const server: Server = createServer(
    mtlsServerOptions({
      key: serverSvid.privateKeyPem ?? "",
      cert: serverSvid.chainPem,
      bundle: ca.bundle().toPem(),
    }),
    async (request: import("node:http").IncomingMessage & { auth?: AuthInfo }, response) => {
      const auth = await authenticateRequest(request, response, {
        verifier: context.authority.verifier(),
        audience: "https://127.0.0.1/mcp",
        certificates: x509CertificateAuthenticator({
          bundle: ca.bundle(),
          registry: context.registry,
          revocations: context.authority.revocations,
          serials: ca,
        }),
      });
      if (auth === undefined) return;
      request.auth = auth;
      const mcp = new McpServer({ name: "crm", version: "1.0.0" });
      guardMcpServer(mcp, { gate, serverId: "crm" });
      mcp.registerTool(
        "lookup",
        { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } },
        async ({ customerId }) => {
          calls.push(`lookup:${customerId}`);
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { base: state.base, ca, context, audit, calls };
}

async function connectOverMtls(
  base: string,
  credentials: { key: string; cert: string; ca: string },
): Promise<Client> {
  const fetch = mtlsFetch({ ...credentials, checkServerIdentity: expectServer(SERVER_ID) });
  cleanups.push(() => fetch.close());
  const client = new Client({ name: "agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { fetch }));
  cleanups.push(() => client.close());
  return client;
}

describe("MCP over mutual TLS on 127.0.0.1", () => {
  it("M102: the gate authenticates the caller from its verified client certificate, serial and fingerprint in the audit event", async () => {
    const { base, ca, audit, calls } = await mtlsServer();
    const svid = await ca.issue(SUPPORT);
    const client = await connectOverMtls(base, {
      key: svid.privateKeyPem ?? "",
      cert: svid.chainPem,
      ca: ca.bundle().toPem(),
    });
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
    const decision = audit.events.find((event) => event.type === "decision");
    expect(decision).toMatchObject({
      agent: SUPPORT,
      tokenId: `x509:${svid.serial}`,
      details: { certificate: { serial: svid.serial, fingerprint: svid.fingerprint } },
    });
  });

  it("M102: without a client certificate, or with one of another trust domain, the TLS handshake refuses", async () => {
    const { base, ca } = await mtlsServer();
    const foreign = await CertificateAuthority.open({ trustDomain: "acme.example" });
    const impostor = await foreign.issue(SUPPORT);
    const fetchAs = mtlsFetch({
      key: impostor.privateKeyPem ?? "",
      cert: impostor.chainPem,
      ca: ca.bundle().toPem(),
      checkServerIdentity: expectServer(SERVER_ID),
    });
    cleanups.push(() => fetchAs.close());
    const post = (send: typeof fetchAs) =>
      send(`${base}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
    await expect(post(fetchAs)).rejects.toThrow();
    // A client with no certificate at all: plain https with the right CA.
    const { request } = await import("node:https");
    const noCertificate = new Promise((resolve, reject) => {
      const outgoing = request(`${base}/mcp`, {
        method: "POST",
        ca: ca.bundle().toPem(),
        checkServerIdentity: expectServer(SERVER_ID),
        headers: { "content-type": "application/json" },
      });
      outgoing.on("response", (response) => resolve(response.statusCode));
      outgoing.on("error", reject);
      outgoing.end("{}");
    });
    await expect(noCertificate).rejects.toThrow();
  });

  it("M102: a revoked serial is refused on the next call although the TLS handshake still succeeds", async () => {
    const { base, ca, context, calls } = await mtlsServer();
    const svid = await ca.issue(SUPPORT);
    const client = await connectOverMtls(base, {
      key: svid.privateKeyPem ?? "",
      cert: svid.chainPem,
      ca: ca.bundle().toPem(),
    });
    await context.authority.revoke("token", `x509:${svid.serial}`);
    await expect(
      client.callTool({ name: "lookup", arguments: { customerId: "acme" } }),
    ).rejects.toThrow(/401|invalid_token|revoked/i);
    expect(calls).toEqual([]);
  });
});
