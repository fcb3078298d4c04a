import type { AgentGateError } from "@agentgate/core";
import { ToolMessage } from "@langchain/core/messages";

/**
 * A denial as the model sees it: an error `ToolMessage` with the safe reason only (no policy
 * text, key ids or stack), so the agent can recover and the run goes on (SECURITY.md F47).
 */
export function denialMessage(
  error: AgentGateError,
  toolCallId: string,
  toolName: string,
): ToolMessage {
  return new ToolMessage({
    content: `AgentGate denied this call (${error.code}): ${error.safeMessage}`,
    tool_call_id: toolCallId,
    name: toolName,
    status: "error",
    metadata: { agentgate: { code: error.code } },
  });
}
