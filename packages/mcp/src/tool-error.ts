import { AgentGateError, type Gate, type ToolInvocation } from "@agentgate/core";
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

/** What the caller gets for a denial: `isError: true` with the denial's code and safe reason only. */
export function deniedResult(denial: AgentGateError): CallToolResult {
  return {
    isError: true,
    content: [
      { type: "text", text: `AgentGate denied this call (${denial.code}): ${denial.safeMessage}` },
    ],
  };
}

/**
 * The gate's audited refusal of a `tools/call` naming no tool there is (SECURITY.md K85): the
 * name, cut to 256 characters, as an `execute` tool of `serverId`, denied `access_denied` with
 * the safe reason "No such tool.".
 */
export function refuseUnknownTool(
  gate: Gate,
  serverId: string,
  call: {
    readonly name: string;
    readonly arguments: Record<string, unknown> | undefined;
    readonly credential: ToolInvocation["credential"];
    readonly framework: string;
  },
): Promise<AgentGateError> {
  const name = call.name.slice(0, 256);
  return gate.refuse(
    {
      tool: { name, server: serverId, action: "execute" },
      arguments: call.arguments ?? {},
      credential: call.credential,
      metadata: { framework: call.framework },
    },
    new AgentGateError("access_denied", `Unknown tool ${name}.`, { safeMessage: "No such tool." }),
  );
}
