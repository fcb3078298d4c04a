/**
 * `@agentgate/langchain`: AgentGate for LangChain JS. Enforce with {@link protectTool} /
 * {@link protectTools} or the `createAgent` middleware {@link agentGateMiddleware}; observe (or
 * best-effort enforce) agents you cannot re-wrap with {@link AgentGateCallbackHandler}.
 */
export {
  AgentGateCallbackHandler,
  type AgentGateCallbackHandlerOptions,
} from "./callback-handler.js";
export { denialMessage } from "./denial.js";
export {
  type InterruptApprovalsOptions,
  type InterruptResume,
  interruptApprovals,
} from "./interrupt-approvals.js";
export { type AgentGateMiddlewareOptions, agentGateMiddleware } from "./middleware.js";
export {
  isProtectedTool,
  type ProtectToolOptions,
  type ProtectToolsOptions,
  protectTool,
  protectTools,
} from "./protect-tool.js";
export {
  type CredentialOptions,
  credentialFromConfig,
  describeTool,
  type ToolPolicy,
} from "./tool-policy.js";
