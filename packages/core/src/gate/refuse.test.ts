import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, makeGate } from "../../test/fixtures/gate.js";
import { SUPPORT } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../index.js";

describe("Gate.refuse: refusals made before the gate are audited denials", () => {
  it("K85: a refusal names the verified caller and its code, with redacted arguments", async () => {
    const { gate, token, events } = await makeGate();
    const denial = await gate.refuse(
      {
        tool: { name: "no_such_tool", server: "crm" },
        arguments: { password: "hunter2", q: "x" },
        credential: await token(SUPPORT),
      },
      new AgentGateError("access_denied", "Unknown tool no_such_tool."),
    );
    expect(denial.code).toBe("access_denied");
    expect(events()).toEqual([
      expect.objectContaining({
        type: "decision",
        agent: SUPPORT,
        tool: { name: "no_such_tool", server: "crm" },
        arguments: { password: "[REDACTED]", q: "x" },
        decision: expect.objectContaining({
          allowed: false,
          code: "access_denied",
          reason: "Unknown tool no_such_tool.",
        }),
      }),
    ]);
  });

  it("K85: without a credential the refusal is recorded as token_invalid", async () => {
    const { gate, events } = await makeGate();
    const denial = await gate.refuse(
      { tool: crmLookup, arguments: {}, credential: undefined },
      new AgentGateError("invalid_arguments", "Invalid arguments."),
    );
    expect(denial.code).toBe("token_invalid");
    expect(events()[0]?.decision).toMatchObject({ allowed: false, code: "token_invalid" });
  });

  it("K85: gate.invoke with no credential denies token_invalid and records it; the tool does not run", async () => {
    const { gate, events } = await makeGate();
    let ran = 0;
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: undefined },
        () => ran++,
      ),
      "token_invalid",
    );
    expect(ran).toBe(0);
    expect(events()[0]).toMatchObject({
      type: "decision",
      tool: { name: "crm_lookup" },
      decision: { allowed: false, code: "token_invalid" },
    });
  });
});
