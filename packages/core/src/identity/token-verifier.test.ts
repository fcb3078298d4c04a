import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import {
  AUDIENCE,
  b64,
  claims,
  header,
  ISSUER,
  makeIdentity,
  SUPPORT,
  signHs256,
  signRaw,
} from "../../test/fixtures/identity.js";
import { Authority, defineAgent, MemoryAgentRegistry, MemoryReplayCache } from "../index.js";
import { SigningKey } from "./signing-key.js";
import { TokenVerifier } from "./token-verifier.js";

describe("TokenVerifier: A. token validation", () => {
  it("accepts a token the authority issued, and says who, for whom, with which scopes", async () => {
    const { authority, verifier } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE, scope: ["crm:read"] });
    const verified = await verifier.verify(issued.token, { audience: AUDIENCE });
    expect(verified.agent.toString()).toBe(SUPPORT);
    expect(verified.principal).toEqual({ id: SUPPORT, kind: "agent" });
    expect(verified.chain).toEqual([SUPPORT]);
    expect(verified.scopes).toEqual(["crm:read"]);
    expect(verified.tokenId).toBe(issued.tokenId);
    expect(verified.attributes).toEqual({ owner: "alice@acme.example", supervision: "autonomous" });
    expect(verified.expiresAt - verified.issuedAt).toBe(300);
  });

  it("accepts a hand-signed token with valid claims (the raw-signing fixture is sound)", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const token = signRaw(header(stored.kid), claims(clock.now()), stored);
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toMatchObject({
      tokenId: "jti-1",
    });
  });

  it("A1: rejects alg none (unsigned), with or without a signature segment", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const unsigned = `${b64(header(stored.kid, { alg: "none" }))}.${b64(claims(clock.now()))}`;
    await expectCode(verifier.verify(`${unsigned}.`, { audience: AUDIENCE }), "token_invalid");
    await expectCode(verifier.verify(`${unsigned}.AAAA`, { audience: AUDIENCE }), "token_invalid");
    const signedNone = signRaw(header(stored.kid, { alg: "none" }), claims(clock.now()), stored);
    await expectCode(verifier.verify(signedNone, { audience: AUDIENCE }), "token_invalid");
  });

  it("A2: rejects HS256 signed with the public key bytes as the HMAC secret", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const publicBytes = Buffer.from(String(stored.publicJwk.x), "base64url");
    for (const secret of [publicBytes, JSON.stringify(stored.publicJwk)]) {
      const token = signHs256(header(stored.kid, { alg: "HS256" }), claims(clock.now()), secret);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A2: the algorithm is pinned per key: an ES256 header on an EdDSA key is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const token = signRaw(header(stored.kid, { alg: "ES256" }), claims(clock.now()), stored);
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A3: rejects an algorithm not on the allow-list (RS384)", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const token = await new SignJWT(claims(clock.now()))
      .setProtectedHeader({ alg: "RS384", typ: "agent+jwt", kid: stored.kid })
      .sign(privateKey);
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A3: a verifier restricted to ES256 refuses EdDSA tokens", async () => {
    const { authority } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const strict = authority.verifier({ algorithms: ["ES256"] });
    await expectCode(strict.verify(issued.token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A4: rejects a signature altered by one bit, and a payload altered under the old signature", async () => {
    const { authority, verifier } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, {
      audience: AUDIENCE,
      scope: ["crm:read"],
    });
    const [h, p, s] = token.split(".") as [string, string, string];
    const signature = Buffer.from(s, "base64url");
    signature[10] = (signature[10] ?? 0) ^ 0x01;
    await expectCode(
      verifier.verify(`${h}.${p}.${b64(signature)}`, { audience: AUDIENCE }),
      "token_invalid",
    );
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.scope = "crm:read crm:write";
    await expectCode(
      verifier.verify(`${h}.${b64(payload)}.${s}`, { audience: AUDIENCE }),
      "token_invalid",
    );
  });

  it("A5: an unknown kid is invalid, with no fallback to other keys; path or SQL characters are just unknown ids", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const kid of ["unknown", "../../keys/evil", "' OR '1'='1", stored.kid.toLowerCase()]) {
      // Signed with the real key: only the kid lookup can refuse it.
      const token = signRaw(header(kid), claims(clock.now()), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A6: jku, x5u, jwk and x5c headers are never trusted: the token is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const extras: Record<string, unknown>[] = [
      { jku: "http://127.0.0.1:1/jwks.json" },
      { x5u: "http://127.0.0.1:1/cert.pem" },
      { jwk: stored.publicJwk },
      { x5c: ["MIIB"] },
    ];
    for (const extra of extras) {
      const token = signRaw(header(stored.kid, extra), claims(clock.now()), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A7: a crit header naming an unsupported extension is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const token = signRaw(
      header(stored.kid, { crit: ["exp"], exp: 1 }),
      claims(clock.now()),
      stored,
    );
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A8: a wrong or missing typ (cross-JWT confusion) is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const typ of ["JWT", "at+jwt", "AGENT+JWT", undefined]) {
      const token = signRaw(header(stored.kid, { typ }), claims(clock.now()), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A9: a wrong or missing iss is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const iss of ["spiffe://evil.example", undefined]) {
      const token = signRaw(header(stored.kid), claims(clock.now(), { iss }), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A10 + J76: a wrong aud, an aud list without ours, a missing aud, or ours among others is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const auds = [
      "https://billing.acme.example",
      ["https://billing.acme.example"],
      undefined,
      [AUDIENCE, "https://billing.acme.example"],
      [],
    ];
    for (const aud of auds) {
      const token = signRaw(header(stored.kid), claims(clock.now(), { aud }), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
    const single = signRaw(header(stored.kid), claims(clock.now(), { aud: [AUDIENCE] }), stored);
    await expect(verifier.verify(single, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("A11: expired beyond skew is token_expired; within skew accepted; nbf beyond skew invalid", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const now = Math.floor(clock.now() / 1000);
    const expiredLong = signRaw(
      header(stored.kid),
      claims(clock.now(), { iat: now - 400, nbf: now - 400, exp: now - 31, jti: "a" }),
      stored,
    );
    await expectCode(verifier.verify(expiredLong, { audience: AUDIENCE }), "token_expired");
    const expiredShort = signRaw(
      header(stored.kid),
      claims(clock.now(), { iat: now - 400, nbf: now - 400, exp: now - 29, jti: "b" }),
      stored,
    );
    await expect(verifier.verify(expiredShort, { audience: AUDIENCE })).resolves.toBeDefined();
    const early = signRaw(
      header(stored.kid),
      claims(clock.now(), { nbf: now + 31, jti: "c" }),
      stored,
    );
    await expectCode(verifier.verify(early, { audience: AUDIENCE }), "token_invalid");
  });

  it("A11: a cached verification dies at exp + skew (the cache never extends a token)", async () => {
    const { authority, clock, verifier } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 60 });
    await verifier.verify(token, { audience: AUDIENCE });
    clock.advance(89_000);
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
    clock.advance(2_000);
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_expired");
  });

  it("A12: iat far in the future, or a lifetime above the maximum, is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const now = Math.floor(clock.now() / 1000);
    const future = signRaw(
      header(stored.kid),
      claims(clock.now(), { iat: now + 3600, nbf: now, exp: now + 3700 }),
      stored,
    );
    await expectCode(verifier.verify(future, { audience: AUDIENCE }), "token_invalid");
    const long = signRaw(header(stored.kid), claims(clock.now(), { exp: now + 3601 }), stored);
    await expectCode(verifier.verify(long, { audience: AUDIENCE }), "token_invalid");
  });

  it("A13: a missing jti or sub, or a sub that is not an agent of this trust domain, is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const cases = [
      { jti: undefined },
      { sub: undefined },
      { sub: "spiffe://evil.example/agent/support" },
      { sub: "spiffe://acme.example/agent/Support" },
      { sub: "user:alice@acme.example" },
      { jti: "" },
    ];
    for (const overrides of cases) {
      const token = signRaw(header(stored.kid), claims(clock.now(), overrides), stored);
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A14: with replay protection on, the same jti is accepted once", async () => {
    const { authority, clock } = await makeIdentity();
    const verifier = authority.verifier({ replay: new MemoryReplayCache({ clock }) });
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await verifier.verify(token, { audience: AUDIENCE });
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_replayed");
  });

  it("A14: a used jti stays used for the token's whole accepted life, up to exp + skew", async () => {
    const { authority, clock } = await makeIdentity();
    const verifier = authority.verifier({ replay: new MemoryReplayCache({ clock }) });
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 300 });
    await verifier.verify(token, { audience: AUDIENCE });
    // Past exp but within the 30 s skew the token itself is still accepted, so its id must be
    // remembered: a window that ended at exp (or exp − skew) would let it replay here.
    clock.advance(300_000 + 20_000);
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_replayed");
    const fresh = authority.verifier({ replay: new MemoryReplayCache({ clock }) });
    await expect(fresh.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
    clock.advance(11_000);
    await expectCode(fresh.verify(token, { audience: AUDIENCE }), "token_expired");
  });

  it("J70: an ES256 signature twin (r, n−s) verifies, but is replayed once its original was used and revoked with it", async () => {
    const { authority, clock, revocations } = await makeIdentity({
      algorithm: "ES256",
      keyStore: undefined,
    });
    await authority.rotateKey();
    const { token, tokenId } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const twin = highSTwin(token);
    expect(twin).not.toBe(token);
    // The twin is a genuinely valid signature: a verifier that never saw the original accepts it.
    await expect(authority.verifier().verify(twin, { audience: AUDIENCE })).resolves.toMatchObject({
      tokenId,
    });
    const verifier = authority.verifier({ replay: new MemoryReplayCache({ clock }) });
    await verifier.verify(token, { audience: AUDIENCE });
    await expectCode(verifier.verify(twin, { audience: AUDIENCE }), "token_replayed");
    const plain = authority.verifier();
    await plain.verify(twin, { audience: AUDIENCE });
    await revocations.revoke("token", tokenId);
    await expectCode(plain.verify(token, { audience: AUDIENCE }), "token_revoked");
    await expectCode(plain.verify(twin, { audience: AUDIENCE }), "token_revoked");
  });

  it("J70: a signature twin (unused base64url bits flipped) of a used token is replayed, of a revoked token revoked", async () => {
    const { authority, clock, revocations } = await makeIdentity();
    const verifier = authority.verifier({ replay: new MemoryReplayCache({ clock }) });
    const { token, tokenId } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const twin = twinOf(token);
    expect(twin).not.toBe(token);
    await verifier.verify(token, { audience: AUDIENCE });
    await expectCode(verifier.verify(twin, { audience: AUDIENCE }), "token_replayed");

    const plain = authority.verifier();
    await revocations.revoke("token", tokenId);
    await expectCode(plain.verify(twin, { audience: AUDIENCE }), "token_revoked");
  });

  it("A15: an oversized token or deeply nested claims are refused before parsing cost grows", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const big = signRaw(
      header(stored.kid),
      claims(clock.now(), { pad: "x".repeat(17 * 1024) }),
      stored,
    );
    await expectCode(verifier.verify(big, { audience: AUDIENCE }), "token_invalid");
    // Valid in every other respect: only the nesting bound can refuse these.
    const valid = JSON.stringify(claims(clock.now()));
    const nestedIn = (depth: number) =>
      `${valid.slice(0, -1)},"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    await expect(
      verifier.verify(signRaw(header(stored.kid), nestedIn(6), stored), { audience: AUDIENCE }),
    ).resolves.toBeDefined();
    for (const depth of [7, 1000]) {
      const deep = signRaw(header(stored.kid), nestedIn(depth), stored);
      await expect(verifier.verify(deep, { audience: AUDIENCE })).rejects.toMatchObject({
        code: "token_invalid",
        message: expect.stringMatching(/^Invalid token: claims: .*(deep|nest)/i),
      });
    }
    const huge = `${"a".repeat(8 * 1024 * 1024)}.b.c`;
    await expectCode(verifier.verify(huge, { audience: AUDIENCE }), "token_invalid");
  });

  it("A16: a token from another trust domain, signed by a key this verifier does not trust, is refused", async () => {
    const { clock, verifier } = await makeIdentity();
    const registry = new MemoryAgentRegistry([
      defineAgent(
        { id: "spiffe://evil.example/agent/support", owner: "mallory", maxScopes: ["crm:read"] },
        clock,
      ),
    ]);
    const evil = await Authority.create({
      trustDomain: "evil.example",
      registry,
      clock,
      issuer: ISSUER,
    });
    const { token } = await evil.issueToken("spiffe://evil.example/agent/support", {
      audience: AUDIENCE,
    });
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A17: during the overlap window the previous key verifies; after it, the token is refused", async () => {
    const { authority, clock, verifier } = await makeIdentity();
    const old = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 3600 });
    const oldKid = authority.keys()[0]?.kid;
    await authority.rotateKey();
    expect(authority.jwks().keys.map((key) => key.kid)).toContain(oldKid);
    const fresh = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(fresh.token.split(".")[0]).not.toBe(old.token.split(".")[0]);
    clock.advance(3_599_000);
    await expect(verifier.verify(old.token, { audience: AUDIENCE })).resolves.toBeDefined();
    clock.advance(2_000);
    expect(authority.jwks().keys.map((key) => key.kid)).not.toContain(oldKid);
    // exp is still within skew here: only the retired key can refuse it.
    await expectCode(verifier.verify(old.token, { audience: AUDIENCE }), "token_invalid");
  });

  it("A18: malformed compact serialisations are token_invalid, never another exception", async () => {
    const { verifier, clock, stored } = await makeIdentity();
    const good = signRaw(header(stored.kid), claims(clock.now()), stored);
    const [h, p, s] = good.split(".") as [string, string, string];
    const bad = [
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}.p+y/.${s}`,
      `${b64("not json")}.${p}.${s}`,
      `${b64("[1,2]")}.${p}.${s}`,
      `${b64(Buffer.from([0xff, 0xfe, 0x7b]))}.${p}.${s}`,
      `${h}.${b64("null")}.${s}`,
      "",
      "....",
    ];
    for (const token of bad)
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    // Non-string input from JavaScript callers.
    await expectCode(
      verifier.verify(42 as unknown as string, { audience: AUDIENCE }),
      "token_invalid",
    );
  });

  it("I65: duplicate member names in the header or the claims are refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const claimsText = JSON.stringify(claims(clock.now()));
    const dupHeader = `{"alg":"EdDSA","typ":"agent+jwt","kid":"${stored.kid}","alg":"EdDSA"}`;
    await expectCode(
      verifier.verify(signRaw(dupHeader, claimsText, stored), { audience: AUDIENCE }),
      "token_invalid",
    );
    const dupSub = `${claimsText.slice(0, -1)},"sub":"spiffe://acme.example/agent/ops"}`;
    await expectCode(
      verifier.verify(signRaw(header(stored.kid), dupSub, stored), { audience: AUDIENCE }),
      "token_invalid",
    );
    const escaped = `${claimsText.slice(0, -1)},"\\u0073ub":"${SUPPORT}"}`;
    await expectCode(
      verifier.verify(signRaw(header(stored.kid), escaped, stored), { audience: AUDIENCE }),
      "token_invalid",
    );
  });

  it("G53: __proto__, constructor and prototype members in claims are refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const claimsText = JSON.stringify(claims(clock.now()));
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const text = `${claimsText.slice(0, -1)},"agent2":{"${key}":{"isAdmin":true}}}`;
      await expectCode(
        verifier.verify(signRaw(header(stored.kid), text, stored), { audience: AUDIENCE }),
        "token_invalid",
      );
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("J71: a token without exp, or without kid, is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const noExp = signRaw(header(stored.kid), claims(clock.now(), { exp: undefined }), stored);
    await expectCode(verifier.verify(noExp, { audience: AUDIENCE }), "token_invalid");
    const noKid = signRaw(header(stored.kid, { kid: undefined }), claims(clock.now()), stored);
    await expectCode(verifier.verify(noKid, { audience: AUDIENCE }), "token_invalid");
  });

  it("rejects bad configuration when the verifier is built", async () => {
    const { authority } = await makeIdentity();
    expect(
      () =>
        new TokenVerifier({
          issuer: ISSUER,
          trustDomain: "acme.example",
          keys: authority,
          algorithms: [],
        }),
    ).toThrow(/algorithms/);
    expect(() => authority.verifier({ clockSkewSeconds: -1 })).toThrow(/clockSkewSeconds/);
  });

  it("accepts an ES256 authority's tokens", async () => {
    const { authority, verifier } = await makeIdentity({ algorithm: "ES256", keyStore: undefined });
    await authority.rotateKey();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()).alg).toBe(
      "ES256",
    );
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("keys the cache by audience: a token verified for one audience is not accepted for another", async () => {
    const { authority, verifier } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await verifier.verify(token, { audience: AUDIENCE });
    await expectCode(
      verifier.verify(token, { audience: "https://billing.acme.example" }),
      "token_invalid",
    );
  });

  it("the verified-token cache evicts the least recently used token, not the oldest one", async () => {
    const { authority, clock } = await makeIdentity();
    let lookups = 0;
    const keys = {
      getVerificationKey: (kid: string) => {
        lookups++;
        return authority.getVerificationKey(kid);
      },
    };
    const verifier = new TokenVerifier({
      issuer: authority.issuer,
      trustDomain: "acme.example",
      keys,
      clock,
      cacheSize: 2,
    });
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(
        async () => (await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token,
      ),
    );
    // A hit looks the key up once (liveness); a cold verification twice (signature, liveness).
    const cost = async (token: string) => {
      const before = lookups;
      await verifier.verify(token, { audience: AUDIENCE });
      return lookups - before;
    };
    expect(await cost(a as string)).toBe(2);
    expect(await cost(b as string)).toBe(2);
    expect(await cost(a as string)).toBe(1); // a is now the most recently used
    expect(await cost(c as string)).toBe(2); // evicts b, the least recently used
    expect(await cost(a as string)).toBe(1);
    expect(await cost(b as string)).toBe(2);
  });

  it("concurrent verifications of one uncached token check its signature once, and each is checked live", async () => {
    const { authority, clock } = await makeIdentity();
    let lookups = 0;
    const keys = {
      getVerificationKey: (kid: string) => {
        lookups++;
        return authority.getVerificationKey(kid);
      },
    };
    const verifier = new TokenVerifier({
      issuer: authority.issuer,
      trustDomain: "acme.example",
      keys,
      clock,
    });
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const all = await Promise.all(
      Array.from({ length: 50 }, () => verifier.verify(token, { audience: AUDIENCE })),
    );
    expect(new Set(all).size).toBe(1);
    // One cold verification (one lookup for its signature), then liveness for each of the 50.
    expect(lookups).toBe(51);
  });

  it("a failed shared verification is not remembered: the next call verifies again", async () => {
    const { authority, verifier } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const tampered = `${token.slice(0, -8)}AAAAAAAA`;
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => verifier.verify(tampered, { audience: AUDIENCE })),
    );
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    await expectCode(verifier.verify(tampered, { audience: AUDIENCE }), "token_invalid");
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("the verified-token cache never holds more than cacheSize tokens", async () => {
    const { authority, clock } = await makeIdentity();
    let lookups = 0;
    const keys = {
      getVerificationKey: (kid: string) => {
        lookups++;
        return authority.getVerificationKey(kid);
      },
    };
    const verifier = new TokenVerifier({
      issuer: authority.issuer,
      trustDomain: "acme.example",
      keys,
      clock,
      cacheSize: 3,
    });
    const tokens = await Promise.all(
      Array.from(
        { length: 6 },
        async () => (await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token,
      ),
    );
    // Every token hit once after it is cached, so every entry carries a mark when evicted.
    for (const token of tokens) {
      await verifier.verify(token, { audience: AUDIENCE });
      await verifier.verify(token, { audience: AUDIENCE });
    }
    const before = lookups;
    for (const token of tokens) await verifier.verify(token, { audience: AUDIENCE });
    const cold = lookups - before - tokens.length;
    // Of six tokens through a cache of three, at most three are still cached.
    expect(cold).toBeGreaterThanOrEqual(3);
  });

  it("generated key ids differ (CSPRNG) and each is the key's thumbprint", async () => {
    const a = await SigningKey.generate("EdDSA", 0);
    const b = await SigningKey.generate("EdDSA", 0);
    expect(a.kid).not.toBe(b.kid);
    expect((await SigningKey.fromStored(a)).kid).toBe(a.kid);
  });
});

/** Flips the unused low bits of the last base64url character of the signature (64 bytes: 4 spare bits). */
function twinOf(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = token.at(-1) as string;
  const index = alphabet.indexOf(last);
  return token.slice(0, -1) + alphabet[(index & ~0x0f) | ((index + 1) & 0x0f)];
}

/** The other valid ECDSA signature of an ES256 token: (r, s) → (r, n − s) (SECURITY.md J70). */
function highSTwin(token: string): string {
  const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  const [h, p, s] = token.split(".") as [string, string, string];
  const signature = Buffer.from(s, "base64url");
  const r = signature.subarray(0, 32);
  const sValue = BigInt(`0x${signature.subarray(32).toString("hex")}`);
  const twinS = Buffer.from((n - sValue).toString(16).padStart(64, "0"), "hex");
  return `${h}.${p}.${Buffer.concat([r, twinS]).toString("base64url")}`;
}
