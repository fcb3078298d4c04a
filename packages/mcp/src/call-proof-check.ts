import {
  AgentGateError,
  type Clock,
  type Gate,
  isAgentGateError,
  MemoryReplayCache,
  type ReplayCache,
  type ToolDescriptor,
  type ToolInvocation,
  verifyCallProof,
} from "@agentgate/core";
import { proofFromMeta } from "./token-meta.js";

/** How a guarded server or a proxy checks call proofs (`callProofs` of their options). */
export interface CallProofOptions {
  /** Where proofs' `jti`s are remembered. Default: a `MemoryReplayCache` of this server. */
  readonly replay?: ReplayCache;
  /** How far `iat` may be from now, either way, in seconds. Default 60. */
  readonly windowSeconds?: number;
  /** The time `iat` is compared with. Default: the system clock. */
  readonly clock?: Clock;
}

/** {@link CallProofOptions} with the replay cache chosen. */
export interface CallProofSettings extends CallProofOptions {
  readonly replay: ReplayCache;
}

/** The settings a server keeps for its lifetime: one replay cache for all its requests. */
export function callProofSettings(options: CallProofOptions | undefined): CallProofSettings {
  return { ...options, replay: options?.replay ?? new MemoryReplayCache() };
}

/**
 * Checks the call proof in `meta`, when there is one, for this request and the token beside it
 * (SECURITY.md M109–M111): resolves with the proof key's thumbprint, `undefined` without a
 * proof; rejects with `token_invalid` for a bad one.
 */
export async function checkCallProof(
  proofs: CallProofSettings,
  token: string | undefined,
  meta: Record<string, unknown> | undefined,
  request: { method: string; tool?: string; arguments?: unknown },
): Promise<string | undefined> {
  const proof = proofFromMeta(meta);
  if (proof === undefined) return undefined;
  if (token === undefined) {
    throw new AgentGateError("token_invalid", "A call proof came without a token.", {
      details: { check: "ath" },
    });
  }
  return verifyCallProof(proof, {
    ...request,
    accessToken: token,
    replay: proofs.replay,
    ...(proofs.windowSeconds === undefined ? {} : { windowSeconds: proofs.windowSeconds }),
    ...(proofs.clock === undefined ? {} : { clock: proofs.clock }),
  });
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
 * Checks the call proof of a `tools/call` over its raw arguments ({@link checkCallProof}): the
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
