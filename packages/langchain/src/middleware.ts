import { type Gate, isAgentGateError, isApprovalSuspended } from "@agentgate/core";
import { ToolMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { createMiddleware } from "langchain";
import { denialMessage } from "./denial.js";
import { isProtectedTool } from "./protect-tool.js";
import {
  type CredentialOptions,
  describeTool,
  resolveCredential,
  type ToolPolicy,
} from "./tool-policy.js";

/** Options of {@link agentGateMiddleware}. */
export interface AgentGateMiddlewareOptions extends CredentialOptions {
  /** The gate every tool call of the agent goes through. */
  readonly gate: Gate;
  /** Policy mapping per tool name (else `tool.metadata.agentgate`, else action `execute`). */
  readonly tools?: Readonly<Record<string, ToolPolicy>>;
  /**
   * What a tool that throws produces. With any `wrapToolCall` middleware installed, LangChain
   * lets a tool's exception reject the whole `agent.invoke`; the default `message` turns it into
   * an error `ToolMessage` instead, like an agent without middleware. `throw` keeps LangChain's.
   */
  readonly onToolError?: "message" | "throw";
}

/**
 * `createAgent` middleware that puts every tool call through `gate.invoke`. A denial becomes an
 * error `ToolMessage` with the safe reason, so the model can recover and the run goes on; the
 * model's output cannot flip a decision (SECURITY.md F47). Tools already wrapped with
 * `protectTool` pass through untouched (they enforce themselves; no double audit).
 *
 * Identity per run: `agent.invoke(input, { context: { agentToken } })`, or a bound
 * `credential` (a `CredentialProvider`).
 *
 * @example
 * ```ts
 * const agent = createAgent({ model, tools, middleware: [agentGateMiddleware({ gate, credential })] });
 * ```
 */
export function agentGateMiddleware(options: AgentGateMiddlewareOptions) {
  return createMiddleware({
    name: "AgentGate",
    wrapToolCall: async (request, handler) => {
      const { toolCall } = request;
      const tool = request.tool as StructuredToolInterface | undefined;
      if (tool !== undefined && isProtectedTool(tool)) return handler(request);
      const toolCallId = toolCall.id ?? "";
      const descriptor = describeTool(
        tool ?? { name: toolCall.name, description: "", schema: undefined as never },
        options.tools?.[toolCall.name],
      );
      const runtime = request.runtime as unknown as {
        context?: unknown;
        configurable?: Record<string, unknown>;
        signal?: AbortSignal;
      };
      const credential = resolveCredential(options, {
        context: runtime.context,
        configurable: runtime.configurable,
      } as never);
      let toolFailed = false;
      try {
        // No credential is the gate's denial to record (K85), not ours to throw.
        return await options.gate.invoke(
          {
            tool: descriptor,
            arguments: toolCall.args,
            credential,
            metadata: { framework: "langchain", toolCallId },
            ...(runtime.signal === undefined ? {} : { signal: runtime.signal }),
          },
          async (args) => {
            try {
              return await handler({ ...request, toolCall: { ...toolCall, args: { ...args } } });
            } catch (error) {
              toolFailed = true;
              throw error;
            }
          },
        );
      } catch (error) {
        // A human-in-the-loop pause: LangGraph must see its own interrupt.
        if (isApprovalSuspended(error)) throw error.cause;
        if (!toolFailed && isAgentGateError(error))
          return denialMessage(error, toolCallId, toolCall.name);
        if (isInterrupt(error) || options.onToolError === "throw") throw error;
        return new ToolMessage({
          content: `Error: ${error instanceof Error ? error.message : String(error)}\n Please fix your mistakes.`,
          tool_call_id: toolCallId,
          name: toolCall.name,
          status: "error",
        });
      }
    },
  });
}

/** LangGraph interrupts (human in the loop) must always propagate. */
function isInterrupt(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === "GraphInterrupt" || error.name === "NodeInterrupt")
  );
}
