/**
 * Where an agent token travels inside an MCP request when there is no HTTP header to carry it
 * (stdio, in-memory): `params._meta["dev.agentgate/token"]`. MCP reserves `_meta` keys whose
 * prefix contains `modelcontextprotocol` or `mcp`; this one is ours.
 */
export const TOKEN_META_KEY = "dev.agentgate/token";

/** The token in a request's `_meta`, if any. */
export function tokenFromMeta(meta: Record<string, unknown> | undefined): string | undefined {
  const value = meta?.[TOKEN_META_KEY];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * Where an AgentGate call proof travels beside the token in `_meta` (stdio, in-memory):
 * `params._meta["dev.agentgate/proof"]`, a JWT from `createCallProof` signed by the agent's key.
 * AgentGate's extension, shaped after DPoP (RFC 9449; the MCP DPoP proposal SEP-1932 covers HTTP).
 */
export const PROOF_META_KEY = "dev.agentgate/proof";

/** The call proof in a request's `_meta`, if any. */
export function proofFromMeta(meta: Record<string, unknown> | undefined): string | undefined {
  const value = meta?.[PROOF_META_KEY];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}
