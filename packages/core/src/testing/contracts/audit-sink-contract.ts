import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../audit/audit-event.js";
import type { AuditSink } from "../../audit/audit-sink.js";
import { isAgentGateError } from "../../errors.js";

/** What a contract run needs: a fresh sink, and (when the sink keeps events) a way to read them back. */
export interface AuditSinkHarness {
  readonly sink: AuditSink;
  /** The events the sink holds, in order; omit for write-only sinks (console, exporters). */
  readonly read?: () => Promise<readonly AuditEvent[]>;
}

/** A valid event for contract tests. */
export function sampleAuditEvent(index: number): AuditEvent {
  return {
    v: 1,
    id: `contract-${index}`,
    type: index % 2 === 0 ? "decision" : "outcome",
    time: new Date(Date.UTC(2026, 0, 5, 9, 0, 0, index)).toISOString(),
    invocationId: `invocation-${Math.floor(index / 2)}`,
    agent: "spiffe://acme.example/agent/support",
    principal: "user:carol@acme.example",
    chain: ["user:carol@acme.example", "spiffe://acme.example/agent/support"],
    tool: { name: "crm_lookup" },
    ...(index % 2 === 0
      ? {
          arguments: { customerId: "acme", note: "line\nbreak" },
          decision: { allowed: true, policies: ["p1"], reason: "ok" },
        }
      : { outcome: { status: "succeeded", durationMs: 1.5 } }),
  };
}

/**
 * The contract every `AuditSink` keeps, as a vitest suite: run it with one line for a new sink,
 * `describeAuditSinkContract("MySink", async () => ({ sink: new MySink(), read }))`.
 */
export function describeAuditSinkContract(
  name: string,
  make: () => Promise<AuditSinkHarness>,
): void {
  describe(`${name} keeps the AuditSink contract`, () => {
    it("accepts events and, when readable, keeps each exactly once in order, unchanged", async () => {
      const { sink, read } = await make();
      const events = Array.from({ length: 6 }, (_, index) => sampleAuditEvent(index));
      for (const event of events) await sink.write(event);
      await sink.flush();
      if (read !== undefined) {
        const stored = await read();
        expect(stored.map((event) => event.id)).toEqual(events.map((event) => event.id));
        expect(stored[0]).toMatchObject({
          chain: events[0]?.chain,
          arguments: events[0]?.arguments,
        });
      }
      await sink.close();
    });

    it("loses nothing under 200 concurrent writes", async () => {
      const { sink, read } = await make();
      await Promise.all(
        Array.from({ length: 200 }, (_, index) => sink.write(sampleAuditEvent(index))),
      );
      await sink.flush();
      if (read !== undefined)
        expect(new Set((await read()).map((event) => event.id)).size).toBe(200);
      await sink.close();
    });

    it("after close, write rejects with audit_unavailable (never a silent drop)", async () => {
      const { sink } = await make();
      await sink.write(sampleAuditEvent(0));
      await sink.close();
      const error = await sink.write(sampleAuditEvent(1)).catch((caught: unknown) => caught);
      expect(isAgentGateError(error) && error.code).toBe("audit_unavailable");
    });
  });
}
