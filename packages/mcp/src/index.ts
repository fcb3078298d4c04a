/**
 * `@agentgate/mcp`: AgentGate for the Model Context Protocol. Clients carry the agent's token on
 * every call (`agentGateFetch` over HTTP, `withAgentToken` over stdio); servers run every tool
 * through the gate (`guardMcpServer`), authenticate HTTP bearers (`mcpTokenVerifier`,
 * `authenticateRequest`), publish RFC 9728 metadata, and clients pin tools against rug pulls.
 */
export type { CallProofOptions } from "./call-proof-check.js";
export { agentGateFetch, withAgentToken } from "./client.js";
export {
  authenticateRequest,
  type McpAuthOptions,
  mcpTokenVerifier,
  protectedResourceMetadata,
} from "./http-auth.js";
export {
  CERTIFICATE_CHAIN_KEY,
  certificateFromAuthInfo,
  mtlsServerOptions,
  peerCertificateChain,
  peerCertificateThumbprint,
} from "./mtls.js";
export { type MtlsFetchOptions, mtlsFetch } from "./mtls-fetch.js";
export { createMcpProxy, type McpProxyOptions, type McpUpstream } from "./proxy.js";
export {
  describe as describeMcpTool,
  type GuardMcpServerOptions,
  guardMcpServer,
  type McpToolPolicy,
} from "./server-guard.js";
export { PROOF_META_KEY, proofFromMeta, TOKEN_META_KEY, tokenFromMeta } from "./token-meta.js";
export { type PinToolsOptions, pinTools, ToolPins, toolFingerprint } from "./tool-pins.js";
