import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, b64, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { JwtSvidBundle, verifyJwtSvid } from "./jwt-svid.js";

// SPIRE-issued JWT-SVIDs as agent credentials: a SPIRE server's JWT authority (an ES256 key, as
// SPIRE's default) signs SVIDs exactly as SPIRE does (header alg/kid/typ JWT; sub, aud, exp, iat),
// and its bundle (JWKS, use "jwt-svid") is what AgentGate is configured with.
async function spire(trustDomain = "acme.example") {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = "spire-jwt-1";
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: "jwt-svid" };
  const x509Key: JWK = {
    ...(await exportJWK((await generateKeyPair("ES256", { extractable: true })).publicKey)),
    use: "x509-svid",
  };
  const jwks = { keys: [x509Key, jwk], spiffe_sequence: 1 } as { keys: JWK[] };
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT", ...header })
      .sign(privateKey);
  return { trustDomain, jwks, kid, sign, privateKey };
}

async function setup() {
  const identity = await makeIdentity();
  const server = await spire();
  const bundle = await JwtSvidBundle.fromJwks("acme.example", server.jwks);
  const now = Math.floor(identity.clock.now() / 1000);
  const good = { sub: SUPPORT, aud: [AUDIENCE], exp: now + 300, iat: now };
  const options = {
    bundle,
    registry: identity.registry,
    revocations: identity.revocations,
    clock: identity.clock,
    audience: AUDIENCE,
  };
  return { ...identity, server, bundle, now, good, options };
}

async function checkOf(action: Promise<unknown>): Promise<unknown> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentGateError);
  return (error as AgentGateError).details?.check;
}

describe("verifyJwtSvid: SPIRE-issued JWT-SVIDs from a configured trust bundle", () => {
  it("accepts a SPIRE JWT-SVID of a registered agent: its registry scopes and attributes, tokenId jwt-svid:", async () => {
    const { server, good, options } = await setup();
    const svid = await server.sign(good);
    const { agent, record } = await verifyJwtSvid(svid, options);
    expect(agent.agent.toString()).toBe(SUPPORT);
    expect(agent.scopes).toEqual(record.maxScopes);
    expect(agent.attributes).toEqual({ owner: "alice@acme.example", supervision: "autonomous" });
    expect(agent.tokenId).toMatch(/^jwt-svid:[0-9a-f]{64}$/);
    expect(agent.keyId).toBe(server.kid);
    const withJti = await server.sign({ ...good, jti: "svid-1", aud: AUDIENCE });
    expect((await verifyJwtSvid(withJti, options)).agent.tokenId).toBe("jwt-svid:svid-1");
  });

  it("P122: a JWT-SVID of another trust domain is refused, even signed by a key of our bundle", async () => {
    const { server, good, options } = await setup();
    const foreign = await server.sign({ ...good, sub: "spiffe://evil.example/agent/support" });
    expect(await checkOf(verifyJwtSvid(foreign, options))).toBe("sub");
    // The other trust domain's SPIRE key, even under our key's kid, does not verify.
    const evil = await spire("evil.example");
    expect(await checkOf(verifyJwtSvid(await evil.sign(good), options))).toBe("signature");
    expect(await checkOf(verifyJwtSvid(await evil.sign(good, { kid: "evil-1" }), options))).toBe(
      "kid",
    );
    // A SPIFFE id that is not a canonical agent id is refused too.
    expect(
      await checkOf(
        verifyJwtSvid(
          await server.sign({ ...good, sub: "spiffe://acme.example/ns/prod/sa/x" }),
          options,
        ),
      ),
    ).toBe("sub");
  });

  it("P123: a JWT-SVID without aud, or with another or a second audience, or without exp, is refused", async () => {
    const { server, good, options } = await setup();
    const { aud: _aud, ...noAud } = good;
    expect(await checkOf(verifyJwtSvid(await server.sign(noAud), options))).toBe("aud");
    expect(
      await checkOf(
        verifyJwtSvid(await server.sign({ ...good, aud: ["https://mail.acme.example"] }), options),
      ),
    ).toBe("aud");
    expect(
      await checkOf(
        verifyJwtSvid(
          await server.sign({ ...good, aud: [AUDIENCE, "https://mail.acme.example"] }),
          options,
        ),
      ),
    ).toBe("aud");
    const { exp: _exp, ...noExp } = good;
    expect(await checkOf(verifyJwtSvid(await server.sign(noExp), options))).toBe("exp");
    await expectCode(
      verifyJwtSvid(await server.sign({ ...good, exp: good.iat - 60 }), options),
      "token_expired",
    );
  });

  it("P124: alg none, HS256 keyed with the bundle key, and a typ other than JWT/JOSE are refused", async () => {
    const { server, good, options } = await setup();
    const unsigned = `${b64({ alg: "none", kid: server.kid, typ: "JWT" })}.${b64(good)}.`;
    expect(await checkOf(verifyJwtSvid(unsigned, options))).toBe("format");
    expect(await checkOf(verifyJwtSvid(`${unsigned}AAAA`, options))).toBe("alg");
    const hs = await new SignJWT(good)
      .setProtectedHeader({ alg: "HS256", kid: server.kid, typ: "JWT" })
      .sign(new TextEncoder().encode(JSON.stringify(server.jwks.keys[1])));
    expect(await checkOf(verifyJwtSvid(hs, options))).toBe("alg");
    expect(
      await checkOf(verifyJwtSvid(await server.sign(good, { typ: "agent+jwt" }), options)),
    ).toBe("typ");
    expect(
      await checkOf(
        verifyJwtSvid(await server.sign(good, { jku: "https://evil.example" }), options),
      ),
    ).toBe("header");
    // The signature is checked: a changed payload under the old signature is refused.
    const [h, , s] = (await server.sign(good)).split(".");
    expect(
      await checkOf(
        verifyJwtSvid(
          `${h}.${b64({ ...good, sub: "spiffe://acme.example/agent/ops" })}.${s}`,
          options,
        ),
      ),
    ).toBe("signature");
  });

  it("P125: an unknown kid, no kid, and a kid of the bundle's x509-svid key are refused; no key is tried blindly", async () => {
    const { server, good, options } = await setup();
    expect(await checkOf(verifyJwtSvid(await server.sign(good, { kid: "other" }), options))).toBe(
      "kid",
    );
    const noKid = await new SignJWT(good)
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .sign(server.privateKey);
    expect(await checkOf(verifyJwtSvid(noKid, options))).toBe("kid");
    // A bundle with a jwt-svid key without kid, or a private key, is refused at load.
    await expectCode(
      JwtSvidBundle.fromJwks("acme.example", {
        keys: [{ ...server.jwks.keys[1], kid: undefined } as JWK],
      }),
      "key_store_invalid",
    );
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    await expectCode(
      JwtSvidBundle.fromJwks("acme.example", {
        keys: [{ ...(await exportJWK(privateKey)), kid: "p", use: "jwt-svid" }],
      }),
      "key_store_invalid",
    );
  });

  it("a revoked or unregistered agent's JWT-SVID is refused exactly as its token would be (L90)", async () => {
    const { server, good, options, revocations } = await setup();
    const unknown = await server.sign({ ...good, sub: "spiffe://acme.example/agent/nobody" });
    await expectCode(verifyJwtSvid(unknown, options), "agent_unknown");
    await revocations.revoke("agent", SUPPORT, "compromised");
    await expectCode(verifyJwtSvid(await server.sign(good), options), "agent_revoked");
  });
});
