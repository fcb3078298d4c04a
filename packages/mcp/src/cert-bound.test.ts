import { request as httpsRequest } from "node:https";
import { certificateThumbprint } from "@agentgate/core";
import type { CertificateAuthority } from "@agentgate/core/x509";
import { describe, expect, it } from "vitest";
import {
  TLS_AUDIENCE as AUDIENCE,
  cleanupAfterEach,
  connectHttp,
  expectServer,
  INTERN,
  JSON_HEADERS,
  LIST,
  mtlsCredentials,
  SERVER_ID,
  SUPPORT,
  tlsCrmServer,
} from "../test/setup.js";
import { agentGateFetch } from "./client.js";
import { mtlsFetch } from "./mtls-fetch.js";

const cleanups = cleanupAfterEach();

/**
 * A guarded MCP server on 127.0.0.1 over TLS that asks for client certificates but lets the
 * request through without one (`rejectUnauthorized: false`), so the token check itself is what
 * refuses a certificate-bound token sent without its certificate. Its gate refuses bearer tokens.
 */
function certBoundServer() {
  return tlsCrmServer(cleanups, {
    gate: () => ({ requireProofOfPossession: true }),
    tls: { rejectUnauthorized: false },
  });
}

/** mTLS with `svid`, the token in `Authorization: Bearer`. */
function fetchWith(
  base: string,
  ca: CertificateAuthority,
  svid: { privateKeyPem?: string; chainPem: string },
  credential: string,
) {
  const tls = mtlsFetch({
    ...mtlsCredentials(ca, svid),
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
    const client = await connectHttp(`${base}/mcp`, fetchWith(base, ca, svid, token));
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
    const client = await connectHttp(`${base}/mcp`, fetchWith(base, ca, svid, token));
    cleanups.push(() => client.close());
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/token_invalid/);
    expect(calls).toEqual([]);
  });
});
