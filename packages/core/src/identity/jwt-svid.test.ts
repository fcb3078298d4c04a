import { base64url, compactVerify, importJWK, type JSONWebKeySet } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";

// A JWT-SVID validator written strictly from the SPIFFE JWT-SVID standard
// (spiffe/spiffe standards/JWT-SVID.md), independent of AgentGate's verifier: what a SPIRE-aware
// service checks before it believes a JWT-SVID. The signature is jose's (§4: "the same as
// regular JWTs/JWSs").
const SVID_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
];
const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

async function validateJwtSvid(
  token: string,
  bundle: JSONWebKeySet,
  expected: { trustDomain: string; audience: string; now: number },
): Promise<{ spiffeId: string; audience: string[]; expiry: number }> {
  const parts = token.split(".");
  // §5.1: JWS Compact Serialization only.
  if (parts.length !== 3) throw new Error("not a JWS compact serialization");
  const header = JSON.parse(new TextDecoder().decode(base64url.decode(parts[0] as string)));
  // §2: any header not described (alg, kid, typ) MUST NOT be included.
  for (const name of Object.keys(header)) {
    if (!["alg", "kid", "typ"].includes(name)) throw new Error(`header ${name} not allowed`);
  }
  // §2.1 and §4: alg one of RFC 7518 §3.3-3.5, checked before processing.
  if (!SVID_ALGORITHMS.includes(header.alg)) throw new Error(`alg ${header.alg} not allowed`);
  // §2.3: typ optional; if set, JWT or JOSE.
  if (header.typ !== undefined && header.typ !== "JWT" && header.typ !== "JOSE") {
    throw new Error(`typ ${header.typ} not allowed`);
  }
  // §2.2: kid optional; the bundle's keys of this trust domain.
  const candidates = bundle.keys.filter(
    (key) => header.kid === undefined || key.kid === header.kid,
  );
  let payload: Uint8Array | undefined;
  for (const jwk of candidates) {
    try {
      payload = (
        await compactVerify(token, await importJWK(jwk, header.alg), { algorithms: [header.alg] })
      ).payload;
      break;
    } catch {}
  }
  if (payload === undefined) throw new Error("no bundle key verifies the signature");
  const claims = JSON.parse(new TextDecoder().decode(payload));
  // §3.1: sub is the SPIFFE id of the workload, here of the expected trust domain.
  const match = typeof claims.sub === "string" ? SPIFFE_ID.exec(claims.sub) : null;
  if (match === null || match[1] !== expected.trustDomain)
    throw new Error("sub is not a SPIFFE id of the trust domain");
  // §3.2: aud present, one or more values, ours among them.
  const audience = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
  if (!Array.isArray(audience) || audience.length === 0 || !audience.includes(expected.audience)) {
    throw new Error("aud missing or not ours");
  }
  // §3.3: exp set, not in the past.
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= expected.now)
    throw new Error("exp missing or past");
  return { spiffeId: claims.sub, audience, expiry: claims.exp };
}

describe("Authority.issueJwtSvid: SPIFFE JWT-SVIDs that JWT-SVID validators accept", () => {
  for (const algorithm of ["ES256", "RS256"] as const) {
    it(`${algorithm}: a strict JWT-SVID validator accepts the SVID against the JWKS as a trust bundle`, async () => {
      const { authority, clock } = await makeIdentity();
      await authority.rotateKey({ algorithm });
      const issued = await authority.issueJwtSvid(SUPPORT, { audience: AUDIENCE, ttlSeconds: 120 });
      const validated = await validateJwtSvid(issued.token, authority.jwks(), {
        trustDomain: "acme.example",
        audience: AUDIENCE,
        now: clock.now(),
      });
      expect(validated).toEqual({
        spiffeId: SUPPORT,
        audience: [AUDIENCE],
        expiry: issued.expiresAt,
      });
      expect(issued.expiresAt - issued.issuedAt).toBe(120);
      const header = JSON.parse(
        Buffer.from(issued.token.split(".")[0] as string, "base64url").toString(),
      );
      expect(header).toEqual({ alg: algorithm, kid: expect.any(String), typ: "JWT" });
      // The validator is strict: another audience, or the same SVID after expiry, is refused.
      await expect(
        validateJwtSvid(issued.token, authority.jwks(), {
          trustDomain: "acme.example",
          audience: "https://mail.acme.example",
          now: clock.now(),
        }),
      ).rejects.toThrow(/aud/);
      await expect(
        validateJwtSvid(issued.token, authority.jwks(), {
          trustDomain: "acme.example",
          audience: AUDIENCE,
          now: (issued.expiresAt + 1) * 1000,
        }),
      ).rejects.toThrow(/exp/);
      await expect(
        validateJwtSvid(issued.token, authority.jwks(), {
          trustDomain: "evil.example",
          audience: AUDIENCE,
          now: clock.now(),
        }),
      ).rejects.toThrow(/sub/);
    });
  }

  it("an agent token is not a JWT-SVID (typ agent+jwt), and a JWT-SVID is not an agent token", async () => {
    const { authority, clock } = await makeIdentity();
    await authority.rotateKey({ algorithm: "ES256" });
    const agentToken = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expect(
      validateJwtSvid(agentToken.token, authority.jwks(), {
        trustDomain: "acme.example",
        audience: AUDIENCE,
        now: clock.now(),
      }),
    ).rejects.toThrow(/typ/);
    const svid = await authority.issueJwtSvid(SUPPORT, { audience: AUDIENCE });
    await expectCode(
      authority.verifier().verify(svid.token, { audience: AUDIENCE }),
      "token_invalid",
    );
  });

  it("refuses an EdDSA key (JWT-SVID §2.1 has none), an unknown agent and a bad audience", async () => {
    const { authority } = await makeIdentity();
    await expectCode(
      authority.issueJwtSvid(SUPPORT, { audience: AUDIENCE }),
      "invalid_configuration",
    );
    await authority.rotateKey({ algorithm: "ES256" });
    await expectCode(
      authority.issueJwtSvid("spiffe://acme.example/agent/nobody", { audience: AUDIENCE }),
      "agent_unknown",
    );
    await expectCode(authority.issueJwtSvid(SUPPORT, { audience: "" }), "invalid_configuration");
    await expectCode(
      authority.issueJwtSvid(SUPPORT, { audience: AUDIENCE, ttlSeconds: 0 }),
      "invalid_configuration",
    );
  });
});
