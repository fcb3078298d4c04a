import { AgentGateError, isAgentGateError } from "../errors.js";
import type { AuditEvent } from "./audit-event.js";
import type { AuditSink } from "./audit-sink.js";

/**
 * Writes every event to several sinks at once (for example the file log and OpenTelemetry).
 * `write` resolves when all have accepted the event and rejects with `audit_unavailable` when any
 * failed: a tee is as strong as its weakest member, never weaker than its strongest.
 */
export class TeeAuditSink implements AuditSink {
  readonly #sinks: readonly AuditSink[];

  constructor(sinks: readonly AuditSink[]) {
    if (sinks.length === 0)
      throw new AgentGateError("invalid_configuration", "A tee needs at least one sink.");
    this.#sinks = sinks;
  }

  async write(event: AuditEvent): Promise<void> {
    await all(this.#sinks.map((sink) => sink.write(event)));
  }

  async flush(): Promise<void> {
    await all(this.#sinks.map((sink) => sink.flush()));
  }

  async close(): Promise<void> {
    await all(this.#sinks.map((sink) => sink.close()));
  }
}

async function all(writes: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(writes);
  const failed = results.find(
    (result): result is PromiseRejectedResult => result.status === "rejected",
  );
  if (failed === undefined) return;
  const reason: unknown = failed.reason;
  throw isAgentGateError(reason) && reason.code === "audit_unavailable"
    ? reason
    : new AgentGateError("audit_unavailable", "An audit sink of the tee failed.", {
        cause: reason,
      });
}
