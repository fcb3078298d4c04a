import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import {
  AUDIENCE,
  claims,
  EDITOR,
  header,
  makeIdentity,
  OPS,
  RESEARCH,
  SUPPORT,
  signRaw,
  WRITER,
} from "../../test/fixtures/identity.js";
import { defineAgent } from "./agent-record.js";
import { JwksKeySet } from "./key-set.js";
import { TokenVerifier } from "./token-verifier.js";

const USER = "user:carol@acme.example";

describe("Authority.issueToken", () => {
  it("issues a token whose scope defaults to the agent's maxScopes and whose ttl defaults to 5 minutes", async () => {
    const { authority, clock } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(issued.scopes).toEqual(["crm:read", "crm:write", "mail:send"]);
    expect(issued.issuedAt).toBe(clock.now() / 1000);
    expect(issued.expiresAt - issued.issuedAt).toBe(300);
  });

  it("refuses a scope outside the agent's maxScopes", async () => {
    const { authority } = await makeIdentity();
    await expectCode(
      authority.issueToken(RESEARCH, { audience: AUDIENCE, scope: ["crm:write"] }),
      "scope_invalid",
    );
  });

  it("refuses a ttl above the cap, and a cap above one hour", async () => {
    const { authority } = await makeIdentity({ maxTtlSeconds: 600 });
    await expectCode(
      authority.issueToken(SUPPORT, { audience: AUDIENCE, ttlSeconds: 601 }),
      "invalid_configuration",
    );
    await expectCode(makeIdentity({ maxTtlSeconds: 7200 }), "invalid_configuration");
  });

  it("gives no token to an unknown, suspended, revoked or expired agent", async () => {
    const { authority, registry, revocations, clock } = await makeIdentity();
    await expectCode(
      authority.issueToken("spiffe://acme.example/agent/ghost", { audience: AUDIENCE }),
      "agent_unknown",
    );
    await expectCode(
      authority.issueToken("spiffe://other.example/agent/support", { audience: AUDIENCE }),
      "agent_unknown",
    );
    await registry.put(
      defineAgent(
        { id: "spiffe://acme.example/agent/paused", owner: "o", supervision: "suspended" },
        clock,
      ),
    );
    await expectCode(
      authority.issueToken("spiffe://acme.example/agent/paused", { audience: AUDIENCE }),
      "agent_suspended",
    );
    await revocations.revoke("agent", SUPPORT);
    await expectCode(authority.issueToken(SUPPORT, { audience: AUDIENCE }), "agent_revoked");
    await registry.put(
      defineAgent(
        {
          id: "spiffe://acme.example/agent/temp",
          owner: "o",
          expiresAt: new Date(clock.now() + 60_000),
        },
        clock,
      ),
    );
    const issued = await authority.issueToken("spiffe://acme.example/agent/temp", {
      audience: AUDIENCE,
    });
    expect(issued.expiresAt - issued.issuedAt).toBe(60);
    clock.advance(60_000);
    await expectCode(
      authority.issueToken("spiffe://acme.example/agent/temp", { audience: AUDIENCE }),
      "agent_expired",
    );
  });

  it("acting for a user: sub is the user, act.sub the agent", async () => {
    const { authority, verifier } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read"],
    });
    const payload = JSON.parse(
      Buffer.from(issued.token.split(".")[1] as string, "base64url").toString(),
    );
    expect(payload.sub).toBe(USER);
    expect(payload.act).toEqual({ sub: SUPPORT });
    const verified = await verifier.verify(issued.token, { audience: AUDIENCE });
    expect(verified.agent.toString()).toBe(SUPPORT);
    expect(verified.principal).toEqual({ id: USER, kind: "user" });
    expect(verified.chain).toEqual([USER, SUPPORT]);
  });

  it("I69: an issued token never shows its raw JWT in JSON, string or inspect output", async () => {
    const { authority } = await makeIdentity();
    const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    for (const text of [JSON.stringify(issued), String(issued), inspect(issued, { depth: 5 })]) {
      expect(text).not.toContain(issued.token);
      expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    }
  });
});

describe("Authority.delegate: B. delegation and attenuation", () => {
  it("delegates agent to agent: sub stays the principal, the delegate becomes act.sub, newest outermost", async () => {
    const { authority, verifier } = await makeIdentity();
    const parent = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read", "web:search"],
    });
    const child = await authority.delegate(parent.token, { to: WRITER, audience: AUDIENCE });
    const payload = JSON.parse(
      Buffer.from(child.token.split(".")[1] as string, "base64url").toString(),
    );
    expect(payload.sub).toBe(USER);
    expect(payload.act).toEqual({ sub: WRITER, act: { sub: RESEARCH } });
    expect(child.scopes).toEqual(["crm:read"]);
    const verified = await verifier.verify(child.token, { audience: AUDIENCE });
    expect(verified.agent.toString()).toBe(WRITER);
    expect(verified.delegated).toBe(true);
  });

  it("B19: a delegated scope wider than the parent's is refused at issue time", async () => {
    const { authority } = await makeIdentity();
    const parent = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      scope: ["crm:read"],
    });
    await expectCode(
      authority.delegate(parent.token, {
        to: SUPPORT,
        audience: AUDIENCE,
        scope: ["crm:read", "crm:write"],
      }),
      "delegation_invalid",
    );
    // Held by the delegator but not allowed for the delegate is refused too.
    const wide = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expectCode(
      authority.delegate(wide.token, { to: EDITOR, audience: AUDIENCE, scope: ["crm:write"] }),
      "delegation_invalid",
    );
  });

  it("B19: a delegated token signed by another key, claiming a wider scope, is refused at verify time (the scope check itself is in the gate's B19 test)", async () => {
    const { clock, verifier, stored } = await makeIdentity();
    const { generateKeyPairSync } = await import("node:crypto");
    const attackerKey = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    const forged = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: RESEARCH,
        act: { sub: WRITER },
        scope: "crm:read crm:write docs:write",
      }),
      { ...stored, privateJwk: attackerKey },
    );
    await expectCode(verifier.verify(forged, { audience: AUDIENCE }), "token_invalid");
  });

  it("B20: a delegated lifetime never passes the parent's exp (clamped)", async () => {
    const { authority, clock } = await makeIdentity();
    const parent = await authority.issueToken(RESEARCH, { audience: AUDIENCE, ttlSeconds: 120 });
    clock.advance(60_000);
    const child = await authority.delegate(parent.token, {
      to: WRITER,
      audience: AUDIENCE,
      ttlSeconds: 3600,
    });
    expect(child.expiresAt).toBe(parent.expiresAt);
  });

  it("B21: delegation deeper than the maximum is refused at issue time and at verify time", async () => {
    const { authority, verifier, clock, stored } = await makeIdentity({ maxDelegationDepth: 2 });
    const root = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read"],
    });
    const one = await authority.delegate(root.token, { to: WRITER, audience: AUDIENCE });
    await expectCode(
      authority.delegate(one.token, { to: EDITOR, audience: AUDIENCE }),
      "delegation_invalid",
    );
    const deep = { sub: EDITOR, act: { sub: WRITER, act: { sub: RESEARCH } } };
    const token = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: USER, act: deep }),
      stored,
    );
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "delegation_invalid");
  });

  it("B22: a revoked agent anywhere in the chain denies; a suspended delegate gets no token", async () => {
    const { authority, verifier, revocations, registry, clock } = await makeIdentity();
    const root = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read"],
    });
    const child = await authority.delegate(root.token, { to: WRITER, audience: AUDIENCE });
    await verifier.verify(child.token, { audience: AUDIENCE });
    await revocations.revoke("agent", RESEARCH);
    await expectCode(verifier.verify(child.token, { audience: AUDIENCE }), "agent_revoked");
    await registry.put(
      defineAgent(
        { id: EDITOR, owner: "bob", supervision: "suspended", maxScopes: ["crm:read"] },
        clock,
      ),
    );
    const other = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expectCode(
      authority.delegate(other.token, { to: EDITOR, audience: AUDIENCE }),
      "agent_suspended",
    );
  });

  it("B23: a chain with a cycle is refused at issue time and at verify time", async () => {
    const { authority, verifier, clock, stored } = await makeIdentity();
    const root = await authority.issueToken(RESEARCH, { audience: AUDIENCE, scope: ["crm:read"] });
    const child = await authority.delegate(root.token, { to: WRITER, audience: AUDIENCE });
    await expectCode(
      authority.delegate(child.token, { to: RESEARCH, audience: AUDIENCE }),
      "delegation_invalid",
    );
    const cyclic = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: RESEARCH, act: { sub: RESEARCH } }),
      stored,
    );
    await expectCode(verifier.verify(cyclic, { audience: AUDIENCE }), "delegation_invalid");
    const loop = { sub: RESEARCH, act: { sub: WRITER } };
    const token = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: USER, act: loop, jti: "x" }),
      stored,
    );
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
    const back = { sub: WRITER, act: { sub: RESEARCH, act: { sub: WRITER } } };
    const token2 = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: USER, act: back, jti: "y" }),
      stored,
    );
    await expectCode(verifier.verify(token2, { audience: AUDIENCE }), "delegation_invalid");
  });

  it("B24: the verified identity names the principal and every actor, in order", async () => {
    const { authority, verifier } = await makeIdentity();
    const root = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read"],
    });
    const one = await authority.delegate(root.token, { to: WRITER, audience: AUDIENCE });
    const two = await authority.delegate(one.token, { to: EDITOR, audience: AUDIENCE });
    const verified = await verifier.verify(two.token, { audience: AUDIENCE });
    expect(verified.chain).toEqual([USER, RESEARCH, WRITER, EDITOR]);
    expect(verified.agents.map(String)).toEqual([RESEARCH, WRITER, EDITOR]);
    expect(two.chain).toEqual([USER, RESEARCH, WRITER, EDITOR]);
  });

  it("refuses to delegate an invalid or expired parent", async () => {
    const { authority, clock } = await makeIdentity();
    await expectCode(
      authority.delegate("not.a.jwt", { to: WRITER, audience: AUDIENCE }),
      "token_invalid",
    );
    const parent = await authority.issueToken(RESEARCH, { audience: AUDIENCE, ttlSeconds: 60 });
    clock.advance(120_000);
    await expectCode(
      authority.delegate(parent.token, { to: WRITER, audience: AUDIENCE }),
      "token_expired",
    );
  });
});

describe("Authority keys: D. revocation, H. keys", () => {
  it("D34: revoking an agent takes effect on the next verification, cache hits included", async () => {
    const { authority, verifier, revocations } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await verifier.verify(token, { audience: AUDIENCE });
    await verifier.verify(token, { audience: AUDIENCE });
    await revocations.revoke("agent", SUPPORT, "compromised");
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "agent_revoked");
  });

  it("D35: revoking a token id, or retiring a key, takes effect on the next verification", async () => {
    const { authority, verifier, revocations } = await makeIdentity();
    const first = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await verifier.verify(first.token, { audience: AUDIENCE });
    await revocations.revoke("token", first.tokenId);
    await expectCode(verifier.verify(first.token, { audience: AUDIENCE }), "token_revoked");

    const second = await authority.issueToken(OPS, { audience: AUDIENCE });
    await verifier.verify(second.token, { audience: AUDIENCE });
    const kid = authority.keys()[0]?.kid as string;
    await authority.retireKey(kid);
    await expectCode(verifier.verify(second.token, { audience: AUDIENCE }), "token_invalid");
    expect(authority.jwks().keys.map((key) => key.kid)).not.toContain(kid);
    const third = await authority.issueToken(OPS, { audience: AUDIENCE });
    await expect(verifier.verify(third.token, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("D35: a revoked key stops verifying at once, cache hits included, even in a key set that still holds it", async () => {
    const { authority, revocations, clock } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    // A remote verifier: the JWKS as published before the revocation, and the revocation feed.
    const keys = await JwksKeySet.fromJwks(authority.jwks());
    const verifier = new TokenVerifier({
      issuer: authority.issuer,
      trustDomain: authority.trustDomain,
      keys,
      revocations,
      clock,
    });
    await verifier.verify(token, { audience: AUDIENCE });
    const kid = authority.keys()[0]?.kid as string;
    await revocations.revoke("key", kid, "leaked");
    // The key set still has the key, so only the verifier's own key-revocation check refuses.
    expect(keys.getVerificationKey(kid)).toBeDefined();
    await expect(verifier.verify(token, { audience: AUDIENCE })).rejects.toMatchObject({
      code: "token_invalid",
      message: `Invalid token: the signing key ${kid} is revoked.`,
    });
    verifier.clearCache();
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("H57: the JWKS, key listings and the authority's JSON never contain a private key", async () => {
    const { authority, keyStore } = await makeIdentity();
    await authority.rotateKey();
    const texts = [
      JSON.stringify(authority.jwks()),
      JSON.stringify(authority.keys()),
      JSON.stringify(keyStore),
      inspect(authority, { depth: 6 }),
    ];
    const stored = await keyStore.load();
    for (const text of texts) {
      expect(text).not.toMatch(/"d"\s*:/);
      for (const key of stored) expect(text).not.toContain(String(key.privateJwk.d));
    }
    expect(authority.jwks().keys.every((key) => key.alg === "EdDSA" && key.use === "sig")).toBe(
      true,
    );
  });

  it("rotation: the new key signs at once, the old key leaves the JWKS after the overlap and the store after that", async () => {
    const { authority, clock, keyStore } = await makeIdentity({ rotationOverlapSeconds: 600 });
    const before = authority.keys()[0]?.kid;
    const rotated = await authority.rotateKey();
    expect(authority.keys().map((key) => key.status)).toEqual(["active", "retiring"]);
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect(JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()).kid).toBe(
      rotated.kid,
    );
    clock.advance(601_000);
    expect(authority.jwks().keys.map((key) => key.kid)).toEqual([rotated.kid]);
    await authority.rotateKey();
    expect((await keyStore.load()).map((key) => key.kid)).not.toContain(before);
  });
});

describe("Authority life-cycle audit", () => {
  it("rotateKey, retireKey and revoke write key_rotation and revocation events; a failing sink rejects after the change", async () => {
    const events: Array<{ type: string; agent?: string; details?: Record<string, unknown> }> = [];
    const sink = {
      write: async (event: (typeof events)[number]) => {
        events.push(event);
      },
      flush: async () => {},
      close: async () => {},
    };
    const { authority } = await makeIdentity({ audit: sink });
    const first = authority.keys()[0]?.kid ?? "";
    const rotated = await authority.rotateKey();
    await authority.retireKey(first);
    await authority.revoke("agent", SUPPORT, "compromised");
    expect(events.map((event) => event.type)).toEqual([
      "key_rotation",
      "key_rotation",
      "revocation",
    ]);
    expect(events[0]?.details).toMatchObject({ kid: rotated.kid, change: "rotated" });
    expect(events[1]?.details).toMatchObject({ kid: first, change: "retired" });
    expect(events[2]).toMatchObject({
      agent: SUPPORT,
      details: { kind: "agent", id: SUPPORT, reason: "compromised" },
    });

    const failing = await makeIdentity({
      audit: { ...sink, write: async () => Promise.reject(new Error("disk full")) },
    });
    await expect(failing.authority.revoke("agent", OPS)).rejects.toThrow(/disk full/);
    expect(failing.authority.revocations.isRevoked("agent", OPS)).toBe(true);
  });
});
