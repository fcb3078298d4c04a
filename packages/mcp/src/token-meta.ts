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
