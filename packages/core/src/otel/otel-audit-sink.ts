import { type Logger, logs, SeverityNumber } from "@opentelemetry/api-logs";
import type { AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { AgentGateError } from "../errors.js";

/** Options of {@link OpenTelemetryAuditSink}. */
export interface OpenTelemetryAuditSinkOptions {
  /** The logger to emit on. Default: `logs.getLogger("agentgate")` from the global provider. */
  readonly logger?: Logger;
  /** Called by `flush` (for example the SDK provider's `forceFlush`). */
  readonly forceFlush?: () => Promise<void>;
}

type Attributes = Record<string, string | number | boolean | string[]>;

/**
 * Emits every audit event as an OpenTelemetry log record, so decisions and outcomes land in
 * the collector next to the agent's traces. Attribute names follow the OpenTelemetry semantic
 * conventions where they exist (`gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.agent.id`,
 * `enduser.id`, `error.type`, `event.name`) and use the `agentgate.` namespace otherwise.
 *
 * Delivery to a collector is asynchronous (the SDK batches and exports in the background), so
 * this sink cannot promise durability per event: tee it with the file log for the evidence an
 * auditor relies on, and wrap it in `SpoolingAuditSink` to survive an exporter outage.
 */
export class OpenTelemetryAuditSink implements AuditSink {
  readonly #logger: Logger;
  readonly #forceFlush: (() => Promise<void>) | undefined;
  #closed = false;

  constructor(options: OpenTelemetryAuditSinkOptions = {}) {
    this.#logger = options.logger ?? logs.getLogger("agentgate");
    this.#forceFlush = options.forceFlush;
  }

  async write(event: AuditEvent): Promise<void> {
    if (this.#closed)
      throw new AgentGateError("audit_unavailable", "The OpenTelemetry audit sink is closed.");
    const denied =
      event.decision?.allowed === false ||
      event.outcome?.status === "failed" ||
      event.approval?.approved === false;
    try {
      this.#logger.emit({
        timestamp: new Date(event.time),
        severityNumber: denied ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: denied ? "WARN" : "INFO",
        eventName: `agentgate.${event.type}`,
        body: summary(event),
        attributes: attributesOf(event),
      });
    } catch (error) {
      throw new AgentGateError("audit_unavailable", "The OpenTelemetry logger failed.", {
        cause: error,
      });
    }
  }

  async flush(): Promise<void> {
    try {
      await this.#forceFlush?.();
    } catch (error) {
      throw new AgentGateError("audit_unavailable", "The OpenTelemetry exporter could not flush.", {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}

function attributesOf(event: AuditEvent): Attributes {
  const attributes: Attributes = {
    "event.name": `agentgate.${event.type}`,
    "agentgate.event.id": event.id,
  };
  const set = (key: string, value: string | number | boolean | string[] | undefined) => {
    if (value !== undefined) attributes[key] = value;
  };
  set("agentgate.invocation.id", event.invocationId);
  set("gen_ai.agent.id", event.agent);
  set("enduser.id", event.principal);
  set("agentgate.chain", event.chain);
  set("agentgate.owner", event.owner);
  set("agentgate.token.id", event.tokenId);
  set("gen_ai.tool.name", event.tool?.name);
  set("agentgate.tool.server", event.tool?.server);
  set(
    "gen_ai.tool.call.id",
    typeof event.details?.toolCallId === "string" ? event.details.toolCallId : undefined,
  );
  set("agentgate.action", event.action);
  set("agentgate.resource.type", event.resource?.type);
  set("agentgate.resource.id", event.resource?.id);
  set("agentgate.decision.allowed", event.decision?.allowed);
  set("agentgate.decision.policies", event.decision?.policies);
  set("agentgate.decision.reason", event.decision?.reason);
  set("error.type", event.decision?.code ?? event.outcome?.errorCode);
  set("agentgate.outcome.status", event.outcome?.status);
  set("agentgate.outcome.duration_ms", event.outcome?.durationMs);
  set("agentgate.approval.approved", event.approval?.approved);
  set("agentgate.approval.approver", event.approval?.approver);
  set("trace_id", event.trace?.traceId);
  set("span_id", event.trace?.spanId);
  return attributes;
}

function summary(event: AuditEvent): string {
  const tool = event.tool?.name ?? "-";
  if (event.decision)
    return `${event.agent ?? "unknown agent"} ${event.decision.allowed ? "allowed" : "denied"} ${tool}`;
  if (event.outcome) return `${tool} ${event.outcome.status} in ${event.outcome.durationMs} ms`;
  return `${event.type} ${tool}`;
}
