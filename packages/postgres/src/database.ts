import { AgentGateError, type AgentGateErrorCode } from "@agentgate/core";
import pg from "pg";

/** A PostgreSQL connection string (`postgres://user@host:5432/db`) or a pool the caller owns. */
export type DatabaseSource = string | pg.Pool;

const SCHEMA = /^[a-z_][a-z0-9_]{0,39}$/;

/**
 * Checks a schema name: lower-case letters, digits and `_`, at most 40, so that it can stand
 * unquoted in SQL and in a NOTIFY channel name. Every other value reaches SQL as a parameter.
 */
export function checkSchema(schema: string): string {
  if (!SCHEMA.test(schema)) {
    throw new AgentGateError(
      "invalid_configuration",
      `The schema name "${schema.slice(0, 80)}" must be 1-40 lower-case letters, digits or "_", not starting with a digit.`,
    );
  }
  return schema;
}

/** The NOTIFY channel of a schema: every change to revocations, agents and approvals. */
export function channelOf(schema: string): string {
  return `agentgate_${schema}`;
}

/** A pool for `source`, and whether this package owns it (and so ends it on close). */
export function poolFor(
  source: DatabaseSource,
  max = 4,
  schema = "",
): { pool: pg.Pool; owned: boolean } {
  if (typeof source !== "string") return { pool: source, owned: false };
  const pool = new pg.Pool({
    connectionString: source,
    max,
    connectionTimeoutMillis: 5_000,
    // A stuck statement is a failure, not a wait: callers deny.
    statement_timeout: 10_000,
    application_name: `agentgate/${schema}`,
  });
  // An idle client whose backend went away: the next query gets a fresh one.
  pool.on("error", () => undefined);
  return { pool, owned: true };
}

/** The connection string without its password, for messages. */
export function redactUrl(source: DatabaseSource): string {
  if (typeof source !== "string") return "(a pg.Pool)";
  try {
    const url = new URL(source);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return "(an unparsable connection string)";
  }
}

/**
 * PostgreSQL text cannot hold U+0000: a value carrying one is refused with a typed error before
 * it reaches the driver (SECURITY.md Q127), never stored cut short or turned into a crash.
 */
export function refuseNul(code: AgentGateErrorCode, field: string, value: string): string {
  if (value.includes("\u0000")) {
    throw new AgentGateError(
      code,
      `${field} contains a NUL character, which PostgreSQL text cannot hold.`,
      {
        details: { check: "nul", field },
      },
    );
  }
  return value;
}

/** Wraps a driver failure in the port's error code (fail closed). */
export function unavailable(
  code: AgentGateErrorCode,
  what: string,
  error: unknown,
): AgentGateError {
  if (error instanceof AgentGateError) return error;
  const reason =
    (error as { code?: string } | undefined)?.code ??
    (error instanceof Error ? error.message : String(error));
  return new AgentGateError(code, `${what}: the database failed (${reason}).`, { cause: error });
}
