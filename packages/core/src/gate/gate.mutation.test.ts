import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, crmUpdate, makeGate } from "../../test/fixtures/gate.js";
import { OPS, SUPPORT } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { allow, type Decision } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import type { ToolDescriptor } from "../policy/tool-descriptor.js";
import { CallbackApprovalProvider } from "./approval.js";
import { Gate } from "./gate.js";

// Each test pins down a behaviour of the gate that a mutation of gate.ts changed without any
// other test noticing (MUTATION.md).

const lookup = { customerId: "acme" };

describe("Gate configuration", () => {
  it("refuses an unknown time zone, an empty audience, a missing port and a non-positive audit deadline", async () => {
    const { gate, ...identity } = await makeGate();
    const options = {
      audience: "https://crm.acme.example",
      verifier: identity.verifier,
      registry: identity.registry,
      policy: new FunctionPolicyClient(() => allow("ok")),
      audit: identity.audit,
    };
    expect(new Gate(options).audience).toBe("https://crm.acme.example");
    await expectCode(
      () => new Gate({ ...options, timeZone: "Mars/Olympus" }),
      "invalid_configuration",
    );
    await expectCode(() => new Gate({ ...options, audience: "" }), "invalid_configuration");
    await expectCode(() => new Gate({ ...options, audience: 7 as never }), "invalid_configuration");
    for (const port of ["verifier", "registry", "policy", "audit"] as const) {
      await expectCode(() => new Gate({ ...options, [port]: undefined }), "invalid_configuration");
    }
    await expectCode(
      () => new Gate({ ...options, auditTimeoutMs: Number.NaN }),
      "invalid_configuration",
    );
    await expectCode(() => new Gate({ ...options, auditTimeoutMs: 0 }), "invalid_configuration");
    expect(new Gate({ ...options, auditTimeoutMs: 1 })).toBeDefined();
    expect(gate.audit).toBe(identity.audit);
    expect(gate.registry).toBe(identity.registry);
    expect(gate.authority).toBe(identity.authority);
    expect(new Gate(options).authority).toBeUndefined();
  });

  it("close closes the audit sink and the policy client", async () => {
    const closed: string[] = [];
    const { gate } = await makeGate({
      audit: {
        write: async () => {},
        flush: async () => {},
        close: async () => void closed.push("audit"),
      },
      policy: {
        evaluate: async () => allow("ok"),
        close: async () => void closed.push("policy"),
      },
    });
    await gate.close();
    expect(closed).toEqual(["audit", "policy"]);
  });

  it("delegate without an authority is a configuration error", async () => {
    const { gate } = await makeGate({ authority: undefined });
    await expectCode(gate.delegate({ audience: "x" } as never), "invalid_configuration");
  });
});

describe("Gate credentials", () => {
  it("a credential provider object is asked for its token; anything else is token_invalid", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    await expect(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: { token: async () => credential } },
        async () => "ran",
      ),
    ).resolves.toBe("ran");
    for (const bad of [null, { token: "not a function" }, {}, 42]) {
      await expectCode(
        gate.invoke(
          { tool: crmLookup, arguments: lookup, credential: bad as never },
          async () => 1,
        ),
        "token_invalid",
      );
    }
  });
});

describe("Gate decisions", () => {
  function decidingGate(decision: unknown) {
    return makeGate({ policy: { evaluate: async () => decision as Decision } });
  }

  it("C28: a decision missing any one well-formed field denies with policy_unavailable", async () => {
    const good = { allowed: true, policies: [], obligations: [], reason: "r", safeReason: "s" };
    for (const bad of [
      null,
      "allow",
      { ...good, allowed: "true" },
      { ...good, policies: "p" },
      { ...good, obligations: "o" },
      { ...good, obligations: [1] },
      { ...good, reason: 1 },
      { ...good, safeReason: undefined },
    ]) {
      const { gate, token } = await decidingGate(bad);
      await expectCode(
        gate.invoke(
          { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
          async () => 1,
        ),
        "policy_unavailable",
      );
    }
    const { gate, token } = await decidingGate(good);
    await expect(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      ),
    ).resolves.toBe(1);
  });

  it("a policy client that throws synchronously denies with policy_unavailable", async () => {
    const { gate, token } = await makeGate({
      policy: {
        evaluate: () => {
          throw new Error("boom");
        },
      },
    });
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      ),
      "policy_unavailable",
    );
  });

  it("E44: a redact:<path> obligation masks that argument in the events, not for the tool", async () => {
    const { gate, token, events } = await makeGate({
      policy: new FunctionPolicyClient(() => allow("ok", { obligations: ["redact:customerId"] })),
    });
    const seen = await gate.invoke(
      { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
      async (args) => args.customerId,
    );
    expect(seen).toBe("acme");
    expect(events()[0]?.arguments).toEqual({ customerId: "[REDACTED]" });
  });
});

describe("Gate arguments", () => {
  const standard = (validate: (value: unknown) => unknown): ToolDescriptor => ({
    name: "crm_lookup",
    action: "read",
    schema: { "~standard": { version: 1, vendor: "test", validate } } as never,
  });

  it("G52: an asynchronous schema is awaited; its issue, a throwing schema and a non-object are invalid_arguments", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    await expect(
      gate.invoke(
        { tool: standard(async (value) => ({ value })), arguments: lookup, credential },
        async (args) => args.customerId,
      ),
    ).resolves.toBe("acme");
    const refused = [
      standard(async () => ({ issues: [{ message: "bad", path: [{ key: "customerId" }] }] })),
      standard(() => ({ issues: [{ message: "bad", path: ["customerId"] }] })),
      standard(() => {
        throw new Error("schema crashed");
      }),
      standard(async () => {
        throw new Error("schema crashed");
      }),
      standard(() => ({ value: [1] })),
      standard(() => ({ value: null })),
      standard(() => ({ value: "x" })),
    ];
    for (const tool of refused) {
      await expectCode(
        gate.invoke({ tool, arguments: lookup, credential }, async () => 1),
        "invalid_arguments",
      );
    }
    let message = "";
    try {
      await gate.invoke(
        { tool: refused[1] as ToolDescriptor, arguments: lookup, credential },
        async () => 1,
      );
    } catch (error) {
      message = (error as AgentGateError).safeMessage;
    }
    expect(message).toBe("The tool arguments are not valid (customerId): bad");
    try {
      await gate.invoke(
        { tool: standard(() => ({ issues: [{ message: "bad" }] })), arguments: lookup, credential },
        async () => 1,
      );
    } catch (error) {
      message = (error as AgentGateError).safeMessage;
    }
    expect(message).toBe("The tool arguments are not valid: bad");
  });

  it("without a schema the arguments are copied and frozen; missing arguments are an empty object", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    const tool = { name: "crm_lookup", action: "read" } as ToolDescriptor;
    const seen = await gate.invoke(
      { tool, arguments: undefined, credential },
      async (args) => args,
    );
    expect(seen).toEqual({});
    expect(Object.isFrozen(seen)).toBe(true);
    await expectCode(
      gate.invoke({ tool, arguments: [1], credential }, async () => 1),
      "invalid_arguments",
    );
  });
});

describe("Gate outcomes", () => {
  it("a tool's AgentGateError is recorded with its code; the error text is redacted and cut at 500", async () => {
    const { gate, token, events } = await makeGate();
    const credential = await token(OPS);
    const long = `password=hunter2 ${"x".repeat(600)}`;
    await expectCode(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => {
        throw new AgentGateError("access_denied", long);
      }),
      "access_denied",
    );
    const outcome = events().at(-1)?.outcome;
    expect(outcome?.status).toBe("failed");
    expect(outcome?.errorCode).toBe("access_denied");
    expect(outcome?.error).toHaveLength(500);
    expect(outcome?.error?.startsWith("AgentGateError: password=[REDACTED] x")).toBe(true);
    await expect(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => {
        throw "plain";
      }),
    ).rejects.toBe("plain");
    expect(events().at(-1)?.outcome).toMatchObject({ status: "failed", error: "plain" });
    expect(events().at(-1)?.outcome?.errorCode).toBeUndefined();
  });

  it("recordOutcome writes the outcome of a checked call, duration never negative", async () => {
    const { gate, token, events } = await makeGate();
    const check = await gate.check({ tool: crmLookup, credential: await token(OPS) });
    await gate.recordOutcome(check, crmLookup, { status: "succeeded", durationMs: -5 });
    expect(events().at(-1)).toMatchObject({
      type: "outcome",
      invocationId: check.invocationId,
      tool: { name: "crm_lookup" },
      outcome: { status: "succeeded", durationMs: 0 },
    });
    expect(events().at(-1)?.outcome?.error).toBeUndefined();
    await gate.recordOutcome(check, crmLookup, {
      status: "failed",
      durationMs: 3,
      error: new AgentGateError("invalid_arguments", "nope"),
    });
    expect(events().at(-1)?.outcome).toEqual({
      status: "failed",
      durationMs: 3,
      error: "AgentGateError: nope",
      errorCode: "invalid_arguments",
    });
  });

  it("a check records the decision's reason, or the denial's safe reason and code", async () => {
    const { gate, token, events } = await makeGate();
    const allowed = await gate.check({ tool: crmLookup, credential: await token(OPS) });
    expect(allowed.decision?.allowed).toBe(true);
    expect(events().at(-1)?.decision).toMatchObject({ allowed: true, reason: "scoped access" });
    expect(events().at(-1)?.arguments).toBeUndefined();
    const denied = await gate.check({ tool: crmLookup, credential: "not a token" });
    expect(denied).toMatchObject({
      allowed: false,
      code: "token_invalid",
      requiresApproval: false,
    });
    expect(denied.decision).toBeUndefined();
    expect(events().at(-1)?.decision).toMatchObject({
      allowed: false,
      code: "token_invalid",
      reason: denied.safeReason,
    });
    const policyDenied = await gate.check({
      tool: crmLookup,
      arguments: { customerId: "globex" },
      credential: await token(SUPPORT),
    });
    expect(policyDenied.decision?.allowed).toBe(false);
    expect(events().at(-1)?.decision?.reason).toBe("support serves customer acme only");
  });
});

describe("Gate approvals", () => {
  it("D38: an approver's name is cut at 256 characters and its reason at 1,024; approved needs a string approver", async () => {
    const answers: unknown[] = [
      { approved: true, approver: "a".repeat(300), reason: "r".repeat(2000) },
      { approved: true, approver: 7 },
      { approved: true },
      undefined,
    ];
    const approvals = new CallbackApprovalProvider(() => answers.shift() as never);
    const { gate, token, events } = await makeGate({ approvals });
    const credential = await token(OPS);
    const write = () =>
      gate.invoke(
        { tool: crmUpdate, arguments: { customerId: "acme", note: "n" }, credential },
        async () => "written",
      );
    await expect(write()).resolves.toBe("written");
    const first = events().find((event) => event.type === "approval")?.approval;
    expect(first?.approver).toHaveLength(256);
    expect(first?.reason).toHaveLength(1024);
    await expectCode(write(), "approval_denied");
    expect(
      events()
        .filter((event) => event.type === "approval")
        .at(-1)?.approval,
    ).toEqual({
      approved: false,
      approver: "7",
      reason: "not approved",
    });
    await expectCode(write(), "approval_denied");
    expect(
      events()
        .filter((event) => event.type === "approval")
        .at(-1)?.approval?.approver,
    ).toBe("unknown");
    await expectCode(write(), "approval_denied");
  });

  it("D37: supervisedApprovalKinds decides which actions of a supervised agent wait for approval", async () => {
    const asked: string[] = [];
    const approvals = new CallbackApprovalProvider((request) => {
      asked.push(`${request.reason}:${request.action}:${request.agent}:${request.principal}`);
      expect(request.chain.length).toBeGreaterThan(0);
      expect(request.arguments).toEqual(lookup);
      return { approved: true, approver: "dana" };
    });
    const { gate, token } = await makeGate({ approvals, supervisedApprovalKinds: ["read"] });
    const credential = await token(OPS);
    await gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => 1);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.startsWith(`supervision:read:${OPS}:`)).toBe(true);
    await gate.invoke(
      { tool: crmUpdate, arguments: { customerId: "acme", note: "n" }, credential },
      async () => 1,
    );
    expect(asked).toHaveLength(1);
  });
});

describe("Gate, more exactly", () => {
  const allowAll = (seen: unknown[] = []) => ({
    evaluate: async (request: unknown) => {
      seen.push(request);
      return allow("ok", { policies: ["all"] });
    },
  });

  it("an outcome's duration is measured on the gate's clock", async () => {
    const { gate, token, events } = await makeGate();
    await gate.invoke(
      { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
      async () => 1,
    );
    expect(events().at(-1)?.outcome).toEqual({ status: "succeeded", durationMs: 0 });
  });

  it("a check with arguments validates them; the policy sees the environment and the caller's context", async () => {
    const seen: Array<{ context: Record<string, unknown> }> = [];
    const { gate, token } = await makeGate({ policy: allowAll(seen) as never });
    const credential = await token(OPS);
    const bad = await gate.check({ tool: crmLookup, arguments: { customerId: 7 }, credential });
    expect(bad).toMatchObject({ allowed: false, code: "invalid_arguments" });
    await gate.check({ tool: crmLookup, credential, context: { channel: "chat" } });
    expect(seen.at(-1)?.context).toMatchObject({ channel: "chat", environment: "test" });
    const plain = await makeGate({ policy: allowAll(seen) as never, environment: undefined });
    await plain.gate.check({ tool: crmLookup, credential: await plain.token(OPS) });
    expect(seen.at(-1)?.context.environment).toBe("development");
  });

  it("I69: a provider's non-string token is refused without a fingerprint", async () => {
    const { gate, events } = await makeGate();
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: { token: async () => 42 as never } },
        async () => 1,
      ),
      "token_invalid",
    );
    expect(events().at(-1)?.details?.tokenFingerprint).toBeUndefined();
  });

  it("an unknown obligation's denial records the decision's policies", async () => {
    const { gate, token, events } = await makeGate({
      policy: new FunctionPolicyClient(() =>
        allow("ok", { policies: ["p9"], obligations: ["teleport"] }),
      ),
    });
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      ),
      "access_denied",
    );
    expect(events().at(-1)?.decision).toMatchObject({ allowed: false, policies: ["p9"] });
  });

  it("D37: an autonomous agent's write is not held for approval; a supervised one without a provider is denied by `none`", async () => {
    const asked: string[] = [];
    const approvals = new CallbackApprovalProvider((request) => {
      asked.push(request.agent);
      return { approved: true, approver: "dana" };
    });
    const { gate, token } = await makeGate({ approvals, policy: allowAll() as never });
    await gate.invoke(
      {
        tool: crmUpdate,
        arguments: { customerId: "acme", note: "n" },
        credential: await token(SUPPORT),
      },
      async () => 1,
    );
    expect(asked).toEqual([]);
    const bare = await makeGate({ policy: allowAll() as never });
    await expectCode(
      bare.gate.invoke(
        {
          tool: crmUpdate,
          arguments: { customerId: "acme", note: "n" },
          credential: await bare.token(OPS),
        },
        async () => 1,
      ),
      "approval_denied",
    );
    const approval = bare.events().find((event) => event.type === "approval")?.approval;
    expect(approval).toEqual({
      approved: false,
      approver: "none",
      reason: "no approval provider is configured",
    });
    expect(bare.events().at(-1)?.decision).toMatchObject({
      allowed: false,
      policies: ["all"],
      code: "approval_denied",
    });
  });

  it("D38: an approver that answers nothing is recorded as unknown, not approved", async () => {
    const approvals = new CallbackApprovalProvider(() => undefined as never);
    const { gate, token, events } = await makeGate({ approvals });
    await expectCode(
      gate.invoke(
        {
          tool: crmUpdate,
          arguments: { customerId: "acme", note: "n" },
          credential: await token(OPS),
        },
        async () => 1,
      ),
      "approval_denied",
    );
    expect(events().find((event) => event.type === "approval")?.approval).toEqual({
      approved: false,
      approver: "unknown",
      reason: "not approved",
    });
  });

  it("E43: a failing sink's own error is audit_unavailable with the cause, and the denial is not written again", async () => {
    const reported: string[] = [];
    const cause = new AgentGateError("invalid_configuration", "disk gone");
    const { gate, token } = await makeGate({
      audit: {
        write: async () => Promise.reject(cause),
        flush: async () => {},
        close: async () => {},
      },
      onAuditError: (error) => void reported.push(error.code),
    });
    let caught: unknown;
    try {
      await gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      );
    } catch (error) {
      caught = error;
    }
    expect((caught as AgentGateError).code).toBe("audit_unavailable");
    expect((caught as AgentGateError).cause).toBe(cause);
    expect(reported).toEqual([]);
  });

  it("C28: a policy client's own AgentGateError is policy_unavailable with the cause", async () => {
    const cause = new AgentGateError("access_denied", "nope");
    const { gate, token } = await makeGate({
      policy: { evaluate: async () => Promise.reject(cause) },
    });
    let caught: unknown;
    try {
      await gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      );
    } catch (error) {
      caught = error;
    }
    expect((caught as AgentGateError).code).toBe("policy_unavailable");
    expect((caught as AgentGateError).cause).toBe(cause);
  });

  it("G52: a schema with an empty issue list still refuses; a long issue is cut at 300 in the safe message", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    const tool = (issues: unknown[]): ToolDescriptor => ({
      name: "crm_lookup",
      action: "read",
      schema: { "~standard": { version: 1, vendor: "t", validate: () => ({ issues }) } } as never,
    });
    await expectCode(
      gate.invoke({ tool: tool([]), arguments: lookup, credential }, async () => 1),
      "invalid_arguments",
    );
    let safe = "";
    try {
      await gate.invoke(
        { tool: tool([{ message: "m".repeat(400) }]), arguments: lookup, credential },
        async () => 1,
      );
    } catch (error) {
      safe = (error as AgentGateError).safeMessage;
    }
    expect(safe).toHaveLength(300);
  });
});
