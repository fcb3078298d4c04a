import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, makeIdentity, OPS, SUPPORT } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { AgentId } from "./agent-id.js";
import { defineAgent } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";
import { actClaimOf, actorsOf, hasScope, IssuedToken, type VerifiedAgent } from "./agent-token.js";
import { JwtSvidBundle } from "./jwt-svid.js";
import { checkAgentChain, verifyAgentToken } from "./verify-agent-token.js";

// Mutation tests of verify-agent-token.ts and agent-token.ts (MUTATION.md, group `identity`;
// SECURITY.md B19, B22, D37, L90): the registry check of every agent of a chain, what a failing
// registry becomes, the scopes that survive, and the small helpers of agent tokens.

function agentWith(chain: string[], scopes: string[]): VerifiedAgent {
  const agents = chain.map((id) => AgentId.parse(id));
  return {
    agent: agents.at(-1) as AgentId,
    principal: { id: chain[0] as string, kind: "agent" },
    chain,
    agents,
    delegated: chain.length > 1,
    scopes,
    tokenId: "t",
    keyId: "k",
    issuer: "spiffe://acme.example",
    audience: AUDIENCE,
    issuedAt: 0,
    expiresAt: 1,
    attributes: { owner: "o", supervision: "autonomous" },
  };
}

function registryOf(
  records: Record<string, ReturnType<typeof defineAgent>>,
  failure?: unknown,
): AgentRegistry {
  return {
    async get(id: string) {
      if (failure !== undefined) throw failure;
      return records[id];
    },
    async list() {
      return Object.values(records);
    },
    async put() {},
    async remove() {
      return false;
    },
  };
}

const support = defineAgent({
  id: SUPPORT,
  owner: "a@acme.example",
  maxScopes: ["crm:read", "crm:write", "mail:send"],
});
const ops = defineAgent({ id: OPS, owner: "o@acme.example", maxScopes: ["crm:read", "crm:write"] });

describe("checkAgentChain, exactly", () => {
  it("the acting record is the last agent's; scopes are those every agent of the chain may hold", async () => {
    const registry = registryOf({ [SUPPORT]: support, [OPS]: ops });
    const usable = await checkAgentChain(
      agentWith([SUPPORT, OPS], ["crm:read", "mail:send", "crm:write"]),
      registry,
    );
    expect(usable.record).toBe(ops);
    expect(usable.scopes).toEqual(["crm:read", "crm:write"]);
    const alone = await checkAgentChain(
      agentWith([SUPPORT], ["mail:send", "web:search"]),
      registry,
    );
    expect(alone.record).toBe(support);
    expect(alone.scopes).toEqual(["mail:send"]);
  });

  it("a registry that throws is registry_unavailable with the cause; its own AgentGateError passes as it is", async () => {
    const cause = new Error("disk gone");
    const failed = await checkAgentChain(agentWith([SUPPORT], []), registryOf({}, cause)).catch(
      (error: unknown) => error,
    );
    expect(failed).toMatchObject({ code: "registry_unavailable", cause });
    const own = new AgentGateError("registry_unavailable", "PostgreSQL is down.");
    await expect(checkAgentChain(agentWith([SUPPORT], []), registryOf({}, own))).rejects.toBe(own);
  });

  it("an unregistered, suspended or expired agent anywhere in the chain is refused; a chain of none names no agent", async () => {
    const now = Date.parse("2026-01-05T10:00:00.000Z");
    const clock = { now: () => now };
    const suspended = defineAgent({ id: OPS, owner: "o@acme.example", supervision: "suspended" });
    const expiring = defineAgent({ id: OPS, owner: "o@acme.example", expiresAt: new Date(now) });
    const later = defineAgent({ id: OPS, owner: "o@acme.example", expiresAt: new Date(now + 1) });
    await expectCode(
      checkAgentChain(agentWith([SUPPORT, OPS], []), registryOf({ [OPS]: ops })),
      "agent_unknown",
    );
    await expectCode(
      checkAgentChain(agentWith([SUPPORT, OPS], []), registryOf({ [SUPPORT]: support })),
      "agent_unknown",
    );
    await expectCode(
      checkAgentChain(
        agentWith([OPS, SUPPORT], []),
        registryOf({ [SUPPORT]: support, [OPS]: suspended }),
      ),
      "agent_suspended",
    );
    await expectCode(
      checkAgentChain(
        agentWith([OPS, SUPPORT], []),
        registryOf({ [SUPPORT]: support, [OPS]: expiring }),
        clock,
      ),
      "agent_expired",
    );
    await expect(
      checkAgentChain(agentWith([OPS], []), registryOf({ [OPS]: later }), clock),
    ).resolves.toMatchObject({ record: later });
    // The default clock is the system clock: a registration that ended in 2000 has expired.
    const ended = defineAgent(
      { id: OPS, owner: "o@acme.example", expiresAt: "2000-01-01T00:00:00.000Z" },
      { now: () => 0 },
    );
    await expectCode(
      checkAgentChain(agentWith([OPS], []), registryOf({ [OPS]: ended })),
      "agent_expired",
    );
    const none = { ...agentWith([SUPPORT], []), agents: [] };
    await expectCode(checkAgentChain(none, registryOf({ [SUPPORT]: support })), "agent_unknown");
  });
});

describe("verifyAgentToken, exactly", () => {
  it("tells onVerified who the token proves, then checks the registry; no bundles, or an empty list, means tokens only", async () => {
    const { authority, verifier, registry, clock } = await makeIdentity();
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    const seen: string[] = [];
    for (const spiffeBundles of [undefined, []]) {
      const usable = await verifyAgentToken(token, {
        verifier,
        registry,
        audience: AUDIENCE,
        clock,
        onVerified: (agent) => seen.push(agent.agent.toString()),
        ...(spiffeBundles === undefined ? {} : { spiffeBundles }),
      });
      expect(usable.record.id).toBe(SUPPORT);
    }
    expect(seen).toEqual([SUPPORT, SUPPORT]);
    await expectCode(
      verifyAgentToken(token, { verifier, registry, audience: "https://other.example" }),
      "token_invalid",
    );
  });
});

describe("verifyAgentToken with SPIFFE bundles, exactly", () => {
  it("checks a JWT-SVID on the clock it is given, not the machine's", async () => {
    const { verifier, registry, clock } = await makeIdentity();
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "spire-1", use: "jwt-svid" }] };
    const bundle = await JwtSvidBundle.fromJwks("acme.example", jwks);
    // Valid for five minutes at the test clock's time, long expired by the machine's.
    const now = Math.floor(clock.now() / 1000);
    const svid = await new SignJWT({ sub: SUPPORT, aud: [AUDIENCE], iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: "ES256", kid: "spire-1", typ: "JWT" })
      .sign(privateKey);
    const options = { verifier, registry, audience: AUDIENCE, spiffeBundles: [bundle] };
    const usable = await verifyAgentToken(svid, { ...options, clock });
    expect(usable.record.id).toBe(SUPPORT);
    await expectCode(verifyAgentToken(svid, options), "token_expired");
  });
});

describe("agent token helpers", () => {
  it("hasScope, actorsOf and actClaimOf", () => {
    const agent = agentWith([SUPPORT], ["crm:read"]);
    expect(hasScope(agent, "crm:read")).toBe(true);
    expect(hasScope(agent, "crm:write")).toBe(false);
    expect(actorsOf(undefined)).toEqual([]);
    expect(actorsOf({ sub: "c", act: { sub: "b", act: { sub: "a" } } })).toEqual(["a", "b", "c"]);
    expect(actClaimOf([])).toBeUndefined();
    expect(actClaimOf(["a"])).toEqual({ sub: "a" });
    expect(actClaimOf(["a", "b", "c"])).toEqual({ sub: "c", act: { sub: "b", act: { sub: "a" } } });
  });

  it("an issued token shows its raw JWT only through .token", () => {
    const issued = new IssuedToken(
      "raw.jwt.here",
      "jti-1",
      SUPPORT,
      "user:a",
      AUDIENCE,
      ["s"],
      1,
      2,
      ["user:a", SUPPORT],
    );
    expect(issued.token).toBe("raw.jwt.here");
    expect(String(issued)).toBe("[IssuedToken jti-1]");
    expect(issued.toJSON()).toEqual({
      tokenId: "jti-1",
      agent: SUPPORT,
      principal: "user:a",
      audience: AUDIENCE,
      scopes: ["s"],
      issuedAt: 1,
      expiresAt: 2,
      chain: ["user:a", SUPPORT],
    });
    expect(JSON.stringify(issued)).not.toContain("raw.jwt.here");
  });
});
