import { CredentialProvider, generateDpopKey, MemoryReplayCache } from "@agentgate/core";
import { describe, expect, it } from "vitest";
import {
  cleanupAfterEach,
  connect,
  connectHttp,
  httpCrmServer,
  JSON_HEADERS,
  LIST,
  SUPPORT,
  setup,
} from "../test/setup.js";
import { agentGateFetch, withAgentToken } from "./client.js";
import { protectedResourceMetadata } from "./http-auth.js";

const cleanups = cleanupAfterEach();

/** A guarded MCP server on 127.0.0.1 that checks DPoP proofs for bound tokens. */
function dpopServer() {
  const replay = new MemoryReplayCache();
  return httpCrmServer(cleanups, { auth: () => ({ dpop: { replay } }) });
}

describe("DPoP-bound tokens over Streamable HTTP on 127.0.0.1", () => {
  it("M104: agentGateFetch({ proof: 'dpop' }) calls through the gate; the stolen token replayed as a bearer, or with a thief's proof, gets 401", async () => {
    const { base, context } = await dpopServer();
    const key = await generateDpopKey();
    const credential = CredentialProvider.forAgent(context.authority, SUPPORT, {
      audience: `${base}/mcp`,
      confirmation: { jkt: key.jkt },
    });
    const client = await connectHttp(
      `${base}/mcp`,
      agentGateFetch({ credential, resource: `${base}/mcp`, proof: "dpop", key }),
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
