import { AgentGateError } from "../errors.js";
import type { AuditEvent } from "./audit-event.js";

/**
 * The port every audit destination implements (OpenTelemetry's exporter shape). Embedded
 * default: the hash-chained JSONL `FileAuditLog` in `@agentgate/core/node`.
 *
 * Contract:
 * - `write` resolves only when the event is as durable as the sink promises (for the file log:
 *   handed to the OS, or fsynced, per its mode). It rejects with an `AgentGateError` of code
 *   `audit_unavailable` when it cannot; the gate then denies the call (SECURITY.md E43).
 *   Never drops an event silently.
 * - `flush` resolves when every accepted event is durable.
 * - `close` flushes, then releases resources; later writes reject.
 *
 * Every implementation runs `describeAuditSinkContract`.
 */
export interface AuditSink {
  write(event: AuditEvent): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** An {@link AuditSink} that keeps events in memory: for tests and demos. */
export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  #closed = false;

  async write(event: AuditEvent): Promise<void> {
    if (this.#closed) {
      throw new AgentGateError("audit_unavailable", "The audit sink is closed.");
    }
    this.events.push(structuredClone(event));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }
}
