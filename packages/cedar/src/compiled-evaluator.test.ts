import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPS, request } from "../test/requests.js";
import { CedarPolicyClient } from "./cedar-policy-client.js";

const operations = readFileSync(
  new URL("../policies/examples/operations.cedar", import.meta.url),
  "utf8",
);
const seed = readFileSync(
  new URL("../policies/examples/support-agent.cedar", import.meta.url),
  "utf8",
);

describe("CedarPolicyClient: the compiled evaluator and its fallback", () => {
  it("decides with the compiled evaluator by default, and says so in explain", () => {
    const lines: string[] = [];
    const policy = new CedarPolicyClient({
      policies: { "support.cedar": seed },
      debug: (line) => lines.push(line),
    });
    expect(policy.engine).toEqual({ evaluator: "compiled" });
    expect(policy.explain(request({ customer: "acme" }))).toMatchObject({
      allowed: true,
      engine: "compiled",
    });
    expect(lines.join("\n")).toMatch(/compiled evaluator/);
  });

  it("a set with a construct the compiler does not handle goes to cedar-wasm, whole and visibly, naming file and line", async () => {
    const lines: string[] = [];
    const policies = {
      "support.cedar": seed,
      // Two literals beyond 2^53 that JSON gives as the same float: the compiler cannot tell
      // which is which, so it declines rather than guess.
      "big.cedar": `@id("far-future")\nforbid (principal, action, resource)\nwhen { context.time.epochSeconds == 9007199254740993 && context.time.epochSeconds != 9007199254740992 };`,
    };
    const policy = new CedarPolicyClient({ policies, debug: (line) => lines.push(line) });
    expect(policy.engine.evaluator).toBe("cedar-wasm");
    expect(policy.engine.reason).toMatch(/big\.cedar:1, policy far-future/);
    const explained = policy.explain(request({ customer: "acme" }));
    expect(explained).toMatchObject({ allowed: true, engine: "cedar-wasm" });
    expect(explained.engineReason).toMatch(/literal outside the exact range/);
    expect(lines.join("\n")).toMatch(/decided by cedar-wasm: .*big\.cedar/);
    expect((await policy.evaluate(request({ customer: "globex" }))).allowed).toBe(false);
  });

  it('evaluator: "cedar-wasm" forces the reference, with the same decisions', async () => {
    const compiled = new CedarPolicyClient({
      policies: { "ops.cedar": operations, "s.cedar": seed },
    });
    const wasm = new CedarPolicyClient({
      policies: { "ops.cedar": operations, "s.cedar": seed },
      evaluator: "cedar-wasm",
    });
    expect(wasm.engine.evaluator).toBe("cedar-wasm");
    const requests = [
      request({ customer: "acme" }),
      request({ customer: "globex" }),
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: 120 },
      }),
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: 900 },
      }),
      request({ agent: OPS, action: "read", scopes: ["crm:read"] }),
    ];
    for (const r of requests) {
      const [a, b] = [await compiled.evaluate(r), await wasm.evaluate(r)];
      expect({ allowed: a.allowed, policies: a.policies, obligations: a.obligations }).toEqual({
        allowed: b.allowed,
        policies: b.policies,
        obligations: b.obligations,
      });
      expect(wasm.explain(r).engine).toBe("cedar-wasm");
    }
  });

  it("C31: a context that does not fit the schema is denied with the validation error", async () => {
    const policy = new CedarPolicyClient({ policies: { "ops.cedar": operations } });
    const decision = await policy.evaluate(
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: "120" },
      }),
    );
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(
      /does not fit the Cedar schema: context\.arguments\.amount is not a Long/,
    );
  });

  it("I61: an erroring forbid denies on the compiled path too (overflow is checked at 64 bits)", async () => {
    const policy = new CedarPolicyClient({
      policies: {
        "all.cedar": `@id("everyone-reads") permit (principal, action == Action::"read", resource);`,
        "overflow.cedar": `@id("overflowing-forbid") forbid (principal, action, resource) when { context.time.epochSeconds * 4611686018427387904 > 0 };`,
      },
    });
    expect(policy.engine.evaluator).toBe("compiled");
    const decision = await policy.evaluate(request({ customer: "acme" }));
    expect(decision).toMatchObject({ allowed: false, policies: ["overflowing-forbid"] });
    expect(decision.reason).toMatch(/evaluation failed: overflowing-forbid: integer overflow/);
  });

  it("action groups of the schema count for `in` on the compiled path", async () => {
    const schema = `${readFileSync(new URL("../policies/agentgate.cedarschema", import.meta.url), "utf8")}\naction "readers";\naction "browse" in ["readers"] appliesTo { principal: [Agent], resource: [Tool], context: Context };\n`;
    const policy = new CedarPolicyClient({
      schema,
      policies: {
        "g.cedar": `@id("readers") permit (principal, action in Action::"readers", resource);`,
      },
    });
    expect(policy.engine.evaluator).toBe("compiled");
    expect((await policy.evaluate(request({ action: "browse" }))).allowed).toBe(true);
    expect((await policy.evaluate(request({ action: "read" }))).allowed).toBe(false);
  });
});
