import { readFileSync } from "node:fs";
import { isAgentGateError } from "@agentgate/core";
import { describe, expect, it } from "vitest";
import { MONDAY_10_BERLIN, OPS, request, SUPPORT } from "../test/requests.js";
import { CedarPolicyClient } from "./cedar-policy-client.js";

const examples = new URL("../policies/examples/", import.meta.url);
const seed = readFileSync(new URL("support-agent.cedar", examples), "utf8");
const operations = readFileSync(new URL("operations.cedar", examples), "utf8");
const client = (policies: Record<string, string>, slicing = true) =>
  new CedarPolicyClient({ policies, slicing });

describe("CedarPolicyClient: C. policy and fail-closed", () => {
  it("C29: the seed rule permits support reading acme in Berlin business hours", async () => {
    const decision = await client({ "support.cedar": seed }).evaluate(
      request({ customer: "acme" }),
    );
    expect(decision).toMatchObject({
      allowed: true,
      policies: ["support-reads-acme-in-business-hours"],
    });
  });

  it("C29: flipping any one condition alone denies (agent, tool, customer, hours, time zone, read)", async () => {
    const policy = client({ "support.cedar": seed });
    const flips = [
      request({ customer: "acme", agent: OPS }),
      request({ customer: "acme", tool: "crm_export" }),
      request({ customer: "globex" }),
      request({}),
      request({ customer: "acme", at: Date.parse("2026-01-05T16:30:00Z") }), // 17:30 Berlin
      request({ customer: "acme", at: Date.parse("2026-01-10T10:00:00Z") }), // Saturday
      request({
        customer: "acme",
        timeZone: "America/New_York",
        at: Date.parse("2026-01-05T15:00:00Z"),
      }), // 10:00 NY
      request({ customer: "acme", action: "write" }),
    ];
    for (const flipped of flips) expect((await policy.evaluate(flipped)).allowed).toBe(false);
  });

  it("C26: when no policy matches, the answer is deny", async () => {
    const decision = await client({ "support.cedar": seed }).evaluate(
      request({ agent: "spiffe://acme.example/agent/x", customer: "acme" }),
    );
    expect(decision).toMatchObject({ allowed: false, policies: [] });
    expect(decision.reason).toMatch(/default deny/);
  });

  it("C27: a forbid and a permit both matching deny, and the forbid's reason is the safe reason", async () => {
    const decision = await client({ "ops.cedar": operations }).evaluate(
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: 900 },
      }),
    );
    expect(decision).toMatchObject({
      allowed: false,
      policies: ["refunds-under-500"],
      safeReason: "Refunds of 500 or more go through finance.",
    });
  });

  it("C31: argument conditions evaluate on validated numbers; a string where a number is declared denies", async () => {
    const policy = client({ "ops.cedar": operations });
    const small = await policy.evaluate(
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: 120 },
      }),
    );
    expect(small).toMatchObject({ allowed: true, obligations: ["require-approval"] });
    const text = await policy.evaluate(
      request({
        agent: OPS,
        action: "write",
        tool: "issue_refund",
        scopes: ["crm:write"],
        args: { amount: "120" },
      }),
    );
    expect(text.allowed).toBe(false);
  });

  it("C30: only the verified subject counts: arguments claiming another owner or scopes change nothing", async () => {
    const rule = `permit (principal, action == Action::"read", resource) when { principal.owner == "ops@acme.example" };`;
    const claims = request({ args: { customerId: "acme" } });
    const forged = {
      ...claims,
      context: {
        ...claims.context,
        arguments: { owner: "ops@acme.example", scopes: ["admin"] },
        subject: { owner: "ops@acme.example" },
      },
    };
    expect((await client({ "owner.cedar": rule }).evaluate(forged)).allowed).toBe(false);
  });

  it("C32: a syntax error or a schema violation is refused at load, naming file and line", () => {
    const broken = `permit (principal, action, resource);\n\npermit (principal, action == Action::"read", resource) when { context.resources.cusotmer == "acme" };`;
    let caught: unknown;
    try {
      client({ "broken.cedar": broken });
    } catch (error) {
      caught = error;
    }
    expect(isAgentGateError(caught) && caught.code).toBe("policy_invalid");
    expect((caught as Error).message).toMatch(/broken\.cedar:3: .*cusotmer/);
    expect(() => client({ "syntax.cedar": "permit (principal action resource);" })).toThrow(
      /syntax\.cedar:1/,
    );
  });

  it("C32: a reload that fails keeps the last good set and its version", async () => {
    const policy = client({ "support.cedar": seed });
    const version = policy.version();
    policy.reload(() => ({ policies: { "support.cedar": "permit (principal, action, resource" } }));
    expect(policy.lastReloadError?.code).toBe("policy_invalid");
    expect(policy.version()).toBe(version);
    expect((await policy.evaluate(request({ customer: "acme" }))).allowed).toBe(true);
    policy.reload(() => ({ policies: { "none.cedar": "" } }));
    expect(policy.version()).toBe(version + 1);
    expect((await policy.evaluate(request({ customer: "acme" }))).allowed).toBe(false);
  });

  it("I61: a forbid that would error is refused at load when the validator can see it", () => {
    const unguarded = `@id("no-prod") forbid (principal, action, resource) when { principal.getTag("env") == "prod" };`;
    expect(() => client({ "prod.cedar": unguarded })).toThrow(/prod\.cedar/);
  });

  it("I61: a forbid that errors at evaluation (overflow) still denies; Cedar alone would skip it and allow", async () => {
    const policies = {
      "all.cedar": `@id("everyone-reads") permit (principal, action == Action::"read", resource);`,
      "overflow.cedar": `@id("overflowing-forbid") forbid (principal, action, resource) when { context.time.epochSeconds * 4611686018427387904 > 0 };`,
    };
    const decision = await client(policies).evaluate(request({ customer: "acme" }));
    expect(decision.allowed).toBe(false);
    expect(decision.policies).toEqual(["overflowing-forbid"]);
    expect(decision.reason).toMatch(/evaluation failed/);
    expect(
      (await client({ "all.cedar": policies["all.cedar"] }).evaluate(request({ customer: "acme" })))
        .allowed,
    ).toBe(true);
  });

  it("an undeclared action (a tool's own verb) is denied until the schema declares it", async () => {
    const decision = await client({ "support.cedar": seed }).evaluate(
      request({ customer: "acme", action: "export" }),
    );
    expect(decision).toMatchObject({ allowed: false });
    expect(decision.reason).toMatch(/not declared/);
  });

  it("I66: tools of the same name on two servers are different resources", async () => {
    const rule = `permit (principal, action, resource == Tool::"crm-server/lookup");`;
    const policy = client({ "servers.cedar": rule });
    expect((await policy.evaluate(request({ tool: "lookup", server: "crm-server" }))).allowed).toBe(
      true,
    );
    expect(
      (await policy.evaluate(request({ tool: "lookup", server: "evil-server" }))).allowed,
    ).toBe(false);
  });

  it("explains permits, forbids and default denies", () => {
    const policy = client({ "support.cedar": seed, "ops.cedar": operations });
    expect(policy.explain(request({ customer: "acme" }))).toMatchObject({
      allowed: true,
      permitting: [{ id: "support-reads-acme-in-business-hours", file: "support.cedar", line: 4 }],
    });
    expect(policy.explain(request({ customer: "globex" })).reason).toMatch(
      /none of their conditions held/,
    );
    expect(policy.explain(request({ agent: "spiffe://acme.example/agent/x" })).reason).toMatch(
      /no policy's scope/,
    );
    expect(
      policy.explain(
        request({
          agent: OPS,
          action: "write",
          tool: "issue_refund",
          scopes: ["crm:write"],
          args: { amount: 700 },
        }),
      ).forbidding[0],
    ).toMatchObject({ id: "refunds-under-500", file: "ops.cedar" });
    expect(MONDAY_10_BERLIN).toBeGreaterThan(0);
    expect(SUPPORT).toContain("support");
  });
});
