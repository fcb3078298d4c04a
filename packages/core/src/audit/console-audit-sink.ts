import { AgentGateError } from "../errors.js";
import type { AuditEvent } from "./audit-event.js";
import type { AuditSink } from "./audit-sink.js";

/** Options of {@link ConsoleAuditSink}. */
export interface ConsoleAuditSinkOptions {
  /** Where lines go. Default `console.log`. */
  readonly write?: (line: string) => void;
  /** ANSI colours. Default: only when stdout is a terminal. */
  readonly color?: boolean;
}

const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * A readable one-line-per-event sink for development: time, event, agent, tool, outcome. Every
 * field is stripped of control, bidi and line-breaking characters first, so arguments and names
 * cannot forge or recolour a line (SECURITY.md E45). Not tamper-evident: tee it with the
 * file log for that.
 */
export class ConsoleAuditSink implements AuditSink {
  readonly #write: (line: string) => void;
  readonly #color: boolean;
  #closed = false;

  constructor(options: ConsoleAuditSinkOptions = {}) {
    this.#write = options.write ?? ((line) => console.log(line));
    const stdout = (globalThis as { process?: { stdout?: { isTTY?: boolean } } }).process?.stdout;
    this.#color = options.color ?? stdout?.isTTY === true;
  }

  async write(event: AuditEvent): Promise<void> {
    if (this.#closed)
      throw new AgentGateError("audit_unavailable", "The console audit sink is closed.");
    const outcome = event.decision
      ? `${event.decision.allowed ? "allowed" : `denied ${clean(event.decision.code ?? "")}`} ${clean(event.decision.policies.join(","))}`
      : event.outcome
        ? `${event.outcome.status} ${Math.round(event.outcome.durationMs)}ms${event.outcome.errorCode ? ` ${clean(event.outcome.errorCode)}` : ""}`
        : event.approval
          ? `${event.approval.approved ? "approved" : "refused"} by ${clean(event.approval.approver ?? "?")}`
          : "";
    const denied =
      event.decision?.allowed === false ||
      event.outcome?.status === "failed" ||
      event.approval?.approved === false;
    const paint = (text: string) =>
      this.#color ? `\u001b[${denied ? 31 : 32}m${text}\u001b[0m` : text;
    const agent = clean(event.agent ?? "-");
    const chain =
      event.chain && event.chain.length > 1 ? ` (chain ${event.chain.map(clean).join(" > ")})` : "";
    this.#write(
      `${event.time} ${clean(event.type).padEnd(8)} ${agent}${chain} ${clean(event.tool?.name ?? "-")} ${paint(outcome.trim())}`,
    );
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }
}

function clean(text: string): string {
  return text.replace(CONTROL, "?").slice(0, 300);
}
