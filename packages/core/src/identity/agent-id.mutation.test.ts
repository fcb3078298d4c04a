import { describe, expect, it } from "vitest";
import { AgentId, MAX_AGENT_ID_LENGTH } from "./agent-id.js";

// Mutation tests of AgentId (MUTATION.md, group `identity`; SECURITY.md G55): each length bound
// at its edge, the first and last characters each pattern allows, the problem each refusal names,
// and the bounded cache of parsed ids.

const problem = (value: unknown): string | undefined => {
  try {
    AgentId.parse(value as string);
    return undefined;
  } catch (error) {
    expect(error).toMatchObject({ code: "invalid_agent_id" });
    return (error as Error).message;
  }
};

describe("AgentId, exactly (G55)", () => {
  it("an id of 512 characters is valid, one of 513 is not", () => {
    const prefix = "spiffe://acme.example/agent/";
    const exact = `${prefix}${"a".repeat(MAX_AGENT_ID_LENGTH - prefix.length)}`;
    expect(exact).toHaveLength(512);
    expect(AgentId.isValid(exact)).toBe(true);
    expect(problem(`${exact}a`)).toBe("Invalid agent id: longer than 512 characters.");
  });

  it("a trust domain of 255 characters is valid, one of 256 is not", () => {
    const domain = (length: number) => `${"d".repeat(length - 8)}.example`;
    expect(AgentId.isValid(`spiffe://${domain(255)}/agent/a`)).toBe(true);
    expect(problem(`spiffe://${domain(256)}/agent/a`)).toBe(
      "Invalid agent id: trust domain too long.",
    );
  });

  it("a trust domain starts and ends with a letter or digit; '.', '-' and '_' only inside", () => {
    for (const domain of ["a", "0", "a.b", "a-b", "a_b", "a..b", "9z"]) {
      expect(AgentId.isValid(`spiffe://${domain}/agent/x`), domain).toBe(true);
    }
    for (const domain of ["-a", "a-", ".a", "a.", "_a", "a_", "aB", "a b", "a/b"]) {
      expect(AgentId.isValid(`spiffe://${domain}/agent/x`), domain).toBe(false);
    }
  });

  it("a path segment starts with a letter, digit, '_' or '-', never '.'; it may end with '.'", () => {
    for (const segment of ["a", "0", "_a", "-a", "a.", "a.b", "a_b-c"]) {
      expect(AgentId.isValid(`spiffe://acme.example/agent/${segment}`), segment).toBe(true);
    }
    for (const segment of [".a", "aB", "a b", "a+b", "é"]) {
      expect(AgentId.isValid(`spiffe://acme.example/agent/${segment}`), segment).toBe(false);
    }
  });

  it("each refusal names its problem", () => {
    const cases: [unknown, string][] = [
      [7, "not a string"],
      ["https://acme.example/agent/a", 'it must start with "spiffe://"'],
      ["spiffe://acme.example", "no path"],
      ["spiffe:///agent/a", "empty trust domain"],
      [
        "spiffe://Acme/agent/a",
        "the trust domain may hold only lowercase letters, digits, '.', '-' and '_'",
      ],
      ["spiffe://acme.example/agents/a", 'the path must start with "/agent/"'],
      ["spiffe://acme.example/agent", "no agent name"],
      ["spiffe://acme.example/agent/", "empty path segment"],
      ["spiffe://acme.example/agent/a//b", "empty path segment"],
      ["spiffe://acme.example/agent/..", "dot path segment"],
      ["spiffe://acme.example/agent/a/.", "dot path segment"],
      [
        "spiffe://acme.example/agent/a/B",
        "path segments may hold only lowercase letters, digits, '.', '-' and '_'",
      ],
    ];
    for (const [value, expected] of cases) {
      expect(problem(value), String(value)).toBe(`Invalid agent id: ${expected}.`);
    }
  });

  it("isValid is false for a non-string without throwing", () => {
    expect(AgentId.isValid(undefined)).toBe(false);
    expect(AgentId.isValid({ toString: () => "spiffe://acme.example/agent/a" })).toBe(false);
  });

  it("the name is everything after /agent/, the trust domain everything before it", () => {
    const id = AgentId.parse("spiffe://a.b/agent/x/y.z/w");
    expect([id.trustDomain, id.name, id.toString()]).toEqual([
      "a.b",
      "x/y.z/w",
      "spiffe://a.b/agent/x/y.z/w",
    ]);
    expect(Object.isFrozen(id)).toBe(true);
    expect(id.equals(AgentId.of("a.b", "x/y.z/w"))).toBe(true);
    expect(id.equals("spiffe://a.b/agent/x/y.z")).toBe(false);
  });

  it("parsed ids are shared, and the cache of them is bounded: it is emptied when full", () => {
    const sentinel = AgentId.parse("spiffe://cache.example/agent/sentinel");
    expect(AgentId.parse("spiffe://cache.example/agent/sentinel")).toBe(sentinel);
    expect(AgentId.tryParse("spiffe://cache.example/agent/sentinel")).toBe(sentinel);
    // 10,000 new ids fill the cache whatever it held: it was emptied at least once since.
    for (let i = 0; i < 10_000; i++) AgentId.parse(`spiffe://cache.example/agent/n${i}`);
    const again = AgentId.parse("spiffe://cache.example/agent/sentinel");
    expect(again).not.toBe(sentinel);
    expect(again.equals(sentinel)).toBe(true);
  });
});
