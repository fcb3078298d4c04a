import { describe, expect, it } from "vitest";
import { contractRequest } from "../testing/contracts/index.js";
import {
  accessRequestToWire,
  authZenEvaluationSchema,
  authZenEvaluationsSchema,
  batchItems,
  decisionFromWire,
  decisionsFromWire,
  decisionToWire,
  errorToWire,
  isSingleEvaluation,
} from "./authzen-wire.js";
import { allow, deny } from "./decision.js";

describe("the AuthZEN wire format (one module for client and server)", () => {
  it("a decision round-trips: the server's object is what the client reads back", () => {
    for (const decision of [
      allow("permitted by p1", { policies: ["p1"], obligations: ["redact:ssn"] }),
      deny("forbidden by p2", { policies: ["p2"], safeReason: "Not in business hours." }),
    ]) {
      expect(decisionFromWire(JSON.parse(JSON.stringify(decisionToWire(decision))))).toEqual(
        decision,
      );
    }
    expect(decisionsFromWire({ evaluations: [decisionToWire(allow("ok"))] }, 1)[0]?.allowed).toBe(
      true,
    );
    expect(() => decisionsFromWire({ evaluations: [] }, 1)).toThrow(
      expect.objectContaining({ code: "policy_unavailable" }),
    );
    expect(() => decisionFromWire({ decision: "true" })).toThrow(
      expect.objectContaining({ code: "policy_unavailable" }),
    );
    expect(decisionFromWire(errorToWire({ status: 400, message: "x" })).allowed).toBe(false);
  });

  it("an AccessRequest is an AuthZEN evaluation as it is; the server's schema reads it back unchanged", () => {
    const request = contractRequest();
    const wire = accessRequestToWire(request);
    expect(authZenEvaluationSchema.parse(JSON.parse(JSON.stringify(wire)))).toEqual(
      JSON.parse(JSON.stringify(request)),
    );
  });

  it("coaz-mcp: the principal is the subject, typed, and the acting agent goes to context.agent", () => {
    const request = contractRequest();
    const delegated = {
      ...request,
      subject: {
        ...request.subject,
        properties: {
          ...request.subject.properties,
          principal: "alice@acme.example",
          principalType: "user" as const,
          delegated: true,
        },
      },
    };
    const wire = accessRequestToWire(delegated, "coaz-mcp");
    expect(wire.subject).toEqual({ type: "user", id: "alice@acme.example" });
    expect(wire.context?.agent).toMatchObject({
      id: request.subject.id,
      principal: "alice@acme.example",
      delegated: true,
    });
    expect(accessRequestToWire(request, "coaz-mcp").subject).toEqual({
      type: "agent",
      id: request.subject.properties.principal,
    });
  });

  it("context is optional; draft-00 members become properties, which win; a missing member is an error", () => {
    const parsed = authZenEvaluationSchema.parse({
      subject: { type: "user", id: "u", department: "sales" },
      action: { name: "read" },
      resource: { type: "doc", id: "d", owner: "x", properties: { owner: "y" } },
    });
    expect(parsed.context).toBeUndefined();
    expect(parsed.subject).toEqual({ type: "user", id: "u", properties: { department: "sales" } });
    expect(parsed.resource.properties).toEqual({ owner: "y" });
    expect(
      authZenEvaluationSchema.safeParse({
        subject: { type: "user", id: "" },
        action: { name: "read" },
        resource: { type: "d", id: "d" },
      }).success,
    ).toBe(false);
  });

  it("batch items: defaults from the top level, replaced whole by an item's own key; bad items are errors of their own", () => {
    const batch = authZenEvaluationsSchema.parse({
      subject: { type: "user", id: "u" },
      action: { name: "read" },
      context: { a: 1 },
      evaluations: [
        { resource: { type: "doc", id: "1" } },
        { resource: { type: "doc", id: "2" }, context: { b: 2 } },
        { action: { name: "x" } },
        null,
      ],
    });
    expect(isSingleEvaluation(batch)).toBe(false);
    const items = batchItems(batch);
    expect(items[0]).toEqual({
      evaluation: {
        subject: { type: "user", id: "u" },
        action: { name: "read" },
        resource: { type: "doc", id: "1" },
        context: { a: 1 },
      },
    });
    expect(items[1]).toMatchObject({ evaluation: { context: { b: 2 } } });
    expect(items[2]).toMatchObject({
      error: { status: 400, message: expect.stringContaining("resource") },
    });
    expect(items[3]).toMatchObject({ error: { status: 400 } });
    expect(isSingleEvaluation(authZenEvaluationsSchema.parse({ evaluations: [] }))).toBe(true);
  });
});
