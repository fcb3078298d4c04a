import { AgentGateError } from "../errors.js";

/**
 * Tool names and server ids, as strictly as agent ids (SECURITY.md G55, L88). A policy that
 * forbids `drop_db` must not be sidestepped by `drop_db\u200b`, `DROP_DB`, `drop_db ` or a
 * Cyrillic `о`: so a name is accepted only in one canonical form, and anything else is refused
 * where the tool is declared (`invalid_configuration`) and where a name arrives from outside
 * (`invalid_arguments`), never normalised into a name that matches a different rule.
 *
 * The canonical form:
 * - tool names: 1 to {@link MAX_TOOL_NAME_LENGTH} characters from `a-z`, `0-9`, `_`, `-` and `.`,
 *   starting with a letter, digit or `_` (the set that LangChain, MCP and model function-calling
 *   all accept);
 * - server ids: 1 to {@link MAX_SERVER_ID_LENGTH} characters from `a-z`, `0-9`, `_`, `-` and `.`,
 *   starting and ending with a letter or digit (a host name or a short slug: `crm.acme.example`).
 *
 * Both are lowercase ASCII, so they are in Unicode NFC by construction and can hold no invisible,
 * full-width, look-alike, bidirectional or control character; `/` is excluded so that a tool's
 * resource id `server/name` splits one way only.
 */

/** The longest tool name accepted, in characters (MCP's own bound). */
export const MAX_TOOL_NAME_LENGTH = 128;
/** The longest server id accepted, in characters. */
export const MAX_SERVER_ID_LENGTH = 128;

const TOOL_NAME = /^[a-z0-9_][a-z0-9_.-]*$/;
const SERVER_ID = /^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$/;

/** Where a name was checked, which decides the refusal's code. */
export type NameOrigin = "declared" | "received";

/**
 * Says what is wrong with `value` as a tool name, or `undefined` when it is canonical. The
 * answer never quotes the name itself (it may be 10,000 characters or hold control characters).
 */
export function toolNameProblem(value: unknown): string | undefined {
  return nameProblem(
    value,
    MAX_TOOL_NAME_LENGTH,
    TOOL_NAME,
    "it must start with a letter, digit or '_'",
  );
}

/** Says what is wrong with `value` as a server id, or `undefined` when it is canonical. */
export function serverIdProblem(value: unknown): string | undefined {
  return nameProblem(
    value,
    MAX_SERVER_ID_LENGTH,
    SERVER_ID,
    "it must start and end with a letter or digit",
  );
}

/** True when `value` is a canonical tool name. */
export function isToolName(value: unknown): value is string {
  return toolNameProblem(value) === undefined;
}

/** True when `value` is a canonical server id. */
export function isServerId(value: unknown): value is string {
  return serverIdProblem(value) === undefined;
}

/**
 * Returns `value` when it is a canonical tool name; throws an `AgentGateError` otherwise, with
 * code `invalid_configuration` for a name a developer declared and `invalid_arguments` for one
 * that arrived from outside (a model's tool call, an MCP request, an upstream's listing).
 *
 * @example
 * ```ts
 * parseToolName("crm_lookup", "declared");        // "crm_lookup"
 * parseToolName("drop_db\u200b", "received");     // throws invalid_arguments
 * ```
 */
export function parseToolName(value: unknown, origin: NameOrigin): string {
  const problem = toolNameProblem(value);
  if (problem !== undefined) throw nameError("tool name", problem, origin);
  return value as string;
}

/** Like {@link parseToolName}, for a server id. */
export function parseServerId(value: unknown, origin: NameOrigin): string {
  const problem = serverIdProblem(value);
  if (problem !== undefined) throw nameError("server id", problem, origin);
  return value as string;
}

/**
 * Checks a tool's `name` and, when it has one, its `server` (see {@link parseToolName}). Throws
 * the first problem found; returns nothing.
 */
export function checkToolNames(
  tool: { readonly name: unknown; readonly server?: unknown },
  origin: NameOrigin,
): void {
  parseToolName(tool.name, origin);
  if (tool.server !== undefined) parseServerId(tool.server, origin);
}

function nameProblem(
  value: unknown,
  maxLength: number,
  pattern: RegExp,
  edges: string,
): string | undefined {
  if (typeof value !== "string") return "not a string";
  if (value.length === 0) return "empty";
  if (value.length > maxLength) return `longer than ${maxLength} characters`;
  if (!pattern.test(value)) {
    return /^[a-z0-9_.-]*$/.test(value)
      ? edges
      : "only lowercase ASCII letters, digits, '_', '-' and '.' are allowed";
  }
  return undefined;
}

function nameError(what: string, problem: string, origin: NameOrigin): AgentGateError {
  return new AgentGateError(
    origin === "declared" ? "invalid_configuration" : "invalid_arguments",
    `Invalid ${what}: ${problem}.`,
  );
}
