import { importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { JwksKeySet } from "./key-set.js";
import { SigningKey } from "./signing-key.js";

describe("RS256 and ES256 keys (what clouds' workload identity federation accepts)", () => {
  it("an RS256 authority signs 2048-bit RSA tokens that its verifier, a JWKS verifier and plain jose accept", async () => {
    const { authority, clock } = await makeIdentity({ algorithm: "RS256" });
    // The fixture stores an EdDSA key first: rotate to the authority's own algorithm.
    const info = await authority.rotateKey();
    expect(info.alg).toBe("RS256");
    expect(authority.signingAlgorithm()).toBe("RS256");
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expect(
      authority.verifier().verify(issued.token, { audience: AUDIENCE }),
    ).resolves.toMatchObject({ principal: { id: SUPPORT } });
    const jwk = authority.jwks().keys.find((key) => key.kid === info.kid);
    expect(jwk).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
    expect(Buffer.from(jwk?.n ?? "", "base64url").length * 8).toBe(2048);
    expect(jwk).not.toHaveProperty("d");
    expect(jwk).not.toHaveProperty("p");
    const key = await importJWK(jwk ?? {}, "RS256");
    const { protectedHeader } = await jwtVerify(issued.token, key, {
      audience: AUDIENCE,
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader).toMatchObject({ alg: "RS256", kid: info.kid });
    const keys = await JwksKeySet.fromJwks(authority.jwks());
    expect(keys.getVerificationKey(info.kid)?.alg).toBe("RS256");
  });

  it("keys rotate from EdDSA to RS256 and to ES256 without a gap: older tokens verify through the overlap", async () => {
    const { authority } = await makeIdentity();
    const old = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await authority.rotateKey({ algorithm: "RS256" });
    const rsa = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await authority.rotateKey({ algorithm: "ES256" });
    const ec = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const verifier = authority.verifier();
    for (const token of [old, rsa, ec]) {
      await expect(verifier.verify(token.token, { audience: AUDIENCE })).resolves.toBeDefined();
    }
    expect(authority.keys().map((key) => key.alg)).toEqual(["ES256", "RS256", "EdDSA"]);
    expect(new Set(authority.jwks().keys.map((key) => key.alg))).toEqual(
      new Set(["ES256", "RS256", "EdDSA"]),
    );
  });

  it("H59: a stored RSA key whose private and public parts differ is refused at load", async () => {
    const a = await SigningKey.generate("RS256", 0);
    const b = await SigningKey.generate("RS256", 0);
    await expect(SigningKey.fromStored({ ...a, publicJwk: b.publicJwk })).rejects.toMatchObject({
      code: "key_store_invalid",
    });
    await expect(
      SigningKey.fromStored({ ...a, privateJwk: { ...b.privateJwk, kid: a.kid } }),
    ).rejects.toMatchObject({ code: "key_store_invalid" });
    await expect(SigningKey.fromStored(a)).resolves.toMatchObject({ alg: "RS256" });
  });
});
