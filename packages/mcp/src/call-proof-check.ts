import {
  AgentGateError,
  type Clock,
  MemoryReplayCache,
  type ReplayCache,
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
