import { request } from "node:https";
import { CertificateAuthority, x509CertificateAuthenticator } from "@agentgate/core/x509";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { describe, expect, it } from "vitest";
import {
  cleanupAfterEach,
  connectHttp,
  expectServer,
  JSON_HEADERS,
  LIST,
  mtlsCredentials,
  SERVER_ID,
  SUPPORT,
  type TestContext,
  tlsCrmServer,
} from "../test/setup.js";
import { mtlsFetch } from "./mtls-fetch.js";

const cleanups = cleanupAfterEach();

/** The certificate authenticator of the gate and of the bearer check: the CA's bundle and serials. */
function certificates(context: TestContext, ca: CertificateAuthority) {
  return x509CertificateAuthenticator({
    bundle: ca.bundle(),
    registry: context.registry,
    revocations: context.authority.revocations,
    serials: ca,
  });
}

/** A guarded MCP server over Streamable HTTP on 127.0.0.1 that requires client certificates. */
function mtlsServer() {
  return tlsCrmServer(cleanups, {
    gate: (context, ca) => ({ certificates: certificates(context, ca) }),
    auth: (context, ca) => ({ certificates: certificates(context, ca) }),
  });
}

async function connectOverMtls(
  base: string,
  credentials: { key: string; cert: string; ca: string },
): Promise<Client> {
  const fetch = mtlsFetch({ ...credentials, checkServerIdentity: expectServer(SERVER_ID) });
  cleanups.push(() => fetch.close());
  const client = await connectHttp(`${base}/mcp`, fetch);
  cleanups.push(() => client.close());
  return client;
}

describe("MCP over mutual TLS on 127.0.0.1", () => {
  it("M102: the gate authenticates the caller from its verified client certificate, serial and fingerprint in the audit event", async () => {
    const { base, ca, audit, calls } = await mtlsServer();
    const svid = await ca.issue(SUPPORT);
    const client = await connectOverMtls(base, mtlsCredentials(ca, svid));
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
      ...mtlsCredentials(ca, impostor),
      checkServerIdentity: expectServer(SERVER_ID),
    });
    cleanups.push(() => fetchAs.close());
    const post = (send: typeof fetchAs) =>
      send(`${base}/mcp`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: LIST,
      });
    await expect(post(fetchAs)).rejects.toThrow();
    // A client with no certificate at all: plain https with the right CA.
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
    const client = await connectOverMtls(base, mtlsCredentials(ca, svid));
    await context.authority.revoke("token", `x509:${svid.serial}`);
    await expect(
      client.callTool({ name: "lookup", arguments: { customerId: "acme" } }),
    ).rejects.toThrow(/401|invalid_token|revoked/i);
    expect(calls).toEqual([]);
  });
});
