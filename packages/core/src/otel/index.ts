/**
 * `@agentgate/core/otel`: the OpenTelemetry audit sink. Needs `@opentelemetry/api-logs`.
 */
export { OpenTelemetryAuditSink, type OpenTelemetryAuditSinkOptions } from "./otel-audit-sink.js";
