import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
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
  WRITER,
} from "../../test/fixtures/identity.js";
import { MemoryAuditSink } from "../audit/audit-sink.js";
import type { AgentGateError } from "../errors.js";
import { TestClock } from "../testing/test-clock.js";
import { defineAgent } from "./agent-record.js";
import { MemoryAgentRegistry } from "./agent-registry.js";
import { Authority, MAX_TOKEN_TTL_SECONDS } from "./authority.js";
import { ExternalIssuer } from "./external-issuer.js";
import { MemoryKeyStore } from "./key-store.js";
import { MemoryRevocationList } from "./revocation-list.js";
import { SigningKey } from "./signing-key.js";

// Mutation tests of Authority (MUTATION.md, group `identity-keys`): its option ranges at their
// edges, the exact claims and header of what it issues, the bounds of audiences, principals,
// lifetimes and bindings, key rotation and retirement with their audit events, delegation depth
// and exchange's may_act rules.

const START = Date.parse("2026-01-05T10:00:00.000Z");
const NOW = START / 1000;
const THUMB = "A".repeat(43);

function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}

async function bare(options: Partial<Parameters<typeof Authority.create>[0]> = {}) {
  const clock = new TestClock(START);
  const registry = new MemoryAgentRegistry([
    defineAgent(
      { id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read", "crm:write"] },
      clock,
    ),
    defineAgent(
      {
        id: OPS,
        owner: "ops@acme.example",
        team: "ops",
        supervision: "supervised",
        maxScopes: ["crm:read"],
      },
      clock,
    ),
  ]);
  const keyStore = new MemoryKeyStore();
  const audit = new MemoryAuditSink();
  const revocations = new MemoryRevocationList({ clock });
  const authority = await Authority.create({
    trustDomain: TRUST_DOMAIN,
    registry,
    keyStore,
    clock,
    audit,
    revocations,
    ...options,
  });
  return { clock, registry, keyStore, audit, revocations, authority };
}

describe("Authority options", () => {
  it("defaults: issuer spiffe://<trust domain>, EdDSA, 300 s tokens, one hour at most, depth 4", async () => {
    const { authority } = await bare({ audit: undefined });
    expect(authority.issuer).toBe(ISSUER);
    expect(authority.trustDomain).toBe(TRUST_DOMAIN);
    expect(authority.maxTtlSeconds).toBe(MAX_TOKEN_TTL_SECONDS);
    expect(authority.maxDelegationDepth).toBe(4);
    expect(authority.signingAlgorithm()).toBe("EdDSA");
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(issued.expiresAt - issued.issuedAt).toBe(300);
    expect(authority.revocations).toBeInstanceOf(MemoryRevocationList);
    expect(authority.clock.now()).toBe(START);
  });

  it("a short maximum lifetime is also the default one; a given issuer and algorithm are used", async () => {
    const { authority } = await bare({
      maxTtlSeconds: 100,
      issuer: "https://issuer.acme.example",
      algorithm: "ES256",
    });
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(issued.expiresAt - issued.issuedAt).toBe(100);
    expect(claimsOf(issued.token).iss).toBe("https://issuer.acme.example");
    expect(decodeProtectedHeader(issued.token).alg).toBe("ES256");
    expect(authority.signingAlgorithm()).toBe("ES256");
  });

  it("each range is checked at both edges", async () => {
    const ok = [
      { maxTtlSeconds: 1, defaultTtlSeconds: 1 },
      { maxTtlSeconds: 3600 },
      { defaultTtlSeconds: 1 },
      { defaultTtlSeconds: 3600 },
      { rotationOverlapSeconds: 0 },
      { maxDelegationDepth: 1 },
      { maxDelegationDepth: 16 },
    ];
    for (const options of ok)
      await expect(bare(options), JSON.stringify(options)).resolves.toBeDefined();
    const refused = [
      { maxTtlSeconds: 0 },
      { maxTtlSeconds: 3601 },
      { maxTtlSeconds: Number.NaN },
      { defaultTtlSeconds: 0 },
      { defaultTtlSeconds: 301, maxTtlSeconds: 300 },
      { defaultTtlSeconds: Number.NaN },
      { rotationOverlapSeconds: -1 },
      { rotationOverlapSeconds: Number.NaN },
      { maxDelegationDepth: 0 },
      { maxDelegationDepth: 17 },
      { maxDelegationDepth: Number.NaN },
    ];
    for (const options of refused) await expectCode(bare(options), "invalid_configuration");
    await expectCode(bare({ trustDomain: "Acme" }), "invalid_agent_id");
  });

  it("create generates a first key only when the store has no active one", async () => {
    const { authority, keyStore, audit } = await bare();
    expect((await keyStore.load()).map((key) => key.kid)).toEqual([authority.keys()[0]?.kid]);
    expect(audit.events.map((event) => event.details)).toEqual([
      { kid: authority.keys()[0]?.kid, alg: "EdDSA", change: "rotated" },
    ]);
    const again = await Authority.create({
      trustDomain: TRUST_DOMAIN,
      registry: authority.registry,
      keyStore,
      clock: authority.clock,
    });
    expect(again.keys().map((key) => key.kid)).toEqual(authority.keys().map((key) => key.kid));
  });
});

describe("Authority.issueToken, exactly", () => {
  it("the header and every claim; the issued token's fields", async () => {
    let n = 0;
    const { authority } = await bare({ createId: () => `id-${++n}` });
    const issued = await authority.issueToken(OPS, {
      audience: AUDIENCE,
      scope: ["crm:read", "crm:read"],
      ttlSeconds: 60,
    });
    const key = authority.keys()[0];
    expect(decodeProtectedHeader(issued.token)).toEqual({
      alg: "EdDSA",
      typ: "agent+jwt",
      kid: key?.kid,
    });
    expect(claimsOf(issued.token)).toEqual({
      scope: "crm:read",
      agent: { owner: "ops@acme.example", supervision: "supervised", team: "ops" },
      iss: ISSUER,
      sub: OPS,
      aud: AUDIENCE,
      iat: NOW,
      nbf: NOW,
      exp: NOW + 60,
      jti: "id-1",
    });
    expect(issued.toJSON()).toEqual({
      tokenId: "id-1",
      agent: OPS,
      principal: OPS,
      audience: AUDIENCE,
      scopes: ["crm:read"],
      issuedAt: NOW,
      expiresAt: NOW + 60,
      chain: [OPS],
    });
    const support = claimsOf((await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token);
    expect(support.agent).toEqual({ owner: "alice@acme.example", supervision: "autonomous" });
    expect(support.scope).toBe("crm:read crm:write");
  });

  it("lifetimes: 1 s and the maximum are allowed; 0, above the maximum and fractions are not", async () => {
    const { authority } = await bare({ maxTtlSeconds: 600 });
    for (const ttlSeconds of [1, 600]) {
      const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds });
      expect(issued.expiresAt - issued.issuedAt).toBe(ttlSeconds);
    }
    for (const ttlSeconds of [0, 601, 1.5, -1]) {
      await expectCode(
        authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds }),
        "invalid_configuration",
      );
    }
  });

  it("an audience is 1 to 512 printable ASCII characters without spaces", async () => {
    const { authority } = await bare();
    for (const audience of ["a", "~".repeat(512)]) {
      await expect(authority.issueToken(SUPPORT, { audience })).resolves.toMatchObject({
        audience,
      });
    }
    for (const audience of ["", "a".repeat(513), "a b", " a", "a ", "é", 7]) {
      await expectCode(
        authority.issueToken(SUPPORT, { audience: audience as string }),
        "invalid_configuration",
      );
    }
  });

  it("never outlives the registration: exp is cut to it, and a registration ending within the second gives nothing", async () => {
    const clock = new TestClock(START);
    const registry = new MemoryAgentRegistry([
      defineAgent(
        { id: SUPPORT, owner: "a@acme.example", expiresAt: new Date(START + 10_500) },
        clock,
      ),
      defineAgent({ id: OPS, owner: "a@acme.example", expiresAt: new Date(START + 500) }, clock),
      defineAgent(
        { id: WRITER, owner: "a@acme.example", expiresAt: new Date(START + 1_000_000) },
        clock,
      ),
    ]);
    const authority = await Authority.create({
      trustDomain: TRUST_DOMAIN,
      registry,
      clock,
      algorithm: "ES256",
    });
    const cut = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 60 });
    expect(cut.expiresAt).toBe(NOW + 10);
    expect(
      (await authority.issueToken(WRITER, { audience: AUDIENCE, ttlSeconds: 60 })).expiresAt,
    ).toBe(NOW + 60);
    await expectCode(authority.issueToken(OPS, { audience: AUDIENCE }), "delegation_invalid");
    const svid = await authority.issueJwtSvid(SUPPORT, { audience: AUDIENCE, ttlSeconds: 60 });
    expect(svid.expiresAt).toBe(NOW + 10);
    expect(
      (await authority.issueJwtSvid(WRITER, { audience: AUDIENCE, ttlSeconds: 60 })).expiresAt,
    ).toBe(NOW + 60);
  });

  it("acting for a user: 1 to 256 printable characters, never a spiffe: URI", async () => {
    const { authority } = await bare();
    const user = `user:${"u".repeat(251)}`;
    expect(user).toHaveLength(256);
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE, principal: user });
    expect(issued.chain).toEqual([user, SUPPORT]);
    expect(issued.principal).toBe(user);
    expect(claimsOf(issued.token)).toMatchObject({ sub: user, act: { sub: SUPPORT } });
    for (const principal of [
      `${user}u`,
      "",
      "user:a b",
      "spiffe:x",
      "spiffe://acme.example/agent/ops",
      " user:a",
    ]) {
      await expectCode(
        authority.issueToken(SUPPORT, { audience: AUDIENCE, principal }),
        "invalid_configuration",
      );
    }
    await expect(
      authority.issueToken(SUPPORT, { audience: AUDIENCE, principal: "user:spiffe:x" }),
    ).resolves.toBeDefined();
  });

  it("may_act: one agent as a string, several as an array, none refused; ids are checked", async () => {
    const { authority } = await bare();
    const one = await authority.issueToken(SUPPORT, { audience: AUDIENCE, mayAct: [OPS] });
    expect(claimsOf(one.token).may_act).toEqual({ iss: ISSUER, sub: OPS });
    const two = await authority.issueToken(SUPPORT, { audience: AUDIENCE, mayAct: [OPS, WRITER] });
    expect(claimsOf(two.token).may_act).toEqual({ iss: ISSUER, sub: [OPS, WRITER] });
    await expectCode(
      authority.issueToken(SUPPORT, { audience: AUDIENCE, mayAct: [] }),
      "invalid_configuration",
    );
    await expectCode(
      authority.issueToken(SUPPORT, { audience: AUDIENCE, mayAct: ["ops"] }),
      "invalid_agent_id",
    );
    expect(
      claimsOf((await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token),
    ).not.toHaveProperty("may_act");
  });

  it("confirmation: exactly one 43-character base64url thumbprint, as jkt or x5t#S256", async () => {
    const { authority } = await bare();
    const cnf = async (confirmation: unknown) =>
      claimsOf(
        (
          await authority.issueToken(SUPPORT, {
            audience: AUDIENCE,
            confirmation: confirmation as never,
          })
        ).token,
      ).cnf;
    expect(await cnf({ jkt: THUMB })).toEqual({ jkt: THUMB });
    expect(await cnf({ "x5t#S256": "-_09azAZ".padEnd(43, "x") })).toEqual({
      "x5t#S256": "-_09azAZ".padEnd(43, "x"),
    });
    expect(await cnf({ jkt: undefined, "x5t#S256": THUMB })).toEqual({ "x5t#S256": THUMB });
    for (const confirmation of [
      {},
      { jkt: THUMB, "x5t#S256": THUMB },
      { jkt: "A".repeat(42) },
      { jkt: "A".repeat(44) },
      { jkt: `${"A".repeat(42)}=` },
      { jkt: `${"A".repeat(42)}+` },
      { jkt: 43 },
      { kid: THUMB },
      { "x5t#S1": THUMB },
    ]) {
      await expectCode(
        authority.issueToken(SUPPORT, { audience: AUDIENCE, confirmation: confirmation as never }),
        "invalid_configuration",
      );
    }
    expect(
      claimsOf((await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token),
    ).not.toHaveProperty("cnf");
  });

  it("refuses an agent of another trust domain, unregistered, revoked or suspended", async () => {
    const { authority, revocations, registry } = await bare();
    await expectCode(
      authority.issueToken("spiffe://other.example/agent/ops", { audience: AUDIENCE }),
      "agent_unknown",
    );
    await expectCode(
      authority.issueToken("spiffe://acme.example/agent/nobody", { audience: AUDIENCE }),
      "agent_unknown",
    );
    await revocations.revoke("agent", OPS);
    await expectCode(authority.issueToken(OPS, { audience: AUDIENCE }), "agent_revoked");
    await registry.put(
      defineAgent({ id: SUPPORT, owner: "a@acme.example", supervision: "suspended" }),
    );
    await expectCode(authority.issueToken(SUPPORT, { audience: AUDIENCE }), "agent_suspended");
  });
});

describe("Authority.issueJwtSvid, exactly", () => {
  it("header alg, kid and typ JWT only; claims iss, sub, aud, iat, exp, jti only", async () => {
    const { authority } = await bare({ algorithm: "ES256", createId: () => "svid-1" });
    const issued = await authority.issueJwtSvid(OPS, { audience: AUDIENCE, ttlSeconds: 30 });
    expect(decodeProtectedHeader(issued.token)).toEqual({
      alg: "ES256",
      kid: authority.keys()[0]?.kid,
      typ: "JWT",
    });
    expect(claimsOf(issued.token)).toEqual({
      iss: ISSUER,
      sub: OPS,
      aud: AUDIENCE,
      iat: NOW,
      exp: NOW + 30,
      jti: "svid-1",
    });
    expect(issued.toJSON()).toEqual({
      tokenId: "svid-1",
      agent: OPS,
      principal: OPS,
      audience: AUDIENCE,
      scopes: [],
      issuedAt: NOW,
      expiresAt: NOW + 30,
      chain: [OPS],
    });
  });

  it("needs an ES256 or RS256 key and a good audience", async () => {
    const eddsa = await bare();
    await expectCode(
      eddsa.authority.issueJwtSvid(OPS, { audience: AUDIENCE }),
      "invalid_configuration",
    );
    const { authority } = await bare({ algorithm: "ES256" });
    for (const audience of ["", "a".repeat(513), "a b", 5]) {
      await expectCode(
        authority.issueJwtSvid(OPS, { audience: audience as string }),
        "invalid_configuration",
      );
    }
    await expect(authority.issueJwtSvid(OPS, { audience: "a".repeat(512) })).resolves.toBeDefined();
    await expectCode(
      authority.issueJwtSvid(OPS, { audience: AUDIENCE, ttlSeconds: 0 }),
      "invalid_configuration",
    );
  });
});

describe("Authority keys, exactly", () => {
  it("keys(): newest first, with creation and retirement times and a status; jwks the public parts", async () => {
    const { authority, clock, keyStore } = await bare({ rotationOverlapSeconds: 100 });
    const first = authority.keys()[0];
    expect(authority.keys()).toEqual([
      {
        kid: first?.kid,
        alg: "EdDSA",
        createdAt: "2026-01-05T10:00:00.000Z",
        retiresAt: undefined,
        status: "active",
      },
    ]);
    clock.advance(1_000);
    const second = await authority.rotateKey({ algorithm: "ES256" });
    expect(second).toEqual({
      kid: second.kid,
      alg: "ES256",
      createdAt: "2026-01-05T10:00:01.000Z",
      retiresAt: undefined,
      status: "active",
    });
    expect(authority.keys()).toEqual([
      second,
      {
        kid: first?.kid,
        alg: "EdDSA",
        createdAt: "2026-01-05T10:00:00.000Z",
        retiresAt: "2026-01-05T10:01:41.000Z",
        status: "retiring",
      },
    ]);
    expect(authority.signingAlgorithm()).toBe("ES256");
    const jwks = authority.jwks();
    expect(jwks.keys.map((key) => key.kid)).toEqual([second.kid, first?.kid]);
    for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
    // The old key verifies until it retires, not a millisecond longer.
    clock.set(START + 100_999);
    expect(authority.getVerificationKey(first?.kid ?? "")).toBeDefined();
    clock.set(START + 101_000);
    expect(authority.getVerificationKey(first?.kid ?? "")).toBeUndefined();
    expect(authority.keys().map((key) => key.kid)).toEqual([second.kid]);
    // Still in the store until the next rotation prunes it.
    expect((await keyStore.load()).map((key) => key.kid)).toContain(first?.kid);
    await authority.rotateKey();
    expect((await keyStore.load()).map((key) => key.kid)).not.toContain(first?.kid);
    expect((await keyStore.load()).map((key) => key.kid)).toContain(second.kid);
  });

  it("getVerificationKey: unknown and revoked keys are undefined", async () => {
    const { authority, revocations } = await bare();
    const kid = authority.keys()[0]?.kid ?? "";
    expect(authority.getVerificationKey(kid)?.kid).toBe(kid);
    expect(authority.getVerificationKey("nope")).toBeUndefined();
    await revocations.revoke("key", kid);
    expect(authority.getVerificationKey(kid)).toBeUndefined();
    expect(authority.keys()).toEqual([]);
    expect(authority.jwks()).toEqual({ keys: [] });
  });

  it("retireKey: an unknown key is key_unavailable; the signing key is replaced first, revoked, removed and audited", async () => {
    const { authority, audit, keyStore, revocations } = await bare();
    await expectCode(authority.retireKey("nope"), "key_unavailable");
    const kid = authority.keys()[0]?.kid ?? "";
    await authority.retireKey(kid);
    expect(revocations.isRevoked("key", kid)).toBe(true);
    expect((await revocations.list()).map((entry) => [entry.kind, entry.id, entry.reason])).toEqual(
      [["key", kid, "retired"]],
    );
    expect((await keyStore.load()).map((key) => key.kid)).not.toContain(kid);
    const active = authority.keys();
    expect(active).toHaveLength(1);
    expect(active[0]?.status).toBe("active");
    expect(audit.events.map((event) => event.details)).toEqual([
      { kid, alg: "EdDSA", change: "rotated" },
      { kid: active[0]?.kid, alg: "EdDSA", change: "rotated" },
      { kid, change: "retired" },
    ]);
    expect(
      audit.events.every(
        (event) => event.type === "key_rotation" && event.time === "2026-01-05T10:00:00.000Z",
      ),
    ).toBe(true);
  });

  it("retireKey of a retiring key does not rotate again", async () => {
    const { authority, audit } = await bare();
    const old = authority.keys()[0]?.kid ?? "";
    const current = await authority.rotateKey();
    await authority.retireKey(old);
    expect(authority.keys().map((key) => key.kid)).toEqual([current.kid]);
    expect(audit.events.map((event) => event.details?.change)).toEqual([
      "rotated",
      "rotated",
      "retired",
    ]);
  });

  it("revoke records a revocation event, naming the agent only for an agent and the reason only when given", async () => {
    const { authority, audit } = await bare();
    audit.events.length = 0;
    await authority.revoke("agent", OPS, "compromised");
    await authority.revoke("token", "jti-1");
    expect(
      audit.events.map(({ type, agent, details, v }) => ({ type, agent, details, v })),
    ).toEqual([
      {
        type: "revocation",
        agent: OPS,
        details: { kind: "agent", id: OPS, reason: "compromised" },
        v: 1,
      },
      { type: "revocation", agent: undefined, details: { kind: "token", id: "jti-1" }, v: 1 },
    ]);
    expect(audit.events[1]).not.toHaveProperty("agent");
    expect(authority.revocations.isRevoked("token", "jti-1")).toBe(true);
  });

  it("the verifier it makes checks its issuer, trust domain, keys, revocations and lifetime bound", async () => {
    const { authority, revocations } = await bare({ maxTtlSeconds: 120 });
    const verifier = authority.verifier();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 120 });
    await expect(verifier.verify(issued.token, { audience: AUDIENCE })).resolves.toMatchObject({
      issuer: ISSUER,
    });
    expect(verifier.revocations).toBe(revocations);
    await revocations.revoke("token", issued.tokenId);
    await expectCode(verifier.verify(issued.token, { audience: AUDIENCE }), "token_revoked");
  });
});

describe("Authority.delegate and exchange, exactly", () => {
  it("the depth bound: a chain as long as the maximum may take one more delegate, not two", async () => {
    const { authority } = await makeIdentity({ maxDelegationDepth: 2 });
    const root = await authority.issueToken(SUPPORT, { audience: AUDIENCE, scope: ["crm:read"] });
    const one = await authority.delegate(root.token, { to: OPS, audience: AUDIENCE });
    expect(one.chain).toEqual([SUPPORT, OPS]);
    const two = await authority.delegate(one.token, { to: WRITER, audience: AUDIENCE });
    expect(two.chain).toEqual([SUPPORT, OPS, WRITER]);
    await expectCode(
      authority.delegate(two.token, {
        to: "spiffe://acme.example/agent/editor",
        audience: AUDIENCE,
      }),
      "delegation_invalid",
    );
  });

  it("a parent that is not a JWT, or whose aud is not one string, is token_invalid", async () => {
    const { authority } = await makeIdentity();
    await expectCode(authority.delegate("nope", { to: OPS, audience: AUDIENCE }), "token_invalid");
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const arrayAud = `${b64({ alg: "EdDSA" })}.${b64({ aud: [AUDIENCE] })}.x`;
    await expectCode(
      authority.delegate(arrayAud, { to: OPS, audience: AUDIENCE }),
      "token_invalid",
    );
  });

  it("exchange: the subject's aud is the issuer or an allowed audience; may_act names the actor from this issuer", async () => {
    const { authority } = await makeIdentity();
    const actor = await authority.issueToken(OPS, { audience: ISSUER });
    const exchange = async (subject: string, options: Record<string, unknown> = {}) =>
      authority.exchange(subject, actor.token, { audience: AUDIENCE, ...options }).then(
        (issued) => issued.chain.join(" > "),
        (error: { code: string; details?: { check?: string } }) =>
          `${error.code}/${error.details?.check}`,
      );
    const named = await authority.issueToken(SUPPORT, { audience: ISSUER, mayAct: [OPS] });
    expect(await exchange(named.token)).toBe(`${SUPPORT} > ${OPS}`);
    const elsewhere = await authority.issueToken(SUPPORT, { audience: AUDIENCE, mayAct: [OPS] });
    expect(await exchange(elsewhere.token)).toBe("delegation_invalid/aud");
    expect(await exchange(elsewhere.token, { subjectAudiences: [AUDIENCE] })).toBe(
      `${SUPPORT} > ${OPS}`,
    );
    const many = await authority.issueToken(SUPPORT, { audience: ISSUER, mayAct: [WRITER, OPS] });
    expect(await exchange(many.token)).toBe(`${SUPPORT} > ${OPS}`);
    const others = await authority.issueToken(SUPPORT, { audience: ISSUER, mayAct: [WRITER] });
    expect(await exchange(others.token)).toBe("delegation_invalid/may_act");
    // Without may_act, only the mayAct callback can allow it.
    const plain = await authority.issueToken(SUPPORT, { audience: ISSUER });
    expect(await exchange(plain.token)).toBe("delegation_invalid/may_act");
    expect(await exchange(plain.token, { mayAct: () => false })).toBe("delegation_invalid/may_act");
    expect(
      await exchange(plain.token, {
        mayAct: async ({
          subject,
          actor: who,
        }: {
          subject: { principal: { id: string } };
          actor: { agent: { toString(): string } };
        }) => subject.principal.id === SUPPORT && who.agent.toString() === OPS,
      }),
    ).toBe(`${SUPPORT} > ${OPS}`);
    // Scope and lifetime pass through to the delegation.
    const scoped = await authority.exchange(named.token, actor.token, {
      audience: AUDIENCE,
      scope: ["crm:read"],
      ttlSeconds: 30,
    });
    expect([scoped.scopes, scoped.expiresAt - scoped.issuedAt]).toEqual([["crm:read"], 30]);
    expect(await exchange(named.token, { scope: ["mail:send"] })).toBe("delegation_invalid/scope");
    expect(await exchange("nope")).toBe("token_invalid/undefined");
  });
});

describe("Authority keys against unusual stores", () => {
  it("the default revocation list keeps the authority's clock", async () => {
    const { authority } = await bare({ revocations: undefined });
    const revocation = await authority.revoke("token", "t1");
    expect(revocation.revokedAt).toBe("2026-01-05T10:00:00.000Z");
  });

  it("rotating twice in the same millisecond gives the new key, whatever order the store lists equal times in", async () => {
    class TiesReversed extends MemoryKeyStore {
      override async load() {
        return [...(await super.load())].reverse().sort((a, b) => a.createdAt - b.createdAt);
      }
    }
    const { authority } = await bare({ keyStore: new TiesReversed() });
    const first = authority.keys()[0]?.kid;
    const rotated = await authority.rotateKey();
    expect(rotated.kid).not.toBe(first);
    expect(rotated.status).toBe("active");
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(decodeProtectedHeader(token).kid).toBe(rotated.kid);
  });

  it("a store that keeps nothing: no authority (key_unavailable)", async () => {
    class Forgetful extends MemoryKeyStore {
      override async save() {}
    }
    await expectCode(bare({ keyStore: new Forgetful() }), "key_unavailable");
  });

  it("signs with the active key even when the store holds a newer retiring one", async () => {
    const keyStore = new MemoryKeyStore();
    const active = await SigningKey.generate("EdDSA", START - 10_000);
    const retiring = {
      ...(await SigningKey.generate("EdDSA", START - 5_000)),
      retiresAt: START + 60_000,
    };
    await keyStore.save(active);
    await keyStore.save(retiring);
    const { authority } = await bare({ keyStore });
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(decodeProtectedHeader(token).kid).toBe(active.kid);
    expect(authority.keys().map((key) => [key.kid, key.status])).toEqual([
      [retiring.kid, "retiring"],
      [active.kid, "active"],
    ]);
  });

  it("a signing key that vanished from the store stops a rotation (key_store_invalid)", async () => {
    const { authority, keyStore } = await bare();
    await keyStore.remove(authority.keys()[0]?.kid ?? "");
    await expectCode(authority.rotateKey(), "key_store_invalid");
  });

  it("a key pruned from the store is gone from the authority too", async () => {
    const { authority, clock } = await bare({ rotationOverlapSeconds: 0 });
    const old = authority.keys()[0]?.kid ?? "";
    // No overlap: the rotation retires the old key at once and prunes it.
    await authority.rotateKey();
    expect(clock.now()).toBe(START);
    await expectCode(authority.retireKey(old), "key_unavailable");
  });

  it("a registered agent of another trust domain gets no token", async () => {
    const foreign = "spiffe://other.example/agent/ops";
    const { authority, registry } = await bare();
    await registry.put(defineAgent({ id: foreign, owner: "o@other.example" }));
    await expectCode(authority.issueToken(foreign, { audience: AUDIENCE }), "agent_unknown");
  });

  it("a confirmation thumbprint must be a string", async () => {
    const { authority } = await bare();
    await expectCode(
      authority.issueToken(SUPPORT, {
        audience: AUDIENCE,
        confirmation: { jkt: [THUMB] } as never,
      }),
      "invalid_configuration",
    );
  });

  it("revoke without a reason records none", async () => {
    const { authority, audit } = await bare();
    await authority.revoke("token", "jti-1");
    expect(audit.events.at(-1)?.details).not.toHaveProperty("reason");
  });
});

describe("Authority.exchange: may_act as a subject token carries it", () => {
  async function crafted() {
    const identity = await makeIdentity();
    const actor = await identity.authority.issueToken(OPS, { audience: ISSUER });
    const subject = (mayAct: unknown, extra: Record<string, unknown> = {}) =>
      signRaw(
        header(identity.stored.kid),
        claims(identity.clock.now(), {
          aud: ISSUER,
          jti: `s-${Math.random()}`,
          may_act: mayAct,
          ...extra,
        }),
        identity.stored,
      );
    const exchange = (token: string) =>
      identity.authority.exchange(token, actor.token, { audience: AUDIENCE }).then(
        (issued) => issued.chain.join(" > "),
        (error: AgentGateError) => `${error.code}: ${error.message}`,
      );
    return { ...identity, subject, exchange };
  }

  it("names the actor from this issuer, or with no iss; a string or an array of strings", async () => {
    const { subject, exchange } = await crafted();
    const ok = `${SUPPORT} > ${OPS}`;
    expect(await exchange(subject({ iss: ISSUER, sub: OPS }))).toBe(ok);
    expect(await exchange(subject({ sub: OPS }))).toBe(ok);
    expect(await exchange(subject({ iss: ISSUER, sub: [7, OPS] }))).toBe(ok);
    const refused = `delegation_invalid: Agent ${OPS} may not act for ${SUPPORT} (not in may_act).`;
    for (const mayAct of [
      { iss: "spiffe://other.example", sub: OPS },
      { iss: ISSUER, sub: [7] },
      { iss: ISSUER, sub: 7 },
      { iss: ISSUER },
      [{ iss: ISSUER, sub: OPS }],
      null,
      OPS,
    ]) {
      expect(await exchange(subject(mayAct)), JSON.stringify(mayAct)).toBe(refused);
    }
  });

  it("without may_act the refusal says that no policy allows it", async () => {
    const { authority } = await makeIdentity();
    const actor = await authority.issueToken(OPS, { audience: ISSUER });
    const plain = await authority.issueToken(SUPPORT, { audience: ISSUER });
    await expect(
      authority.exchange(plain.token, actor.token, { audience: AUDIENCE }),
    ).rejects.toMatchObject({
      code: "delegation_invalid",
      message: `Agent ${OPS} may not act for ${SUPPORT} (no may_act, and no policy allows it).`,
      safeMessage: `Agent ${OPS} may not act for ${SUPPORT} (no may_act, and no policy allows it).`,
    });
  });

  it("delegate's refusals of a parent token that is no JWT, or whose aud is not one string, say which", async () => {
    const { authority } = await makeIdentity();
    await expect(authority.delegate("nope", { to: OPS, audience: AUDIENCE })).rejects.toMatchObject(
      {
        code: "token_invalid",
        message: "Invalid token: not a JWT.",
      },
    );
    const arrayAud = `${b64({ alg: "EdDSA" })}.${b64({ aud: [AUDIENCE] })}.x`;
    await expect(
      authority.delegate(arrayAud, { to: OPS, audience: AUDIENCE }),
    ).rejects.toMatchObject({
      code: "token_invalid",
      message: "Invalid token: aud.",
    });
  });
});

describe("Authority.exchange for an enterprise user", () => {
  const IDP = "https://idp.acme.example";
  async function withIdp() {
    const identity = await makeIdentity();
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const publicJwk = { ...(await exportJWK(publicKey)), kid: "idp-1", alg: "ES256", use: "sig" };
    const documents = new Map([
      [
        `${IDP}/.well-known/openid-configuration`,
        JSON.stringify({ issuer: IDP, jwks_uri: `${IDP}/keys` }),
      ],
      [`${IDP}/keys`, JSON.stringify({ keys: [publicJwk] })],
    ]);
    const fetch = (async (input: string | URL | Request) =>
      new Response(documents.get(String(input)) ?? "", {
        status: documents.has(String(input)) ? 200 : 404,
      })) as typeof globalThis.fetch;
    const idp = await ExternalIssuer.discover(
      { issuer: IDP, audience: "agentgate" },
      { fetch, clock: identity.clock },
    );
    const now = Math.floor(identity.clock.now() / 1000);
    const userToken = await new SignJWT({
      sub: "alice",
      email: "alice@acme.example",
      groups: ["staff"],
    })
      .setProtectedHeader({ alg: "ES256", kid: "idp-1" })
      .setIssuer(IDP)
      .setAudience("agentgate")
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .sign(privateKey);
    return { ...identity, idp, userToken, now };
  }

  it("an agent's subject token is exchanged as usual when the trusted IdPs are another issuer", async () => {
    const { authority, idp } = await withIdp();
    const actor = await authority.issueToken(OPS, { audience: ISSUER });
    const subject = await authority.issueToken(SUPPORT, { audience: ISSUER, mayAct: [OPS] });
    const issued = await authority.exchange(subject.token, actor.token, {
      audience: AUDIENCE,
      externalIssuers: [idp],
    });
    expect(issued.chain).toEqual([SUPPORT, OPS]);
  });

  it("the user's token is exchanged within the user's exp and the scopes the actor still holds", async () => {
    const { authority, idp, userToken, now, registry } = await withIdp();
    const actor = await authority.issueToken(OPS, {
      audience: ISSUER,
      scope: ["crm:read", "crm:write"],
    });
    // The registry narrows the actor after its token was issued.
    await registry.put(
      defineAgent({ id: OPS, owner: "ops@acme.example", maxScopes: ["crm:read"] }),
    );
    const issued = await authority.exchange(userToken, actor.token, {
      audience: AUDIENCE,
      externalIssuers: [idp],
      ttlSeconds: 600,
    });
    expect(issued.chain).toEqual(["user:alice@acme.example", OPS]);
    expect(issued.scopes).toEqual(["crm:read"]);
    expect(issued.expiresAt).toBe(now + 120);
    expect(claimsOf(issued.token)).toMatchObject({ groups: ["staff"], idp: IDP });
    await expect(
      authority.exchange(userToken, actor.token, {
        audience: AUDIENCE,
        externalIssuers: [idp],
        scope: ["crm:write"],
      }),
    ).rejects.toMatchObject({ code: "delegation_invalid", details: { check: "scope" } });
    const refused = await authority
      .exchange(userToken, actor.token, {
        audience: AUDIENCE,
        externalIssuers: [idp],
        mayActForUser: () => false,
      })
      .catch((error: AgentGateError) => error);
    expect(refused).toMatchObject({
      code: "delegation_invalid",
      details: { check: "may_act" },
      safeMessage: `Agent ${OPS} may not act for user:alice@acme.example.`,
    });
  });
});
