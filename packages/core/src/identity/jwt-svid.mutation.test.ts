import { createHash } from "node:crypto";
import {
  CompactSign,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, b64, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { AgentId } from "./agent-id.js";
import { defineAgent } from "./agent-record.js";
import { MemoryAgentRegistry } from "./agent-registry.js";
import type { VerifiedAgent } from "./agent-token.js";
import {
  JwtSvidBundle,
  type JwtSvidBundleSource,
  jwtSvidBundleFor,
  type VerifyJwtSvidOptions,
  verifyJwtSvid,
} from "./jwt-svid.js";
import { verifyAgentToken } from "./verify-agent-token.js";

// Mutation tests of jwt-svid.ts (MUTATION.md, group `identity-proofs`): what a SPIFFE bundle
// may hold (P125), how a followed bundle takes SPIRE's new keys (P135), how a credential is
// routed to a bundle (P132), and each check of verifyJwtSvid at its edge (P122–P124, P133).

type Alg = "ES256" | "ES384" | "RS256";

/** A SPIRE JWT authority: one key of `alg`, its bundle entry and an SVID signer. */
async function spire(alg: Alg = "ES256", kid = "spire-1") {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: "jwt-svid" };
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "JWT", ...header }).sign(privateKey);
  /** An SVID whose claims are exactly `payload`, as text (numbers JSON cannot write). */
  const signText = (payload: string, header: Record<string, unknown> = {}) =>
    new CompactSign(new TextEncoder().encode(payload))
      .setProtectedHeader({ alg, kid, typ: "JWT", ...header })
      .sign(privateKey);
  return { alg, kid, jwk, privateKey, sign, signText, jwks: { keys: [jwk] } as JSONWebKeySet };
}

async function setup(overrides: Partial<VerifyJwtSvidOptions> = {}) {
  const identity = await makeIdentity();
  const server = await spire();
  const bundle = await JwtSvidBundle.fromJwks("acme.example", server.jwks);
  const now = Math.floor(identity.clock.now() / 1000);
  const good = { sub: SUPPORT, aud: [AUDIENCE], exp: now + 300, iat: now };
  const options: VerifyJwtSvidOptions = {
    bundle,
    registry: identity.registry,
    revocations: identity.revocations,
    clock: identity.clock,
    audience: AUDIENCE,
    ...overrides,
  };
  return { ...identity, server, bundle, now, good, options };
}

/** `code/check` of the refusal, or `ok`. */
async function outcome(action: Promise<unknown>): Promise<string> {
  try {
    await action;
    return "ok";
  } catch (error) {
    if (!(error instanceof AgentGateError)) throw error;
    return `${error.code}/${(error.details as { check?: string } | undefined)?.check}`;
  }
}

async function refusal(action: Promise<unknown>): Promise<AgentGateError> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentGateError);
  return error as AgentGateError;
}

describe("JwtSvidBundle: what a SPIFFE bundle may hold", () => {
  it("ES256, ES384 and RS256 keys each verify their own SVIDs, with or without a matching alg", async () => {
    const { good, options } = await setup();
    for (const alg of ["ES256", "ES384", "RS256"] as const) {
      const server = await spire(alg);
      for (const jwk of [server.jwk, { ...server.jwk, alg }]) {
        const bundle = await JwtSvidBundle.fromJwks("acme.example", { keys: [jwk] });
        const svid = await server.sign(good);
        expect(await outcome(verifyJwtSvid(svid, { ...options, bundle })), alg).toBe("ok");
      }
    }
  });

  it("a key's type decides its algorithm: an RSA key with a stray crv member is still RS256", async () => {
    const { good, options } = await setup();
    const server = await spire("RS256");
    for (const crv of ["P-256", "P-384"]) {
      const bundle = await JwtSvidBundle.fromJwks("acme.example", {
        keys: [{ ...server.jwk, crv }],
      });
      expect(bundle.key(server.kid)?.alg, crv).toBe("RS256");
      expect(await outcome(verifyJwtSvid(await server.sign(good), { ...options, bundle }))).toBe(
        "ok",
      );
    }
  });

  it("P125: a bundle that is no JWKS, or a jwt-svid key without a usable kid, is key_store_invalid", async () => {
    const { jwk } = await spire();
    for (const bundle of [null, undefined, {}, { keys: {} }, { keys: "ab" }, { keys: 5 }]) {
      await expectCode(
        JwtSvidBundle.fromJwks("acme.example", bundle as unknown as JSONWebKeySet),
        "key_store_invalid",
      );
    }
    const { kid: _kid, ...noKid } = jwk;
    for (const key of [noKid, { ...jwk, kid: "" }, { ...jwk, kid: 5 }]) {
      await expectCode(
        JwtSvidBundle.fromJwks("acme.example", { keys: [key as JWK] }),
        "key_store_invalid",
      );
    }
    // Two keys under one kid: neither may stand for the other.
    const other = await spire("ES256", jwk.kid);
    await expectCode(
      JwtSvidBundle.fromJwks("acme.example", { keys: [jwk, other.jwk] }),
      "key_store_invalid",
    );
    // Keys of other uses are left out, whatever they are.
    const bundle = await JwtSvidBundle.fromJwks("acme.example", {
      keys: [{ ...jwk, kid: "x", use: "x509-svid" }, { kty: "oct", k: "AAAA" }, jwk],
    });
    expect(bundle.key("x")).toBeUndefined();
    expect(bundle.key(jwk.kid as string)?.alg).toBe("ES256");
  });

  it("P125: a key no accepted algorithm signs with, or whose alg disagrees with its type, is refused before any import", async () => {
    const ed = await exportJWK((await generateKeyPair("EdDSA", { extractable: true })).publicKey);
    const p521 = await exportJWK((await generateKeyPair("ES512", { extractable: true })).publicKey);
    const { jwk: p256 } = await spire("ES256");
    const { jwk: rsa } = await spire("RS256");
    for (const key of [
      { ...ed, kid: "ed", use: "jwt-svid" },
      { ...p521, kid: "p521", use: "jwt-svid" },
      { ...p256, alg: "ES384" },
      { ...rsa, alg: "PS256" },
      { ...rsa, alg: "RS512" },
    ]) {
      const error = await refusal(JwtSvidBundle.fromJwks("acme.example", { keys: [key] }));
      expect(error.code, String(key.kid)).toBe("key_store_invalid");
      expect(error.message).toMatch(/signs no accepted JWT-SVID algorithm/);
      expect(error.cause).toBeUndefined();
    }
  });

  it("P125: a private key, or a key that does not import (with the cause), is key_store_invalid", async () => {
    const server = await spire();
    const privateJwk = { ...(await exportJWK(server.privateKey)), kid: "p", use: "jwt-svid" };
    const error = await refusal(JwtSvidBundle.fromJwks("acme.example", { keys: [privateJwk] }));
    expect(error.code).toBe("key_store_invalid");
    expect(error.cause).toBeUndefined();
    // A P-256 key whose point is not on the curve.
    const broken = { ...server.jwk, x: server.jwk.y, y: server.jwk.x };
    const failed = await refusal(JwtSvidBundle.fromJwks("acme.example", { keys: [broken] }));
    expect(failed.code).toBe("key_store_invalid");
    expect(failed.message).toMatch(/does not import/);
    expect(failed.cause).toBeInstanceOf(Error);
  });

  it("a trust domain that is no trust domain name is invalid_configuration", async () => {
    const { jwks } = await spire();
    for (const trustDomain of ["ACME.example", "acme.example/agent", "", "acme example"]) {
      await expectCode(JwtSvidBundle.fromJwks(trustDomain, jwks), "invalid_configuration");
    }
  });
});

describe("JwtSvidBundle.following: SPIRE's key rotation without a restart (P135)", () => {
  it("P135: the source is asked before each SVID; a newer JWKS's keys are in force for that very SVID", async () => {
    const { good, options } = await setup();
    const first = await spire("ES256", "k1");
    const second = await spire("ES256", "k2");
    const answers: (JSONWebKeySet | undefined)[] = [undefined, second.jwks];
    const changes: (readonly string[])[] = [];
    const errors: unknown[] = [];
    let asked = 0;
    const source: JwtSvidBundleSource = {
      changed: async () => {
        asked += 1;
        return answers.shift();
      },
      onChange: (ids) => changes.push(ids),
      onError: (error) => errors.push(error),
    };
    const bundle = await JwtSvidBundle.following("acme.example", first.jwks, source);
    const verify = (svid: string) => outcome(verifyJwtSvid(svid, { ...options, bundle }));
    // Nothing changed: the keys in force, and nothing to report.
    expect(await verify(await first.sign(good))).toBe("ok");
    expect(asked).toBe(1);
    expect(changes).toEqual([]);
    expect(errors).toEqual([]);
    // SPIRE rotated: its new key verifies at once, its dropped one no longer does.
    expect(await verify(await second.sign(good))).toBe("ok");
    expect(changes).toEqual([["k2"]]);
    expect(await verify(await first.sign(good))).toBe("token_invalid/kid");
    expect(errors).toEqual([]);
    expect(asked).toBe(3);
  });

  it("P135: a source with no onChange takes the change; one with no onError keeps the keys when it fails", async () => {
    const { good, options } = await setup();
    const first = await spire("ES256", "k1");
    const second = await spire("ES256", "k2");
    const errors: unknown[] = [];
    const quiet = await JwtSvidBundle.following("acme.example", first.jwks, {
      changed: async () => second.jwks,
      onError: (error) => errors.push(error),
    });
    expect(
      await outcome(verifyJwtSvid(await second.sign(good), { ...options, bundle: quiet })),
    ).toBe("ok");
    expect(errors).toEqual([]);
    const failing = await JwtSvidBundle.following("acme.example", first.jwks, {
      changed: async () => {
        throw new Error("the bundle file is unreadable");
      },
    });
    expect(
      await outcome(verifyJwtSvid(await first.sign(good), { ...options, bundle: failing })),
    ).toBe("ok");
    // A newer JWKS that does not import keeps the keys in force too.
    const broken = await JwtSvidBundle.following("acme.example", first.jwks, {
      changed: async () => ({ keys: [{ ...second.jwk, kid: "" }] }),
    });
    expect(
      await outcome(verifyJwtSvid(await first.sign(good), { ...options, bundle: broken })),
    ).toBe("ok");
  });

  it("P124: an SVID refused by its header is refused before the source is asked", async () => {
    const { good, options, server } = await setup();
    let asked = 0;
    const bundle = await JwtSvidBundle.following("acme.example", server.jwks, {
      changed: async () => {
        asked += 1;
        return undefined;
      },
    });
    for (const header of [{ jku: "https://evil.example" }, { typ: "at+jwt" }, { kid: "" }]) {
      const svid = await server.sign(good, header);
      expect(await outcome(verifyJwtSvid(svid, { ...options, bundle }))).not.toBe("ok");
    }
    const { kid: _kid, ...noKid } = { alg: "ES256", kid: "x", typ: "JWT" };
    const unsigned = `${b64(noKid)}.${b64(good)}.AAAA`;
    expect(await outcome(verifyJwtSvid(unsigned, { ...options, bundle }))).toBe(
      "token_invalid/kid",
    );
    expect(asked).toBe(0);
  });
});

describe("jwtSvidBundleFor: which bundle a credential is an SVID of (P132)", () => {
  it("P132: an SVID with typ JWT, JOSE or none goes to its own trust domain's bundle", async () => {
    const acme = await spire();
    const globex = await spire("ES256", "globex-1");
    const bundles = [
      await JwtSvidBundle.fromJwks("globex.example", globex.jwks),
      await JwtSvidBundle.fromJwks("acme.example", acme.jwks),
    ];
    const claims = { sub: SUPPORT, aud: AUDIENCE, exp: 2_000_000_000 };
    for (const typ of ["JWT", "JOSE", undefined]) {
      const svid = await acme.sign(claims, { typ });
      expect(jwtSvidBundleFor(svid, bundles)?.trustDomain, String(typ)).toBe("acme.example");
    }
    const other = await globex.sign({ ...claims, sub: "spiffe://globex.example/agent/x" });
    expect(jwtSvidBundleFor(other, bundles)?.trustDomain).toBe("globex.example");
  });

  it("P132: an agent token, a token of another typ, or what does not decode is left to the token verifier", async () => {
    const { authority, verifier, registry } = await makeIdentity();
    const acme = await spire();
    const bundles = [await JwtSvidBundle.fromJwks("acme.example", acme.jwks)];
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(jwtSvidBundleFor(token, bundles)).toBeUndefined();
    // And so an agent token verifies at a gate with SPIFFE bundles as without.
    const usable = await verifyAgentToken(token, {
      verifier,
      registry,
      audience: AUDIENCE,
      spiffeBundles: bundles,
    });
    expect(usable.agent.tokenId).not.toMatch(/^jwt-svid:/);
    const claims = { sub: SUPPORT, aud: AUDIENCE, exp: 2_000_000_000 };
    for (const typ of ["agent+jwt", "at+jwt", "dpop+jwt", "jwt"]) {
      expect(jwtSvidBundleFor(await acme.sign(claims, { typ }), bundles), typ).toBeUndefined();
    }
    for (const garbage of [
      "",
      "a.b",
      "not.a.token",
      `${b64({ typ: "JWT" })}.e30`,
      "x".repeat(9000),
    ]) {
      expect(jwtSvidBundleFor(garbage, bundles), garbage.slice(0, 20)).toBeUndefined();
    }
  });

  it("P122: an SVID whose sub is no agent id, or of a trust domain with no bundle, is refused (sub)", async () => {
    const acme = await spire();
    const bundles = [await JwtSvidBundle.fromJwks("acme.example", acme.jwks)];
    for (const sub of [
      undefined,
      5,
      "support",
      "spiffe://acme.example/ns/x",
      "spiffe://evil.example/agent/x",
    ]) {
      const svid = await acme.sign({ sub, aud: AUDIENCE, exp: 2_000_000_000 });
      let caught: unknown;
      try {
        jwtSvidBundleFor(svid, bundles);
      } catch (error) {
        caught = error;
      }
      expect(caught, String(sub)).toBeInstanceOf(AgentGateError);
      expect((caught as AgentGateError).details).toEqual({ check: "sub" });
    }
  });
});

describe("verifyJwtSvid: each check at its edge", () => {
  it("P124: the header: an algorithm not allowed is alg before its kid is looked up; typ JWT, JOSE or none", async () => {
    const { good, options, server } = await setup();
    for (const header of [
      { alg: "PS256", kid: "unknown" },
      { alg: "HS256", kid: "unknown" },
      { alg: "none", kid: server.kid },
      { alg: 5, kid: server.kid },
    ]) {
      const token = `${b64({ typ: "JWT", ...header })}.${b64(good)}.AAAA`;
      expect(await outcome(verifyJwtSvid(token, options)), String(header.alg)).toBe(
        "token_invalid/alg",
      );
    }
    for (const typ of ["JWT", "JOSE", undefined]) {
      expect(await outcome(verifyJwtSvid(await server.sign(good, { typ }), options))).toBe("ok");
    }
    for (const typ of ["jwt", "agent+jwt", "JWS"]) {
      expect(await outcome(verifyJwtSvid(await server.sign(good, { typ }), options))).toBe(
        "token_invalid/typ",
      );
    }
  });

  it("P123: exp with its 30 s skew, at the exact second; exp 0 is expired, a malformed exp is exp", async () => {
    const { good, options, server, now, clock } = await setup();
    const { iat: _iat, ...noIat } = good;
    const at = (exp: unknown) => server.sign({ ...noIat, exp });
    expect(await outcome(verifyJwtSvid(await at(now + 10), options))).toBe("ok");
    expect(await outcome(verifyJwtSvid(await at(now - 29), options))).toBe("ok");
    expect(await outcome(verifyJwtSvid(await at(now - 30), options))).toBe("token_expired/exp");
    expect(await outcome(verifyJwtSvid(await at(0), options))).toBe("token_expired/exp");
    for (const exp of [-1, "9999999999", null, true]) {
      expect(await outcome(verifyJwtSvid(await at(exp), options)), String(exp)).toBe(
        "token_invalid/exp",
      );
    }
    // 1e999 parses as Infinity: no NumericDate, never "never expires".
    const forever = await server.signText(`{"sub":"${SUPPORT}","aud":"${AUDIENCE}","exp":1e999}`);
    expect(await outcome(verifyJwtSvid(forever, options))).toBe("token_invalid/exp");
    // A skew of its own.
    expect(
      await outcome(verifyJwtSvid(await at(now - 29), { ...options, clockSkewSeconds: 5 })),
    ).toBe("token_expired/exp");
    expect(
      await outcome(verifyJwtSvid(await at(now - 4), { ...options, clockSkewSeconds: 5 })),
    ).toBe("ok");
    // The clock of the options, to the millisecond.
    clock.advance(-1);
    expect(await outcome(verifyJwtSvid(await at(now - 30), options))).toBe("ok");
  });

  it("P123: nbf within the skew is accepted, beyond it or malformed refused", async () => {
    const { good, options, server, now } = await setup();
    const at = (nbf: unknown) => server.sign({ ...good, nbf });
    for (const nbf of [now - 100, now, now + 30]) {
      expect(await outcome(verifyJwtSvid(await at(nbf), options)), String(nbf - now)).toBe("ok");
    }
    for (const nbf of [now + 31, -1, "0", null]) {
      expect(await outcome(verifyJwtSvid(await at(nbf), options)), String(nbf)).toBe(
        "token_invalid/nbf",
      );
    }
  });

  it("P123: iat is optional; within the skew accepted, beyond it or malformed refused; the lifetime cap", async () => {
    const { good, options, server, now, clock } = await setup();
    const { iat: _iat, ...noIat } = good;
    const without = await verifyJwtSvid(await server.sign(noIat), options);
    expect(without.agent.issuedAt).toBe(Math.floor(clock.now() / 1000));
    const at = (iat: unknown, exp = now + 300) => server.sign({ ...good, iat, exp });
    expect(await outcome(verifyJwtSvid(await at(now + 30), options))).toBe("ok");
    for (const iat of [now + 31, -1, "0", null]) {
      expect(await outcome(verifyJwtSvid(await at(iat), options)), String(iat)).toBe(
        "token_invalid/iat",
      );
    }
    expect(await outcome(verifyJwtSvid(await at(now, now + 3600), options))).toBe("ok");
    expect(await outcome(verifyJwtSvid(await at(now, now + 3601), options))).toBe(
      "token_invalid/lifetime",
    );
    const capped = { ...options, maxLifetimeSeconds: 600 };
    expect(await outcome(verifyJwtSvid(await at(now, now + 600), capped))).toBe("ok");
    expect(await outcome(verifyJwtSvid(await at(now, now + 601), capped))).toBe(
      "token_invalid/lifetime",
    );
    // Without iat no lifetime is computed: a long-lived SVID is bounded by exp alone.
    expect(
      await outcome(verifyJwtSvid(await server.sign({ ...noIat, exp: now + 7200 }), options)),
    ).toBe("ok");
  });

  it("P133: the SVID id is its jti only when printable and at most 128 characters, else its SHA-256", async () => {
    const { good, options, server } = await setup();
    const idOf = async (jti: unknown) => {
      const svid = await server.sign({ ...good, jti });
      const { agent } = await verifyJwtSvid(svid, options);
      return { tokenId: agent.tokenId, digest: createHash("sha256").update(svid).digest("hex") };
    };
    expect((await idOf("svid-1")).tokenId).toBe("jwt-svid:svid-1");
    expect((await idOf("x".repeat(128))).tokenId).toBe(`jwt-svid:${"x".repeat(128)}`);
    for (const jti of ["x".repeat(129), "a b", " ab", "ab ", "", "é", 5]) {
      const { tokenId, digest } = await idOf(jti);
      expect(tokenId, String(jti)).toBe(`jwt-svid:${digest}`);
    }
  });

  it("P133: a revoked agent's refusal names the agent; a revoked SVID id is token_revoked", async () => {
    const { good, options, server, revocations } = await setup();
    await revocations.revoke("token", "jwt-svid:svid-9");
    expect(
      await outcome(verifyJwtSvid(await server.sign({ ...good, jti: "svid-9" }), options)),
    ).toBe("token_revoked/revoked");
    await revocations.revoke("agent", SUPPORT);
    const error = await refusal(verifyJwtSvid(await server.sign(good), options));
    expect(error.code).toBe("agent_revoked");
    expect(error.details).toEqual({ check: "revoked", agent: SUPPORT });
  });

  it("P132: the identity an SVID proves, member by member, before and after the registry", async () => {
    const { good, server, now, clock } = await setup();
    const registry = new MemoryAgentRegistry([
      defineAgent(
        {
          id: SUPPORT,
          owner: "alice@acme.example",
          team: "support",
          purpose: "answers customers",
          maxScopes: ["crm:read", "mail:send"],
        },
        clock,
      ),
      defineAgent({ id: "spiffe://acme.example/agent/plain", owner: "bob", maxScopes: [] }, clock),
    ]);
    const seen: VerifiedAgent[] = [];
    const bundle = await JwtSvidBundle.fromJwks("acme.example", server.jwks);
    const options = {
      bundle,
      registry,
      clock,
      audience: AUDIENCE,
      onVerified: (agent: VerifiedAgent) => seen.push(agent),
    };
    const svid = await server.sign({ ...good, jti: "svid-1" });
    const { agent, record, scopes } = await verifyJwtSvid(svid, options);
    const id = AgentId.parse(SUPPORT);
    const proven = {
      agent: id,
      principal: { id: SUPPORT, kind: "agent" },
      chain: [SUPPORT],
      agents: [id],
      delegated: false,
      scopes: [],
      tokenId: "jwt-svid:svid-1",
      keyId: server.kid,
      issuer: "spiffe://acme.example",
      audience: AUDIENCE,
      issuedAt: now,
      expiresAt: now + 300,
      attributes: { owner: "", supervision: "autonomous" },
      jwtSvid: { trustDomain: "acme.example" },
    };
    expect(seen).toStrictEqual([proven]);
    expect(agent).toStrictEqual({
      ...proven,
      scopes: ["crm:read", "mail:send"],
      attributes: {
        owner: "alice@acme.example",
        supervision: "autonomous",
        team: "support",
        purpose: "answers customers",
      },
    });
    expect(Object.isFrozen(agent)).toBe(true);
    expect(scopes).toStrictEqual(["crm:read", "mail:send"]);
    expect(record.id).toBe(SUPPORT);
    // An iss of its own is kept; a record without team or purpose has neither member.
    const plain = await server.sign({
      ...good,
      sub: "spiffe://acme.example/agent/plain",
      iss: "https://spire.acme.example",
    });
    const other = (await verifyJwtSvid(plain, options)).agent;
    expect(other.issuer).toBe("https://spire.acme.example");
    expect(other.attributes).toStrictEqual({ owner: "bob", supervision: "autonomous" });
    expect(await outcome(verifyJwtSvid(await server.sign({ ...good, iss: 5 }), options))).toBe(
      "ok",
    );
    expect(seen.at(-1)?.issuer).toBe("spiffe://acme.example");
  });
});
