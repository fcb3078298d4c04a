/**
 * How a guarded server and the proxy refuse a call before it reaches the tool: through the gate,
 * so that every refusal is an audited denial, and with the result the caller gets.
 */
import {
  AgentGateError,
  type Gate,
  isAgentGateError,
  type ToolDescriptor,
  type ToolInvocation,
} from "@agentgate/core";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type CallProofSettings, checkCallProof } from "./call-proof-check.js";

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

/** A `tools/call` request, as {@link checkToolCallProof} checks its call proof. */
export interface ToolCall {
  /** The tool name the request gave. */
  readonly name: string;
  /** The raw arguments, before any parsing. */
  readonly arguments: Record<string, unknown> | undefined;
  /** The request's `_meta`, where the proof is. */
  readonly meta: Record<string, unknown> | undefined;
  /** The token the proof must name. */
  readonly token: string | undefined;
  /** The gate's view of the tool called. */
  readonly tool: ToolDescriptor;
  /** The caller's credential, for the gate's refusal. */
  readonly credential: ToolInvocation["credential"];
  /** `metadata.framework` of the refusal: `mcp` for the guard, `mcp-proxy` for the proxy. */
  readonly framework: string;
}

/**
 * Checks the call proof of a `tools/call` over its raw arguments (`checkCallProof`): the
 * proof key's thumbprint (`undefined` without a proof), or, for a bad proof, the gate's audited
 * refusal of the call as `denial`.
 */
export async function checkToolCallProof(
  gate: Gate,
  proofs: CallProofSettings,
  call: ToolCall,
): Promise<{ readonly thumbprint: string | undefined } | { readonly denial: AgentGateError }> {
  try {
    return {
      thumbprint: await checkCallProof(proofs, call.token, call.meta, {
        method: "tools/call",
        tool: call.name,
        arguments: call.arguments,
      }),
    };
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    const denial = await gate.refuse(
      {
        tool: call.tool,
        arguments: call.arguments ?? {},
        credential: call.credential,
        metadata: { framework: call.framework },
      },
      error,
    );
    return { denial };
  }
}
