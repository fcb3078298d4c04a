import { closeSync, fdatasyncSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import type { AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { AgentGateError } from "../errors.js";

/**
 * The explicit degrade mode for a remote audit destination (an OpenTelemetry collector, a
 * database): when the primary sink fails, the event is appended and fsynced to a local spool
 * file instead, and `write` still resolves, so calls go on while the destination is down.
 * {@link SpoolingAuditSink.replay} sends spooled events to the primary, in order, and empties the
 * spool. Nothing is dropped: if the spool itself cannot be written, `write` rejects with
 * `audit_unavailable` and the gate denies (SECURITY.md E43). Choosing this sink is the loud,
 * explicit opt-in; the default for a failing sink is to deny.
 */
export class SpoolingAuditSink implements AuditSink {
  #spooled = 0;
  #closed = false;

  constructor(
    private readonly primary: AuditSink,
    readonly spoolPath: string,
  ) {
    try {
      this.#spooled = readFileSync(spoolPath, "utf8").split("\n").filter(Boolean).length;
    } catch {
      this.#spooled = 0;
    }
  }

  /** Events waiting in the spool. */
  get spooled(): number {
    return this.#spooled;
  }

  async write(event: AuditEvent): Promise<void> {
    if (this.#closed)
      throw new AgentGateError("audit_unavailable", "The spooling audit sink is closed.");
    if (this.#spooled === 0) {
      try {
        await this.primary.write(event);
        return;
      } catch {
        // Fall through to the spool.
      }
    }
    // Once something is spooled, later events queue behind it, so order is kept.
    this.#append(event);
  }

  /** Sends spooled events to the primary in order; stops at the first failure, keeping the rest. */
  async replay(): Promise<number> {
    let lines: string[];
    try {
      lines = readFileSync(this.spoolPath, "utf8").split("\n").filter(Boolean);
    } catch {
      return 0;
    }
    let sent = 0;
    for (const line of lines) {
      try {
        await this.primary.write(JSON.parse(line) as AuditEvent);
      } catch {
        break;
      }
      sent++;
    }
    const rest = lines.slice(sent);
    truncateSync(this.spoolPath, 0);
    for (const line of rest) this.#appendLine(line);
    this.#spooled = rest.length;
    return sent;
  }

  async flush(): Promise<void> {
    if (this.#spooled === 0) await this.primary.flush();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.primary.close().catch(() => undefined);
  }

  #append(event: AuditEvent): void {
    this.#appendLine(JSON.stringify(event));
    this.#spooled++;
  }

  #appendLine(line: string): void {
    let fd: number | undefined;
    try {
      fd = openSync(this.spoolPath, "a", 0o600);
      writeSync(fd, `${line}\n`);
      fdatasyncSync(fd);
    } catch (error) {
      throw new AgentGateError("audit_unavailable", "The audit spool cannot be written.", {
        cause: error,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
