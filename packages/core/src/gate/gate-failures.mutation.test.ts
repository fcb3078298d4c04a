import { afterEach, describe, expect, it, vi } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, crmUpdate, makeGate } from "../../test/fixtures/gate.js";
import { OPS, SUPPORT } from "../../test/fixtures/identity.js";
import type { AuditEvent } from "../audit/audit-event.js";
import { AgentGateError } from "../errors.js";
import { defineAgent } from "../identity/agent-record.js";
import { allow } from "../policy/decision.js";
import type { ToolDescriptor } from "../policy/tool-descriptor.js";
import { CallbackApprovalProvider } from "./approval.js";
import { baseEvent, decisionBlock, tokenFingerprint } from "./gate-events.js";

// Each test pins down what the gate records or rethrows on a failure path that a mutation of
// gate.ts or gate-events.ts changed without any other test noticing (MUTATION.md, "Survivors
// not yet killed" of the gate).

const lookup = { customerId: "acme" };

/** The rejection of `action`, which must reject. */
async function rejection(action: Promise<unknown>): Promise<AgentGateError> {
  let caught: unknown;
  try {
    await action;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AgentGateError);
  return caught as AgentGateError;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("Gate.refuse and invoke: the token fingerprint", () => {
  it("K85: a refusal with a token that does not verify records its fingerprint and the authentication failure", async () => {
    const { gate, events } = await makeGate();
    const denial = await gate.refuse(
      { tool: crmLookup, arguments: lookup, credential: "not-a-token" },
      new AgentGateError("access_denied", "Unknown tool."),
    );
    expect(denial.code).toBe("token_invalid");
    const event = events().at(-1);
    expect(event?.decision).toMatchObject({ allowed: false, code: "token_invalid" });
    expect(event?.details?.tokenFingerprint).toBe(await tokenFingerprint("not-a-token"));
    expect(event?.agent).toBeUndefined();
  });

  it("K85, I69: a refusal with a provider's non-string token records no fingerprint", async () => {
    const { gate, events } = await makeGate();
    const denial = await gate.refuse(
      {
        tool: crmLookup,
        arguments: lookup,
        credential: { token: async () => 42 as never },
      },
      new AgentGateError("access_denied", "Unknown tool."),
    );
    expect(denial.code).toBe("token_invalid");
    expect(events().at(-1)?.decision).toMatchObject({ allowed: false, code: "token_invalid" });
    expect(events().at(-1)?.details).toBeUndefined();
  });

  it("K85: a refusal with a valid token keeps the adapter's denial and records no fingerprint", async () => {
    const { gate, events, token } = await makeGate();
    const denial = await gate.refuse(
      { tool: crmLookup, arguments: lookup, credential: await token(SUPPORT) },
      new AgentGateError("invalid_arguments", "Rejected by the framework."),
    );
    expect(denial.code).toBe("invalid_arguments");
    expect(events().at(-1)?.agent).toBe(SUPPORT);
    expect(events().at(-1)?.details).toBeUndefined();
  });

  it("D37: a verified token whose agent the registry suspends names the agent, with no fingerprint", async () => {
    const { gate, token, registry, clock, events } = await makeGate();
    const credential = await token(SUPPORT);
    await registry.put(
      defineAgent(
        { id: SUPPORT, owner: "alice", supervision: "suspended", maxScopes: ["crm:read"] },
        clock,
      ),
    );
    await expectCode(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => 1),
      "agent_suspended",
    );
    const event = events().at(-1);
    expect(event?.agent).toBe(SUPPORT);
    expect(event?.decision).toMatchObject({ allowed: false, code: "agent_suspended" });
    expect(event?.details?.tokenFingerprint).toBeUndefined();
  });
});

describe("Gate outcomes on the gate's clock", () => {
  it("a failed and a succeeded outcome both last what the gate's clock says", async () => {
    const { gate, token, events, clock } = await makeGate();
    const credential = await token(OPS);
    await expect(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => {
        clock.advance(7);
        throw new Error("tool broke");
      }),
    ).rejects.toThrow("tool broke");
    expect(events().at(-1)?.outcome).toEqual({
      status: "failed",
      durationMs: 7,
      error: "Error: tool broke",
    });
    await gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => {
      clock.advance(3);
      return 1;
    });
    expect(events().at(-1)?.outcome).toEqual({ status: "succeeded", durationMs: 3 });
  });
});

describe("Gate.close", () => {
  it("closes a gate whose policy client has no close method", async () => {
    let closed = 0;
    const { gate } = await makeGate({
      audit: { write: async () => {}, flush: async () => {}, close: async () => void closed++ },
      policy: { evaluate: async () => allow("ok") },
    });
    await expect(gate.close()).resolves.toBeUndefined();
    expect(closed).toBe(1);
  });
});

describe("Gate failures keep their cause", () => {
  it("C28: a policy client that throws synchronously is policy_unavailable with the thrown error as cause", async () => {
    const thrown = new Error("evaluate exploded");
    const { gate, token } = await makeGate({
      policy: {
        evaluate: () => {
          throw thrown;
        },
      },
    });
    const denial = await rejection(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      ),
    );
    expect(denial.code).toBe("policy_unavailable");
    expect(denial.cause).toBe(thrown);
  });

  it("C28: a policy client's own policy_unavailable is passed on as it is", async () => {
    const own = new AgentGateError("policy_unavailable", "engine down");
    const { gate, token } = await makeGate({
      policy: { evaluate: async () => Promise.reject(own) },
    });
    const denial = await rejection(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        async () => 1,
      ),
    );
    expect(denial).toBe(own);
  });

  it("G52: a schema that throws, synchronously or not, is invalid_arguments with its error as cause", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    const thrown = new Error("schema crashed");
    const tool = (validate: () => unknown): ToolDescriptor => ({
      name: "crm_lookup",
      action: "read",
      schema: { "~standard": { version: 1, vendor: "t", validate } } as never,
    });
    for (const validate of [
      () => {
        throw thrown;
      },
      async () => {
        throw thrown;
      },
    ]) {
      const denial = await rejection(
        gate.invoke({ tool: tool(validate), arguments: lookup, credential }, async () => 1),
      );
      expect(denial.code).toBe("invalid_arguments");
      expect(denial.cause).toBe(thrown);
    }
  });

  it("G52: a schema issue whose path parts are { key } objects names the path in the messages", async () => {
    const { gate, token } = await makeGate();
    const tool: ToolDescriptor = {
      name: "crm_lookup",
      action: "read",
      schema: {
        "~standard": {
          version: 1,
          vendor: "t",
          validate: () => ({ issues: [{ message: "bad", path: ["fields", { key: 0 }] }] }),
        },
      } as never,
    };
    const denial = await rejection(
      gate.invoke({ tool, arguments: lookup, credential: await token(OPS) }, async () => 1),
    );
    expect(denial.safeMessage).toBe("The tool arguments are not valid (fields.0): bad");
    expect(denial.message).toBe("Invalid arguments: fields.0: bad.");
  });

  it("an internal failure before the run is access_denied with the failure as cause", async () => {
    const failure = new TypeError("provider broke");
    const { gate, events } = await makeGate();
    const denial = await rejection(
      gate.invoke(
        {
          tool: crmLookup,
          arguments: lookup,
          credential: { token: async () => Promise.reject(failure) },
        },
        async () => 1,
      ),
    );
    expect(denial.code).toBe("access_denied");
    expect(denial.cause).toBe(failure);
    expect(events().at(-1)?.decision).toMatchObject({ allowed: false, code: "access_denied" });
    const refused = await gate.refuse(
      {
        tool: crmLookup,
        arguments: lookup,
        credential: { token: async () => Promise.reject(failure) },
      },
      new AgentGateError("invalid_arguments", "Rejected by the framework."),
    );
    expect(refused.code).toBe("access_denied");
    expect(refused.cause).toBe(failure);
  });
});

describe("Gate audit failures", () => {
  it("E43: a sink that throws synchronously denies with audit_unavailable and its error as cause; the tool does not run", async () => {
    const thrown = new Error("disk full");
    let ran = 0;
    const { gate, token } = await makeGate({
      audit: {
        write: () => {
          throw thrown;
        },
        flush: async () => {},
        close: async () => {},
      },
    });
    const denial = await rejection(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
        () => ran++,
      ),
    );
    expect(denial.code).toBe("audit_unavailable");
    expect(denial.cause).toBe(thrown);
    expect(ran).toBe(0);
  });

  it("E43: a denial whose event cannot be written is reported through onAuditError and still returned", async () => {
    const reported: Array<{ code: string; type: string; event: AuditEvent }> = [];
    const { gate } = await makeGate({
      audit: {
        write: async () => Promise.reject(new Error("disk gone")),
        flush: async () => {},
        close: async () => {},
      },
      onAuditError: (error, event) =>
        void reported.push({ code: error.code, type: event.type, event }),
    });
    await expectCode(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential: "not-a-token" }, async () => 1),
      "token_invalid",
    );
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ code: "audit_unavailable", type: "decision" });
    expect(reported[0]?.event.decision).toMatchObject({ allowed: false, code: "token_invalid" });
  });

  it("E43: without onAuditError a lost event is reported on the console with its id and type", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
    const { gate } = await makeGate({
      audit: {
        write: async () => Promise.reject(new Error("disk gone")),
        flush: async () => {},
        close: async () => {},
      },
      createId: () => "id-1",
    });
    await expectCode(
      gate.invoke({ tool: crmLookup, arguments: lookup, credential: "not-a-token" }, async () => 1),
      "token_invalid",
    );
    expect(lines).toEqual([
      "AgentGate: audit event id-1 (decision) could not be written: The audit sink failed.",
    ]);
  });
});

describe("Gate approvals: the approval timer", () => {
  it("D38: an approval answered in time clears its timer, so the request is never aborted afterwards", async () => {
    const timeoutMs = 987_654;
    let signal: AbortSignal | undefined;
    const approvals = new CallbackApprovalProvider((_request, options) => {
      signal = options?.signal;
      return { approved: true, approver: "dana" };
    });
    const { gate, token } = await makeGate({ approvals, approvalTimeoutMs: timeoutMs });
    const credential = await token(OPS);
    const armed: unknown[] = [];
    const cleared: unknown[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((handler: () => void, ms?: number) => {
      const timer = realSetTimeout(handler, ms);
      if (ms === timeoutMs) armed.push(timer);
      return timer;
    }) as never);
    vi.spyOn(globalThis, "clearTimeout").mockImplementation(((timer: never) => {
      cleared.push(timer);
      realClearTimeout(timer);
    }) as never);
    await expect(
      gate.invoke(
        { tool: crmUpdate, arguments: { customerId: "acme", note: "n" }, credential },
        async () => "written",
      ),
    ).resolves.toBe("written");
    vi.restoreAllMocks();
    expect(armed).toHaveLength(1);
    expect(cleared).toContain(armed[0]);
    expect(signal?.aborted).toBe(false);
  });
});

describe("gate-events: the resource of a call", () => {
  it("a resource without properties is recorded without a properties member", () => {
    const request = {
      subject: { type: "agent", id: OPS, properties: {} },
      action: { name: "read", properties: { tool: "crm_lookup" } },
      resource: { type: "customer", id: "acme" },
      context: {},
    };
    const event = baseEvent("decision", "e1", 0, {
      invocationId: "i1",
      invocation: { tool: crmLookup, arguments: lookup, credential: "" },
      request: request as never,
    });
    expect(event.resource).toEqual({ type: "customer", id: "acme" });
    expect(Object.keys(event.resource ?? {})).toEqual(["type", "id"]);
    const withProperties = baseEvent("decision", "e2", 0, {
      invocationId: "i1",
      invocation: { tool: crmLookup, arguments: lookup, credential: "" },
      request: {
        ...request,
        resource: { ...request.resource, properties: { tier: "gold" } },
      } as never,
    });
    expect(withProperties.resource).toEqual({
      type: "customer",
      id: "acme",
      properties: { tier: "gold" },
    });
  });
});

describe("gate-events: members a call does not have are left out, not set to undefined", () => {
  it("no owner, arguments, code or trace member that was not given; a trace of one id has only that id", () => {
    const facts = {
      invocationId: "i1",
      invocation: { tool: { name: "crm_lookup" }, arguments: undefined, credential: "" },
    };
    expect(baseEvent("decision", "e1", 0, facts)).toStrictEqual({
      v: 1,
      id: "e1",
      type: "decision",
      time: "1970-01-01T00:00:00.000Z",
      invocationId: "i1",
      tool: { name: "crm_lookup" },
    });
    for (const [metadata, trace] of [
      [{ traceId: "t1" }, { traceId: "t1" }],
      [{ spanId: "s1" }, { spanId: "s1" }],
    ] as const) {
      const event = baseEvent("decision", "e1", 0, {
        ...facts,
        invocation: { ...facts.invocation, metadata },
      });
      expect(event.trace).toStrictEqual(trace);
    }
    expect(decisionBlock(undefined, false, "no")).toStrictEqual({
      allowed: false,
      policies: [],
      reason: "no",
    });
  });
});
