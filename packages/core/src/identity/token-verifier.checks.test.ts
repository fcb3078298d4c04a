import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import {
  AUDIENCE,
  b64,
  claims,
  header,
  ISSUER,
  makeIdentity,
  OPS,
  SUPPORT,
  signRaw,
  TRUST_DOMAIN,
} from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { JwksKeySet } from "./key-set.js";
import { MemoryReplayCache } from "./replay-cache.js";
import { TokenVerifier } from "./token-verifier.js";

// The checks of token-verifier.ts that mutation testing found unguarded (issue 17): each test
// here fails when its check is deleted.
describe("TokenVerifier: checks that only these tests guard", () => {
  it("D35: a revoked key stops verifying even when the key set itself does not know of revocations", async () => {
    const { authority, clock, revocations, stored } = await makeIdentity();
    // A JWKS-backed key set (a process without the authority's keys) still lists the key: only
    // the verifier's own revocation check can stop it.
    const keys = await JwksKeySet.fromJwks(authority.jwks());
    const verifier = new TokenVerifier({
      issuer: ISSUER,
      trustDomain: TRUST_DOMAIN,
      keys,
      revocations,
      clock,
    });
    const token = signRaw(header(stored.kid), claims(clock.now()), stored);
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
    await revocations.revoke("key", stored.kid, "compromised");
    // The first verification is cached: the revocation holds on the cache hit too.
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("B22: an actor from another trust domain in act is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const foreign = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: "user:alice@acme.example",
        act: { sub: "spiffe://evil.example/agent/support" },
      }),
      stored,
    );
    await expectCode(verifier.verify(foreign, { audience: AUDIENCE }), "token_invalid");
    const nested = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: SUPPORT,
        act: { sub: OPS, act: { sub: "spiffe://evil.example/agent/ops" } },
      }),
      stored,
    );
    await expectCode(verifier.verify(nested, { audience: AUDIENCE }), "token_invalid");
    // The same shapes with actors of this trust domain pass (the fixture is sound).
    const own = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: "user:alice@acme.example", act: { sub: SUPPORT } }),
      stored,
    );
    await expect(verifier.verify(own, { audience: AUDIENCE })).resolves.toMatchObject({
      principal: { id: "user:alice@acme.example", kind: "user" },
    });
  });

  it("A13: a delegated sub must be a user principal: a foreign SPIFFE id or a malformed sub is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const sub of [
      "spiffe://evil.example/agent/support",
      "spiffe:opaque",
      "user alice",
      "x".repeat(300),
    ]) {
      const token = signRaw(
        header(stored.kid),
        claims(clock.now(), { sub, act: { sub: SUPPORT } }),
        stored,
      );
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A13: a missing or non-string scope is token_invalid (an AgentGateError), never a TypeError", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const scope of [undefined, 7, ["crm:read"], null]) {
      const token = signRaw(header(stored.kid), claims(clock.now(), { scope }), stored);
      const error = await verifier.verify(token, { audience: AUDIENCE }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentGateError);
      expect((error as AgentGateError).code).toBe("token_invalid");
    }
  });
});

/** The `details.check` of the AgentGateError `action` rejects with, and its code. */
async function checkOf(action: Promise<unknown>): Promise<{ code: string; check: unknown }> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentGateError);
  const { code, details } = error as AgentGateError;
  return { code, check: details?.check };
}

// One vector per check of the header rules, the signature and the liveness checks (the claims'
// checks have theirs in token-claims.test.ts).
describe("TokenVerifier: every refusal names its check in details.check", () => {
  it("size, format, header, alg, typ, kid and signature", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const good = signRaw(header(stored.kid), claims(clock.now()), stored);
    const [h, p, s] = good.split(".") as [string, string, string];
    const vectors: [string, string, string][] = [
      ["size", `${good}${"A".repeat(8192)}`, "token_invalid"],
      ["format", "", "token_invalid"],
      ["format", `${h}.${p}`, "token_invalid"],
      ["format", `${h}.${p}.${s}.${s}`, "token_invalid"],
      ["format", `${h}.${p}.${s}=`, "token_invalid"],
      ["format", `${h}=.${p}.${s}`, "token_invalid"],
      ["format", `${h}.${p}+.${s}`, "token_invalid"],
      ["format", `${b64("[1]")}.${p}.${s}`, "token_invalid"],
      ["format", `${b64('{"alg":"EdDSA","alg":"EdDSA"}')}.${p}.${s}`, "token_invalid"],
      ["format", `${b64(new Uint8Array([0xff, 0xfe]))}.${p}.${s}`, "token_invalid"],
      ["format", `${h}.${b64("null")}.${s}`, "token_invalid"],
      [
        "header",
        signRaw(
          header(stored.kid, { jku: "https://evil.example/jwks" }),
          claims(clock.now()),
          stored,
        ),
        "token_invalid",
      ],
      [
        "alg",
        signRaw(header(stored.kid, { alg: "none" }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "alg",
        signRaw(header(stored.kid, { alg: 7 }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "alg",
        signRaw(header(stored.kid, { alg: "ES256" }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "typ",
        signRaw(header(stored.kid, { typ: "JWT" }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "kid",
        signRaw(header(stored.kid, { kid: "" }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "kid",
        signRaw(header(stored.kid, { kid: 7 }), claims(clock.now()), stored),
        "token_invalid",
      ],
      [
        "kid",
        signRaw(header(stored.kid, { kid: "k".repeat(129) }), claims(clock.now()), stored),
        "token_invalid",
      ],
      ["kid", signRaw(header("unknown-kid"), claims(clock.now()), stored), "token_invalid"],
      [
        "signature",
        `${h}.${b64(claims(clock.now(), { scope: "crm:write" }))}.${s}`,
        "token_invalid",
      ],
      ["signature", `${h}.${p}.${s.slice(0, 10)}`, "token_invalid"],
    ];
    for (const [check, token, code] of vectors) {
      expect(await checkOf(verifier.verify(token, { audience: AUDIENCE })), check).toEqual({
        code,
        check,
      });
    }
    // A kid of 128 characters is usable (it is then simply unknown).
    const long = signRaw(header("k".repeat(128)), claims(clock.now()), stored);
    await expect(checkOf(verifier.verify(long, { audience: AUDIENCE }))).resolves.toEqual({
      code: "token_invalid",
      check: "kid",
    });
    // The claims' checks come through the verifier too.
    const expired = signRaw(header(stored.kid), claims(clock.now() - 3_600_000), stored);
    await expect(checkOf(verifier.verify(expired, { audience: AUDIENCE }))).resolves.toEqual({
      code: "token_expired",
      check: "exp",
    });
    await expect(
      checkOf(verifier.verify(good, { audience: "https://mail.acme.example" })),
    ).resolves.toEqual({
      code: "token_invalid",
      check: "aud",
    });
  });

  it("revoked (token, key, agent), kid (a key retired after a cache hit) and replay", async () => {
    const { authority, clock, revocations, stored } = await makeIdentity();
    let live = true;
    // A JWKS key set knows nothing of revocations: only the verifier's own check stops a key.
    const jwks = await JwksKeySet.fromJwks(authority.jwks());
    const keys = {
      getVerificationKey: (kid: string) => (live ? jwks.getVerificationKey(kid) : undefined),
    };
    const verifier = new TokenVerifier({
      issuer: ISSUER,
      trustDomain: TRUST_DOMAIN,
      keys,
      revocations,
      clock,
    });
    const sign = (jti: string, sub = SUPPORT, act?: object) =>
      signRaw(
        header(stored.kid),
        claims(clock.now(), { jti, sub, ...(act ? { act } : {}) }),
        stored,
      );

    const retired = sign("jti-retired");
    await verifier.verify(retired, { audience: AUDIENCE });
    live = false;
    expect(await checkOf(verifier.verify(retired, { audience: AUDIENCE }))).toEqual({
      code: "token_invalid",
      check: "kid",
    });
    live = true;

    const token = sign("jti-token");
    await verifier.verify(token, { audience: AUDIENCE });
    await revocations.revoke("token", "jti-token", "leaked");
    expect(await checkOf(verifier.verify(token, { audience: AUDIENCE }))).toEqual({
      code: "token_revoked",
      check: "revoked",
    });

    const delegated = sign("jti-agent", "user:alice@acme.example", {
      sub: OPS,
      act: { sub: SUPPORT },
    });
    await verifier.verify(delegated, { audience: AUDIENCE });
    await revocations.revoke("agent", SUPPORT, "compromised");
    const error = await verifier.verify(delegated, { audience: AUDIENCE }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentGateError);
    expect((error as AgentGateError).code).toBe("agent_revoked");
    expect((error as AgentGateError).details).toEqual({ check: "revoked", agent: SUPPORT });
    // An earlier agent of the chain counts as much as the acting one.
    const byOps = sign("jti-ops", "user:alice@acme.example", { sub: SUPPORT, act: { sub: OPS } });
    expect(await checkOf(verifier.verify(byOps, { audience: AUDIENCE }))).toEqual({
      code: "agent_revoked",
      check: "revoked",
    });
    const unrelated = sign("jti-research", "spiffe://acme.example/agent/research");
    await expect(verifier.verify(unrelated, { audience: AUDIENCE })).resolves.toBeDefined();

    await revocations.revoke("key", stored.kid, "compromised");
    expect(await checkOf(verifier.verify(unrelated, { audience: AUDIENCE }))).toEqual({
      code: "token_invalid",
      check: "revoked",
    });

    const fresh = await makeIdentity();
    const once = fresh.authority.verifier({
      replay: new MemoryReplayCache({ clock: fresh.clock }),
    });
    const single = signRaw(header(fresh.stored.kid), claims(fresh.clock.now()), fresh.stored);
    await once.verify(single, { audience: AUDIENCE });
    expect(await checkOf(once.verify(single, { audience: AUDIENCE }))).toEqual({
      code: "token_replayed",
      check: "replay",
    });
  });
});

/** A verifier over `authority`'s keys that counts key lookups: 2 for a cold verification, 1 for a hit. */
function counting(
  authority: Awaited<ReturnType<typeof makeIdentity>>["authority"],
  clock: Awaited<ReturnType<typeof makeIdentity>>["clock"],
  options: { cacheSize?: number; clockSkewSeconds?: number } = {},
) {
  let lookups = 0;
  const keys = {
    getVerificationKey: (kid: string) => {
      lookups++;
      return authority.getVerificationKey(kid);
    },
  };
  const verifier = new TokenVerifier({
    issuer: ISSUER,
    trustDomain: TRUST_DOMAIN,
    keys,
    clock,
    ...options,
  });
  const cost = async (token: string, audience = AUDIENCE) => {
    const before = lookups;
    await verifier.verify(token, { audience });
    return lookups - before;
  };
  return { verifier, cost, lookups: () => lookups };
}

// The checks mutation testing found guarded by nothing observable but their order or their cost.
describe("TokenVerifier: what is refused before any key lookup, and what the cache costs", () => {
  it("a wrong segment count, a segment that is not base64url, a header that is not an object and an unusable kid never reach the key set", async () => {
    const { authority, clock, stored } = await makeIdentity();
    const { verifier, lookups } = counting(authority, clock);
    const good = signRaw(header(stored.kid), claims(clock.now()), stored);
    const [h, p, s] = good.split(".") as [string, string, string];
    for (const token of [
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
      `${b64("1")}.${p}.${s}`,
      signRaw(header(stored.kid, { kid: "" }), claims(clock.now()), stored),
      signRaw(header(stored.kid, { kid: "k".repeat(129) }), claims(clock.now()), stored),
    ]) {
      const error = await verifier.verify(token, { audience: AUDIENCE }).catch((e: unknown) => e);
      expect((error as AgentGateError).code, token.slice(0, 40)).toBe("token_invalid");
      expect(lookups(), token.slice(0, 40)).toBe(0);
    }
    // A kid of 128 characters is looked up (and unknown).
    const longest = signRaw(header("k".repeat(128)), claims(clock.now()), stored);
    await expect(verifier.verify(longest, { audience: AUDIENCE })).rejects.toThrow();
    expect(lookups()).toBe(1);
  });

  it("a header that is a JSON number is format, not a later check; a non-string token is refused as an AgentGateError", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const [, p, s] = signRaw(header(stored.kid), claims(clock.now()), stored).split(".");
    const error = await verifier
      .verify(`${b64("1")}.${p}.${s}`, { audience: AUDIENCE })
      .catch((e: unknown) => e);
    expect((error as AgentGateError).details).toEqual({ check: "format" });
    for (const token of [7, undefined, null, {}]) {
      const refused = await verifier
        .verify(token as never, { audience: AUDIENCE })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AgentGateError);
      expect((refused as AgentGateError).details).toEqual({ check: "format" });
    }
  });

  it("a token of exactly maxTokenBytes is verified; one byte more is size", async () => {
    const { authority, clock, stored } = await makeIdentity();
    const good = signRaw(header(stored.kid), claims(clock.now()), stored);
    const exact = authority.verifier({ maxTokenBytes: good.length });
    await expect(exact.verify(good, { audience: AUDIENCE })).resolves.toBeDefined();
    const short = authority.verifier({ maxTokenBytes: good.length - 1 });
    const error = await short.verify(good, { audience: AUDIENCE }).catch((e: unknown) => e);
    expect((error as AgentGateError).details).toEqual({ check: "size" });
  });

  it("a bad signature keeps jose's code in details.jose; a key jose cannot use is signature, nothing else", async () => {
    const { authority, clock, stored, verifier } = await makeIdentity();
    const [h, , s] = signRaw(header(stored.kid), claims(clock.now()), stored).split(".");
    const forged = `${h}.${b64(claims(clock.now(), { scope: "crm:write" }))}.${s}`;
    const error = await verifier.verify(forged, { audience: AUDIENCE }).catch((e: unknown) => e);
    expect((error as AgentGateError).details).toStrictEqual({
      check: "signature",
      jose: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
    // A key set whose key is not a CryptoKey: Web Crypto's TypeError is a refusal too.
    const broken = new TokenVerifier({
      issuer: ISSUER,
      trustDomain: TRUST_DOMAIN,
      clock,
      keys: {
        getVerificationKey: (kid) => {
          const key = authority.getVerificationKey(kid);
          return key === undefined ? undefined : { ...key, key: {} as never };
        },
      },
    });
    const good = signRaw(header(stored.kid), claims(clock.now()), stored);
    const refused = await broken.verify(good, { audience: AUDIENCE }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AgentGateError);
    expect((refused as AgentGateError).details).toStrictEqual({ check: "signature" });
  });

  it("cacheSize 0 caches nothing; clearCache empties the cache", async () => {
    const { authority, clock } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const off = counting(authority, clock, { cacheSize: 0 });
    expect(await off.cost(token)).toBe(2);
    expect(await off.cost(token)).toBe(2);
    const on = counting(authority, clock);
    expect(await on.cost(token)).toBe(2);
    expect(await on.cost(token)).toBe(1);
    on.verifier.clearCache();
    expect(await on.cost(token)).toBe(2);
  });

  it("A11: a cached entry lives until exp + skew exactly: a hit just before, token_expired at it", async () => {
    const { authority, clock } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 300 });
    const { verifier, cost } = counting(authority, clock);
    expect(await cost(issued.token)).toBe(2);
    // Past exp - skew, the entry still serves (it dies at exp + skew, not before).
    clock.set((issued.expiresAt - 30 + 1) * 1000);
    expect(await cost(issued.token)).toBe(1);
    clock.set((issued.expiresAt + 30) * 1000 - 1);
    expect(await cost(issued.token)).toBe(1);
    clock.set((issued.expiresAt + 30) * 1000);
    await expectCode(verifier.verify(issued.token, { audience: AUDIENCE }), "token_expired");
  });

  it("the constructor refuses algorithms outside the supported ones, and skew and lifetime outside their ranges", async () => {
    const { authority } = await makeIdentity();
    const refused: Partial<ConstructorParameters<typeof TokenVerifier>[0]>[] = [
      { algorithms: [] },
      { algorithms: ["EdDSA", "HS256" as never] },
      { algorithms: ["HS256" as never, "EdDSA"] },
      { clockSkewSeconds: -1 },
      { clockSkewSeconds: 301 },
      { clockSkewSeconds: Number.NaN },
      { maxLifetimeSeconds: 0 },
      { maxLifetimeSeconds: 86_401 },
      { maxLifetimeSeconds: Number.NaN },
    ];
    for (const options of refused) {
      expect(() => authority.verifier(options), JSON.stringify(options)).toThrow(AgentGateError);
    }
    for (const options of [
      { algorithms: ["ES256" as const, "EdDSA" as const] },
      { clockSkewSeconds: 0 },
      { clockSkewSeconds: 300 },
      { maxLifetimeSeconds: 1 },
      { maxLifetimeSeconds: 86_400 },
    ]) {
      expect(() => authority.verifier(options), JSON.stringify(options)).not.toThrow();
    }
  });
});
