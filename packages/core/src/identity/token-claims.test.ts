import { describe, expect, it } from "vitest";
import { type AgentGateErrorCode, isAgentGateError } from "../errors.js";
import type { TokenCheck } from "./token-checks.js";
import { type ClaimsRules, claimsToAgent } from "./token-claims.js";

// Fixed test vectors of the pure claims function: the claims of a token whose header and
// signature were already checked, the verifier's rules and the moment in; a VerifiedAgent or a
// refusal naming its check out. One vector (at least) per check, and each boundary both ways.

const T = 1_767_607_200; // 2026-01-05T10:00:00Z, in seconds
const RULES: ClaimsRules = {
  issuer: "spiffe://acme.example",
  trustDomain: "acme.example",
  clockSkewSeconds: 30,
  maxLifetimeSeconds: 3600,
  maxDelegationDepth: 2,
};
const CONTEXT = { audience: "https://crm.acme.example", keyId: "k1", now: T * 1000 };
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";
const ALICE = "user:alice@acme.example";
const JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const BASE: Readonly<Record<string, unknown>> = {
  iss: "spiffe://acme.example",
  sub: SUPPORT,
  aud: "https://crm.acme.example",
  iat: T,
  nbf: T,
  exp: T + 300,
  jti: "jti-1",
  scope: "crm:read",
  agent: { owner: "alice@acme.example", supervision: "autonomous" },
};

/** BASE with `overrides` (an `undefined` member deletes the claim). */
function with_(overrides: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...BASE, ...overrides };
  for (const [name, value] of Object.entries(overrides))
    if (value === undefined) delete claims[name];
  return claims;
}

function refusalOf(claims: Record<string, unknown>): { code: string; check: unknown } {
  try {
    claimsToAgent(claims, RULES, CONTEXT);
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    return { code: error.code, check: error.details?.check };
  }
  throw new Error("accepted");
}

type Refusal = readonly [string, Record<string, unknown>, TokenCheck, AgentGateErrorCode?];

const REFUSED: readonly Refusal[] = [
  ["aud missing", { aud: undefined }, "aud"],
  ["aud another service", { aud: "https://mail.acme.example" }, "aud"],
  [
    "aud this and another service",
    { aud: ["https://crm.acme.example", "https://mail.acme.example"] },
    "aud",
  ],
  ["aud an empty list", { aud: [] }, "aud"],
  ["aud a list of another service", { aud: ["https://mail.acme.example"] }, "aud"],
  ["iss another issuer", { iss: "spiffe://evil.example" }, "iss"],
  ["iss missing", { iss: undefined }, "iss"],
  ["iat missing", { iat: undefined }, "iat"],
  ["iat a string", { iat: String(T) }, "iat"],
  ["nbf missing", { nbf: undefined }, "nbf"],
  ["nbf negative", { nbf: -1 }, "nbf"],
  ["exp missing", { exp: undefined }, "exp"],
  ["exp infinite", { exp: Number.POSITIVE_INFINITY }, "exp"],
  ["exp NaN", { exp: Number.NaN }, "exp"],
  ["exp plus skew is now", { iat: T - 100, nbf: T - 100, exp: T - 30 }, "exp", "token_expired"],
  ["nbf minus skew after now", { nbf: T + 31 }, "nbf"],
  ["iat minus skew after now", { iat: T + 31, nbf: T, exp: T + 331 }, "iat"],
  ["lifetime one second over", { exp: T + 3601 }, "lifetime"],
  ["nbf after exp", { nbf: T + 11, exp: T + 10 }, "nbf"],
  ["jti missing", { jti: undefined }, "jti"],
  ["jti a number", { jti: 7 }, "jti"],
  ["jti empty", { jti: "" }, "jti"],
  ["jti with a space", { jti: "a b" }, "jti"],
  ["jti with a control character first", { jti: "\u0001ab" }, "jti"],
  ["jti 129 characters", { jti: "j".repeat(129) }, "jti"],
  ["jti non-ASCII", { jti: "\u00e9" }, "jti"],
  ["sub missing", { sub: undefined }, "sub"],
  ["sub an agent of another trust domain", { sub: "spiffe://evil.example/agent/support" }, "sub"],
  ["sub a user without delegation", { sub: ALICE }, "sub"],
  [
    "delegated sub a foreign SPIFFE id",
    { sub: "spiffe://evil.example/agent/x", act: { sub: SUPPORT } },
    "sub",
  ],
  ["delegated sub a spiffe: string", { sub: "spiffe:opaque", act: { sub: SUPPORT } }, "sub"],
  ["delegated sub with a space", { sub: "user alice", act: { sub: SUPPORT } }, "sub"],
  ["delegated sub empty", { sub: "", act: { sub: SUPPORT } }, "sub"],
  ["delegated sub 257 characters", { sub: "u".repeat(257), act: { sub: SUPPORT } }, "sub"],
  [
    "delegated sub ending in a control character",
    { sub: "user:a\u0001", act: { sub: SUPPORT } },
    "sub",
  ],
  ["delegated sub a number", { sub: 7, act: { sub: SUPPORT } }, "sub"],
  ["scope missing", { scope: undefined }, "scope"],
  ["scope a list", { scope: ["crm:read"] }, "scope"],
  ["scope with an empty entry", { scope: "crm:read  crm:write" }, "scope"],
  ["scope upper case", { scope: "CRM:READ" }, "scope"],
  ["act a string", { act: SUPPORT }, "act"],
  ["act null", { act: null }, "act"],
  ["act a list", { act: [{ sub: SUPPORT }] }, "act"],
  ["act with another member", { sub: ALICE, act: { sub: SUPPORT, iss: "x" } }, "act"],
  ["act whose sub is not a string", { sub: ALICE, act: { sub: 7 } }, "act"],
  [
    "act an actor of another trust domain",
    { sub: ALICE, act: { sub: "spiffe://evil.example/agent/s" } },
    "act",
  ],
  [
    "act nested actor of another trust domain",
    { sub: OPS, act: { sub: SUPPORT, act: { sub: "spiffe://evil.example/agent/o" } } },
    "act",
  ],
  [
    "act deeper than allowed",
    {
      sub: ALICE,
      act: { sub: SUPPORT, act: { sub: OPS, act: { sub: "spiffe://acme.example/agent/r" } } },
    },
    "act",
    "delegation_invalid",
  ],
  ["act a cycle", { sub: SUPPORT, act: { sub: SUPPORT } }, "act", "delegation_invalid"],
  [
    "act a cycle through an earlier actor",
    { sub: ALICE, act: { sub: SUPPORT, act: { sub: SUPPORT } } },
    "act",
    "delegation_invalid",
  ],
  ["groups on an agent principal", { groups: ["support-eu"] }, "groups"],
  ["groups not a list", { sub: ALICE, act: { sub: SUPPORT }, groups: "support-eu" }, "groups"],
  [
    "groups 65 names",
    { sub: ALICE, act: { sub: SUPPORT }, groups: Array.from({ length: 65 }, (_, i) => `g${i}`) },
    "groups",
  ],
  ["groups with a number", { sub: ALICE, act: { sub: SUPPORT }, groups: ["a", 7] }, "groups"],
  ["groups with an empty name", { sub: ALICE, act: { sub: SUPPORT }, groups: [""] }, "groups"],
  [
    "groups with a control character",
    { sub: ALICE, act: { sub: SUPPORT }, groups: ["a\u0001"] },
    "groups",
  ],
  [
    "groups with a control character first",
    { sub: ALICE, act: { sub: SUPPORT }, groups: ["\u0001a"] },
    "groups",
  ],
  [
    "groups with a 257-character name",
    { sub: ALICE, act: { sub: SUPPORT }, groups: ["g".repeat(257)] },
    "groups",
  ],
  ["agent missing", { agent: undefined }, "agent"],
  ["agent null", { agent: null }, "agent"],
  ["agent without owner", { agent: { supervision: "autonomous" } }, "agent"],
  ["agent with unknown supervision", { agent: { owner: "a", supervision: "unwatched" } }, "agent"],
  ["cnf null", { cnf: null }, "cnf"],
  ["cnf a string", { cnf: JKT }, "cnf"],
  ["cnf empty", { cnf: {} }, "cnf"],
  ["cnf with another member", { cnf: { jkt: JKT, x5t: "x" } }, "cnf"],
  ["cnf a jkt of 42 characters", { cnf: { jkt: JKT.slice(1) } }, "cnf"],
  ["cnf a jkt of 44 characters", { cnf: { jkt: `${JKT}A` } }, "cnf"],
  ["cnf a jkt that is not base64url", { cnf: { jkt: `+${JKT.slice(1)}` } }, "cnf"],
  ["cnf a jkt that is a number", { cnf: { jkt: 7 } }, "cnf"],
  ["cnf a jkt that is a list holding a thumbprint", { cnf: { jkt: [JKT] } }, "cnf"],
];

describe("claimsToAgent: fixed test vectors", () => {
  for (const [name, overrides, check, code = "token_invalid"] of REFUSED) {
    it(`refuses ${name}: ${check}`, () => {
      expect(refusalOf(with_(overrides))).toEqual({ code, check });
    });
  }

  it("accepts the base claims and says exactly who, for whom, with what", () => {
    const verified = claimsToAgent(BASE, RULES, CONTEXT);
    expect({
      ...verified,
      agent: verified.agent.toString(),
      agents: verified.agents.map(String),
    }).toEqual({
      agent: SUPPORT,
      principal: { id: SUPPORT, kind: "agent" },
      chain: [SUPPORT],
      agents: [SUPPORT],
      delegated: false,
      scopes: ["crm:read"],
      tokenId: "jti-1",
      keyId: "k1",
      issuer: "spiffe://acme.example",
      audience: "https://crm.acme.example",
      issuedAt: T,
      expiresAt: T + 300,
      attributes: { owner: "alice@acme.example", supervision: "autonomous" },
    });
    expect(Object.isFrozen(verified)).toBe(true);
    expect(Object.isFrozen(verified.chain)).toBe(true);
    expect(Object.isFrozen(verified.scopes)).toBe(true);
  });

  it("accepts a user principal through two actors (the deepest allowed), with its groups", () => {
    const claims = with_({
      sub: ALICE,
      act: { sub: SUPPORT, act: { sub: OPS } },
      groups: ["support-eu", " "],
    });
    const verified = claimsToAgent(claims, RULES, CONTEXT);
    expect(verified.principal).toEqual({ id: ALICE, kind: "user", groups: ["support-eu", " "] });
    expect(verified.chain).toEqual([ALICE, OPS, SUPPORT]);
    expect(verified.agents.map(String)).toEqual([OPS, SUPPORT]);
    expect(verified.agent.toString()).toBe(SUPPORT);
    expect(verified.delegated).toBe(true);
  });

  it("accepts an agent acting for another agent: both are agents of the chain", () => {
    const verified = claimsToAgent(with_({ sub: OPS, act: { sub: SUPPORT } }), RULES, CONTEXT);
    expect(verified.principal).toEqual({ id: OPS, kind: "agent" });
    expect(verified.agents.map(String)).toEqual([OPS, SUPPORT]);
    expect(verified.agent.toString()).toBe(SUPPORT);
  });

  it("accepts each boundary on its accepted side", () => {
    const accepted: Record<string, unknown>[] = [
      { aud: ["https://crm.acme.example"] },
      { iat: T - 100, nbf: T - 100, exp: T - 29 }, // exp + skew one second after now
      { nbf: T + 30 }, // nbf - skew is now
      { iat: T + 30, nbf: T + 30, exp: T + 330 }, // iat - skew is now
      { exp: T + 3600 }, // the longest lifetime
      { nbf: T + 10, exp: T + 10 }, // nbf equal to exp
      { nbf: 0 }, // the epoch is a NumericDate
      { jti: "j".repeat(128) },
      { jti: "!~" },
      { sub: "u".repeat(256), act: { sub: SUPPORT } },
      { sub: ALICE, act: { sub: SUPPORT }, groups: Array.from({ length: 64 }, (_, i) => `g${i}`) },
      { sub: ALICE, act: { sub: SUPPORT }, groups: ["g".repeat(256), "~"] },
      { agent: { owner: "a", supervision: "supervised" } },
      { agent: { owner: "a", supervision: "suspended" } },
    ];
    for (const overrides of accepted) {
      expect(
        () => claimsToAgent(with_(overrides), RULES, CONTEXT),
        JSON.stringify(overrides),
      ).not.toThrow();
    }
  });

  it("keeps the scopes in order, an empty scope as none", () => {
    expect(claimsToAgent(with_({ scope: "" }), RULES, CONTEXT).scopes).toEqual([]);
    expect(claimsToAgent(with_({ scope: "crm:write crm:read" }), RULES, CONTEXT).scopes).toEqual([
      "crm:write",
      "crm:read",
    ]);
  });

  it("keeps team and purpose when they are strings, and the cnf thumbprint", () => {
    const verified = claimsToAgent(
      with_({
        agent: { owner: "a", supervision: "autonomous", team: "support", purpose: "triage" },
        cnf: { jkt: JKT },
      }),
      RULES,
      CONTEXT,
    );
    expect(verified.attributes).toEqual({
      owner: "a",
      supervision: "autonomous",
      team: "support",
      purpose: "triage",
    });
    expect(verified.confirmation).toEqual({ jkt: JKT });
    const plain = claimsToAgent(
      with_({ agent: { owner: "a", supervision: "autonomous", team: 7, purpose: 8 } }),
      RULES,
      CONTEXT,
    );
    expect(plain.attributes).toEqual({ owner: "a", supervision: "autonomous" });
    expect("confirmation" in plain).toBe(false);
  });

  it("M108: a certificate-bound token's cnf is its x5t#S256 thumbprint, never read as a key's jkt", () => {
    const bound = claimsToAgent(with_({ cnf: { "x5t#S256": JKT } }), RULES, CONTEXT);
    expect(bound.confirmation).toEqual({ "x5t#S256": JKT });
    expect(Object.isFrozen(bound.confirmation)).toBe(true);
    for (const cnf of [
      { "x5t#S256": JKT, jkt: JKT },
      { "x5t#S256": 42 },
      { "x5t#S256": JKT.slice(1) },
      { x5t: JKT },
      [JKT],
    ])
      expect(refusalOf(with_({ cnf })), JSON.stringify(cnf)).toEqual({
        code: "token_invalid",
        check: "cnf",
      });
  });

  it("takes now from the context and the skew from the rules", () => {
    const later = { ...CONTEXT, now: (T + 271) * 1000 }; // exp + skew - 29 s
    expect(() => claimsToAgent(BASE, RULES, later)).not.toThrow();
    const strict = { ...RULES, clockSkewSeconds: 0 };
    expect(() => claimsToAgent(BASE, strict, { ...CONTEXT, now: (T + 300) * 1000 })).toThrow(
      /expired/,
    );
    expect(() => claimsToAgent(BASE, strict, { ...CONTEXT, now: (T + 299) * 1000 })).not.toThrow();
  });
});
