import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { policy } from "../test/random-cedar.js";
import { CedarPolicyClient } from "./cedar-policy-client.js";
import { fillLiterals, shapeOf } from "./policy-shapes.js";

const json = (text: string) => {
  const answer = cedar.policyToJson(text);
  return answer.type === "success" ? answer.json : undefined;
};

describe("policy shapes (loading many policies fast)", () => {
  it("policies that differ only in ids and strings share a shape; what Cedar reads stays as written", () => {
    const a = shapeOf(
      `@id("a") permit (principal == Agent::"x", action == Action::"read", resource) when { context.c == "acme" };`,
    );
    const b = shapeOf(
      `@id("b") permit (principal == Agent::"y", action == Action::"read", resource) when { context.c == "globex" };`,
    );
    expect(a?.shape).toBe(b?.shape);
    expect(a?.literals).toEqual(["a", "x", "acme"]);
    const kept = shapeOf(
      `permit (principal, action == Action::"write", resource) when { context["a b"] like "x*" && {"k": 1} has k && context has "c" && decimal("1.5") == decimal("1.5") && context.s == "\\n" };`,
    );
    expect(kept).toBeUndefined(); // an escape: kept whole
    const noEscape = shapeOf(
      `permit (principal, action == Action::"write", resource) when { context["a b"] like "x*" && {"k": 1} has k && context has "c" && decimal("1.5") == decimal("1.5") };`,
    );
    expect(noEscape?.literals).toEqual([]);
  });

  it("a shape filled with its literals is exactly Cedar's JSON form of the policy (random policies)", () => {
    fc.assert(
      fc.property(policy, (text) => {
        const expected = json(text);
        const shaped = shapeOf(text);
        if (expected === undefined || shaped === undefined) return;
        const template = json(shaped.shape);
        expect(template).toBeDefined();
        expect(fillLiterals(template, shaped.literals)).toEqual(expected);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("C32: among 2,000 policies of one shape, the one that breaks the schema is named by file and line", () => {
    const policies: Record<string, string> = {};
    for (let index = 0; index < 2000; index++)
      policies[`p${index}.cedar`] =
        `@id("p${index}")\npermit (principal == Agent::"a${index}", action == Action::"read", resource)\nwhen { context.resources has customer && context.resources.customer == "c${index}" };`;
    policies["p1234.cedar"] =
      `@id("p1234")\npermit (principal == Agent::"a1234", action == Action::"read", resource)\nwhen { context.resources has customer && context.resources.cusotmer == "c1234" };`;
    expect(() => new CedarPolicyClient({ policies })).toThrow(/p1234\.cedar:3: .*cusotmer/);
    delete policies["p1234.cedar"];
    expect(new CedarPolicyClient({ policies }).policies).toHaveLength(1999);
  });

  it("C32: a policy cut short or a stray character is refused, naming its file and line", () => {
    expect(
      () =>
        new CedarPolicyClient({
          policies: {
            "ok.cedar": `permit (principal, action, resource);`,
            "cut.cedar": `permit (principal, action, resource);\n\nforbid (principal, action, resource) when { true }`,
          },
        }),
    ).toThrow(/cut\.cedar:3/);
    expect(
      () =>
        new CedarPolicyClient({
          policies: {
            "semi.cedar": `// a comment; with a semicolon\npermit (principal, action, resource) when { "a;b" == "a;b" };\n;`,
          },
        }),
    ).toThrow(/semi\.cedar:3/);
  });

  it("C32: in one file of many policies, each policy keeps its own line, past strings with `;` and escaped quotes and comments", () => {
    const file = [
      `// one; two`,
      `permit (principal, action, resource) when { context.environment == "a;\\"b;" };`,
      `@id("second") permit (principal, action == Action::"read", resource)`,
      `when { context.environment == "x" }; forbid (principal, action, resource) when { context.environment like "*;*" };`,
      ...Array.from(
        { length: 500 },
        (_, index) =>
          `@id("n${index}") permit (principal == Agent::"a${index}", action, resource);`,
      ),
      `@id("broken") permit (principal, action, resource) when { context.enviroment == "x" };`,
    ].join("\n");
    const loaded = new CedarPolicyClient({
      policies: { "many.cedar": file.replace("enviroment", "environment") },
    });
    expect(loaded.policies.slice(0, 3).map((entry) => entry.line)).toEqual([2, 3, 4]);
    expect(loaded.policies.find((entry) => entry.id === "n499")?.line).toBe(504);
    expect(() => new CedarPolicyClient({ policies: { "many.cedar": file } })).toThrow(
      /many\.cedar:505: .*enviroment/,
    );
  });
});
