import { defineAgent, JwtSvidBundle, MemoryReplayCache } from "@agentgate/core";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  cleanupAfterEach,
  connectHttp,
  httpCrmServer,
  JSON_HEADERS,
  SUPPORT,
} from "../test/setup.js";
import { agentGateFetch } from "./client.js";
import { mcpTokenVerifier } from "./http-auth.js";

// SPIRE-issued JWT-SVIDs as the bearer of an MCP server over Streamable HTTP on 127.0.0.1. A
// SPIRE server's JWT authority is an ES256 key with a kid; its bundle (the JWKS of
// `spire-server bundle show -format spiffe`, keys with use "jwt-svid") configures both the
// bearer check and the gate; SVIDs carry header alg/kid/typ JWT and claims sub, aud, exp, iat.

const cleanups = cleanupAfterEach();

async function spire(trustDomain = "acme.example", kid = "spire-jwt-1") {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, use: "jwt-svid" }] as JWK[] };
  const svid = (audience: string, claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: SUPPORT, aud: [audience], exp: now + 300, iat: now, ...claims })
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
      .sign(privateKey);
  };
  return { jwks, svid, bundle: () => JwtSvidBundle.fromJwks(trustDomain, jwks) };
}

interface ServerOptions {
  /** Configure the SPIRE bundle on the bearer check (default true). */
  readonly httpBundles?: boolean;
  /** Configure the SPIRE bundle on the gate (default true). */
  readonly gateBundles?: boolean;
  /** Pass the gate's registry to the bearer check (default true). */
  readonly registry?: boolean;
  readonly dpopRequired?: boolean;
}

/** A guarded MCP server on 127.0.0.1 whose bearer check and gate trust one SPIRE's bundle. */
async function svidServer(options: ServerOptions = {}) {
  const authority = await spire();
  const bundle = await authority.bundle();
  const { base, context } = await httpCrmServer(cleanups, {
    auth: (context) => ({
      ...(options.httpBundles === false ? {} : { spiffeBundles: [bundle] }),
      ...(options.registry === false ? {} : { registry: context.registry }),
      ...(options.dpopRequired === true
        ? { dpop: { replay: new MemoryReplayCache(), required: true } }
        : {}),
    }),
    gate: options.gateBundles === false ? {} : { spiffeBundles: [bundle] },
  });
  const audience = `${base}/mcp`;
  return {
    base,
    audience,
    context,
    bundle,
    svid: (claims?: Record<string, unknown>) => authority.svid(audience, claims),
  };
}

const CALL = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "lookup", arguments: { customerId: "acme" } },
});

/** POSTs a `tools/call` with `svid` as the bearer: the status and the 401's description. */
async function post(base: string, svid: string): Promise<{ status: number; reason: string }> {
  const response = await fetch(`${base}/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${svid}`, ...JSON_HEADERS },
    body: CALL,
  });
  const reason = /error_description="([^"]*)"/.exec(
    response.headers.get("www-authenticate") ?? "",
  )?.[1];
  await response.arrayBuffer();
  return { status: response.status, reason: reason ?? "" };
}

describe("SPIRE JWT-SVIDs as bearers of an MCP server over Streamable HTTP on 127.0.0.1", () => {
  it("P132: a SPIRE JWT-SVID of a registered agent calls a guarded tool through the SDK client, as that agent, audited as a JWT-SVID", async () => {
    const { audience, context, bundle, svid } = await svidServer();
    const credential = await svid({ jti: "svid-1" });
    const client = await connectHttp(audience, agentGateFetch({ credential, resource: audience }));
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).not.toBe(true);
    expect(context.calls).toEqual(["lookup:acme"]);
    await client.close();
    const decision = context.audit.events.find((event) => event.type === "decision");
    expect(decision).toMatchObject({
      agent: SUPPORT,
      tokenId: "jwt-svid:svid-1",
      owner: "alice@acme.example",
      decision: { allowed: true },
      details: { credential: "jwt-svid", trustBundle: "acme.example" },
    });

    // What the bearer check hands the guarded server: the SVID itself, for the gate to verify
    // again, and the agent it proves with its registry scopes.
    const auth = await mcpTokenVerifier({
      verifier: context.authority.verifier(),
      audience,
      spiffeBundles: [bundle],
      registry: context.registry,
    }).verifyAccessToken(credential);
    expect(auth).toMatchObject({
      token: credential,
      clientId: SUPPORT,
      scopes: ["crm:read"],
      extra: { tokenId: "jwt-svid:svid-1", principal: SUPPORT, chain: [SUPPORT] },
    });
    expect(auth.expiresAt).toBeTypeOf("number");
  });

  it("P132: another trust domain's SVID, our SPIRE's key naming another trust domain, another SPIRE's key or another audience get 401 and run nothing", async () => {
    const { base, context, svid } = await svidServer();
    // Another SPIRE (evil.example), no bundle configured for it: its keys are never tried.
    const evil = await spire("evil.example");
    const evilSvid = await evil.svid(`${base}/mcp`, { sub: "spiffe://evil.example/agent/support" });
    expect(await post(base, evilSvid)).toEqual({
      status: 401,
      reason: "The agent credential is not valid.",
    });
    await expect(
      connectHttp(`${base}/mcp`, agentGateFetch({ credential: evilSvid, resource: `${base}/mcp` })),
    ).rejects.toThrow(/invalid_token/);
    expect(
      (await post(base, await svid({ sub: "spiffe://evil.example/agent/support" }))).status,
    ).toBe(401);
    const impostor = await spire("acme.example", "evil-jwt-1");
    expect((await post(base, await impostor.svid(`${base}/mcp`))).status).toBe(401);
    const sameKid = await spire("acme.example");
    expect((await post(base, await sameKid.svid(`${base}/mcp`))).status).toBe(401);
    expect((await post(base, await svid({ aud: ["https://other.acme.example"] }))).status).toBe(
      401,
    );
    expect(context.calls).toEqual([]);
    // Refused before the gate: no call reached it.
    expect(context.audit.events.filter((event) => event.type === "decision")).toEqual([]);
  });

  it("P132: an SVID at a server with no bundle configured gets 401, as before; the gate verifies the SVID again and refuses it without its own bundle", async () => {
    const closed = await svidServer({ httpBundles: false, gateBundles: false });
    expect(await post(closed.base, await closed.svid())).toEqual({
      status: 401,
      reason: "The agent credential is not valid.",
    });
    expect(closed.context.calls).toEqual([]);

    // The bearer check accepts the SVID, the gate (no bundle) does not: the tool never runs.
    const gateOnly = await svidServer({ gateBundles: false });
    const client = await connectHttp(
      gateOnly.audience,
      agentGateFetch({ credential: await gateOnly.svid(), resource: gateOnly.audience }),
    );
    const result = await client.callTool({ name: "lookup", arguments: { customerId: "acme" } });
    expect(result.isError).toBe(true);
    expect(gateOnly.context.calls).toEqual([]);
    expect(gateOnly.context.audit.events.find((event) => event.type === "decision")).toMatchObject({
      decision: { allowed: false, code: "token_invalid" },
    });
    await client.close();
  });

  it("P133: an SVID of an unregistered, suspended or revoked agent, or a revoked SVID id, gets 401; without a registry every SVID does", async () => {
    const { base, context, svid } = await svidServer();
    expect(await post(base, await svid({ sub: "spiffe://acme.example/agent/nobody" }))).toEqual({
      status: 401,
      reason: expect.stringMatching(/not registered/),
    });
    await context.authority.revocations.revoke("token", "jwt-svid:leaked");
    expect((await post(base, await svid({ jti: "leaked" }))).status).toBe(401);
    expect((await post(base, await svid({ jti: "fine" }))).status).toBe(200);
    expect(context.calls).toEqual(["lookup:acme"]);

    await context.registry.put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", supervision: "suspended" }),
    );
    expect((await post(base, await svid())).status).toBe(401);
    await context.registry.put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
    );
    await context.authority.revocations.revoke("agent", SUPPORT);
    expect((await post(base, await svid())).status).toBe(401);
    expect(context.calls).toEqual(["lookup:acme"]);

    // spiffeBundles without the registry is a configuration error: every bearer is refused,
    // none waved through.
    const unregistered = await svidServer({ registry: false });
    const misconfigured = { status: 401, reason: "AgentGate is misconfigured." };
    expect(await post(unregistered.base, await unregistered.svid())).toEqual(misconfigured);
    const token = await unregistered.context.credentials(SUPPORT, unregistered.audience).token();
    expect(await post(unregistered.base, token)).toEqual(misconfigured);
    expect(unregistered.context.calls).toEqual([]);
    expect(() =>
      mcpTokenVerifier({
        verifier: unregistered.context.authority.verifier(),
        audience: unregistered.audience,
        spiffeBundles: [unregistered.bundle],
      }),
    ).toThrow(expect.objectContaining({ code: "invalid_configuration" }));
  });

  it("P134: an SVID is a bearer credential: a server that requires DPoP refuses it with 401", async () => {
    const { base, context, svid } = await svidServer({ dpopRequired: true });
    expect(await post(base, await svid())).toEqual({
      status: 401,
      reason: expect.stringMatching(/JWT-SVID is a bearer credential/),
    });
    expect(context.calls).toEqual([]);
  });
});
