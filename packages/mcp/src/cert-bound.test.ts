import { createServer, request as httpsRequest, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { PeerCertificate } from "node:tls";
import { certificateThumbprint, Gate } from "@agentgate/core";
import { MemoryAuditSink } from "@agentgate/core/testing";
import { CertificateAuthority } from "@agentgate/core/x509";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { INTERN, policy, SUPPORT, setup } from "../test/setup.js";
import { agentGateFetch } from "./client.js";
import { authenticateRequest } from "./http-auth.js";
import { mtlsServerOptions } from "./mtls.js";
import { mtlsFetch } from "./mtls-fetch.js";
import { guardMcpServer } from "./server-guard.js";

const SERVER_ID = "spiffe://acme.example/agent/crm-server";
const AUDIENCE = "https://127.0.0.1/mcp";
const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function expectServer(id: string) {
  return (_host: string, certificate: PeerCertificate) =>
    certificate.subjectaltname === `URI:${id}` ? undefined : new Error(`not ${id}`);
}

/**
 * A guarded MCP server on 127.0.0.1 over TLS that asks for client certificates but lets the
 * request through without one (`rejectUnauthorized: false`), so the token check itself is what
 * refuses a certificate-bound token sent without its certificate. Its gate refuses bearer tokens.
 */
async function certBoundServer() {
  const ca = await CertificateAuthority.open({ trustDomain: "acme.example" });
  const context = await setup("https://pending.invalid/mcp");
  const audit = new MemoryAuditSink();
  const gate = new Gate({
    audience: AUDIENCE,
    verifier: context.authority.verifier(),
    registry: context.registry,
    policy,
    audit,
    requireProofOfPossession: true,
  });
  const serverSvid = await ca.issue(SERVER_ID);
  const calls: string[] = [];
  const server: Server = createServer(
    {
      ...mtlsServerOptions({
        key: serverSvid.privateKeyPem ?? "",
        cert: serverSvid.chainPem,
        bundle: ca.bundle().toPem(),
      }),
      rejectUnauthorized: false,
    },
    async (request: import("node:http").IncomingMessage & { auth?: AuthInfo }, response) => {
      const auth = await authenticateRequest(request, response, {
        verifier: context.authority.verifier(),
        audience: AUDIENCE,
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
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { base, ca, context, audit, calls };
}

/** mTLS with `svid`, the token in `Authorization: Bearer`. */
function fetchWith(
  base: string,
  ca: CertificateAuthority,
  svid: { privateKeyPem?: string; chainPem: string },
  credential: string,
) {
  const tls = mtlsFetch({
    key: svid.privateKeyPem ?? "",
    cert: svid.chainPem,
    ca: ca.bundle().toPem(),
    checkServerIdentity: expectServer(SERVER_ID),
  });
  cleanups.push(() => tls.close());
  return agentGateFetch({ credential, resource: `${base}/mcp`, fetch: tls });
}

describe("certificate-bound tokens (RFC 8705) over mTLS on 127.0.0.1", () => {
  it("M108: a token bound to the agent's SVID calls over mTLS with it; stolen, it is refused over another certificate or none", async () => {
    const { base, ca, context, audit, calls } = await certBoundServer();
    const svid = await ca.issue(SUPPORT);
    const { token } = await context.authority.issueToken(SUPPORT, {
      audience: AUDIENCE,
      confirmation: { "x5t#S256": await certificateThumbprint(svid.chainPem) },
    });
    const client = new Client({ name: "agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        fetch: fetchWith(base, ca, svid, token),
      }),
    );
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["lookup"]);
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(calls).toEqual(["lookup:acme"]);
    expect(audit.events.find((event) => event.type === "decision")).toMatchObject({
      agent: SUPPORT,
      decision: { allowed: true },
    });

    // The thief holds the token and a certificate of its own (another agent of the domain, or
    // even a second SVID of the same agent): the thumbprint is not the token's.
    for (const other of [await ca.issue(INTERN), await ca.issue(SUPPORT)]) {
      const response = await fetchWith(
        base,
        ca,
        other,
        token,
      )(`${base}/mcp`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: LIST,
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/another client certificate/);
    }
    // No client certificate at all.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const outgoing = httpsRequest(`${base}/mcp`, {
        method: "POST",
        ca: ca.bundle().toPem(),
        checkServerIdentity: expectServer(SERVER_ID),
        headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      });
      outgoing.on("response", (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      outgoing.on("error", reject);
      outgoing.end(LIST);
    });
    expect(status).toBe(401);
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("M107: over the same mTLS connection, a bearer token bound to nothing is refused by a gate that requires proof of possession", async () => {
    const { base, ca, context, calls } = await certBoundServer();
    const svid = await ca.issue(SUPPORT);
    const { token } = await context.authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const client = new Client({ name: "agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        fetch: fetchWith(base, ca, svid, token),
      }),
    );
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/token_invalid/);
    expect(calls).toEqual([]);
  });
});
