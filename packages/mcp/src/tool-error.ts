import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/**
 * A tool result with `isError: true`, thrown inside `gate.invoke` so that the gate records the
 * call as `failed` (SECURITY.md L92), then caught and returned to the caller unchanged.
 */
export class ToolErrorResult extends Error {
  override readonly name = "ToolErrorResult";
  /** The result as the tool gave it. */
  readonly result: CallToolResult;

  constructor(result: CallToolResult) {
    // The first text is what the tool said went wrong; the gate redacts it before it is audited.
    const text = (result.content ?? []).find((part) => part.type === "text");
    super(`The tool answered with an error: ${text?.type === "text" ? text.text : "(no text)"}`);
    this.result = result;
  }
}

/** Throws {@link ToolErrorResult} for a result with `isError: true`; returns any other as is. */
export function throwIfToolError<Result>(result: Result): Result {
  if (
    typeof result === "object" &&
    result !== null &&
    (result as { isError?: unknown }).isError === true
  ) {
    throw new ToolErrorResult(result as CallToolResult);
  }
  return result;
}
