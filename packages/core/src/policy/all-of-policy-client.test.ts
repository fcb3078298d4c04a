import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { CONTRACT_AGENT, describePolicyClientContract } from "../testing/contracts/index.js";
import type { AccessRequest } from "./access-request.js";
import { AllOfPolicyClient } from "./all-of-policy-client.js";
import { allow, deny } from "./decision.js";
import { FunctionPolicyClient } from "./policy-client.js";

const contractRule = new FunctionPolicyClient((request) =>
  request.subject.id === CONTRACT_AGENT &&
  request.action.name === "read" &&
  request.resource.id === "contract_tool"
    ? allow("ok", { policies: ["contract"] })
    : deny("no", { policies: ["contract"] }),
);
describePolicyClientContract(
  "AllOfPolicyClient",
  async () =>
    new AllOfPolicyClient([contractRule, new FunctionPolicyClient(() => allow("guardrail"))]),
);

const request = {
  subject: { id: "a" },
  action: { name: "read" },
  resource: { id: "t" },
} as AccessRequest;

describe("AllOfPolicyClient", () => {
  it("J73: a backend that errors makes the evaluation fail (deny), even when the others allow", async () => {
    const failing = new FunctionPolicyClient(() => {
      throw new Error("engine crashed");
    });
    const combined = new AllOfPolicyClient([new FunctionPolicyClient(() => allow("yes")), failing]);
    const error = await combined.evaluate(request).catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("policy_unavailable");
  });

  it("allows only when every backend allows; denials name their policies; obligations add up", async () => {
    const approval = new FunctionPolicyClient(() =>
      allow("writes need approval", { policies: ["p1"], obligations: ["require-approval"] }),
    );
    const redact = new FunctionPolicyClient(() =>
      allow("mask the card", {
        policies: ["p2"],
        obligations: ["redact:card", "require-approval"],
      }),
    );
    const both = await new AllOfPolicyClient([approval, redact]).evaluate(request);
    expect(both).toMatchObject({
      allowed: true,
      policies: ["p1", "p2"],
      obligations: ["require-approval", "redact:card"],
    });
    const veto = new FunctionPolicyClient(() => deny("central guardrail", { policies: ["org-1"] }));
    const denied = await new AllOfPolicyClient([approval, veto]).evaluate(request);
    expect(denied).toMatchObject({ allowed: false, policies: ["org-1"], obligations: [] });
  });

  it("its version changes when a backend's does", () => {
    let version = 1;
    const moving = Object.assign(new FunctionPolicyClient(() => allow("x")), {
      version: () => version,
    });
    const combined = new AllOfPolicyClient([moving, new FunctionPolicyClient(() => allow("y"))]);
    const before = combined.version();
    version = 2;
    expect(combined.version()).not.toBe(before);
    expect(() => new AllOfPolicyClient([])).toThrow(/at least one/);
  });
});
