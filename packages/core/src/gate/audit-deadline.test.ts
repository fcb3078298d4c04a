import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, makeGate } from "../../test/fixtures/gate.js";
import { SUPPORT } from "../../test/fixtures/identity.js";
import type { AuditEvent, AuditSink } from "../index.js";
import { AgentGateError } from "../index.js";

/** A sink that never answers the writes `hangs` selects; the others land in `events`. */
function stuckSink(hangs: (event: AuditEvent) => boolean) {
  const events: AuditEvent[] = [];
  const sink: AuditSink = {
    write: (event) => {
      if (hangs(event)) return new Promise<void>(() => {});
      events.push(event);
      return Promise.resolve();
    },
    flush: async () => {},
    close: async () => {},
  };
  return { sink, events };
}

describe("Gate: audit writes have a deadline", () => {
  it("K84: a sink that never answers denies the call within auditTimeoutMs (audit_unavailable); the tool does not run", async () => {
    const { sink } = stuckSink(() => true);
    const { gate, token } = await makeGate({ audit: sink, auditTimeoutMs: 20 });
    let ran = 0;
    const call = gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
      () => ran++,
    );
    await expectCode(call, "audit_unavailable");
    await expect(call).rejects.toThrow("within 20 ms");
    expect(ran).toBe(0);
  });

  it("K84: gate.check with a stuck sink rejects audit_unavailable instead of hanging", async () => {
    const { sink } = stuckSink(() => true);
    const { gate, token } = await makeGate({ audit: sink, auditTimeoutMs: 20 });
    await expectCode(
      gate.check({
        tool: crmLookup,
        arguments: { customerId: "acme" },
        credential: await token(SUPPORT),
      }),
      "audit_unavailable",
    );
  });

  it("K84: an outcome event stuck past the deadline is reported; the tool's result stands", async () => {
    const { sink, events } = stuckSink((event) => event.type === "outcome");
    const reported: Array<{ code: string; type: string }> = [];
    const { gate, token } = await makeGate({
      audit: sink,
      auditTimeoutMs: 20,
      onAuditError: (error, event) => reported.push({ code: error.code, type: event.type }),
    });
    const result = await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
      () => "ran",
    );
    expect(result).toBe("ran");
    expect(events.map((event) => event.type)).toEqual(["decision"]);
    expect(reported).toEqual([{ code: "audit_unavailable", type: "outcome" }]);
  });

  it("a non-positive auditTimeoutMs is a configuration error", async () => {
    await expect(makeGate({ auditTimeoutMs: 0 })).rejects.toSatisfy(
      (error: unknown) => error instanceof AgentGateError && error.code === "invalid_configuration",
    );
  });
});
